//! Every deploy option as JS could give it, with hostile strings: resolving
//! the options and opening the store answers an error or a value, never a
//! panic, and never an error that quotes a storage option's value.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vite_deploy::headers::HeaderRules;
use vite_deploy::local::Filter;
use vite_deploy::options::is_credential_key;
use vite_deploy::store::{open, Network};
use vite_deploy::DeployOptions;

/// Strings a template, a paste or a typo could produce.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,25}[smhdw]{0,2}[0-9]{0,25}[smhdw]?",
        "[ \t\r\n]{0,2}[A-Za-z0-9:/.%#?*\\[\\]{}@-]{0,16}[ \t\r\n\u{0}]{0,2}",
        any::<String>(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    const KEYS: &[&str] = &[
        "aws_access_key_id",
        "AWS_ACCESS_KEY_ID",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_region",
        "region",
        "aws_endpoint",
        "endpoint",
        "user_agent",
        "timeout",
        "webdav_password",
        "azure_storage_account_name",
        "google_service_account_key",
    ];
    prop_oneof![
        proptest::sample::select(KEYS).prop_map(String::from),
        text()
    ]
}

fn storage() -> impl Strategy<Value = String> {
    const SCHEMES: &[&str] = &[
        "s3://bucket/",
        "gs://bucket/",
        "az://c/",
        "file:///tmp/",
        "memory:///",
        "https://127.0.0.1:9/",
        "https://u:p@127.0.0.1:9/",
    ];
    (proptest::sample::select(SCHEMES), text()).prop_map(|(scheme, path)| format!("{scheme}{path}"))
}

/// A marker no generated string contains, as every storage option's value.
const SECRET: &str = "Zq9SecretMarkerWv4";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn options_resolve_or_fail_without_panicking(
        storage in storage(),
        options in proptest::collection::btree_map(key(), text(), 0..4),
        timeout in proptest::option::of(text()),
        older_than in proptest::option::of(text()),
        keep in proptest::option::of(-2i64..5),
        concurrency in proptest::option::of(prop_oneof![1i64..64, any::<i64>()]),
        cache in proptest::collection::btree_map(text(), text(), 0..3),
        include in proptest::collection::vec(text(), 0..2),
    ) {
        // Credential-like keys carry the marker: messages may quote other
        // values (`failed to parse "2x" as Duration`), never these.
        let secret_options: BTreeMap<String, String> = options
            .iter()
            .map(|(k, v)| {
                let value = if is_credential_key(k) { format!("{SECRET}{v}") } else { v.clone() };
                (k.clone(), value)
            })
            .collect();
        let json = serde_json::json!({
            "dir": "dist",
            "storage": storage,
            "storageOptions": secret_options,
            "timeout": timeout,
            "delete": { "keep": keep, "olderThan": older_than },
            "concurrency": concurrency,
            "cacheControl": cache,
            "include": include,
        });
        let Ok(parsed) = serde_json::from_value::<DeployOptions>(json) else { return Ok(()) };
        let resolved = match parsed.resolve(|_| None) {
            Ok(resolved) => resolved,
            Err(error) => {
                prop_assert!(!error.to_string().contains(SECRET), "{}", error);
                return Ok(());
            }
        };
        let _ = Filter::new(&resolved.include, &resolved.exclude);
        let _ = HeaderRules::new(&resolved.headers);
        let network = Network { retries: resolved.retries, timeout: resolved.timeout.clone() };
        if let Err(error) = open(&resolved.storage, &resolved.storage_options, &network) {
            prop_assert!(!error.to_string().contains(SECRET), "{}", error);
        }
    }
}
