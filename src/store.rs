//! Storage URL + options → an [`ObjectStore`] and the prefix to publish under.
//!
//! object_store's `parse_url_opts` is not used on purpose: it ignores unknown
//! option keys (a typo then sends requests to the real AWS endpoint), does not
//! read the `AWS_*`/`GOOGLE_*`/`AZURE_*` environment, and makes a new
//! `InMemory` on every call. Here each backend's builder starts `from_env()`,
//! options override the environment, and every key is checked.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ClientConfigKey, ClientOptions, ObjectStore, ObjectStoreScheme, RetryConfig};
use url::Url;

use crate::error::{Error, Result};
use crate::options::{suggest, AZURE_KEYS, GCS_KEYS, S3_KEYS};

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

impl Backend {
    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::S3 => "S3",
            Backend::Gcs => "GCS",
            Backend::Azure => "Azure Blob",
            Backend::Local => "file://",
            Backend::Memory => "memory://",
            Backend::Http => "HTTP (WebDAV)",
        }
    }

    /// Uploads in flight when the caller sets none.
    pub fn default_concurrency(self) -> usize {
        match self {
            Backend::Local | Backend::Memory => crate::options::DEFAULT_LOCAL_CONCURRENCY,
            _ => crate::options::DEFAULT_CONCURRENCY,
        }
    }

    /// Whether listing from an offset is a request of its own (S3's
    /// `start-after`, GCS's `startOffset`), so ranges can be listed at once.
    pub fn lists_from_offset(self) -> bool {
        matches!(self, Backend::S3 | Backend::Gcs)
    }

    /// Whether a copy between two keys runs on the server, so the bytes are
    /// not uploaded twice. Only where the tests exercise it: object_store
    /// copies on GCS too, but moto's GCS copy leaves an empty object, so GCS
    /// gets a plain PUT. WebDAV's COPY is tested on rclone and wsgidav.
    pub fn copies_server_side(self) -> bool {
        matches!(
            self,
            Backend::S3 | Backend::Azure | Backend::Local | Backend::Memory | Backend::Http
        )
    }

    /// Whether the store keeps `Content-Type` and `Cache-Control`.
    /// object_store's local store refuses attributes on put.
    pub fn keeps_headers(self) -> bool {
        !matches!(self, Backend::Local)
    }

    /// Whether a listing's ETag that looks like an MD5 is the MD5 of the
    /// content. True for single-part uploads on S3 and on GCS's XML API;
    /// other stores use opaque ETags (Azure, WebDAV) or none that hash
    /// content (local files, memory).
    pub fn etag_is_md5(self) -> bool {
        matches!(self, Backend::S3 | Backend::Gcs)
    }
}

/// Where a deploy writes: a store and a prefix inside it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Every key of the deploy lives under this prefix; it may be the root.
    pub prefix: Path,
    /// The backend the URL selected.
    pub backend: Backend,
    /// The URL as given, for messages.
    pub url: String,
}

impl Target {
    /// The object key of a file at `relative` (a `/`-joined path under the
    /// build directory). Names are kept as they are: `Path::parse` accepts
    /// spaces, `#`, `+` and unicode, where `Path::from` would percent-encode them.
    pub fn key(&self, relative: &str) -> std::result::Result<Path, object_store::path::Error> {
        if self.prefix.as_ref().is_empty() {
            Path::parse(relative)
        } else {
            Path::parse(format!("{}/{relative}", self.prefix.as_ref()))
        }
    }

    /// Why a file at `relative` cannot be a key on this store, if it cannot.
    /// A silent rename would be worse than an error: the next deploy would
    /// see the renamed object as an orphan and delete it.
    pub fn unstorable(&self, relative: &str) -> Option<String> {
        match self.backend {
            Backend::Azure if relative.contains('\\') => Some(
                "Azure Blob stores '\\' as '/', so the object would get another name — rename the file or exclude it".into(),
            ),
            _ => None,
        }
    }

