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
use object_store::{
    ClientConfigKey, ClientOptions, HeaderMap, HeaderValue, ObjectStore, ObjectStoreScheme,
    RetryConfig,
};
use url::Url;

pub use crate::backends::Backend;
use crate::backends::{is_credential_key, suggest, WEBDAV_KEYS};
use crate::credentials::{AwsChain, PROFILE_KEY};
use crate::error::{Error, Result};
pub use crate::redact::{redact_text, redact_url};

/// Where a deploy writes: a store and a prefix inside it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Every key of the deploy lives under this prefix; it may be the root.
    pub prefix: Path,
    /// The backend the URL selected.
    pub backend: Backend,
    /// The URL for messages, with credentials hidden ([`redact_url`]).
    pub url: String,
    /// Whether the store still answers (HTTP stores; never tripped for
    /// `file://` and `memory://`).
    pub reachability: Arc<crate::reachability::Reachability>,
    /// The AWS credential chain the S3 store signs with, when it has one:
    /// [`Target::resolve_credentials`] asks it before any request.
    pub credentials: Option<Arc<AwsChain>>,
}

impl Target {
    /// Finds credentials before the first request, so "none anywhere" is a
    /// usage error naming every source tried rather than a failed listing.
    /// Stores without a chain have nothing to find here.
    pub async fn resolve_credentials(&self) -> Result<()> {
        if let Some(chain) = &self.credentials {
            chain
                .credential()
                .await
                .map_err(|e| Error::MissingCredentials {
                    store: self.url.clone(),
                    hint: e.to_string(),
                })?;
        }
        Ok(())
    }

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
    let Some(sources) = backend.credentials() else {
        return Ok(());
    };
    let file = sources.home_file.map(|(path, name)| {
        let at = env("HOME").map(|home| std::path::Path::new(&home).join(path));
        (at, name)
    });
    let found = sources.options.iter().any(|k| options.contains_key(*k))
        || sources
            .switches
            .iter()
            .any(|k| options.get(*k).is_some_and(|v| v == "true"))
        || sources
            .variables
            .iter()
            .any(|n| env(n).is_some_and(|v| !v.is_empty()))
        || file
            .as_ref()
            .is_some_and(|(at, _)| at.as_ref().is_some_and(|at| at.exists()));
    if found {
        return Ok(());
    }
    // The canonical keys, not their aliases: what the user would write.
    let keys: Vec<&str> = sources
        .options
        .iter()
        .copied()
        .filter(|k| backend.keys().contains(k))
        .collect();
    let file = file.map_or(String::new(), |(at, name)| {
        let at = at.map_or("(no HOME)".to_string(), |at| at.display().to_string());
        format!("; {name} {at}")
    });
    Err(Error::MissingCredentials {
        store: redact_url(raw),
        hint: format!(
            "tried, in order: the options {}; the variables {}{file}; none is set. Fix: {}",
            listed(&keys),
            listed(sources.variables),
            sources.fix
        ),
    })
}

