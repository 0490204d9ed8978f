//! Credentials for S3 found the way the AWS CLI finds them.
//!
//! object_store alone reads only `AWS_*` variables and knows no profiles, so
//! a developer who ran `aws sso login` would be refused. aws-config's
//! providers do the real work (profiles with static keys, `role_arn` through
//! STS, `credential_process`, SSO, web identity, ECS, IMDS); this module runs
//! them in the AWS CLI's order, keeps what the first one returns until shortly
//! before it expires, and, when none answers, says what each one said.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::region::ProvideRegion;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_config::Region;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;
use tokio::sync::{Mutex, OnceCell};

/// The storage option naming a profile of `~/.aws/config` (`--profile`).
/// vite-deploy's own key: object_store has none.
pub const PROFILE_KEY: &str = "aws_profile";

/// How long the instance-metadata service gets to answer. Off EC2 nothing
/// listens at its address, and a deploy should not wait for the SDK's
/// default of several seconds with retries to learn that.
pub const IMDS_TIMEOUT: Duration = Duration::from_secs(1);

/// Credentials this close to their expiry are fetched again, so a request
/// of a long deploy never goes out with ones that expire on the way.
const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The S3 credential chain: environment, profile, web identity, ECS
/// container, EC2 instance metadata — the AWS CLI's order.
pub struct AwsChain {
    profile: Option<String>,
    region: Option<String>,
    imds_endpoint: Option<String>,
    sources: OnceCell<Vec<Source>>,
    cached: Mutex<Option<Cached>>,
}

struct Source {
    name: String,
    provider: SharedCredentialsProvider,
}

struct Cached {
    credential: Arc<AwsCredential>,
    expiry: Option<SystemTime>,
}

// By hand: the cached credential must never reach a `{:?}`.
impl fmt::Debug for AwsChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsChain")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// No source of the chain gave credentials: each source and what it said,
/// in the order tried. Reasons come from aws-config and name files and
/// variables, never credential values.
#[derive(Debug, Clone)]
pub struct NotFound {
    /// `(source, reason)` in the order tried.
    pub tried: Vec<(String, String)>,
    /// Whether the last source was set up but failed, which ends the chain.
    pub stopped: bool,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tried, in order: ")?;
        for (i, (source, reason)) in self.tried.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{}. {source} — {reason}", i + 1)?;
        }
        if self.stopped {
            // As the AWS CLI does: a source that is set up but broken must
            // not hand the deploy to another identity further down.
            write!(
                f,
                " (set up but failing, so the sources after it were not tried)"
            )?;
        }
        let first = if self.stopped {
            "correct that source, or "
        } else {
            ""
        };
        write!(
            f,
            ". Fix: {first}run `aws configure` or `aws sso login` (then pass --profile / set AWS_PROFILE if not the default profile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or pass aws_access_key_id and aws_secret_access_key with -o / storageOptions)"
        )
    }
}

impl std::error::Error for NotFound {}

