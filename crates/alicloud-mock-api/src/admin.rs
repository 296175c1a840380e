//! `/_admin/`: faults, recorded calls, health. No signature; never shows a secret.

use crate::answer::{json_response, text};
use crate::events::LookupRules;
use crate::faults::Fault;
use crate::fixture::valid_region_id;
use crate::state::Shared;
use crate::Call;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use std::sync::atomic::Ordering;

pub(crate) fn handle(shared: &Shared, method: &Method, uri: &Uri, body: &[u8]) -> Response {
    let path = uri.path().trim_end_matches('/');
    let query_text = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "format" && v == "text"))
        .unwrap_or(false);
    match (method.clone(), path) {
        (Method::GET, "/_admin/health") => text(StatusCode::OK, "ok"),
        (Method::GET, "/_admin/faults") => {
            let faults = shared.faults.lock().unwrap().clone();
            json_response(
                StatusCode::OK,
                &serde_json::to_value(faults).expect("faults serialize"),
            )
        }
        (Method::DELETE, "/_admin/faults") => {
            shared.faults.lock().unwrap().clear();
            text(StatusCode::OK, "ok")
        }
        (Method::PUT, p) | (Method::POST, p) if p.starts_with("/_admin/faults/") => {
            let region = &p["/_admin/faults/".len()..];
            if region != "*" && !valid_region_id(region) {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("{region:?} is neither * nor a valid region id\n"),
                );
            }
            let fault: Fault = if body.iter().all(u8::is_ascii_whitespace) {
                Fault::default()
            } else {
                match serde_json::from_slice(body) {
                    Ok(f) => f,
                    Err(e) => {
                        return text(StatusCode::BAD_REQUEST, format!("bad fault JSON: {e}\n"))
                    }
                }
            };
            shared.set_fault(region, fault.clone());
            json_response(
                StatusCode::OK,
                &serde_json::to_value(fault).expect("faults serialize"),
            )
        }
        (Method::DELETE, p) if p.starts_with("/_admin/faults/") => {
            let region = &p["/_admin/faults/".len()..];
            shared.faults.lock().unwrap().remove(region);
            text(StatusCode::OK, "ok")
        }
        (Method::GET, "/_admin/calls") => {
            let calls = shared.calls.lock().unwrap().clone();
            if query_text {
                text(StatusCode::OK, calls_text(&calls))
            } else {
                json_response(
                    StatusCode::OK,
                    &serde_json::to_value(calls).unwrap_or(Value::Null),
                )
            }
        }
        (Method::GET, "/_admin/sts_rules") => json_response(
            StatusCode::OK,
            &serde_json::json!({"refuse_account_keys": shared.sts_refuse_account_keys.load(Ordering::Relaxed)}),
        ),
        (Method::PUT, "/_admin/sts_rules") | (Method::POST, "/_admin/sts_rules") => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct StsRules {
                refuse_account_keys: bool,
            }
            match serde_json::from_slice::<StsRules>(body) {
                Ok(r) => {
                    shared
                        .sts_refuse_account_keys
                        .store(r.refuse_account_keys, Ordering::Relaxed);
                    text(StatusCode::OK, "ok")
                }
                Err(e) => text(StatusCode::BAD_REQUEST, format!("bad STS rules JSON: {e}\n")),
            }
        }
        (Method::PUT | Method::POST | Method::DELETE, p) if p.starts_with("/_admin/trails/") => {
            // /_admin/trails/<account id>/<trail name>: PUT merges the JSON object given into the
            // trail (creating it), DELETE deletes it.
            let Some((account, name)) = p["/_admin/trails/".len()..].split_once('/') else {
                return text(StatusCode::BAD_REQUEST, "use /_admin/trails/<account id>/<name>\n");
            };
            let changes = if method == Method::DELETE {
                None
            } else {
                match serde_json::from_slice::<serde_json::Map<String, Value>>(body) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        return text(StatusCode::BAD_REQUEST, format!("bad trail JSON: {e}\n"))
                    }
                }
            };
            match shared.trails.write().unwrap().change(account, name, changes) {
                Ok(true) => text(StatusCode::OK, "changed\n"),
                Ok(false) if method == Method::DELETE => text(StatusCode::NOT_FOUND, "no such trail\n"),
                Ok(false) => text(StatusCode::CREATED, "created\n"),
                Err(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
            }
        }
        (Method::PUT | Method::POST | Method::DELETE, p) if p.starts_with("/_admin/revoked_keys/") => {
            // PUT revokes a fixture key (requests signed with it are answered as with a deleted
            // key); DELETE restores it.
            let key_id = &p["/_admin/revoked_keys/".len()..];
            shared.keys.set_revoked(key_id, method != Method::DELETE);
            text(StatusCode::OK, "ok")
        }
        (Method::POST, "/_admin/expire_temporary_keys") => {
            let n = shared.keys.expire_all();
            text(StatusCode::OK, format!("{n}\n"))
        }
        (Method::DELETE, "/_admin/calls") => {
            shared.calls.lock().unwrap().clear();
            text(StatusCode::OK, "ok")
        }
        (Method::GET, "/_admin/lookup_rules") => json_response(
            StatusCode::OK,
            &serde_json::to_value(shared.lookup_rules.lock().unwrap().clone())
                .unwrap_or(Value::Null),
        ),
        (Method::PUT, "/_admin/lookup_rules") | (Method::POST, "/_admin/lookup_rules") => {
            // Fields left out keep their defaults (the documentation's reading).
            let rules: LookupRules = match serde_json::from_slice(body) {
                Ok(r) => r,
                Err(e) => return text(StatusCode::BAD_REQUEST, format!("bad rules JSON: {e}\n")),
            };
            *shared.lookup_rules.lock().unwrap() = rules.clone();
            json_response(
                StatusCode::OK,
                &serde_json::to_value(rules).unwrap_or(Value::Null),
            )
        }
        (Method::DELETE, "/_admin/lookup_rules") => {
            *shared.lookup_rules.lock().unwrap() = shared.fixture.lookup_rules.clone();
            text(StatusCode::OK, "ok")
        }
        (Method::GET, "/_admin/events") => {
            let account = uri
                .query()
                .and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "account")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_else(|| crate::DEFAULT_ACCOUNT_ID.to_string());
            text(StatusCode::OK, shared.events.dump(&account))
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "admin endpoints: GET /_admin/health; GET|DELETE /_admin/faults; PUT|DELETE /_admin/faults/{region}; GET|DELETE /_admin/calls[?format=text]; POST /_admin/expire_temporary_keys; GET|PUT /_admin/sts_rules; GET|PUT|DELETE /_admin/lookup_rules; GET /_admin/events[?account=ID]\n",
        ),
    }
}

/// One line per call, `region action k=v k=v` (params sorted by name), lines sorted, each ending
/// with a newline.
pub(crate) fn calls_text(calls: &[Call]) -> String {
    let mut lines: Vec<String> = calls
        .iter()
        .map(|c| {
            let mut line = format!("{} {}", c.region, c.action);
            for (k, v) in &c.params {
                line.push(' ');
                line.push_str(k);
                line.push('=');
                line.push_str(v);
            }
            line
        })
        .collect();
    lines.sort();
    lines.into_iter().map(|l| l + "\n").collect()
}
