//! What vite-deploy knows about each storage backend, in one table: the
//! scheme that selects it, its option keys, its default concurrency and what
//! it can do (server-side copy, stored headers, MD5 ETags). `store` builds
//! the clients; everything else asks [`Backend`].

use object_store::ObjectStoreScheme;

/// The kind of store a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `s3://` and S3-compatible stores.
    S3,
    /// `gs://`.
    Gcs,
    /// `az://`, `abfs://` and Azure `https://` URLs.
    Azure,
    /// `file://`.
    Local,
    /// `memory://`, one store per process.
    Memory,
    /// `http(s)://` WebDAV.
    Http,
}

/// What vite-deploy knows about one backend. A new backend is a row here
/// (plus its builder in `store::open`) and its contract tests.
struct Row {
    backend: Backend,
    /// object_store's scheme for the URLs that select it.
    scheme: ObjectStoreScheme,
    /// A name for messages.
    name: &'static str,
    /// How messages name its URLs ("the storage URL is s3://").
    hint: &'static str,
    /// Its canonical option keys, for validation hints and suggestions.
    keys: &'static [&'static str],
    /// Uploads in flight when the caller sets none.
    default_concurrency: usize,
    /// Whether listing from an offset is a request of its own (S3's
    /// `start-after`, GCS's `startOffset`), so ranges can be listed at once.
    lists_from_offset: bool,
    /// Whether a copy between two keys runs on the server, so the bytes are
    /// not uploaded twice. Only where the tests exercise it: object_store
    /// copies on GCS too, but moto's GCS copy leaves an empty object, so GCS
    /// gets a plain PUT. WebDAV's COPY is tested on rclone and wsgidav.
    copies_server_side: bool,
    /// Whether the store keeps `Content-Type` and `Cache-Control`.
    /// object_store's local store refuses attributes on put.
    keeps_headers: bool,
    /// Whether a listing's ETag that looks like an MD5 is the MD5 of the
    /// content. True for single-part uploads on S3 and on GCS's XML API;
    /// other stores use opaque ETags (Azure, WebDAV) or none that hash
    /// content (local files, memory).
    etag_is_md5: bool,
}

const TABLE: [Row; 6] = [
    Row {
        backend: Backend::S3,
        scheme: ObjectStoreScheme::AmazonS3,
        name: "S3",
        hint: "s3://",
        keys: S3_KEYS,
        default_concurrency: DEFAULT_CONCURRENCY,
        lists_from_offset: true,
        copies_server_side: true,
        keeps_headers: true,
        etag_is_md5: true,
    },
    Row {
        backend: Backend::Gcs,
        scheme: ObjectStoreScheme::GoogleCloudStorage,
        name: "GCS",
        hint: "gs://",
        keys: GCS_KEYS,
        default_concurrency: DEFAULT_CONCURRENCY,
        lists_from_offset: true,
        copies_server_side: false,
        keeps_headers: true,
        etag_is_md5: true,
    },
    Row {
        backend: Backend::Azure,
        scheme: ObjectStoreScheme::MicrosoftAzure,
        name: "Azure Blob",
        hint: "az://",
        keys: AZURE_KEYS,
        default_concurrency: DEFAULT_CONCURRENCY,
        lists_from_offset: false,
        copies_server_side: true,
        keeps_headers: true,
        etag_is_md5: false,
    },
    Row {
        backend: Backend::Local,
        scheme: ObjectStoreScheme::Local,
        name: "file://",
        hint: "file://",
        keys: &[],
        default_concurrency: DEFAULT_LOCAL_CONCURRENCY,
        lists_from_offset: false,
        copies_server_side: true,
        keeps_headers: false,
        etag_is_md5: false,
    },
    Row {
        backend: Backend::Memory,
        scheme: ObjectStoreScheme::Memory,
        name: "memory://",
        hint: "memory://",
        keys: &[],
        default_concurrency: DEFAULT_LOCAL_CONCURRENCY,
        lists_from_offset: false,
        copies_server_side: true,
        keeps_headers: true,
        etag_is_md5: false,
    },
    Row {
        backend: Backend::Http,
        scheme: ObjectStoreScheme::Http,
        name: "HTTP (WebDAV)",
        hint: "HTTP (WebDAV)",
        keys: WEBDAV_KEYS,
        default_concurrency: DEFAULT_WEBDAV_CONCURRENCY,
        lists_from_offset: false,
        copies_server_side: true,
        keeps_headers: true,
        etag_is_md5: false,
    },
];

