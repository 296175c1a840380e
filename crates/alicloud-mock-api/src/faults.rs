//! Injectable faults, per region or for every region (`*`).
//!
//! A fault applies to the API calls answered in its region that passed authentication. By default
//! only ActionTrail actions (`DescribeTrails`, `DescribeRegions`, `LookupEvents`) are affected, because STS is a
//! separate, global service in reality (and a client usually reaches it through the same mock
//! region as everything else); list actions in `actions` to choose others, e.g. `["AssumeRole"]`.
//! The most specific entry wins: a region's own fault (if its `actions` match) replaces the `*`
//! one entirely (fields are not merged). Counters (`throttle`, `server_error`) count down in the
//! stored entry, so a `*` counter is shared by all regions.

use crate::answer::Answer;
use axum::body::Body;
use axum::http::HeaderValue;
use axum::response::Response;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Bytes per chunk of a `trickle_ms` answer.
const TRICKLE_CHUNK: usize = 16;

/// One fault. Every field is optional; `Fault::default()` is no fault.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Wait this long before answering (whatever the answer is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Answer the next N calls with 400 `Throttling.User`, then succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<u32>,
    /// With throttling answers, send `x-acs-retry-after: <ms>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Answer the next N calls with a server error (503 `ServiceUnavailable` unless
    /// `server_error_status` says 500, 502 or 504), then succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_error: Option<u32>,
    /// The status of `server_error` answers: 500, 502, 503 (default) or 504.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_error_status: Option<u16>,
    /// 200 with a truncated JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed_json: Option<bool>,
    /// 502 with an HTML page (Content-Type text/html), as a gateway would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_error: Option<bool>,
    /// Accept the request and never answer (the connection stays open until the client gives up
    /// or the server shuts down). Other requests are not affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang: Option<bool>,
    /// Send the body a few bytes at a time, with this delay between chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trickle_ms: Option<u64>,
    /// Always answer with this API error (`error_status` defaults to 400, or 403 for `Forbidden*`
    /// and `NoPermission`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The status of `error_code` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    /// Answer with a redirect (`redirect_status`, 302 by default) to this URL instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<String>,
    /// The status of the redirect: 301, 302 (default), 303, 307 or 308.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_status: Option<u16>,
    /// Append this item to the list of a successful answer: a trail object to `DescribeTrails`'
    /// `TrailList`, a region object (`{"RegionId": ...}`) to `DescribeRegions`' `Regions.Region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_item: Option<serde_json::Value>,
    /// Add this many characters to the message of the error answers this fault produces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_pad_bytes: Option<u64>,
    /// Add a `Padding` field of this many bytes to successful answers (a valid, oversized answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_bytes: Option<u64>,
    /// Answer 200 with a body that never ends (sent as fast as the client reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endless: Option<bool>,
    /// Answer 200 with a plain-text page that quotes the whole request line, signed query and
    /// all (`SecurityToken`, `AccessKeyId`, filters), as a misconfigured proxy's error page does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_request: Option<bool>,
    /// Add an `Echo` member to a successful JSON answer, quoting the whole request line (signed
    /// query and all), as an API gateway that reflects requests would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_in_answer: Option<bool>,
    /// Answer 200 with this text as the body (`text/plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// In a successful answer to a request that sent a `NextToken`, name that same token as the
    /// next one, so that the listing would never end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_token: Option<bool>,
    /// Actions the fault applies to; absent: the ActionTrail actions. `*` in the list: all actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// The `RequestId` of the error answers this fault produces (instead of a fresh UUID), so a test
    /// that prints an error can expect a fixed text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Actions affected by a fault that lists no `actions`.
const DEFAULT_FAULT_ACTIONS: &[&str] = &["DescribeTrails", "DescribeRegions", "LookupEvents"];

impl Fault {
    /// Answer the next `n` calls with `Throttling.User`.
    pub fn throttle(n: u32) -> Fault {
        Fault {
            throttle: Some(n),
            ..Fault::default()
        }
    }

    /// Always answer with the API error `code` (at the status the service uses for it).
    pub fn error(code: &str) -> Fault {
        Fault {
            error_code: Some(code.to_string()),
            ..Fault::default()
        }
    }

    /// Answer after `ms` milliseconds.
    pub fn latency(ms: u64) -> Fault {
        Fault {
            latency_ms: Some(ms),
            ..Fault::default()
        }
    }

    /// Never answer.
    pub fn hang() -> Fault {
        Fault {
            hang: Some(true),
            ..Fault::default()
        }
    }