    /// The path of `key` relative to the prefix, or `None` when the key is
    /// outside it (`a` is not a prefix of `ab/x`).
    pub fn relative<'a>(&self, key: &'a Path) -> Option<&'a str> {
        let prefix = self.prefix.as_ref();
        if prefix.is_empty() {
            return Some(key.as_ref());
        }
        key.as_ref().strip_prefix(prefix)?.strip_prefix('/')
    }
}

static MEMORY: OnceLock<Arc<InMemory>> = OnceLock::new();

/// How remote stores retry and time out requests.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Retries of a request that failed with a 5xx, a reset connection or a
    /// timeout, with exponential backoff. object_store never retries 4xx.
    pub retries: usize,
    /// Time limit of one request (`30s`); `None` keeps object_store's.
    pub timeout: Option<String>,
}

impl Network {
    fn retry_config(&self) -> RetryConfig {
        RetryConfig {
            max_retries: self.retries,
            ..Default::default()
        }
    }
}

/// Refuses a cloud URL with no credential source at all, before any request:
/// object_store would otherwise ask the cloud's instance-metadata address,
/// which outside that cloud fails slowly with a message about a timeout.
/// Naming a metadata endpoint (`aws_metadata_endpoint`, `azure_msi_endpoint`)
/// or the environment variable of one opts into instance credentials.
fn check_credentials(
    raw: &str,
    backend: Backend,
    options: &BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let given = |keys: &[&str]| keys.iter().any(|k| options.contains_key(*k));
    let set = |names: &[&str]| names.iter().any(|n| env(n).is_some_and(|v| !v.is_empty()));
    let truthy = |key: &str| options.get(key).is_some_and(|v| v == "true");
    let (found, hint) = match backend {
        Backend::S3 => (
            given(&["aws_access_key_id", "access_key_id", "aws_web_identity_token_file", "web_identity_token_file", "aws_container_credentials_relative_uri", "aws_container_credentials_full_uri", "aws_metadata_endpoint", "metadata_endpoint"])
                || truthy("aws_skip_signature")
                || truthy("skip_signature")
                || set(&["AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_METADATA_ENDPOINT", "AWS_SKIP_SIGNATURE"]),
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or pass aws_access_key_id and aws_secret_access_key with -o / storageOptions); on EC2 with an instance role, set AWS_METADATA_ENDPOINT=http://169.254.169.254",
        ),
        Backend::Azure => (
            given(&["azure_storage_account_key", "account_key", "access_key", "azure_storage_sas_key", "sas_key", "sas_token", "azure_storage_token", "bearer_token", "token", "azure_storage_client_secret", "client_secret", "azure_federated_token_file", "federated_token_file", "azure_msi_endpoint", "msi_endpoint"])
                || truthy("azure_storage_use_emulator")
                || truthy("use_emulator")
                || truthy("azure_use_azure_cli")
                || truthy("azure_skip_signature")
                || set(&["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_TOKEN", "AZURE_CLIENT_SECRET", "AZURE_STORAGE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_MSI_ENDPOINT", "AZURE_STORAGE_USE_EMULATOR", "AZURE_USE_AZURE_CLI"]),
            "set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY, or a service principal's AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID)",
        ),
        Backend::Gcs => {
            let adc = env("HOME").map(|home| std::path::Path::new(&home).join(".config/gcloud/application_default_credentials.json"));
            (
                given(&["google_service_account", "service_account", "google_service_account_path", "google_service_account_key", "service_account_key", "google_application_credentials", "application_credentials", "google_bearer_token", "bearer_token"])
                    || truthy("google_skip_signature")
                    || set(&["GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH", "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_BEARER_TOKEN", "GCE_METADATA_HOST"])
                    || adc.is_some_and(|path| path.exists()),
                "set GOOGLE_APPLICATION_CREDENTIALS to a service account key file (or run gcloud auth application-default login); on Google Cloud with an attached service account, set GCE_METADATA_HOST=metadata.google.internal",
            )
        }
        Backend::Local | Backend::Memory | Backend::Http => (true, ""),
    };
    if found {
        Ok(())
    } else {
        Err(Error::MissingCredentials {
            store: raw.to_string(),
            hint: hint.to_string(),
        })
    }
}

