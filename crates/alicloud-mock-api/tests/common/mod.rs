//! Hand-built signed requests for the mock's tests.
#![allow(dead_code)]

use alicloud_api::signer::{percent_encode, sign};
use alicloud_mock_api::{MockServer, ACTIONTRAIL_VERSION, STS_VERSION};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn now_timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The common parameters of a request, unsigned.
pub fn common(action: &str, key_id: &str) -> BTreeMap<String, String> {
    let version = match action {
        "GetCallerIdentity" | "AssumeRole" => STS_VERSION,
        _ => ACTIONTRAIL_VERSION,
    };
    let mut p = BTreeMap::new();
    for (k, v) in [
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
    ] {
        p.insert(k.to_string(), v.to_string());
    }
    p.insert(
        "SignatureNonce".to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    p.insert("Timestamp".to_string(), now_timestamp());
    p
}

/// Signs `params` (adds `Signature`) with `secret` for `method`.
pub fn signed(
    method: &str,
    mut params: BTreeMap<String, String>,
    secret: &str,
) -> BTreeMap<String, String> {
    params.remove("Signature");
    let sig = sign(method, &params, secret);
    params.insert("Signature".to_string(), sig);
    params
}

pub fn query_string(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn code(&self) -> String {
        self.json()["Code"].as_str().unwrap_or("").to_string()
    }
    /// Names of the trails of a DescribeTrails answer, sorted.
    pub fn trail_names(&self) -> Vec<String> {
        let v = self.json();
        let mut names: Vec<String> = v["TrailList"]
            .as_array()
            .unwrap_or_else(|| panic!("no TrailList: {}", self.body))
            .iter()
            .map(|t| t["Name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Sends already-signed params in the query string; `region` in the path when given.
pub async fn send(
    server: &MockServer,
    method: &str,
    region: Option<&str>,
    params: &BTreeMap<String, String>,
) -> Reply {
    let path = region
        .map(|r| format!("/{r}"))
        .unwrap_or_else(|| "/".into());
    let url = format!("{}{}?{}", server.url(), path, query_string(params));
    let req = match method {
        "GET" => http().get(url),
        _ => http().post(url),
    };
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

/// POSTs `params` to cn-hangzhou, signed with the default key's secret (for tests that alter
/// one common parameter before signing).
pub async fn post_signed(server: &MockServer, params: BTreeMap<String, String>) -> Reply {
    send(
        server,
        "POST",
        Some("cn-hangzhou"),
        &signed("POST", params, alicloud_mock_api::DEFAULT_ACCESS_KEY_SECRET),
    )
    .await
}

/// A signed POST of `action` with `extra` parameters in `region` (path), the default key unless given.
pub async fn call(
    server: &MockServer,
    region: &str,
    action: &str,
    extra: &[(&str, &str)],
    key: (&str, &str),
) -> Reply {
    let mut p = common(action, key.0);
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    let p = signed("POST", p, key.1);
    send(server, "POST", Some(region), &p).await
}

pub const DEFAULT_KEY: (&str, &str) = (
    alicloud_mock_api::DEFAULT_ACCESS_KEY_ID,
    alicloud_mock_api::DEFAULT_ACCESS_KEY_SECRET,
);

pub async fn describe_trails(server: &MockServer, region: &str, extra: &[(&str, &str)]) -> Reply {
    call(server, region, "DescribeTrails", extra, DEFAULT_KEY).await
}