    /// Does this fault apply to `action`?
    pub fn applies_to(&self, action: &str) -> bool {
        match &self.actions {
            None => DEFAULT_FAULT_ACTIONS.contains(&action),
            Some(list) => list.iter().any(|a| a == "*" || a == action),
        }
    }

    /// Parses the command-line form `REGION:key=value,key=value` (e.g. `*:latency_ms=100`,
    /// `cn-beijing:throttle=2,retry_after_ms=50`, `cn-shanghai:hang`). A bare key means `true`;
    /// `actions` takes `|`-separated names (`actions=DescribeTrails|AssumeRole`).
    pub fn parse_cli(spec: &str) -> Result<(String, Fault), String> {
        let (region, rest) = spec
            .split_once(':')
            .ok_or_else(|| format!("fault {spec:?}: expected REGION:key=value,..."))?;
        let region = region.trim();
        if region != "*" && !crate::fixture::valid_region_id(region) {
            return Err(format!(
                "fault {spec:?}: {region:?} is neither * nor a valid region id"
            ));
        }
        let mut map = serde_json::Map::new();
        for item in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (item, "true"),
            };
            let json = if key == "actions" {
                serde_json::Value::from(
                    value
                        .split('|')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect::<Vec<_>>(),
                )
            } else if key == "error_code" || key == "request_id" || key == "body_text" {
                serde_json::Value::from(value)
            } else if let Ok(n) = value.parse::<u64>() {
                serde_json::Value::from(n)
            } else if let Ok(b) = value.parse::<bool>() {
                serde_json::Value::from(b)
            } else {
                serde_json::Value::from(value)
            };
            map.insert(key.to_string(), json);
        }
        let fault: Fault = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| format!("fault {spec:?}: {e}"))?;
        Ok((region.to_string(), fault))
    }
}

/// What a fault makes of one call; decided (and counters decremented) under the faults lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Effect {
    pub latency_ms: u64,
    pub echo_in_answer: bool,
    pub trickle_ms: u64,
    pub pad_bytes: u64,
    pub repeat_token: bool,
    pub append_item: Option<serde_json::Value>,
    pub message_pad_bytes: u64,
    pub kind: EffectKind,
    /// The fault's fixed request id for error answers.
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum EffectKind {
    #[default]
    None,
    Hang,
    Throttle {
        retry_after_ms: Option<u64>,
    },
    ServerError {
        status: u16,
    },
    ApiError {
        code: String,
        status: u16,
    },
    Html,
    Malformed,
    Redirect {
        status: u16,
        location: String,
    },
    Endless,
    /// 200, the request line quoted in plain text.
    Echo,
    /// 200, this text.
    Text(String),
}

/// Picks the fault for (`region`, `action`) and consumes one unit of its counters.
pub(crate) fn take_effect(
    faults: &mut BTreeMap<String, Fault>,
    region: &str,
    action: &str,
) -> Effect {
    let key = if faults.get(region).is_some_and(|f| f.applies_to(action)) {
        region
    } else if faults.get("*").is_some_and(|f| f.applies_to(action)) {
        "*"
    } else {
        return Effect::default();
    };
    let f = faults.get_mut(key).expect("key was just found");
    let mut effect = Effect {
        latency_ms: f.latency_ms.unwrap_or(0),
        echo_in_answer: f.echo_in_answer == Some(true),
        trickle_ms: f.trickle_ms.unwrap_or(0),
        pad_bytes: f.pad_bytes.unwrap_or(0),
        repeat_token: f.repeat_token.unwrap_or(false),
        append_item: f.append_item.clone(),
        message_pad_bytes: f.message_pad_bytes.unwrap_or(0),
        kind: EffectKind::None,
        request_id: f.request_id.clone(),
    };
    if f.hang == Some(true) {
        effect.kind = EffectKind::Hang;
    } else if let Some(location) = &f.redirect_to {
        effect.kind = EffectKind::Redirect {
            status: f.redirect_status.unwrap_or(302),
            location: location.clone(),
        };
    } else if f.endless == Some(true) {
        effect.kind = EffectKind::Endless;
    } else if f.echo_request == Some(true) {
        effect.kind = EffectKind::Echo;
    } else if let Some(text) = &f.body_text {
        effect.kind = EffectKind::Text(text.clone());
    } else if let Some(n @ 1..) = f.throttle {
        f.throttle = Some(n - 1);
        effect.kind = EffectKind::Throttle {
            retry_after_ms: f.retry_after_ms,
        };
    } else if let Some(n @ 1..) = f.server_error {
        f.server_error = Some(n - 1);
        effect.kind = EffectKind::ServerError {
            status: f.server_error_status.unwrap_or(503),
        };
    } else if f.error_code.is_some() || f.error_status.is_some() {
        let status = f.error_status;
        let code = f
            .error_code
            .clone()
            .unwrap_or_else(|| crate::errors::code_for_status(status.unwrap_or(400)).to_string());
        let status = status.unwrap_or_else(|| crate::errors::status_for(&code));
        effect.kind = EffectKind::ApiError { code, status };
    } else if f.html_error == Some(true) {
        effect.kind = EffectKind::Html;
    } else if f.malformed_json == Some(true) {
        effect.kind = EffectKind::Malformed;
    }
    effect
}

