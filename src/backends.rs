//! What vite-deploy knows about each storage backend, in one table: the
//! schemes that select it, an example URL, its option keys, where its
//! credentials come from, its default concurrency and what it can do
//! (server-side copy, stored headers, MD5 ETags). `store` builds the clients;
//! everything else, messages included, asks [`Backend`].
//!
//! A new backend is a variant and a row here, its builder arm in
//! `store::open` (and its key check in `store::is_key`), its contract test
//! in `__test__/`, and its row in the README's Storage URLs table (a test
//! holds the README to the examples here).

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
    /// The URL schemes (before `://`) that select it, as object_store reads them.
    url_schemes: &'static [&'static str],
    /// A URL of this backend, for messages and the README's Storage URLs table.
    example: &'static str,
    /// Where its credentials come from; `None`: it needs none of its own.
    credentials: Option<Credentials>,
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

/// Where a backend's credentials come from: what the check before the first
/// request looks for, and what the messages tell the user to set.
#[derive(Debug)]
pub struct Credentials {
    /// Option keys, aliases included, that give a credential or name its source.
    pub options: &'static [&'static str],
    /// Option keys that, set to `true`, make credentials unnecessary or
    /// found elsewhere (an emulator, the Azure CLI, unsigned requests).
    pub switches: &'static [&'static str],
    /// Environment variables that give a credential or name its source.
    pub variables: &'static [&'static str],
    /// The prefix of its environment variables (`AWS_`), lowercased: the
    /// option keys those variables name, which env files may set too.
    pub env_prefix: &'static str,
    /// A file under `HOME` that holds credentials, with a name for messages.
    pub home_file: Option<(&'static str, &'static str)>,
    /// How to give credentials, as a message's fix.
    pub fix: &'static str,
}