/// Opens the store a storage URL names, with `options` as object_store keys.
pub fn open(raw: &str, options: &BTreeMap<String, String>, network: &Network) -> Result<Target> {
    open_with_env(raw, options, network, |name| std::env::var(name).ok())
}

/// [`open`] with the environment read through `env`.
pub fn open_with_env(
    raw: &str,
    options: &BTreeMap<String, String>,
    network: &Network,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Target> {
    let url = parse_url(raw)?;
    let (scheme, prefix) = ObjectStoreScheme::parse(&url).map_err(|_| unrecognised(raw, &url))?;
    // Keys first (a misspelt credential key is a typo, not a missing
    // credential), then credentials, then the builders.
    let (backend, known, hint): (Backend, &[&str], &str) = match scheme {
        ObjectStoreScheme::AmazonS3 => (Backend::S3, S3_KEYS, "s3://"),
        ObjectStoreScheme::GoogleCloudStorage => (Backend::Gcs, GCS_KEYS, "gs://"),
        ObjectStoreScheme::MicrosoftAzure => (Backend::Azure, AZURE_KEYS, "az://"),
        ObjectStoreScheme::Http => (Backend::Http, &[], Backend::Http.name()),
        ObjectStoreScheme::Local => (Backend::Local, &[], Backend::Local.name()),
        ObjectStoreScheme::Memory => (Backend::Memory, &[], Backend::Memory.name()),
        _ => return Err(unrecognised(raw, &url)),
    };
    for key in options.keys() {
        let valid = match backend {
            Backend::S3 => AmazonS3ConfigKey::from_str(key).is_ok(),
            Backend::Gcs => GoogleConfigKey::from_str(key).is_ok(),
            Backend::Azure => AzureConfigKey::from_str(key).is_ok(),
            Backend::Http => ClientConfigKey::from_str(key).is_ok(),
            Backend::Local | Backend::Memory => false,
        };
        if !valid {
            return Err(unknown(key, backend, known, hint));
        }
    }
    check_credentials(raw, backend, options, env)?;

    let config_error = |e: object_store::Error| Error::StoreConfig {
        store: raw.to_string(),
        message: crate::error::describe(&e),
    };

    // Every remote backend: builder from the environment, then the options,
    // whose keys were checked above.
    macro_rules! configured {
        ($builder:expr, $key:ty) => {{
            let mut builder = $builder.with_retry(network.retry_config());
            if let Some(timeout) = &network.timeout {
                builder = builder
                    .with_config(<$key>::from_str("timeout").expect("a client key"), timeout);
            }
            for (key, value) in options {
                let parsed = <$key>::from_str(key).expect("validated above");
                builder = builder.with_config(parsed, value);
            }
            let store: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(config_error)?);
            store
        }};
    }

    let store: Arc<dyn ObjectStore> = match backend {
        Backend::S3 => configured!(
            // S3 has If-Match/If-None-Match on PUT since 2024: the ledger's
            // conditional write needs them. `aws_conditional_put` overrides.
            AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .with_config(AmazonS3ConfigKey::ConditionalPut, "etag"),
            AmazonS3ConfigKey
        ),
        Backend::Gcs => configured!(
            GoogleCloudStorageBuilder::from_env().with_url(url.as_str()),
            GoogleConfigKey
        ),
        Backend::Azure => configured!(
            MicrosoftAzureBuilder::from_env().with_url(url.as_str()),
            AzureConfigKey
        ),
        Backend::Http => {
            // One set of client options for object_store's requests and for
            // the MKCOLs the WebDAV store sends itself.
            let mut client = ClientOptions::new();
            if let Some(timeout) = &network.timeout {
                client = client.with_config(ClientConfigKey::Timeout, timeout);
            }
            for (key, value) in options {
                let parsed = ClientConfigKey::from_str(key).expect("validated above");
                client = client.with_config(parsed, value);
            }
            let base = &url[..url::Position::BeforePath];
            Arc::new(
                crate::webdav::open(base, &prefix, client, network.retry_config())
                    .map_err(config_error)?,
            )
        }
        Backend::Local => Arc::new(LocalFileSystem::new().with_automatic_cleanup(true)),
        Backend::Memory => MEMORY.get_or_init(|| Arc::new(InMemory::new())).clone(),
    };

    Ok(Target {
        store,
        prefix,
        backend,
        url: raw.to_string(),
    })
}