impl Backend {
    fn row(self) -> &'static Row {
        TABLE
            .iter()
            .find(|row| row.backend == self)
            .expect("every backend has a row")
    }

    /// The backend object_store's scheme selects, if vite-deploy publishes there.
    pub fn for_scheme(scheme: &ObjectStoreScheme) -> Option<Self> {
        TABLE
            .iter()
            .find(|row| row.scheme == *scheme)
            .map(|row| row.backend)
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// How messages name its URLs.
    pub fn hint(self) -> &'static str {
        self.row().hint
    }

    /// Its canonical option keys.
    pub fn keys(self) -> &'static [&'static str] {
        self.row().keys
    }

    /// Uploads in flight when the caller sets none.
    pub fn default_concurrency(self) -> usize {
        self.row().default_concurrency
    }

    /// See [`Row::lists_from_offset`].
    pub fn lists_from_offset(self) -> bool {
        self.row().lists_from_offset
    }

    /// See [`Row::copies_server_side`].
    pub fn copies_server_side(self) -> bool {
        self.row().copies_server_side
    }

    /// See [`Row::keeps_headers`].
    pub fn keeps_headers(self) -> bool {
        self.row().keeps_headers
    }

    /// See [`Row::etag_is_md5`].
    pub fn etag_is_md5(self) -> bool {
        self.row().etag_is_md5
    }
}

/// Concurrency for remote stores when none is given. Measured with
/// `bench/concurrency.mjs` (1,001 files, s3s-fs behind a 30 ms proxy): 8 →
/// 180 files/s, 32 → 608, 64 → 1,038, 128 → 1,209; with no added latency
/// the curve is flat past 16. 64 takes most of the gain with few sockets.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// Concurrency for `file://` and `memory://` when none is given: writes there
/// are CPU-bound, and more tasks only contend (1,001 files: 0.17 s at 1,
/// 0.44 s at 8).
pub const DEFAULT_LOCAL_CONCURRENCY: usize = 4;

/// Concurrency for WebDAV (`http(s)://`) when none is given: one server, not
/// a cloud service, often a small one. Measured with
/// `bench/webdav-concurrency.mjs` (601 files in 31 folders, debug addon, a
/// shared 2-core machine; files/s at 1, 4, 8, 16, 32, 64):
/// - `rclone serve webdav` on loopback: 223, 340, 382, 381, 447, 414;
/// - the same behind a 30 ms proxy: 24, 68, 94, 119, 136, 137;
/// - wsgidav on loopback (1–32): 167, 229, 255, 224, 182.
///
/// 16 takes most of the gain on rclone and stays near wsgidav's peak, where
/// more only queues on the server.
pub const DEFAULT_WEBDAV_CONCURRENCY: usize = 16;

/// Whether an option or parameter name looks like it holds a credential:
/// messages name such keys, never their values.
pub fn is_credential_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "secret",
        "key",
        "token",
        "password",
        "credential",
        "sas",
        "sig",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// Canonical S3 keys, for suggestions; validity itself is decided by
