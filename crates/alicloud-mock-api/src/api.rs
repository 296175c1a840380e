//! The RPC API: request parsing, the checks in the real service's order, faults, and the
//! dispatch to each service's actions (`actiontrail.rs`, `sts.rs`).

use crate::answer::{Answer, JSON};
use crate::auth::{self, Identity};
use crate::errors::ApiFailure;
use crate::faults::{self, Effect, EffectKind};
use crate::fixture::valid_region_id;
use crate::state::Shared;
use crate::{
    actiontrail, resourcemanager, sts, Call, ACTIONTRAIL_VERSION, DEFAULT_REGION,
    RESOURCEMANAGER_VERSION, STS_VERSION,
};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::collections::BTreeMap;

/// Parameters every request carries; left out of [`Call::params`].
const COMMON_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "Signature",
    "SecurityToken",
    "RegionId",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    ActionTrail,
    Sts,
    ResourceManager,
}

impl Service {
    fn of(action: &str) -> Option<Service> {
        match action {
            "DescribeTrails" | "DescribeRegions" | "LookupEvents" => Some(Service::ActionTrail),
            "GetCallerIdentity" | "AssumeRole" => Some(Service::Sts),
            "ListAccounts" => Some(Service::ResourceManager),
            _ => None,
        }
    }
    fn version(self) -> &'static str {
        match self {
            Service::ActionTrail => ACTIONTRAIL_VERSION,
            Service::Sts => STS_VERSION,
            Service::ResourceManager => RESOURCEMANAGER_VERSION,
        }
    }
    fn host_id(self, region: &str) -> String {
        match self {
            Service::ActionTrail if valid_region_id(region) => {
                format!("actiontrail.{region}.aliyuncs.com")
            }
            Service::ActionTrail => "actiontrail.aliyuncs.com".to_string(),
            Service::Sts => "sts.aliyuncs.com".to_string(),
            Service::ResourceManager => "resourcemanager.aliyuncs.com".to_string(),
        }
    }
    fn product(self) -> &'static str {
        match self {
            Service::ActionTrail => "Actiontrail",
            Service::Sts => "Sts",
            Service::ResourceManager => "ResourceManager",
        }
    }
}

/// Query string, plus a form-encoded body when there is one (the query wins on a clash).
fn parse_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if is_form && !body.is_empty() {
        for (k, v) in form_urlencoded::parse(body) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    if let Some(q) = uri.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    params
}