fn parse_url(raw: &str) -> Result<Url> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    if let Some((_, rest)) = raw.split_once("://") {
        // `Url` would resolve these silently; a deploy must not land elsewhere.
        if rest
            .split('/')
            .any(|segment| segment == ".." || segment == ".")
        {
            return Err(invalid("'.' and '..' segments are not allowed in the path"));
        }
    }
    let looks_like_windows_path = raw.len() > 2
        && raw.as_bytes()[1] == b':'
        && raw.as_bytes()[0].is_ascii_alphabetic()
        && matches!(raw.as_bytes()[2], b'\\' | b'/');
    if looks_like_windows_path {
        return Err(invalid(
            "this is a local path: use a file:/// URL such as file:///C:/path/to/folder",
        ));
    }
    let url = Url::parse(raw).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            invalid("expected a URL such as s3://bucket/prefix, or file:///absolute/path for a local folder")
        }
        other => invalid(&other.to_string()),
    })?;
    let needs_host = matches!(
        url.scheme(),
        "s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss" | "adl" | "http" | "https"
    );
    if needs_host && url.host_str().is_none_or(str::is_empty) {
        let scheme = url.scheme();
        let example = match scheme {
            "gs" => "gs://bucket/prefix",
            "az" | "azure" | "adl" => "az://container/prefix",
            "abfs" | "abfss" => "abfs://container@account.dfs.core.windows.net/prefix",
            "http" | "https" => "https://host/path",
            _ => "s3://bucket/prefix",
        };
        return Err(invalid(&format!("expected {example}")));
    }
    if url.scheme() == "file" && url.host_str().is_some_and(|h| !h.is_empty()) {
        return Err(invalid(
            "a file URL needs an absolute path after three slashes: file:///path/to/folder",
        ));
    }
    Ok(url)
}

fn unrecognised(raw: &str, url: &Url) -> Error {
    Error::UnsupportedScheme {
        scheme: url.scheme().to_string(),
        url: raw.to_string(),
    }
}

