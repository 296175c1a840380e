//! Alibaba Cloud RPC signature, version 1.0 (HMAC-SHA1).
//!
//! Signing is a pure function of the request's method, its query parameters and the access key
//! secret: no clock, no randomness, no I/O. The caller adds the common parameters (nonce, timestamp,
//! ...) first; [`sign`] then returns the value of the `Signature` parameter. Tested against the
//! known-answer vectors in `tests/signature_vectors.rs`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::collections::BTreeMap;

/// Percent-encodes `s` as the RPC signature requires: UTF-8 bytes, `A-Z a-z 0-9 - _ . ~` kept,
/// everything else `%XX` with upper-case hex (so space is `%20`, `*` is `%2A`, `~` stays `~`).
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        }
    }
    out
}

/// The canonicalized query: parameters sorted by name in byte order (a `BTreeMap<String, _>`
/// iterates in exactly that order), each `name=value` percent-encoded, joined with `&`.
/// A `Signature` entry, if present, is left out.
pub fn canonicalized_query(params: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (name, value) in params.iter().filter(|(n, _)| n.as_str() != "Signature") {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&percent_encode(name));
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    out
}

/// `METHOD&%2F&percentEncode(canonicalized query)`.
pub fn string_to_sign(method: &str, canonicalized_query: &str) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(canonicalized_query)
    )
}

/// Base64(HMAC-SHA1(key = secret + "&", string_to_sign)).
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(format!("{access_key_secret}&").as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Signature` value for a request: canonicalize, build the StringToSign, sign.
pub fn sign(method: &str, params: &BTreeMap<String, String>, access_key_secret: &str) -> String {
    signature(
        access_key_secret,
        &string_to_sign(method, &canonicalized_query(params)),
    )
}

/// Checks a received `Signature` in constant time (used by the mock server).
pub fn verify(
    method: &str,
    params: &BTreeMap<String, String>,
    access_key_secret: &str,
    received: &str,
) -> bool {
    let expected = sign(method, params, access_key_secret);
    expected.len() == received.len()
        && expected
            .bytes()
            .zip(received.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_edge_cases() {
        let cases = [
            ("a b", "a%20b"),
            ("*", "%2A"),
            ("~", "~"),
            ("+", "%2B"),
            ("/", "%2F"),
            ("=", "%3D"),
            ("&", "%26"),
            ("%", "%25"),
            ("!'()", "%21%27%28%29"),
            ("é", "%C3%A9"),
            ("中", "%E4%B8%AD"),
            ("", ""),
            ("AZaz09-_.", "AZaz09-_."),
            (":", "%3A"),
            (",", "%2C"),
        ];
        for (input, want) in cases {
            assert_eq!(percent_encode(input), want, "encoding {input:?}");
        }
    }

    #[test]
    fn empty_values_and_byte_order_sorting() {
        let mut p = BTreeMap::new();
        p.insert("b".to_string(), String::new());
        p.insert("B".to_string(), "x y".to_string());
        p.insert("a".to_string(), "1".to_string());
        p.insert("A_".to_string(), "2".to_string());
        p.insert("Signature".to_string(), "ignored".to_string());
        // Byte order: upper case sorts before lower case, '_' (0x5F) after 'B' (0x42).
        assert_eq!(canonicalized_query(&p), "A_=2&B=x%20y&a=1&b=");
    }

    #[test]
    fn string_to_sign_double_encodes() {
        assert_eq!(
            string_to_sign("post", "A=1&B=a%3Ab"),
            "POST&%2F&A%3D1%26B%3Da%253Ab"
        );
    }

    #[test]
    fn verify_accepts_only_the_right_signature() {
        let mut p = BTreeMap::new();
        p.insert("Action".to_string(), "DescribeTrails".to_string());
        let sig = sign("POST", &p, "s3cret");
        assert!(verify("POST", &p, "s3cret", &sig));
        assert!(!verify("POST", &p, "other", &sig));
        assert!(!verify("GET", &p, "s3cret", &sig));
        assert!(!verify("POST", &p, "s3cret", ""));
    }
}