/// Sends an answer as a fault shapes it: after the latency, a body trickled, or never.
pub(crate) async fn deliver(answer: Answer, effect: &Effect) -> Response {
    if effect.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(effect.latency_ms)).await;
    }
    if effect.kind == EffectKind::Hang {
        // Held until the client gives up (hyper then drops this future) or the server stops.
        std::future::pending::<()>().await;
    }
    let body = if effect.kind == EffectKind::Endless {
        // `{"TrailList":[` and then trails, until the client stops reading.
        let head = axum::body::Bytes::from_static(b"{\"TrailList\":[");
        let item = axum::body::Bytes::from(
            "{\"Name\":\"endless\",\"HomeRegion\":\"cn-hangzhou\"},".repeat(1024),
        );
        let stream =
            futures_util::stream::iter(std::iter::once(head).chain(std::iter::repeat(item)))
                .map(Ok::<_, std::convert::Infallible>);
        Body::from_stream(stream)
    } else if effect.trickle_ms > 0 {
        let delay = Duration::from_millis(effect.trickle_ms);
        let chunks: Vec<Vec<u8>> = answer
            .body
            .chunks(TRICKLE_CHUNK)
            .map(<[u8]>::to_vec)
            .collect();
        let stream = futures_util::stream::unfold(
            (chunks.into_iter(), true),
            move |(mut it, first)| async move {
                let chunk = it.next()?;
                if !first {
                    tokio::time::sleep(delay).await;
                }
                Some((
                    Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(chunk)),
                    (it, false),
                ))
            },
        );
        Body::from_stream(stream)
    } else {
        Body::from(answer.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static(answer.content_type),
    );
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_parsing() {
        let (r, f) = Fault::parse_cli("*:latency_ms=100").unwrap();
        assert_eq!(r, "*");
        assert_eq!(f.latency_ms, Some(100));
        let (r, f) = Fault::parse_cli("cn-beijing:throttle=2,retry_after_ms=50").unwrap();
        assert_eq!(r, "cn-beijing");
        assert_eq!(f.throttle, Some(2));
        assert_eq!(f.retry_after_ms, Some(50));
        let (_, f) = Fault::parse_cli("cn-beijing:hang").unwrap();
        assert_eq!(f.hang, Some(true));
        let (_, f) = Fault::parse_cli(
            "cn-x1:error_code=Forbidden.RAM,error_status=403,actions=DescribeTrails|AssumeRole",
        )
        .unwrap();
        assert_eq!(f.error_code.as_deref(), Some("Forbidden.RAM"));
        assert_eq!(f.error_status, Some(403));
        assert_eq!(
            f.actions,
            Some(vec!["DescribeTrails".to_string(), "AssumeRole".to_string()])
        );
        assert!(Fault::parse_cli("cn-beijing:bogus=1").is_err());
        assert!(Fault::parse_cli("Beijing:hang").is_err());
        assert!(Fault::parse_cli("cn-beijing").is_err());
        assert!(Fault::parse_cli("cn-beijing:throttle=x").is_err());
    }

    #[test]
    fn most_specific_wins_and_counters_count_down() {
        let mut faults = BTreeMap::new();
        faults.insert(
            "*".to_string(),
            Fault {
                latency_ms: Some(5),
                ..Fault::default()
            },
        );
        faults.insert(
            "cn-beijing".to_string(),
            Fault {
                throttle: Some(1),
                ..Fault::default()
            },
        );
        let e = take_effect(&mut faults, "cn-hangzhou", "DescribeTrails");
        assert_eq!(e.latency_ms, 5);
        assert_eq!(e.kind, EffectKind::None);
        let e = take_effect(&mut faults, "cn-beijing", "DescribeTrails");
        assert_eq!(e.latency_ms, 0);
        assert!(matches!(e.kind, EffectKind::Throttle { .. }));
        let e = take_effect(&mut faults, "cn-beijing", "DescribeTrails");
        assert_eq!(e.kind, EffectKind::None);
        // STS actions are not affected unless listed.
        let e = take_effect(&mut faults, "cn-hangzhou", "GetCallerIdentity");
        assert_eq!(e, Effect::default());
    }
}