fn unknown(key: &str, backend: Backend, known: &[&str], scheme: &str) -> Error {
    Error::UnknownOption {
        key: key.to_string(),
        backend: backend.name(),
        hint: suggest(key, known, scheme),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_ok(url: &str, options: &[(&str, &str)]) -> Target {
        let options = options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        open(url, &options, &Network::default()).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn open_err(url: &str, options: &[(&str, &str)]) -> Error {
        let options = options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        open(url, &options, &Network::default()).expect_err(url)
    }

    const LOCAL_S3: &[(&str, &str)] = &[
        ("aws_endpoint", "http://127.0.0.1:9"),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "k"),
        ("aws_secret_access_key", "s"),
        ("aws_region", "us-east-1"),
    ];

    #[test]
    fn schemes_select_backends_and_prefixes() {
        let s3 = open_ok("s3://bucket/app/v1", LOCAL_S3);
        assert_eq!((s3.backend, s3.prefix.as_ref()), (Backend::S3, "app/v1"));
        let root = open_ok("s3://bucket", LOCAL_S3);
        assert_eq!(root.prefix.as_ref(), "");
        let az = open_ok(
            "az://container/site",
            &[("azure_storage_use_emulator", "true")],
        );
        assert_eq!((az.backend, az.prefix.as_ref()), (Backend::Azure, "site"));
        let file = open_ok("file:///tmp/out", &[]);
        assert_eq!(
            (file.backend, file.prefix.as_ref()),
            (Backend::Local, "tmp/out")
        );
        let memory = open_ok("memory:///p", &[]);
        assert_eq!(
            (memory.backend, memory.prefix.as_ref()),
            (Backend::Memory, "p")
        );
    }

    #[test]
    fn memory_is_one_store_per_process() {
        let a = open_ok("memory:///a", &[]);
        let b = open_ok("memory:///b", &[]);
        assert!(Arc::ptr_eq(&a.store, &b.store));
    }

    #[test]
    fn keys_live_under_the_prefix_and_keep_their_characters() {
        let target = open_ok("memory:///site/app", &[]);
        assert_eq!(
            target.key("assets/a b#1+ü.js").unwrap().as_ref(),
            "site/app/assets/a b#1+ü.js"
        );
        let key = Path::parse("site/app/x.js").unwrap();
        assert_eq!(target.relative(&key), Some("x.js"));
        let sibling = Path::parse("site/appx/x.js").unwrap();
        assert_eq!(target.relative(&sibling), None);
    }

    #[test]
    fn missing_credentials_are_named_before_any_request() {
        let none = |_: &str| None;
        let error = open_with_env(
            "s3://bucket/app",
            &Default::default(),
            &Network::default(),
            none,
        )
        .unwrap_err();
        assert!(matches!(error, Error::MissingCredentials { .. }), "{error}");
        assert!(error.to_string().contains("AWS_ACCESS_KEY_ID"), "{error}");
        let keys = [("AWS_ACCESS_KEY_ID", "k")];
        let from_env = |name: &str| {
            keys.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        assert!(open_with_env(
            "s3://bucket/app",
            &Default::default(),
            &Network::default(),
            from_env
        )
        .is_ok());
        let error =
            open_with_env("az://c/p", &Default::default(), &Network::default(), none).unwrap_err();
        assert!(
            error.to_string().contains("AZURE_STORAGE_ACCOUNT_KEY"),
            "{error}"
        );
        assert!(open_with_env(
            "memory:///x",
            &Default::default(),
            &Network::default(),
            none
        )
        .is_ok());
    }

    #[test]
    fn bad_urls_are_explained() {
        for (url, needle) in [
            ("s3:/bucket", "expected s3://bucket/prefix"),
            ("s3://", "expected s3://bucket/prefix"),
            ("s3://bucket/../x", "'..'"),
            ("./dist", "file:///absolute/path"),
            ("C:\\out", "file:///"),
            ("file://relative/x", "three slashes"),
        ] {
            let error = open_err(url, &[]);
            assert!(matches!(error, Error::InvalidUrl { .. }), "{url}: {error}");
            assert!(error.to_string().contains(needle), "{url}: {error}");
        }
        let error = open_err("ftp://host/x", &[]);
        assert!(matches!(error, Error::UnsupportedScheme { .. }), "{error}");
        assert!(error.to_string().contains("s3://"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused_with_a_suggestion() {
        let error = open_err("s3://bucket", &[("aws_endpoin", "http://127.0.0.1:9")]);
        assert_eq!(
            error.to_string(),
            "unknown option 'aws_endpoin' for S3 storage (did you mean 'aws_endpoint'?)"
        );
        let error = open_err("az://c", &[("aws_region", "us-east-1")]);
        assert!(error.to_string().contains("is an S3 option"), "{error}");
        let error = open_err("file:///tmp/x", &[("aws_region", "x")]);
        assert!(matches!(error, Error::UnknownOption { .. }), "{error}");
    }
}
