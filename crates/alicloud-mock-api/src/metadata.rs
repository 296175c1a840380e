//! The ECS instance metadata service (RAM role credentials, IMDSv2 tokens). No signature.

use crate::answer::{json_response, text};
use crate::auth::{self, Identity, ALNUM};
use crate::state::Shared;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::{TimeDelta, Utc};
use serde_json::json;

const TOKEN_TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
const CREDENTIALS_PREFIX: &str = "/latest/meta-data/ram/security-credentials/";

pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response {
    let response = answer(shared, method, path, headers);
    let line = format!("{method} {path} {}", response.status().as_u16());
    if shared.logging() {
        eprintln!("metadata {line}");
    }
    shared.metadata_requests.lock().unwrap().push(line);
    response
}

fn answer(shared: &Shared, method: &Method, path: &str, headers: &HeaderMap) -> Response {
    if path == "/latest/api/token" {
        if method != Method::PUT {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use PUT\n");
        }
        let ttl = headers
            .get(TOKEN_TTL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let Some(ttl @ 1..=21600) = ttl else {
            return text(
                StatusCode::BAD_REQUEST,
                "X-aliyun-ecs-metadata-token-ttl-seconds must be between 1 and 21600\n",
            );
        };
        let token = auth::random_string(56, ALNUM);
        let now = Utc::now();
        let mut tokens = shared.imds_tokens.lock().unwrap();
        tokens.retain(|_, expiry| *expiry > now);
        tokens.insert(token.clone(), now + TimeDelta::seconds(ttl));
        return text(StatusCode::OK, token);
    }
    if method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    match headers.get(TOKEN_HEADER).map(|v| v.to_str().unwrap_or("")) {
        Some(token) => {
            let valid = shared
                .imds_tokens
                .lock()
                .unwrap()
                .get(token)
                .is_some_and(|expiry| *expiry > Utc::now());
            if !valid {
                return text(
                    StatusCode::UNAUTHORIZED,
                    "invalid or expired metadata token\n",
                );
            }
        }
        None if shared.fixture.ecs_metadata_require_token => {
            return text(StatusCode::UNAUTHORIZED, "a metadata token is required\n");
        }
        None => {}
    }
    let Some(role) = path.strip_prefix(CREDENTIALS_PREFIX) else {
        if path == CREDENTIALS_PREFIX.trim_end_matches('/') {
            return list_roles(shared);
        }
        return text(StatusCode::NOT_FOUND, "Not Found\n");
    };
    if role.is_empty() {
        return list_roles(shared);
    }
    let Some(ecs_role) = shared.fixture.ecs_role(role) else {
        return text(StatusCode::NOT_FOUND, "Not Found\n");
    };
    let lifetime = shared.fixture.sts_credential_lifetime_seconds;
    let now = Utc::now();
    // Serve the current key while more than half its life is left, as ECS rotates ahead of expiry.
    let current = shared.ecs_creds.lock().unwrap().get(role).cloned();
    let reuse = current.and_then(|id| {
        let cred = shared.keys.temporary(&id)?;
        let left = cred.expires - now;
        (left > TimeDelta::milliseconds((lifetime * 500) as i64)).then_some((id, cred))
    });
    let (key_id, cred) = match reuse {
        Some(found) => found,
        None => {
            let session = "vm-ram-i-mock0000000001";
            let identity = Identity::assumed_role(
                &ecs_role.account_id,
                &ecs_role.name,
                &ecs_role.role_id,
                session,
            );
            let issued = shared.keys.issue(identity, lifetime);
            shared
                .ecs_creds
                .lock()
                .unwrap()
                .insert(role.to_string(), issued.0.clone());
            issued
        }
    };
    let issued_at = cred.expires - TimeDelta::seconds(lifetime as i64);
    json_response(
        StatusCode::OK,
        &json!({
            "Code": "Success",
            "AccessKeyId": key_id,
            "AccessKeySecret": cred.secret,
            "SecurityToken": cred.token,
            "Expiration": auth::format_timestamp(cred.expires),
            "LastUpdated": auth::format_timestamp(issued_at),
        }),
    )
}

fn list_roles(shared: &Shared) -> Response {
    let names: Vec<&str> = shared
        .fixture
        .ecs_roles
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    text(StatusCode::OK, names.join("\n"))
}