/// One API request, start to end.
pub(crate) async fn handle(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let params = parse_params(uri, headers, body);
    let path_region = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let region = path_region
        .or_else(|| params.get("RegionId").filter(|r| !r.is_empty()).cloned())
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    let action = params.get("Action").cloned().unwrap_or_default();

    let (mut answer, effect) = decide(shared, method.as_str(), &region, &action, &params);
    if effect.kind == EffectKind::Echo {
        let token = params.get("SecurityToken").map_or("-", String::as_str);
        let key = params.get("AccessKeyId").map_or("-", String::as_str);
        answer.body = format!(
            "upstream error\nSecurityToken: {token}\nAccessKeyId: {key}\nrequest: {method} {uri}\n"
        )
        .into_bytes();
    }
    if effect.echo_in_answer && answer.status == StatusCode::OK {
        if let Ok(serde_json::Value::Object(mut obj)) =
            serde_json::from_slice::<serde_json::Value>(&answer.body)
        {
            obj.insert("Echo".to_string(), format!("{method} {uri}").into());
            answer.body = serde_json::to_vec(&obj).expect("JSON values serialize");
        }
    }

    let call = Call {
        region: region.clone(),
        action: action.clone(),
        params: params
            .iter()
            .filter(|(k, _)| !COMMON_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        access_key_id: params.get("AccessKeyId").cloned().unwrap_or_default(),
        outcome: answer.outcome.clone(),
    };
    shared.calls.lock().unwrap().push(call);
    if shared.logging() {
        let status = if effect.kind == EffectKind::Hang {
            "-".to_string()
        } else {
            answer.status.as_u16().to_string()
        };
        eprintln!(
            "{} {} {} {} {}",
            method,
            region,
            if action.is_empty() { "-" } else { &action },
            status,
            answer.outcome
        );
    }
    faults::deliver(answer, &effect).await
}

/// Checks, authenticates, applies faults and runs the action. No waiting happens here.
fn decide(
    shared: &Shared,
    method: &str,
    region: &str,
    action: &str,
    params: &BTreeMap<String, String>,
) -> (Answer, Effect) {
    let service = Service::of(action).unwrap_or(Service::ActionTrail);
    let fail = |f: ApiFailure| {
        (
            f.render(service.product(), &service.host_id(region)),
            Effect::default(),
        )
    };

    if !valid_region_id(region) {
        return fail(ApiFailure::new(
            400,
            "InvalidRegionId",
            format!("The specified region \"{region}\" does not exist."),
        ));
    }
    if action.is_empty() {
        return fail(auth::missing("Action"));
    }
    let Some(service) = Service::of(action) else {
        return fail(ApiFailure::new(
            404,
            "InvalidAction.NotFound",
            format!("Specified api \"{action}\" is not found, please check your url and method."),
        ));
    };
    match params.get("Version").filter(|v| !v.is_empty()) {
        None => return fail(auth::missing("Version")),
        Some(v) if v != service.version() => {
            return fail(ApiFailure::new(
                400,
                "InvalidVersion",
                format!("Specified parameter Version \"{v}\" is not valid for {action}."),
            ))
        }
        Some(_) => {}
    }
    let identity = match auth::authenticate(&shared.fixture, &shared.keys, method, params) {
        Ok(identity) => identity,
        Err(f) => return fail(f),
    };
    if !identity.may_call(action) {
        return fail(ApiFailure::known("Forbidden.RAM"));
    }

    let effect = faults::take_effect(&mut shared.faults.lock().unwrap(), region, action);
    let answer = match &effect.kind {
        EffectKind::Throttle { retry_after_ms } => {
            let mut a = ApiFailure::known("Throttling.User")
                .with_request_id(effect.request_id.clone())
                .render(service.product(), &service.host_id(region));
            if let Some(ms) = retry_after_ms {
                a.headers.push(("x-acs-retry-after", ms.to_string()));
            }
            a
        }
        EffectKind::ServerError { status } => {
            let known = crate::errors::server_error(*status);
            ApiFailure::new(known.status, known.code, known.message)
                .with_request_id(effect.request_id.clone())
                .render(service.product(), &service.host_id(region))
        }
        EffectKind::ApiError { code, status } => {
            let mut message = crate::errors::message_for(code);
            message.push_str(&"x".repeat(effect.message_pad_bytes as usize));
            ApiFailure::new(*status, code, message)
                .with_request_id(effect.request_id.clone())
                .render(service.product(), &service.host_id(region))
        }
        EffectKind::Html => Answer {
            status: StatusCode::BAD_GATEWAY,
            body: b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n".to_vec(),
            content_type: "text/html",
            headers: Vec::new(),
            outcome: "html_error".to_string(),
        },
        EffectKind::Redirect { status, location } => Answer {
            status: StatusCode::from_u16(*status).unwrap_or(StatusCode::FOUND),
            body: b"moved\n".to_vec(),
            content_type: "text/plain",
            headers: vec![("location", location.clone())],
            outcome: "redirect".to_string(),
        },
        EffectKind::Echo => Answer {
            status: StatusCode::OK,
            body: Vec::new(),
            content_type: "text/plain",
            headers: Vec::new(),
            outcome: "echo_request".to_string(),
        },
        EffectKind::Text(text) => Answer {
            status: StatusCode::OK,
            body: text.clone().into_bytes(),
            content_type: "text/plain",
            headers: Vec::new(),
            outcome: "body_text".to_string(),
        },
        EffectKind::Endless => Answer {
            status: StatusCode::OK,
            body: Vec::new(),
            content_type: JSON,
            headers: Vec::new(),
            outcome: "endless".to_string(),
        },
        EffectKind::None | EffectKind::Hang | EffectKind::Malformed => {
            let mut answer = match run_action(shared, action, region, params, &identity) {
                Ok(a) => a,
                Err(f) => f.render(service.product(), &service.host_id(region)),
            };
            if let (Some(item), StatusCode::OK) = (&effect.append_item, answer.status) {
                if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&answer.body) {
                    let list = ["/TrailList", "/Events", "/Regions/Region"]
                        .into_iter()
                        .find(|p| body.pointer(p).is_some())
                        .and_then(|p| body.pointer_mut(p));
                    if let Some(serde_json::Value::Array(items)) = list {
                        items.push(item.clone());
                    }
                    answer.body = serde_json::to_vec(&body).expect("JSON values serialize");
                }
            }
            if effect.repeat_token && answer.status == StatusCode::OK {
                if let Ok(serde_json::Value::Object(mut obj)) =
                    serde_json::from_slice::<serde_json::Value>(&answer.body)
                {
                    let sent = params.get("NextToken").filter(|t| !t.is_empty());
                    if let (Some(next), Some(sent)) = (obj.get_mut("NextToken"), sent) {
                        *next = sent.clone().into();
                    }
                    answer.body = serde_json::to_vec(&obj).expect("JSON values serialize");
                }
            }
            if effect.pad_bytes > 0 && answer.status == StatusCode::OK {
                if let Ok(serde_json::Value::Object(mut obj)) =
                    serde_json::from_slice::<serde_json::Value>(&answer.body)
                {
                    let padding = "x".repeat(effect.pad_bytes as usize);
                    obj.insert("Padding".to_string(), serde_json::Value::from(padding));
                    answer.body = serde_json::to_vec(&obj).expect("JSON values serialize");
                }
            }
            if effect.kind == EffectKind::Hang {
                answer.outcome = "hang".to_string();
            } else if effect.kind == EffectKind::Malformed {
                answer.status = StatusCode::OK;
                let keep = (answer.body.len() / 2).max(1);
                answer.body.truncate(keep);
                answer.outcome = "malformed_json".to_string();
            }
            answer
        }
    };
    (answer, effect)
}

fn run_action(
    shared: &Shared,
    action: &str,
    region: &str,
    params: &BTreeMap<String, String>,
    identity: &Identity,
) -> Result<Answer, ApiFailure> {
    match action {
        "DescribeTrails" => actiontrail::describe_trails(shared, region, params, identity),
        "DescribeRegions" => Ok(actiontrail::describe_regions(shared)),
        "LookupEvents" => actiontrail::lookup_events(shared, region, params, identity),
        "GetCallerIdentity" => Ok(sts::get_caller_identity(identity)),
        "AssumeRole" => sts::assume_role(shared, params, identity),
        "ListAccounts" => resourcemanager::list_accounts(shared, params, identity),
        _ => unreachable!("Service::of accepted the action"),
    }
}