const TABLE: [Row; 6] = [
    Row {
        backend: Backend::S3,
        scheme: ObjectStoreScheme::AmazonS3,
        url_schemes: &["s3", "s3a"],
        example: "s3://bucket/prefix",
        credentials: Some(Credentials {
            options: &[
                "aws_access_key_id",
                "access_key_id",
                "aws_web_identity_token_file",
                "web_identity_token_file",
                "aws_container_credentials_relative_uri",
                "aws_container_credentials_full_uri",
                "aws_metadata_endpoint",
                "metadata_endpoint",
            ],
            switches: &["aws_skip_signature", "skip_signature"],
            variables: &[
                "AWS_ACCESS_KEY_ID",
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_METADATA_ENDPOINT",
                "AWS_SKIP_SIGNATURE",
            ],
            env_prefix: "aws_",
            home_file: None,
            // Shown only if the AWS chain is bypassed; the chain's own message
            // (src/credentials.rs) lists every source it tried.
            fix: "run `aws configure` or `aws sso login` (or name a profile with --profile / AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or pass aws_access_key_id and aws_secret_access_key with -o / storageOptions)",
        }),
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
        url_schemes: &["gs"],
        example: "gs://bucket/prefix",
        credentials: Some(Credentials {
            options: &[
                "google_service_account",
                "service_account",
                "google_service_account_path",
                "google_service_account_key",
                "service_account_key",
                "google_application_credentials",
                "application_credentials",
                "google_bearer_token",
                "bearer_token",
            ],
            switches: &["google_skip_signature"],
            variables: &[
                "GOOGLE_SERVICE_ACCOUNT",
                "GOOGLE_SERVICE_ACCOUNT_PATH",
                "GOOGLE_SERVICE_ACCOUNT_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GOOGLE_BEARER_TOKEN",
                "GCE_METADATA_HOST",
            ],
            env_prefix: "google_",
            home_file: Some((".config/gcloud/application_default_credentials.json", "gcloud's application-default file")),
            fix: "set GOOGLE_APPLICATION_CREDENTIALS to a service account key file (or pass google_service_account with -o / storageOptions), or run gcloud auth application-default login; on Google Cloud with an attached service account, set GCE_METADATA_HOST=metadata.google.internal",
        }),
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
        url_schemes: &["az", "azure", "abfs", "abfss", "adl"],
        example: "az://container/prefix",
        credentials: Some(Credentials {
            options: &[
                "azure_storage_account_key",
                "account_key",
                "access_key",
                "azure_storage_sas_key",
                "sas_key",
                "sas_token",
                "azure_storage_token",
                "bearer_token",
                "token",
                "azure_storage_client_secret",
                "client_secret",
                "azure_federated_token_file",
                "federated_token_file",
                "azure_msi_endpoint",
                "msi_endpoint",
            ],
            switches: &[
                "azure_storage_use_emulator",
                "use_emulator",
                "azure_use_azure_cli",
                "azure_skip_signature",
            ],
            variables: &[
                "AZURE_STORAGE_ACCOUNT_KEY",
                "AZURE_STORAGE_ACCESS_KEY",
                "AZURE_STORAGE_SAS_KEY",
                "AZURE_STORAGE_TOKEN",
                "AZURE_CLIENT_SECRET",
                "AZURE_STORAGE_CLIENT_SECRET",
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_MSI_ENDPOINT",
                "AZURE_STORAGE_USE_EMULATOR",
                "AZURE_USE_AZURE_CLI",
            ],
            env_prefix: "azure_",
            home_file: None,
            fix: "set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY, or a service principal's AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID); after az login set AZURE_USE_AZURE_CLI=true; with workload identity AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID; with a managed identity AZURE_MSI_ENDPOINT (or azure_msi_endpoint)",
        }),
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
        url_schemes: &["file"],
        example: "file:///absolute/path",
        credentials: None,
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
        url_schemes: &["memory"],
        example: "memory:///prefix",
        credentials: None,
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
        url_schemes: &["http", "https"],
        example: "https://host/path",
        credentials: None,
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

    /// The backend a URL scheme (before `://`, any case) selects.
    pub fn for_url_scheme(scheme: &str) -> Option<Self> {
        let scheme = scheme.to_ascii_lowercase();
        TABLE
            .iter()
            .find(|row| row.url_schemes.contains(&scheme.as_str()))
            .map(|row| row.backend)
    }

    /// Every backend, in the table's order.
    pub fn all() -> impl Iterator<Item = Self> {
        TABLE.iter().map(|row| row.backend)
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// A URL of this backend, for messages (`s3://bucket/prefix`).
    pub fn example(self) -> &'static str {
        self.row().example
    }

    /// Where its credentials come from; `None` where it needs none.
    pub fn credentials(self) -> Option<&'static Credentials> {
        self.row().credentials.as_ref()
    }

    /// Whether its URLs name a host (a bucket, a container, a server).
    pub fn needs_host(self) -> bool {
        !matches!(self, Backend::Local | Backend::Memory)
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

/// Every backend's example URL, for "use one of …" in messages.
pub fn examples() -> String {
    TABLE
        .iter()
        .map(|row| row.example)
        .collect::<Vec<_>>()
        .join(", ")
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

    #[test]
    fn the_readme_lists_every_backend_by_its_example_url() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let start = readme
            .find("## Storage URLs")
            .expect("a Storage URLs section");
        let section = &readme[start..];
        let section = &section[..section[3..]
            .find("\n## ")
            .map_or(section.len(), |at| at + 3)];
        for backend in Backend::all() {
            let row = format!("\n| `{}`", backend.example());
            assert!(
                section.contains(&row),
                "the README's Storage URLs table has no row starting with `{}`",
                backend.example()
            );
        }
    }

    #[test]
    fn credential_sources_are_the_backends_own() {
        for backend in Backend::all() {
            let Some(sources) = backend.credentials() else {
                continue;
            };
            let canonical: Vec<_> = sources
                .options
                .iter()
                .filter(|k| backend.keys().contains(k))
                .collect();
            assert!(
                !canonical.is_empty(),
                "{backend:?}: no canonical credential key"
            );
            for key in canonical {
                assert!(key.starts_with(sources.env_prefix), "{key}");
            }
            let prefix = sources.env_prefix.to_ascii_uppercase();
            assert!(
                sources.variables.iter().any(|v| v.starts_with(&prefix)),
                "{backend:?}"
            );
        }
    }
}
