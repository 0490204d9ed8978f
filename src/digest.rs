//! MD5 digests as vite-deploy compares and records them: the hex the ledger
//! writes, and the MD5 a store's ETag may carry.

/// The MD5 as the ledger writes it.
pub fn hex(md5: &[u8; 16]) -> String {
    md5.iter().map(|b| format!("{b:02x}")).collect()
}

/// An MD5 from the ledger's hex.
pub fn parse_hex(text: &str) -> Option<[u8; 16]> {
    etag_md5(text)
}

/// The MD5 in an ETag such as `"9e107d9d372bb6826bd81d3542a419d6"`, or `None`
/// when the ETag is not 32 hex digits (multipart uploads end in `-N`, Azure
/// and local stores use other shapes).
pub fn etag_md5(e_tag: &str) -> Option<[u8; 16]> {
    let hex = e_tag.trim_start_matches("W/").trim_matches('"');
    if hex.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_only_32_digit_etags_are_md5s() {
        let md5 = [
            0x9e, 0x10, 0x7d, 0x9d, 0x37, 0x2b, 0xb6, 0x82, 0x6b, 0xd8, 0x1d, 0x35, 0x42, 0xa4,
            0x19, 0xd6,
        ];
        assert_eq!(hex(&md5), "9e107d9d372bb6826bd81d3542a419d6");
        assert_eq!(parse_hex(&hex(&md5)), Some(md5));
        assert_eq!(
            etag_md5("W/\"9e107d9d372bb6826bd81d3542a419d6\""),
            Some(md5)
        );
        assert_eq!(etag_md5("\"9e107d9d372bb6826bd81d3542a419d6-2\""), None);
        assert_eq!(etag_md5("0x8DC1A2B3C4D5E6F"), None);
    }
}