impl AwsChain {
    /// A chain for `profile` (else `AWS_PROFILE`, else `default`). `region`
    /// is where STS is asked (assume-role, web identity), `us-east-1` when
    /// none is known. `imds_endpoint` replaces the metadata address
    /// (object_store's `aws_metadata_endpoint`); without it
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` does.
    pub fn new(
        profile: Option<String>,
        region: Option<String>,
        imds_endpoint: Option<String>,
    ) -> Self {
        AwsChain {
            profile: profile.filter(|p| !p.trim().is_empty()),
            region: region.filter(|r| !r.trim().is_empty()),
            imds_endpoint: imds_endpoint.filter(|e| !e.trim().is_empty()),
            sources: OnceCell::new(),
            cached: Mutex::new(None),
        }
    }

    /// The region the chain was given: the options', the environment's or
    /// the profile's.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    async fn sources(&self) -> &[Source] {
        self.sources.get_or_init(|| self.build_sources()).await
    }

    async fn build_sources(&self) -> Vec<Source> {
        // STS has a global endpoint; a region is only needed to sign for it.
        let region = Region::new(self.region.clone().unwrap_or_else(|| "us-east-1".into()));
        let conf = ProviderConfig::without_region().with_region(Some(region));

        let mut profile = ProfileFileCredentialsProvider::builder().configure(&conf);
        if let Some(name) = &self.profile {
            profile = profile.profile_name(name);
        }
        let mut imds_client = imds::Client::builder()
            .configure(&conf)
            .connect_timeout(IMDS_TIMEOUT)
            .read_timeout(IMDS_TIMEOUT)
            .operation_timeout(IMDS_TIMEOUT * 2)
            .max_attempts(1);
        let mut imds_address = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|_| "http://169.254.169.254".into());
        if let Some(endpoint) = &self.imds_endpoint {
            match imds_client.clone().endpoint(endpoint) {
                Ok(with_endpoint) => {
                    imds_client = with_endpoint;
                    imds_address = endpoint.clone();
                }
                // The message then says which address was asked instead.
                Err(_) => {
                    imds_address =
                        format!("{imds_address} (aws_metadata_endpoint '{endpoint}' is not a URL)")
                }
            }
        }
        let profile_name = self
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok())
            .unwrap_or_else(|| "default".into());
        let config_file =
            std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| "~/.aws/config".into());
        let credentials_file = std::env::var("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or_else(|_| "~/.aws/credentials".into());

        let source = |name: String, provider: SharedCredentialsProvider| Source { name, provider };
        let mut sources = Vec::new();
        // A profile named on purpose wins over the environment's keys, as
        // with `aws --profile`.
        if self.profile.is_none() {
            sources.push(source(
                "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)".into(),
                SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
            ));
        }
        sources.push(source(
            format!("profile '{profile_name}' in {config_file} and {credentials_file} (keys, role_arn, credential_process, SSO)"),
            SharedCredentialsProvider::new(profile.build()),
        ));
        if self.profile.is_none() {
            sources.extend([
                source(
                    "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)".into(),
                    SharedCredentialsProvider::new(
                        WebIdentityTokenCredentialsProvider::builder()
                            .configure(&conf)
                            .build(),
                    ),
                ),
                source(
                    "ECS container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)".into(),
                    SharedCredentialsProvider::new(
                        EcsCredentialsProvider::builder().configure(&conf).build(),
                    ),
                ),
                source(
                    format!(
                        "EC2 instance metadata at {imds_address} ({} s timeout)",
                        IMDS_TIMEOUT.as_secs()
                    ),
                    SharedCredentialsProvider::new(
                        ImdsCredentialsProvider::builder()
                            .configure(&conf)
                            .imds_client(imds_client.build())
                            .build(),
                    ),
                ),
            ]);
        }
        sources
    }

    /// The first credentials a source gives, in the chain's order.
    async fn fetch(&self) -> Result<Cached, NotFound> {
        let mut tried = Vec::new();
        for source in self.sources().await {
            match source.provider.provide_credentials().await {
                Ok(credentials) => {
                    return Ok(Cached {
                        credential: Arc::new(AwsCredential {
                            key_id: credentials.access_key_id().to_string(),
                            secret_key: credentials.secret_access_key().to_string(),
                            token: credentials.session_token().map(str::to_string),
                        }),
                        expiry: credentials.expiry(),
                    })
                }
                Err(error) => {
                    tried.push((source.name.clone(), reason(&error)));
                    if !matches!(error, CredentialsError::CredentialsNotLoaded(_)) {
                        return Err(NotFound {
                            tried,
                            stopped: true,
                        });
                    }
                }
            }
        }
        Err(NotFound {
            tried,
            stopped: false,
        })
    }

    /// Credentials, fetched again when the cached ones are about to expire.
    pub async fn credential(&self) -> Result<Arc<AwsCredential>, NotFound> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref() {
            let fresh = current.expiry.is_none_or(|expiry| {
                expiry
                    .duration_since(SystemTime::now())
                    .is_ok_and(|left| left > REFRESH_BEFORE)
            });
            if fresh {
                return Ok(current.credential.clone());
            }
        }
        match self.fetch().await {
            Ok(found) => {
                let credential = found.credential.clone();
                *cached = Some(found);
                Ok(credential)
            }
            // A refresh that fails (STS briefly down, a process that exits
            // non-zero) must not fail requests the current credentials can
            // still sign: they are used until they have actually expired.
            Err(not_found) => match cached.as_ref() {
                Some(current)
                    if current
                        .expiry
                        .is_some_and(|expiry| expiry > SystemTime::now()) =>
                {
                    Ok(current.credential.clone())
                }
                _ => Err(not_found),
            },
        }
    }
}

/// One chain per configuration in a process. A deploy opens its store more
/// than once (the check, the lease, each pass) and a watch session deploys
/// again and again: each would otherwise run `credential_process` or ask
/// STS anew. The configuration is the arguments, every `AWS_*` variable,
/// `HOME`, and when the AWS files last changed, so a new login or an edited
/// profile gets a new chain.
pub fn shared(
    profile: Option<String>,
    region: Option<String>,
    imds_endpoint: Option<String>,
) -> Arc<AwsChain> {
    use std::collections::HashMap;
    use std::hash::{Hash, Hasher};
    use std::sync::OnceLock;

    static CHAINS: OnceLock<std::sync::Mutex<HashMap<u64, Arc<AwsChain>>>> = OnceLock::new();
    // Hashed, so no credential value is kept as a key.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&profile, &region, &imds_endpoint).hash(&mut hasher);
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("AWS_") || name == "HOME")
        .collect();
    vars.sort();
    vars.hash(&mut hasher);
    let home = std::env::var("HOME").unwrap_or_default();
    let files = [
        std::env::var("AWS_CONFIG_FILE").unwrap_or_else(|_| format!("{home}/.aws/config")),
        std::env::var("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or_else(|_| format!("{home}/.aws/credentials")),
        format!("{home}/.aws/sso/cache"),
    ];
    for file in files {
        std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .hash(&mut hasher);
    }
    let key = hasher.finish();
    let mut chains = CHAINS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    chains
        .entry(key)
        .or_insert_with(|| Arc::new(AwsChain::new(profile, region, imds_endpoint)))
        .clone()
}

/// The `region` of a profile of `~/.aws/config` (`profile`, else
/// `AWS_PROFILE`, else `default`), for a bucket whose region is given
/// nowhere else, as the AWS CLI does. Only the file is read: the instance
/// metadata service is not asked for a region.
pub fn profile_region(profile: Option<&str>) -> Option<String> {
    // Store construction is synchronous, and may run on a runtime's thread:
    // the file is read on a thread and runtime of its own.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let mut provider = ProfileFileRegionProvider::builder();
                    if let Some(name) = profile {
                        provider = provider.profile_name(name);
                    }
                    provider
                        .build()
                        .region()
                        .await
                        .map(|region| region.to_string())
                })
            })
            .join()
            .ok()
            .flatten()
    })
}

#[async_trait]
impl CredentialProvider for AwsChain {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        self.credential()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })
    }
}

/// What a source said, with its causes: "not enabled" alone hides why.
fn reason(error: &CredentialsError) -> String {
    let mut text = match error {
        CredentialsError::CredentialsNotLoaded(_) => "not configured".to_string(),
        other => other.to_string(),
    };
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    // aws-config quotes a failing `credential_process`'s stderr, which may
    // hold a token or key the helper was handling: name the failure, not
    // what the process printed.
    if let Some(at) = text.find(". Stderr:") {
        text.truncate(at);
        text.push_str(" (its output is not shown, as it may hold secrets: run the profile's credential_process yourself to see it)");
    }
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_lists_every_source_in_order_and_the_fix() {
        let error = NotFound {
            tried: vec![
                ("environment".into(), "not configured".into()),
                ("profile 'x'".into(), "no such profile".into()),
            ],
            stopped: false,
        };
        let text = error.to_string();
        assert!(
            text.starts_with(
                "tried, in order: 1. environment — not configured; 2. profile 'x' — no such profile."
            ),
            "{text}"
        );
        assert!(text.contains("aws sso login"), "{text}");
        assert!(text.contains("AWS_ACCESS_KEY_ID"), "{text}");
        let stopped = NotFound {
            stopped: true,
            ..error
        };
        assert!(
            stopped.to_string().contains(
                "no such profile (set up but failing, so the sources after it were not tried)."
            ),
            "{stopped}"
        );
    }

    #[test]
    fn a_failing_credential_process_is_named_without_what_it_printed() {
        // aws-config quotes the process's stderr, and a helper that fails
        // half-way may print a token or a secret it was handling.
        let error = CredentialsError::provider_error(
            "Error retrieving credentials: external process exited with code exit status: 1. Stderr: refresh failed for token=PLANTED-SECRET\nmore",
        );
        let text = reason(&error);
        assert!(!text.contains("PLANTED"), "{text}");
        assert!(text.contains("exited with code exit status: 1"), "{text}");
        assert!(
            text.contains("run the profile's credential_process"),
            "{text}"
        );
    }

    #[test]
    fn one_chain_per_configuration() {
        let a = shared(Some("one".into()), Some("eu-west-3".into()), None);
        let again = shared(Some("one".into()), Some("eu-west-3".into()), None);
        let other = shared(Some("two".into()), Some("eu-west-3".into()), None);
        assert!(Arc::ptr_eq(&a, &again));
        assert!(!Arc::ptr_eq(&a, &other));
    }

    #[test]
    fn debug_never_shows_a_cached_credential() {
        let chain = AwsChain::new(Some("p".into()), None, None);
        *chain.cached.try_lock().unwrap() = Some(Cached {
            credential: Arc::new(AwsCredential {
                key_id: "AKIDPLANTED".into(),
                secret_key: "SECRETPLANTED".into(),
                token: Some("TOKENPLANTED".into()),
            }),
            expiry: None,
        });
        let shown = format!("{chain:?}");
        assert!(!shown.contains("PLANTED"), "{shown}");
    }
}
