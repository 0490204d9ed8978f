//! No option value or storage URL may reach a panic, and a URL that opens
//! publishes exactly under the path it spells.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use futures::StreamExt;
use proptest::prelude::*;
use vite_deploy::store::{open, Network};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Keys whose values end up in request headers or signatures. Endpoints are
/// left out: a random host would be looked up in DNS.
const S3_HEADER_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region",
    "aws_server_side_encryption",
    "aws_sse_kms_key_id",
    "aws_checksum_algorithm",
    "aws_request_payer",
    "user_agent",
];

const AZURE_HEADER_KEYS: &[&str] = &[
    "azure_storage_account_name",
    "azure_storage_account_key",
    "azure_storage_token",
    "azure_storage_sas_key",
    "user_agent",
];

/// Strings a paste or a template could produce: control characters,
/// whitespace at either end, unicode.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t\r\n]{0,2}[A-Za-z0-9/+=]{1,12}[ \t\r\n\u{0}\u{7f}]{0,2}[A-Za-z0-9]{0,4}",
        any::<String>(),
    ]
}

/// `%XX` decoded, enough for the generated paths.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One request against a closed port: an error is fine, a panic is not.
fn list_once(url: &str, options: BTreeMap<String, String>) {
    let network = Network {
        retries: 0,
        timeout: Some("2s".into()),
    };
    let Ok(target) = open(url, &options, &network) else {
        return;
    };
    runtime().block_on(async {
        let _ = target.store.list(Some(&target.prefix)).next().await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn s3_option_values_never_panic(key in proptest::sample::select(S3_HEADER_KEYS), value in value()) {
        let mut options: BTreeMap<String, String> = [
            ("aws_endpoint", "http://127.0.0.1:9"),
            ("aws_allow_http", "true"),
            ("aws_access_key_id", "k"),
            ("aws_secret_access_key", "s"),
            ("aws_region", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        options.insert(key.to_string(), value);
        list_once("s3://bucket/app", options);
    }

    #[test]
    fn azure_option_values_never_panic(key in proptest::sample::select(AZURE_HEADER_KEYS), value in value()) {
        let mut options: BTreeMap<String, String> = [
            ("azure_storage_use_emulator", "true"),
            ("azure_storage_endpoint", "http://127.0.0.1:9"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        options.insert(key.to_string(), value);
        list_once("az://container/app", options);
    }

    #[test]
    fn a_url_that_opens_publishes_under_the_path_it_spells(
        path in "[a-z.%2eE\\\\#?\t /]{0,14}",
        scheme in proptest::sample::select(&["s3://bucket/", "memory:///", "file:///tmp/"][..]),
    ) {
        let url = format!("{scheme}{path}");
        let mut options = BTreeMap::new();
        if scheme.starts_with("s3") {
            options.insert("aws_access_key_id".to_string(), "k".to_string());
            options.insert("aws_secret_access_key".to_string(), "s".to_string());
            options.insert("aws_region".to_string(), "us-east-1".to_string());
        }
        if let Ok(target) = open(&url, &options, &Network::default()) {
            let written = url.split_once("://").unwrap().1;
            let written = if scheme.starts_with("s3") { written.trim_start_matches("bucket") } else { written };
            let decoded = percent_decoded(written);
            prop_assert_eq!(target.prefix.as_ref(), decoded.trim_matches('/'), "{}", url);
        }
    }
}
