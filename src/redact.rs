//! Secrets out of every message: storage URLs and the URLs a store's or a
//! client's error quotes. A leaf module, so errors can redact without
//! depending on the store.

use crate::backends::is_credential_key;

/// A storage URL as every message, report and log line shows it: the
/// userinfo (`user:password@`) and the query become `***`. Works on text that
/// does not parse, so that an invalid URL's error cannot print its secret.
/// `abfs://container@account…` keeps its container, which is no secret.
pub fn redact_url(raw: &str) -> String {
    let Some(start) = raw.find("://").map(|at| at + 3) else {
        return raw.to_string();
    };
    let (head, rest) = raw.split_at(start);
    let scheme = head.trim_end_matches("://").to_ascii_lowercase();
    let rest = redact_userinfo(&scheme, rest);
    let rest = match rest.find('?') {
        Some(q) => {
            let fragment = rest[q..].find('#').map_or("", |f| &rest[q + f..]);
            format!("{}?***{fragment}", &rest[..q])
        }
        None => rest,
    };
    format!("{head}{rest}")
}

/// `user:pass@host/…` → `***@host/…`. The first `@` ends the userinfo when
/// what precedes it has a `:` or no `/` (a secret may hold `/`, `#` or `?`
/// when not percent-encoded; a path may hold `@`).
fn redact_userinfo(scheme: &str, rest: &str) -> String {
    let Some(at) = rest.find('@') else {
        return rest.to_string();
    };
    let userinfo = &rest[..at];
    let in_path = userinfo.contains(['/', '\\']);
    let container = matches!(scheme, "abfs" | "abfss") && !in_path && !userinfo.contains(':');
    if container || (in_path && !userinfo.contains(':')) {
        rest.to_string()
    } else {
        format!("***{}", &rest[at..])
    }
}

/// Redacts every URL in a message from a store or a client: userinfo, and
/// query values whose name looks like a credential (`sig`, `token`, …).
pub fn redact_text(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let delimiter =
        |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '<' | '>' | '`');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(delimiter).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        match word.find("://") {
            Some(at) => {
                let (head, tail) = word.split_at(at + 3);
                let scheme = head.trim_end_matches("://").to_ascii_lowercase();
                out.push_str(head);
                out.push_str(&redact_query_values(&redact_userinfo(&scheme, tail)));
            }
            None => out.push_str(word),
        }
        let next = after.chars().next().map_or(0, char::len_utf8);
        out.push_str(&after[..next]);
        rest = &after[next..];
    }
    out
}

fn redact_query_values(rest: &str) -> String {
    let Some(q) = rest.find('?') else {
        return rest.to_string();
    };
    let (path, query) = rest.split_at(q + 1);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential_key(name) => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}{}", pairs.join("&"))
}
