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

/// What one signed RPC request says besides its operation's own parameters.
#[derive(Debug, Clone, Copy)]
pub struct RpcRequest<'a> {
    /// The API action, e.g. `DescribeTrails`.
    pub action: &'a str,
    /// The API version, e.g. `2020-07-06`.
    pub version: &'a str,
    /// The `RegionId` parameter.
    pub region: &'a str,
    /// The signing time (the `Timestamp` parameter).
    pub now: chrono::DateTime<chrono::Utc>,
    /// The `SignatureNonce` parameter: new for every request.
    pub nonce: &'a str,
}

/// The whole signed query string of an RPC request (`...&Signature=...`): the operation's own
/// parameters, the common ones from `request` and `credentials`, and the signature. A pure
/// function: the clock and the nonce are inputs.
pub fn rpc_query(
    request: RpcRequest<'_>,
    operation_params: &BTreeMap<String, String>,
    credentials: &crate::Credentials,
) -> String {
    let mut params = operation_params.clone();
    let timestamp = request.now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for (k, v) in [
        ("Action", request.action),
        ("Version", request.version),
        ("Format", "JSON"),
        ("AccessKeyId", credentials.access_key_id.as_str()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("RegionId", request.region),
        ("SignatureNonce", request.nonce),
        ("Timestamp", timestamp.as_str()),
    ] {
        params.insert(k.to_string(), v.to_string());
    }
    if let Some(token) = &credentials.security_token {
        params.insert("SecurityToken".to_string(), token.expose().to_string());
    }
    let signature = sign("POST", &params, credentials.access_key_secret.expose());
    format!(
        "{}&Signature={}",
        canonicalized_query(&params),
        percent_encode(&signature)
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
    fn rpc_query_is_deterministic_and_verifiable() {
        use chrono::TimeZone;
        let creds = crate::Credentials::new("LTAI5tKey", "s3cret").with_security_token("tok+/=");
        let request = RpcRequest {
            action: "DescribeTrails",
            version: "2020-07-06",
            region: "cn-beijing",
            now: chrono::Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap(),
            nonce: "n-1",
        };
        let mut own = BTreeMap::new();
        own.insert("NameList".to_string(), "a,b".to_string());
        let q = rpc_query(request, &own, &creds);
        assert_eq!(q, rpc_query(request, &own, &creds));
        let params: BTreeMap<String, String> = q
            .split('&')
            .map(|kv| kv.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        assert_eq!(params["Timestamp"], "2024-05-01T10:00:00Z");
        assert_eq!(params["SecurityToken"], "tok+/=");
        assert_eq!(params["NameList"], "a,b");
        assert!(verify("POST", &params, "s3cret", &params["Signature"]));
    }

    fn decode(v: &str) -> String {
        let bytes = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
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
