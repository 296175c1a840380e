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
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    push_percent_encoded(&mut out, s);
    out
}

/// Appends `s` percent-encoded as [`percent_encode`] does (runs of kept bytes copied at once:
/// a request is signed with this for every call).
fn push_percent_encoded(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let kept = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if kept(b) {
            continue;
        }
        // A run of kept bytes is ASCII and follows a byte that ends a character (every byte of a
        // multi-byte character is encoded), so `start..i` are character boundaries.
        if start < i {
            out.push_str(&s[start..i]);
        }
        out.push('%');
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0x0f) as usize] as char);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// The canonicalized query: parameters sorted by name in byte order (a `BTreeMap<String, _>`
/// iterates in exactly that order), each `name=value` percent-encoded, joined with `&`.
/// A `Signature` entry, if present, is left out.
pub fn canonicalized_query(params: &BTreeMap<String, String>) -> String {
    canonicalize(params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// [`canonicalized_query`] of parameters already sorted by name, each name once.
fn canonicalize<'a>(sorted: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> String {
    let mut out = String::with_capacity(sorted.clone().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in sorted.filter(|(n, _)| *n != "Signature") {
        if !out.is_empty() {
            out.push('&');
        }
        push_percent_encoded(&mut out, name);
        out.push('=');
        push_percent_encoded(&mut out, value);
    }
    out
}

/// `METHOD&%2F&percentEncode(canonicalized query)`.
pub fn string_to_sign(method: &str, canonicalized_query: &str) -> String {
    // Written into one buffer: every call signs, and the query can be long (a security token).
    let mut out = String::with_capacity(method.len() + 5 + canonicalized_query.len() * 5 / 4);
    out.push_str(&method.to_ascii_uppercase());
    out.push('&');
    push_percent_encoded(&mut out, "/");
    out.push('&');
    push_percent_encoded(&mut out, canonicalized_query);
    out
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
    let timestamp = request.now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    // Borrowed, not copied (every call signs): the operation's parameters, then the common ones,
    // which win over an operation parameter of the same name.
    let mut params: Vec<(&str, &str)> = operation_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    params.extend([
        ("Action", request.action),
        ("Version", request.version),
        ("Format", "JSON"),
        ("AccessKeyId", credentials.access_key_id.as_str()),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("RegionId", request.region),
        ("SignatureNonce", request.nonce),
        ("Timestamp", timestamp.as_str()),
    ]);
    if let Some(token) = &credentials.security_token {
        params.push(("SecurityToken", token.expose()));
    }
    // Sorted by name in byte order (stable: of equal names, the one pushed last comes last), and
    // each name once, its last value.
    params.sort_by(|a, b| a.0.cmp(b.0));
    let mut unique: Vec<(&str, &str)> = Vec::with_capacity(params.len());
    for p in params {
        match unique.last_mut() {
            Some(last) if last.0 == p.0 => *last = p,
            _ => unique.push(p),
        }
    }
    // Canonicalized once: signed, then sent as it is with the signature added.
    let mut query = canonicalize(unique.iter().copied());
    let signature = signature(
        credentials.access_key_secret.expose(),
        &string_to_sign("POST", &query),
    );
    query.push_str("&Signature=");
    push_percent_encoded(&mut query, &signature);
    query
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

    proptest::proptest! {
        /// Any text encodes as the rule says byte by byte (the runs copied at once included).
        #[test]
        fn percent_encoding_is_the_byte_rule(s in "\\PC{0,40}") {
            let mut want = String::new();
            for &b in s.as_bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    want.push(b as char);
                } else {
                    want.push_str(&format!("%{b:02X}"));
                }
            }
            proptest::prop_assert_eq!(percent_encode(&s), want);
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
        // The query is sorted, each name once: an operation parameter named like a common one
        // gives way to it.
        own.insert("RegionId".to_string(), "elsewhere".to_string());
        own.insert("Zeta".to_string(), "last".to_string());
        let q = rpc_query(request, &own, &creds);
        let names: Vec<&str> = q
            .split('&')
            .map(|kv| kv.split_once('=').unwrap().0)
            .collect();
        let mut sorted = names[..names.len() - 1].to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(&names[..names.len() - 1], &sorted[..]);
        assert_eq!(names.last(), Some(&"Signature"));
        assert!(q.contains("&RegionId=cn-beijing&"), "{q}");
        assert!(!q.contains("elsewhere"), "{q}");
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