/// `a, b and c`.
fn listed(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
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
    if let Some(error) = explain(raw, options, &env) {
        return Err(error);
    }
    let url = parse_url(raw)?;
    let (scheme, prefix) = ObjectStoreScheme::parse(&url).map_err(|_| unrecognised(raw, &url))?;
    // Keys first (a misspelt credential key is a typo, not a missing
    // credential), then credentials, then the builders.
    let backend = Backend::for_scheme(&scheme).ok_or_else(|| unrecognised(raw, &url))?;
    let (known, hint) = (backend.keys(), backend.hint());
    for key in options.keys() {
        if !is_key(backend, key) {
            return Err(unknown(key, backend, known, hint));
        }
    }
    refuse_userinfo(raw, &url, backend)?;
    let options = &clean_options(options, backend)?;
    let from_env = clean_env(backend, known, options, &env)?;
    let aws_chain = match backend {
        Backend::S3 => aws_chain(options, &env),
        _ => None,
    };
    if aws_chain.is_none() {
        check_credentials(raw, backend, options, &env)?;
    }

    // A builder may quote a value it cannot parse: never a credential's.
    let config_error = |e: object_store::Error| Error::StoreConfig {
        store: redact_url(raw),
        message: options
            .iter()
            .filter(|(key, value)| is_credential_key(key) && value.len() >= 4)
            .fold(crate::error::describe(&e), |message, (_, value)| {
                message.replace(value.as_str(), "***")
            }),
    };

    let reachability = Arc::new(crate::reachability::Reachability::default());
    // Every remote backend: builder from the environment, then the options,
    // whose keys were checked above.
    macro_rules! configured {
        ($builder:expr, $key:ty) => {
            configured!($builder, $key, |builder| builder)
        };
        ($builder:expr, $key:ty, $finish:expr) => {{
            let mut builder = $builder
                .with_retry(network.retry_config())
                .with_http_connector(crate::reachability::Connector(reachability.clone()));
            // `aws_profile` is vite-deploy's own key: the chain reads it.
            for (key, value) in from_env.iter().filter(|(k, _)| k != PROFILE_KEY) {
                let parsed = <$key>::from_str(key).expect("a known key");
                builder = builder.with_config(parsed, value);
            }
            if let Some(timeout) = &network.timeout {
                builder = builder
                    .with_config(<$key>::from_str("timeout").expect("a client key"), timeout);
            }
            // WebDAV's own keys become a header, not client settings.
            for (key, value) in options
                .iter()
                .filter(|(k, _)| !WEBDAV_KEYS.contains(&k.as_str()) && *k != PROFILE_KEY)
            {
                let parsed = <$key>::from_str(key).expect("validated above");
                builder = builder.with_config(parsed, value);
            }
            let builder = ($finish)(builder);
            let store: Arc<dyn ObjectStore> = Arc::new(builder.build().map_err(config_error)?);
            store
        }};
    }

    let store: Arc<dyn ObjectStore> = match backend {
        Backend::S3 => configured!(
            // S3 has If-Match/If-None-Match on PUT since 2024: the ledger's
            // conditional write needs them. `aws_conditional_put` overrides.
            {
                let builder = AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_config(AmazonS3ConfigKey::ConditionalPut, "etag");
                match &aws_chain {
                    // The chain's region is the bucket's too when neither the
                    // options nor the environment name one: the profile's.
                    Some(chain) => match chain.region() {
                        Some(region) => builder.with_region(region),
                        None => builder,
                    }
                    .with_credentials(chain.clone()),
                    None => builder,
                }
            },
            AmazonS3ConfigKey,
            |builder: AmazonS3Builder| {
                payload_signing(builder, unsigned_payload_chosen(options, &env))
            }
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
            // object_store's HttpBuilder has no basic-auth setting: the
            // userinfo becomes a default header, and leaves the URL that
            // object_store puts in its messages. One set of client options
            // serves object_store's requests and the MKCOLs the WebDAV store
            // sends itself.
            let mut client = ClientOptions::new();
            if let Some(header) = webdav_auth(&url, options)? {
                let mut headers = HeaderMap::new();
                headers.insert("authorization", header);
                client = client.with_default_headers(headers);
            }
            if let Some(timeout) = &network.timeout {
                client = client.with_config(ClientConfigKey::Timeout, timeout);
            }
            // WebDAV's own keys became the header above.
            for (key, value) in options
                .iter()
                .filter(|(k, _)| !WEBDAV_KEYS.contains(&k.as_str()))
            {
                let parsed = ClientConfigKey::from_str(key).expect("validated above");
                client = client.with_config(parsed, value);
            }
            let mut base = url.clone();
            let _ = base.set_username("");
            let _ = base.set_password(None);
            Arc::new(
                crate::webdav::open(
                    &base[..url::Position::BeforePath],
                    &prefix,
                    client,
                    network.retry_config(),
                    crate::reachability::Connector(reachability.clone()),
                )
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
        url: redact_url(raw),
        reachability,
        credentials: aws_chain,
    })
}

/// The AWS CLI's credential chain for an S3 store, unless the options name
/// credentials of their own or the environment holds static keys (object_store
/// reads those itself). A profile named in the options (`--profile`) takes
/// the chain even then, as `aws --profile` does.
fn aws_chain(
    options: &BTreeMap<String, String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<Arc<AwsChain>> {
    let option = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| options.get(*k))
            .filter(|v| !v.trim().is_empty())
            .cloned()
    };
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let truthy = |value: Option<String>| value.is_some_and(|v| v.trim() == "true");
    let own_credentials = option(&[
        "aws_access_key_id",
        "access_key_id",
        "aws_web_identity_token_file",
        "web_identity_token_file",
        "aws_container_credentials_relative_uri",
        "aws_container_credentials_full_uri",
    ])
    .is_some()
        || truthy(option(&["aws_skip_signature", "skip_signature"]))
        || truthy(set("AWS_SKIP_SIGNATURE"));
    let profile = option(&[PROFILE_KEY]);
    if own_credentials || (profile.is_none() && set("AWS_ACCESS_KEY_ID").is_some()) {
        return None;
    }
    let region = option(&[
        "aws_region",
        "region",
        "aws_default_region",
        "default_region",
    ])
    .or_else(|| set("AWS_REGION"))
    .or_else(|| set("AWS_DEFAULT_REGION"))
    .or_else(|| crate::credentials::profile_region(profile.as_deref()));
    Some(crate::credentials::shared(
        profile,
        region,
        option(&["aws_metadata_endpoint", "metadata_endpoint"])
            .or_else(|| set("AWS_METADATA_ENDPOINT")),
    ))
}

