//! Known-answer vectors for the RPC signature v1.0, produced with the official SDKs
//! (`tests/data/signature-vectors.json`; see docs/api-notes.md). Each vector checks the
//! canonicalized query, the StringToSign and the signature separately, so a failure says which
//! step is wrong.

use alicloud_api::signer;
use serde_json::Value;
use std::collections::BTreeMap;

fn vectors() -> Vec<Value> {
    let text = include_str!("data/signature-vectors.json");
    serde_json::from_str::<Vec<Value>>(text).expect("vectors file is valid JSON")
}

#[test]
fn every_vector_reproduces_exactly() {
    let vectors = vectors();
    assert!(vectors.len() >= 3, "expected at least 3 vectors");
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let method = v["method"].as_str().unwrap();
        let secret = v["access_key_secret"].as_str().unwrap();
        let params: BTreeMap<String, String> = v["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();

        let canonical = signer::canonicalized_query(&params);
        assert_eq!(
            canonical,
            v["canonicalized"].as_str().unwrap(),
            "{name}: canonicalized query"
        );
        let sts = signer::string_to_sign(method, &canonical);
        assert_eq!(
            sts,
            v["string_to_sign"].as_str().unwrap(),
            "{name}: StringToSign"
        );
        let sig = signer::signature(secret, &sts);
        assert_eq!(sig, v["signature"].as_str().unwrap(), "{name}: signature");
        assert_eq!(signer::sign(method, &params, secret), sig, "{name}: sign()");
        assert!(
            signer::verify(method, &params, secret, &sig),
            "{name}: verify()"
        );
    }
}

#[test]
fn the_documentation_typo_signature_is_not_produced() {
    // Some Alibaba pages show CT9X0VtwR86fNWSnsc6v8YGOjuE= for the published example: a typo
    // (`TimeStamp`). A signer that produced it would be wrong.
    let v = &vectors()[0];
    let params: BTreeMap<String, String> = v["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_ne!(
        signer::sign("GET", &params, "testsecret"),
        "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    );
}

#[test]
fn the_secret_is_keyed_with_a_trailing_ampersand() {
    let params: BTreeMap<String, String> =
        [("A".to_string(), "1".to_string())].into_iter().collect();
    let sts = signer::string_to_sign("POST", &signer::canonicalized_query(&params));
    // Signing with "key" must equal a raw HMAC keyed with "key&": compare against the signature of
    // secret "key" vs "key&" (which would be keyed "key&&").
    assert_ne!(
        signer::signature("key", &sts),
        signer::signature("key&", &sts)
    );
}