/// `AmazonS3ConfigKey::from_str`, which also accepts the aliases.
pub const S3_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region",
    "aws_profile",
    "aws_default_region",
    "aws_bucket",
    "aws_endpoint",
    "aws_endpoint_url_s3",
    "aws_virtual_hosted_style_request",
    "aws_s3_express",
    "aws_imdsv1_fallback",
    "aws_metadata_endpoint",
    "aws_unsigned_payload",
    "aws_checksum_algorithm",
    "aws_container_credentials_relative_uri",
    "aws_container_credentials_full_uri",
    "aws_web_identity_token_file",
    "aws_role_arn",
    "aws_role_session_name",
    "aws_endpoint_url_sts",
    "aws_skip_signature",
    "aws_copy_if_not_exists",
    "aws_conditional_put",
    "aws_disable_tagging",
    "aws_request_payer",
    "aws_allow_http",
    "aws_server_side_encryption",
    "aws_sse_kms_key_id",
    "aws_sse_bucket_key_enabled",
];

/// Canonical Google Cloud Storage keys, for suggestions.
pub const GCS_KEYS: &[&str] = &[
    "google_service_account",
    "google_service_account_key",
    "google_bucket",
    "google_base_url",
    "google_application_credentials",
    "google_bearer_token",
    "google_skip_signature",
];

/// Canonical Azure Blob keys, for suggestions.
pub const AZURE_KEYS: &[&str] = &[
    "azure_storage_account_name",
    "azure_storage_account_key",
    "azure_storage_client_id",
    "azure_storage_client_secret",
    "azure_storage_tenant_id",
    "azure_storage_sas_key",
    "azure_storage_token",
    "azure_storage_use_emulator",
    "azure_storage_endpoint",
    "azure_container_name",
    "azure_use_fabric_endpoint",
    "azure_msi_endpoint",
    "azure_object_id",
    "azure_msi_resource_id",
    "azure_federated_token_file",
    "azure_use_azure_cli",
    "azure_skip_signature",
    "azure_disable_tagging",
];

/// WebDAV's basic-auth keys, an alternative to `https://user:password@host/`.
pub const WEBDAV_KEYS: &[&str] = &["webdav_username", "webdav_password"];

/// HTTP client keys every remote backend accepts.
pub const CLIENT_KEYS: &[&str] = &[
    "allow_http",
    "allow_invalid_certificates",
    "connect_timeout",
    "http1_only",
    "http2_only",
    "pool_idle_timeout",
    "pool_max_idle_per_host",
    "proxy_url",
    "proxy_ca_certificate",
    "proxy_excludes",
    "timeout",
    "user_agent",
];

/// A hint for an unknown key: the closest known key of this backend, or the
/// backend the key belongs to when it is valid elsewhere.
pub fn suggest(key: &str, known: &[&str], scheme_hint: &str) -> String {
    let key = key.to_ascii_lowercase();
    for (backend, keys) in [
        ("an S3", S3_KEYS),
        ("a GCS", GCS_KEYS),
        ("an Azure", AZURE_KEYS),
    ] {
        if !std::ptr::eq(keys, known) && keys.contains(&key.as_str()) {
            return format!(" ('{key}' is {backend} option, but the storage URL is {scheme_hint})");
        }
    }
    let best = known
        .iter()
        .chain(CLIENT_KEYS)
        .map(|candidate| (edit_distance(&key, candidate), *candidate))
        .min();
    match best {
        Some((distance, candidate)) if distance <= 3.max(key.len() / 4) => {
            format!(" (did you mean '{candidate}'?)")
        }
        _ if known.is_empty() => format!(" ({scheme_hint} storage takes no options)"),
        _ => format!(" (known keys: {})", known.join(", ")),
    }
}

/// Levenshtein distance, enough for short config keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_has_one_row_and_one_scheme() {
        for row in &TABLE {
            assert_eq!(Backend::for_scheme(&row.scheme), Some(row.backend));
            assert_eq!(TABLE.iter().filter(|r| r.backend == row.backend).count(), 1);
        }
        assert_eq!(Backend::S3.default_concurrency(), DEFAULT_CONCURRENCY);
        assert_eq!(
            Backend::Http.default_concurrency(),
            DEFAULT_WEBDAV_CONCURRENCY
        );
        assert!(!Backend::Local.keeps_headers() && Backend::Memory.keeps_headers());
        assert!(!Backend::Gcs.copies_server_side() && Backend::S3.etag_is_md5());
    }
}