/// Mistakes that object_store would report in its own terms ("unsupported
/// scheme", "builder error"), named with the fix instead. Checked before
/// anything else, so the first message is the useful one.
fn explain(
    raw: &str,
    options: &BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<Error> {
    // Every message below quotes the URL or parts of it: never its userinfo.
    let raw = &redact_url(raw);
    let invalid = |reason: String| Error::InvalidUrl {
        url: raw.to_string(),
        reason,
    };
    let (scheme, rest) = raw.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "memory" && !rest.is_empty() && !rest.starts_with('/') {
        return Some(invalid(format!(
            "memory storage has no host: write memory:///{rest}"
        )));
    }
    if let Some((host, path)) = rest.split_once('/') {
        if !host.is_empty() && (path.starts_with('/') || path.contains("//")) {
            let tidy: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            return Some(invalid(format!(
                "the path has a double slash, which would make an empty folder name: write {scheme}://{host}/{}",
                tidy.join("/")
            )));
        }
    }
    let option = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| options.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)))
            .map(|(_, v)| v.clone())
    };
    if matches!(scheme.as_str(), "s3" | "s3a") {
        let endpoint = option(&[
            "aws_endpoint",
            "aws_endpoint_url",
            "endpoint_url",
            "endpoint",
        ])
        .or_else(|| env("AWS_ENDPOINT"))
        .or_else(|| env("AWS_ENDPOINT_URL"));
        let allowed = option(&["aws_allow_http", "allow_http"])
            .or_else(|| env("AWS_ALLOW_HTTP"))
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if let Some(endpoint) = endpoint.filter(|e| e.to_ascii_lowercase().starts_with("http://")) {
            if !allowed {
                return Some(Error::InvalidOption {
                    name: "storageOptions.aws_allow_http".into(),
                    reason: format!("the endpoint {} is plain http, which object_store refuses unless aws_allow_http=true: add it (-o aws_allow_http=true, or in storageOptions), or use https", redact_url(&endpoint)),
                });
            }
        }
    }
    if let Some((s3, endpoint)) = as_s3(raw) {
        let s3_key = options
            .keys()
            .find(|k| k.to_ascii_lowercase().starts_with("aws_"));
        if let Some(key) = s3_key {
            return Some(invalid(format!(
                "{scheme}:// storage is WebDAV, but '{key}' is an S3 option: for an S3 server at {endpoint}, write {s3} with aws_endpoint={endpoint}"
            )));
        }
        let allowed = option(&["allow_http"]).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if scheme == "http" && !allowed {
            return Some(Error::InvalidOption {
                name: "storageOptions.allow_http".into(),
                reason: format!("plain http:// storage is WebDAV and needs allow_http=true (-o allow_http=true, or in storageOptions); for an S3-compatible server (MinIO, …) write {s3} with aws_endpoint={endpoint} and aws_allow_http=true"),
            });
        }
    }
    None
}

/// An `http(s)://host/bucket/prefix` URL as the S3 URL and endpoint it
/// would be if the server is S3-compatible: `(s3://bucket/prefix, http(s)://host)`.
pub fn as_s3(raw: &str) -> Option<(String, String)> {
    let (scheme, rest) = raw.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (host, path) = rest.split_once('/')?;
    let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
    if host.is_empty() || bucket.is_empty() {
        return None;
    }
    let s3 = format!("s3://{bucket}/{prefix}");
    Some((
        s3.trim_end_matches('/').to_string(),
        format!("{scheme}://{host}"),
    ))
}

fn parse_url(raw: &str) -> Result<Url> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: redact_url(raw),
        reason: reason.to_string(),
    };
    if let Some((_, rest)) = raw.split_once("://") {
        // `Url` would resolve these silently, also when percent-encoded
        // (`%2e%2e`) or written with `\`: a deploy must not land elsewhere.
        let before_query = rest.split(['?', '#']).next().unwrap_or_default();
        if decode(before_query)
            .split(['/', '\\'])
            .any(|segment| segment == ".." || segment == ".")
        {
            return Err(invalid(
                "'.' and '..' segments are not allowed in the path (nor '%2e%2e' or '.%2E')",
            ));
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
    // `previews/fix#12` would deploy to `previews/fix`, and a query is
    // dropped (an Azure SAS in it would be ignored, then printed).
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "'?' and '#' end the path, so the deploy would land in another prefix — percent-encode them in a name (%3F, %23), and pass credentials with -o / storageOptions",
        ));
    }
    let backend = Backend::for_url_scheme(url.scheme());
    if backend.is_some_and(Backend::needs_host) && url.host_str().is_none_or(str::is_empty) {
        let example = match url.scheme() {
            "abfs" | "abfss" => "abfs://container@account.dfs.core.windows.net/prefix",
            _ => backend.map_or("", Backend::example),
        };
        return Err(invalid(&format!("expected {example}")));
    }
    if url.scheme() == "file" && url.host_str().is_some_and(|h| !h.is_empty()) {
        return Err(invalid(
            "a file URL needs an absolute path after three slashes: file:///path/to/folder",
        ));
    }
    // Whatever else the parser rewrites (`\` to `/` on file:// and http(s)://,
    // tabs and line breaks dropped) would also move the deploy.
    if decode(raw_path(raw)).trim_start_matches('/') != decode(url.path()).trim_start_matches('/') {
        return Err(invalid(
            "the path would change when parsed ('\\' reads as '/', tabs and line breaks are dropped) — write it with '/' and no control characters",
        ));
    }
    Ok(url)
}

/// The path of a URL as written: after the authority, before `?` and `#`.
fn raw_path(raw: &str) -> &str {
    let Some((_, rest)) = raw.split_once("://") else {
        return "";
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    rest.find(['/', '\\']).map_or("", |at| &rest[at..])
}

fn decode(text: &str) -> std::borrow::Cow<'_, str> {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy()
}

/// Refuses credentials in a cloud URL: object_store would ignore them (and
/// then look for credentials elsewhere) while every message printed them.
/// WebDAV uses them; `abfs://container@account…` names a container.
fn refuse_userinfo(raw: &str, url: &Url, backend: Backend) -> Result<()> {
    let has_userinfo = !url.username().is_empty() || url.password().is_some();
    let container = matches!(url.scheme(), "abfs" | "abfss") && url.password().is_none();
    if !has_userinfo || container || backend == Backend::Http {
        return Ok(());
    }
    let name = backend.name();
    Err(Error::InvalidUrl {
        url: redact_url(raw),
        reason: match backend.credentials() {
            Some(sources) => format!(
                "{name} storage does not read credentials from the URL — remove them and {}",
                sources.fix
            ),
            None => format!("{name} storage takes no credentials — remove them from the URL"),
        },
    })
}

/// WebDAV's basic auth, from the URL's userinfo or from `webdav_username`
/// and `webdav_password` (which keep the password out of the URL), not both.
fn webdav_auth(url: &Url, options: &BTreeMap<String, String>) -> Result<Option<HeaderValue>> {
    let in_url = !url.username().is_empty() || url.password().is_some();
    let user = options.get("webdav_username");
    let password = options.get("webdav_password");
    if in_url && (user.is_some() || password.is_some()) {
        return Err(Error::InvalidOption {
            name: "storageOptions".into(),
            reason: "the WebDAV credentials are given twice, in the storage URL and in webdav_username/webdav_password — give them once".into(),
        });
    }
    Ok(if in_url {
        basic_auth(
            &decode(url.username()),
            &decode(url.password().unwrap_or_default()),
        )
    } else if user.is_some() || password.is_some() {
        basic_auth(
            user.map_or("", String::as_str),
            password.map_or("", String::as_str),
        )
    } else {
        None
    })
}

/// `Authorization: Basic …`, marked sensitive so that no debug output shows it.
fn basic_auth(user: &str, password: &str) -> Option<HeaderValue> {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut header = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// Option values whose line breaks are part of the value (a JSON key file,
/// a PEM certificate); every other value ends up in a header or a URL.
fn multi_line(key: &str) -> bool {
    key.contains("service_account_key") || key.contains("ca_certificate")
}

/// What is wrong with one option or environment value, if anything. The
/// value itself is never part of the answer: it may be a secret.
fn check_value(key: &str, value: &str) -> Option<&'static str> {
    let has_control = value
        .chars()
        .any(|c| c.is_control() && !(multi_line(key) && matches!(c, '\n' | '\r' | '\t')));
    has_control.then_some(
        "contains a line break or another control character — remove it (the value is not shown: it may be a secret)",
    )
}

/// The options with surrounding whitespace trimmed (a pasted secret often
/// ends with a newline, which would become a header and panic the client),
/// refusing a control character inside a value, and two keys that name the
/// same setting (`aws_endpoint` and `endpoint`).
fn clean_options(
    options: &BTreeMap<String, String>,
    backend: Backend,
) -> Result<BTreeMap<String, String>> {
    let canonical = |key: &str| -> String {
        match backend {
            Backend::S3 => AmazonS3ConfigKey::from_str(key).map(|k| k.as_ref().to_string()),
            Backend::Gcs => GoogleConfigKey::from_str(key).map(|k| k.as_ref().to_string()),
            Backend::Azure => AzureConfigKey::from_str(key).map(|k| k.as_ref().to_string()),
            Backend::Http => ClientConfigKey::from_str(key).map(|k| k.as_ref().to_string()),
            Backend::Local | Backend::Memory => Ok(key.to_string()),
        }
        .unwrap_or_else(|_| key.to_string())
    };
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut clean = BTreeMap::new();
    for (key, value) in options {
        if let Some(first) = seen.insert(canonical(key), key) {
            return Err(Error::InvalidOption {
                name: "storageOptions".into(),
                reason: format!(
                    "'{first}' and '{key}' set the same option ({}) — give it once",
                    canonical(key)
                ),
            });
        }
        let value = value.trim();
        if let Some(problem) = check_value(key, value) {
            return Err(Error::InvalidOption {
                name: format!("storageOptions.{key}"),
                reason: problem.into(),
            });
        }
        clean.insert(key.clone(), value.to_string());
    }
    Ok(clean)
}

/// The backend's environment variables (`AWS_SESSION_TOKEN` for
/// `aws_session_token`) that the builder's `from_env` reads with surrounding
/// whitespace, trimmed, to be set over it; a control character inside one
/// is refused by the variable's name, unless an option replaces it.
fn clean_env(
    backend: Backend,
    known: &[&str],
    options: &BTreeMap<String, String>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>> {
    if matches!(backend, Backend::Http | Backend::Local | Backend::Memory) {
        return Ok(Vec::new());
    }
    let mut fixed = Vec::new();
    for key in known.iter().filter(|key| !options.contains_key(**key)) {
        let name = key.to_ascii_uppercase();
        let Some(value) = env(&name) else { continue };
        let trimmed = value.trim();
        if let Some(problem) = check_value(key, trimmed) {
            return Err(Error::InvalidOption {
                name: name.clone(),
                reason: format!("the environment variable {problem}"),
            });
        }
        if trimmed != value {
            fixed.push((key.to_string(), trimmed.to_string()));
        }
    }
    Ok(fixed)
}

fn unrecognised(raw: &str, url: &Url) -> Error {
    Error::UnsupportedScheme {
        scheme: url.scheme().to_string(),
        url: redact_url(raw),
    }
}

fn unknown(key: &str, backend: Backend, known: &[&str], scheme: &str) -> Error {
    Error::UnknownOption {
        key: key.to_string(),
        backend: backend.name(),
        hint: suggest(key, known, scheme),
    }
}

/// Storage options from variables read out of Vite's env files
/// (`.env.production.local` …): `AWS_*` for `s3://`, `GOOGLE_*` for `gs://`,
/// `AZURE_*` for `az://`, lowercased into the object_store keys they name,
/// as each builder's `from_env()` does with the process environment. Names
/// that are not keys of the URL's backend are left out, not refused: a
/// `.env` file may hold variables for other tools.
pub fn options_from_vars(
    raw: &str,
    vars: &std::collections::HashMap<String, String>,
) -> BTreeMap<String, String> {
    // object_store's parse, which also reads https://s3.<region>.amazonaws.com/… as S3.
    let backend = Url::parse(raw)
        .ok()
        .and_then(|url| ObjectStoreScheme::parse(&url).ok())
        .and_then(|(scheme, _)| Backend::for_scheme(&scheme));
    let Some((backend, sources)) = backend.and_then(|b| Some((b, b.credentials()?))) else {
        return BTreeMap::new();
    };
    // A profile is the chain's to read (from the files too), not an option:
    // as an option it would win over static keys.
    vars.iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .filter(|(key, _)| {
            key.starts_with(sources.env_prefix) && key != PROFILE_KEY && is_key(backend, key)
        })
        .map(|(key, value)| (key, value.clone()))
        .collect()
}

/// Whether `key` (lowercase) is an option of `backend`: object_store's own
/// parser decides, aliases included, so the list cannot fall behind it.
fn is_key(backend: Backend, key: &str) -> bool {
    match backend {
        Backend::S3 => key == PROFILE_KEY || AmazonS3ConfigKey::from_str(key).is_ok(),
        Backend::Gcs => GoogleConfigKey::from_str(key).is_ok(),
        Backend::Azure => AzureConfigKey::from_str(key).is_ok(),
        Backend::Http => ClientConfigKey::from_str(key).is_ok() || WEBDAV_KEYS.contains(&key),
        Backend::Local | Backend::Memory => false,
    }
}

/// Whether S3 uploads sign their bodies (unless `aws_unsigned_payload`
/// says). Over HTTPS, TLS already guards the bytes and the AWS CLI sends
/// `UNSIGNED-PAYLOAD` too: hashing every body for the signature was 12% of a
/// cold deploy's CPU. Over plain HTTP (a local server, `aws_allow_http`) the
/// signature is all that guards a body, so there it stays.
/// Whether the options or the environment set `aws_unsigned_payload`
/// (`AWS_UNSIGNED_PAYLOAD`, which the builder reads from the environment).
fn unsigned_payload_chosen(
    options: &BTreeMap<String, String>,
    env: &impl Fn(&str) -> Option<String>,
) -> bool {
    env("AWS_UNSIGNED_PAYLOAD").is_some()
        || options.keys().any(|k| {
            AmazonS3ConfigKey::from_str(k).is_ok_and(|k| k == AmazonS3ConfigKey::UnsignedPayload)
        })
}

/// `chosen`: the options or the environment set it.
fn payload_signing(builder: AmazonS3Builder, chosen: bool) -> AmazonS3Builder {
    if chosen {
        return builder;
    }
    let plain_http = builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("http://"));
    builder.with_unsigned_payload(!plain_http)
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
    fn every_backends_example_url_and_schemes_select_it() {
        for backend in Backend::all() {
            let url = parse_url(backend.example()).unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            let (scheme, _) = ObjectStoreScheme::parse(&url).unwrap();
            assert_eq!(Backend::for_scheme(&scheme), Some(backend), "{url}");
            assert_eq!(
                Backend::for_url_scheme(url.scheme()),
                Some(backend),
                "{url}"
            );
        }
        // The other schemes of each row are object_store's for the same backend.
        for (written, backend) in [
            ("s3a://b/p", Backend::S3),
            ("azure://c/p", Backend::Azure),
            ("abfss://c@a.dfs.core.windows.net/p", Backend::Azure),
            ("adl://c/p", Backend::Azure),
            ("http://127.0.0.1:9/p", Backend::Http),
        ] {
            let url = parse_url(written).unwrap();
            let (scheme, _) = ObjectStoreScheme::parse(&url).unwrap();
            assert_eq!(Backend::for_scheme(&scheme), Some(backend), "{written}");
            assert_eq!(Backend::for_url_scheme(url.scheme()), Some(backend));
        }
        // A URL without its bucket names the backend's own example (the URL
        // parser itself refuses an http(s) URL without a host).
        for backend in Backend::all().filter(|b| b.needs_host() && *b != Backend::Http) {
            let scheme = backend.example().split("://").next().unwrap();
            let error = parse_url(&format!("{scheme}://")).unwrap_err().to_string();
            assert!(
                error.ends_with(&format!("expected {}", backend.example())),
                "{error}"
            );
        }
    }

    #[test]
    fn missing_credentials_name_the_tables_sources_and_fix() {
        let none = |_: &str| None;
        for backend in [Backend::Azure, Backend::Gcs] {
            let sources = backend.credentials().unwrap();
            let url = backend.example();
            let text = check_credentials(url, backend, &BTreeMap::new(), none)
                .unwrap_err()
                .to_string();
            assert!(text.contains(sources.fix), "{text}");
            for variable in sources.variables {
                assert!(text.contains(variable), "{variable}: {text}");
            }
            // One variable of the row is enough.
            let one = |name: &str| (name == sources.variables[0]).then(|| "x".to_string());
            assert!(check_credentials(url, backend, &BTreeMap::new(), one).is_ok());
        }
        assert!(check_credentials("https://h/p", Backend::Http, &BTreeMap::new(), none).is_ok());
    }

    #[test]
    fn webdav_has_its_own_default_concurrency() {
        let dav = open_ok("http://127.0.0.1:9/site/app", &[("allow_http", "true")]);
        assert_eq!(
            (dav.backend, dav.prefix.as_ref()),
            (Backend::Http, "site/app")
        );
        assert_eq!(
            dav.backend.default_concurrency(),
            crate::options::DEFAULT_WEBDAV_CONCURRENCY
        );
        assert!(dav.backend.copies_server_side());
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
        // S3 without keys takes the AWS CLI's chain, which is asked before
        // the first request (Target::resolve_credentials).
        let chained = open_with_env(
            "s3://bucket/app",
            &Default::default(),
            &Network::default(),
            none,
        )
        .unwrap();
        assert!(chained.credentials.is_some());
        let keys = [("AWS_ACCESS_KEY_ID", "k")];
        let from_env = |name: &str| {
            keys.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let static_keys = open_with_env(
            "s3://bucket/app",
            &Default::default(),
            &Network::default(),
            from_env,
        )
        .unwrap();
        assert!(static_keys.credentials.is_none());
        // A profile named on purpose wins over the environment's keys.
        let profile = [("aws_profile".to_string(), "dev".to_string())].into();
        let named =
            open_with_env("s3://bucket/app", &profile, &Network::default(), from_env).unwrap();
        assert!(named.credentials.is_some());
        let error = open_with_env("az://c/p", &profile, &Network::default(), none).unwrap_err();
        assert!(error.to_string().contains("is an S3 option"), "{error}");
        let home = |name: &str| (name == "HOME").then(|| "/nonexistent-home".to_string());
        let error =
            open_with_env("gs://b/p", &Default::default(), &Network::default(), home).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("tried, in order")
                && text.contains("GOOGLE_APPLICATION_CREDENTIALS")
                && text.contains(
                    "/nonexistent-home/.config/gcloud/application_default_credentials.json"
                ),
            "{text}"
        );
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
    fn urls_whose_path_the_parser_changes_are_refused() {
        for url in [
            "s3://site/previews/%2e%2e",
            "s3://site/previews/.%2E/assets",
            "s3://site/previews/%2E",
            "s3://site/a%2F..%2Fb",
            "file:///tmp/out/..\\x",
            "file:///tmp/out\\..\\x",
            "memory:///a/%2e%2e/b",
            "https://host/dav/%2e%2e/x",
        ] {
            let error = open_err(url, LOCAL_S3_IF(url));
            assert!(matches!(error, Error::InvalidUrl { .. }), "{url}: {error}");
        }
        for url in [
            "s3://site/previews/fix#12",
            "s3://site/app?x=1",
            "s3://site/app?",
            "gs://site/app#x",
            "az://c/app?sv=2022&sig=abc",
            "file:///tmp/out#1",
            "memory:///a?b",
        ] {
            let error = open_err(url, &[]);
            assert!(
                error.to_string().contains("'?' and '#' end the path"),
                "{url}: {error}"
            );
        }
        let error = open_err("file:///tmp/a\\b", &[]);
        assert!(error.to_string().contains("would change"), "{error}");
        let error = open_err("s3://site/a\tb", LOCAL_S3);
        assert!(error.to_string().contains("would change"), "{error}");
        // Names that only look unusual keep their characters.
        let target = open_ok("s3://site/a b/%23x/ü", LOCAL_S3);
        assert_eq!(target.prefix.as_ref(), "a b/#x/ü");
        let target = open_ok("file:///tmp/vite deploy", &[]);
        assert_eq!(target.prefix.as_ref(), "tmp/vite deploy");
    }

    #[allow(non_snake_case)]
    fn LOCAL_S3_IF(url: &str) -> &'static [(&'static str, &'static str)] {
        if url.starts_with("s3") {
            LOCAL_S3
        } else {
            &[]
        }
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        for (raw, shown) in [
            ("s3://AKIA:SECRET@bucket/app", "s3://***@bucket/app"),
            (
                "https://user:pa%40ss@dav.example/site",
                "https://***@dav.example/site",
            ),
            (
                "https://token@dav.example/site",
                "https://***@dav.example/site",
            ),
            ("s3://AKIA:abc/def@bucket/app", "s3://***@bucket/app"),
            ("s3://AKIA:ab#cd@bucket/app", "s3://***@bucket/app"),
            ("s3://AKIA:ab?cd@bucket/app", "s3://***@bucket/app"),
            ("az://c/app?sv=1&sig=SECRET", "az://c/app?***"),
            ("s3://bucket/users/a@b.com/x", "s3://bucket/users/a@b.com/x"),
            (
                "abfs://container@acct.dfs.core.windows.net/p",
                "abfs://container@acct.dfs.core.windows.net/p",
            ),
            (
                "abfs://container:KEY@acct.dfs.core.windows.net/p",
                "abfs://***@acct.dfs.core.windows.net/p",
            ),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(raw), shown, "{raw}");
        }
        assert_eq!(
            redact_text("error sending request for url (http://u:SECRET@127.0.0.1:9/b?list-type=2&sig=SIG&x-amz-security-token=TOK): refused"),
            "error sending request for url (http://***@127.0.0.1:9/b?list-type=2&sig=***&x-amz-security-token=***): refused"
        );
        assert_eq!(redact_text("plain words, no url"), "plain words, no url");
    }

    #[test]
    fn credentials_in_cloud_urls_are_refused_without_printing_them() {
        for url in [
            "s3://AKIAMARK:SECRETMARK@bucket/app",
            "gs://AKIAMARK:SECRETMARK@bucket/app",
            "az://AKIAMARK:SECRETMARK@container/app",
            "memory://AKIAMARK:SECRETMARK@/app",
            "s3://AKIAMARK:SECRET/MARK@bucket/app",
        ] {
            let error = open_err(url, &[]);
            let text = error.to_string();
            assert!(!text.contains("MARK"), "{url}: {text}");
            assert!(matches!(error, Error::InvalidUrl { .. }), "{url}: {text}");
        }
        let text = open_err("s3://AKIAMARK:SECRETMARK@bucket/app", &[]).to_string();
        assert!(text.contains("AWS_SECRET_ACCESS_KEY"), "{text}");
        // WebDAV takes them, and shows them to no one.
        let dav = open_ok("https://user:SECRETMARK@dav.example/site", &[]);
        assert_eq!(dav.url, "https://***@dav.example/site");
        assert_eq!(dav.prefix.as_ref(), "site");
        assert!(!format!("{dav:?}").contains("SECRETMARK"));
    }

    #[test]
    fn webdav_userinfo_or_options_become_basic_auth() {
        let none = BTreeMap::new();
        let url = Url::parse("https://us%40er:p%3Ass@dav.example/").unwrap();
        let header = webdav_auth(&url, &none).unwrap().unwrap();
        assert!(header.is_sensitive());
        // base64("us@er:p:ss")
        assert_eq!(header.to_str().unwrap(), "Basic dXNAZXI6cDpzcw==");
        let plain = Url::parse("https://dav.example/").unwrap();
        assert!(webdav_auth(&plain, &none).unwrap().is_none());
        let options = BTreeMap::from([
            ("webdav_username".to_string(), "us@er".to_string()),
            ("webdav_password".to_string(), "p:ss".to_string()),
        ]);
        let header = webdav_auth(&plain, &options).unwrap().unwrap();
        assert_eq!(header.to_str().unwrap(), "Basic dXNAZXI6cDpzcw==");
        assert!(webdav_auth(&url, &options).is_err());
        let dav = open_ok(
            "https://dav.example/site",
            &[
                ("webdav_username", "u"),
                ("webdav_password", "SECRETMARK"),
                ("timeout", "5s"),
            ],
        );
        assert!(!format!("{dav:?}").contains("SECRETMARK"));
        let error = open_err("https://dav.example/site", &[("webdav_pasword", "x")]);
        assert!(
            error.to_string().contains("did you mean 'webdav_password'"),
            "{error}"
        );
    }

    #[test]
    fn values_with_line_breaks_are_trimmed_or_refused_by_key() {
        let mut options = LOCAL_S3.to_vec();
        options.retain(|(k, _)| *k != "aws_access_key_id");
        options.push(("aws_access_key_id", "AKIAMARK\n"));
        open_ok("s3://bucket/app", &options);
        options.pop();
        options.push(("aws_access_key_id", "AKIA\r\nMARK"));
        let error = open_err("s3://bucket/app", &options);
        let text = error.to_string();
        assert!(text.contains("storageOptions.aws_access_key_id"), "{text}");
        assert!(!text.contains("MARK"), "{text}");
        // A key file is JSON over several lines.
        let error = open_err(
            "gs://bucket/app",
            &[("google_service_account_key", "{\n\"x\": 1\n}")],
        );
        assert!(!error.to_string().contains("control character"), "{error}");
        // The environment: trimmed, or refused by the variable's name.
        let env = |value: &'static str| {
            move |name: &str| match name {
                "AWS_ACCESS_KEY_ID" => Some("AKIA".to_string()),
                "AWS_SESSION_TOKEN" => Some(value.to_string()),
                _ => None,
            }
        };
        let none = BTreeMap::new();
        let fixed = clean_env(
            Backend::S3,
            crate::backends::S3_KEYS,
            &none,
            &env("TOKEN\n"),
        )
        .unwrap();
        assert_eq!(
            fixed,
            [("aws_session_token".to_string(), "TOKEN".to_string())]
        );
        let error = clean_env(
            Backend::S3,
            crate::backends::S3_KEYS,
            &none,
            &env("TO\nKENMARK"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("AWS_SESSION_TOKEN"), "{error}");
        assert!(!error.to_string().contains("MARK"), "{error}");
        // An option given in its place wins, whatever the variable holds.
        let given = BTreeMap::from([("aws_session_token".to_string(), "t".to_string())]);
        assert!(clean_env(
            Backend::S3,
            crate::backends::S3_KEYS,
            &given,
            &env("TO\nKEN")
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn two_keys_for_one_setting_are_refused() {
        let mut options = LOCAL_S3.to_vec();
        options.push(("endpoint", "http://127.0.0.1:10"));
        let error = open_err("s3://bucket/app", &options);
        assert!(
            error.to_string().contains("'aws_endpoint' and 'endpoint'"),
            "{error}"
        );
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

    #[test]
    fn env_file_variables_become_options_of_their_backend_only() {
        let vars: std::collections::HashMap<String, String> = [
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_PROFILE_NOT_A_KEY", "x"),
            ("AZURE_STORAGE_ACCOUNT_KEY", "a"),
            ("VITE_DEPLOY_STORAGE", "s3://b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s3 = options_from_vars("s3://bucket/app", &vars);
        assert_eq!(
            s3.into_iter().collect::<Vec<_>>(),
            [("aws_access_key_id".to_string(), "k".to_string())]
        );
        let az = options_from_vars("az://c/p", &vars);
        assert_eq!(az.keys().collect::<Vec<_>>(), ["azure_storage_account_key"]);
        assert!(options_from_vars("file:///tmp/x", &vars).is_empty());
        assert!(options_from_vars("not a url", &vars).is_empty());
    }

    #[test]
    fn common_mistakes_are_named_with_their_fix() {
        for (url, options, needle) in [
            (
                "s3://bucket//app",
                &[][..],
                "double slash, which would make an empty folder name: write s3://bucket/app",
            ),
            ("memory://site/app", &[][..], "write memory:///site/app"),
            (
                "http://127.0.0.1:9000/bucket/app",
                &[][..],
                "needs allow_http=true (-o allow_http=true, or in storageOptions); for an S3-compatible server (MinIO, …) write s3://bucket/app with aws_endpoint=http://127.0.0.1:9000 and aws_allow_http=true",
            ),
            (
                "http://127.0.0.1:9000/bucket/app",
                &[("aws_region", "us-east-1")][..],
                "write s3://bucket/app with aws_endpoint=http://127.0.0.1:9000",
            ),
            (
                "s3://bucket/app",
                &[
                    ("aws_endpoint", "http://127.0.0.1:9000"),
                    ("aws_access_key_id", "k"),
                ][..],
                "add it (-o aws_allow_http=true",
            ),
        ] {
            let error = open_err(url, options);
            assert!(error.is_usage(), "{url}: {error}");
            assert!(error.to_string().contains(needle), "{url}: {error}");
        }
    }

    #[test]
    fn s3_bodies_are_signed_over_plain_http_only_unless_the_options_say() {
        let unsigned = |builder: AmazonS3Builder, chosen| {
            payload_signing(builder, chosen).get_config_value(&AmazonS3ConfigKey::UnsignedPayload)
        };
        let s3 = || AmazonS3Builder::new();
        assert_eq!(
            unsigned(s3(), false).as_deref(),
            Some("true"),
            "AWS, over HTTPS"
        );
        let https = || s3().with_endpoint("https://minio.example:9000");
        assert_eq!(unsigned(https(), false).as_deref(), Some("true"));
        let http = || s3().with_endpoint("HTTP://127.0.0.1:9000");
        assert_eq!(unsigned(http(), false).as_deref(), Some("false"));
        let chosen = http().with_unsigned_payload(true);
        assert_eq!(
            unsigned(chosen, true).as_deref(),
            Some("true"),
            "the options win"
        );
        let chosen = https().with_unsigned_payload(false);
        assert_eq!(
            unsigned(chosen, true).as_deref(),
            Some("false"),
            "the options win"
        );

        // Set in the environment (only read there by the builder) or in the
        // options, under either spelling: chosen.
        let none = BTreeMap::new();
        let env = |value: Option<&'static str>| {
            move |name: &str| {
                (name == "AWS_UNSIGNED_PAYLOAD")
                    .then_some(value)
                    .flatten()
                    .map(String::from)
            }
        };
        assert!(!unsigned_payload_chosen(&none, &env(None)));
        assert!(unsigned_payload_chosen(&none, &env(Some("false"))));
        for key in ["aws_unsigned_payload", "unsigned_payload"] {
            let options = BTreeMap::from([(key.to_string(), "false".to_string())]);
            assert!(unsigned_payload_chosen(&options, &env(None)), "{key}");
        }
    }
}
