//! The RPC API: request parsing, the checks in the real service's order, the actions, faults.

use crate::auth::{self, Identity};
use crate::faults::{self, Effect, EffectKind};
use crate::fixture::{valid_region_id, TrailQuery};
use crate::server::{deliver, Answer, Shared, JSON};
use crate::{Call, ACTIONTRAIL_VERSION, DEFAULT_REGION, STS_VERSION};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};
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
}

impl Service {
    fn of(action: &str) -> Option<Service> {
        match action {
            "DescribeTrails" | "DescribeRegions" => Some(Service::ActionTrail),
            "GetCallerIdentity" | "AssumeRole" => Some(Service::Sts),
            _ => None,
        }
    }
    fn version(self) -> &'static str {
        match self {
            Service::ActionTrail => ACTIONTRAIL_VERSION,
            Service::Sts => STS_VERSION,
        }
    }
    fn host_id(self, region: &str) -> String {
        match self {
            Service::ActionTrail if valid_region_id(region) => {
                format!("actiontrail.{region}.aliyuncs.com")
            }
            Service::ActionTrail => "actiontrail.aliyuncs.com".to_string(),
            Service::Sts => "sts.aliyuncs.com".to_string(),
        }
    }
    fn product(self) -> &'static str {
        match self {
            Service::ActionTrail => "Actiontrail",
            Service::Sts => "Sts",
        }
    }
}

/// An API error before it is rendered.
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// A fixed request id (from a fault); `None`: a fresh one.
    pub request_id: Option<String>,
}

impl ApiFailure {
    /// An error of the mock's table of errors (`errors.rs`), with its status and message.
    pub fn known(code: &str) -> ApiFailure {
        ApiFailure::new(
            crate::errors::status_for(code),
            code,
            crate::errors::message_for(code),
        )
    }

    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiFailure {
        ApiFailure {
            status,
            code: code.to_string(),
            message: message.into(),
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> ApiFailure {
        self.request_id = request_id;
        self
    }

    /// The real error body: `{"RequestId","HostId","Code","Message","Recommend"}`.
    pub fn render(&self, service: Service, region: &str) -> Answer {
        let request_id = self.request_id.clone().unwrap_or_else(new_request_id);
        let body = json!({
            "RequestId": request_id,
            "HostId": service.host_id(region),
            "Code": self.code,
            "Message": self.message,
            "Recommend": format!(
                "https://api.aliyun.com/troubleshoot?q={}&product={}&requestId={}",
                self.code,
                service.product(),
                request_id
            ),
        });
        Answer {
            status: StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            body: serde_json::to_vec(&body).expect("JSON values serialize"),
            content_type: JSON,
            headers: Vec::new(),
            outcome: self.code.clone(),
        }
    }
}

pub(crate) fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
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
pub(crate) async fn api(
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
    deliver(answer, &effect).await
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
    let fail = |f: ApiFailure| (f.render(service, region), Effect::default());

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
    let identity = match auth::authenticate(shared, method, params) {
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
                .render(service, region);
            if let Some(ms) = retry_after_ms {
                a.headers.push(("x-acs-retry-after", ms.to_string()));
            }
            a
        }
        EffectKind::ServerError { status } => {
            let known = crate::errors::server_error(*status);
            ApiFailure::new(known.status, known.code, known.message)
                .with_request_id(effect.request_id.clone())
                .render(service, region)
        }
        EffectKind::ApiError { code, status } => {
            let mut message = crate::errors::message_for(code);
            message.push_str(&"x".repeat(effect.message_pad_bytes as usize));
            ApiFailure::new(*status, code, message)
                .with_request_id(effect.request_id.clone())
                .render(service, region)
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
            content_type: crate::server::JSON,
            headers: Vec::new(),
            outcome: "endless".to_string(),
        },
        EffectKind::None | EffectKind::Hang | EffectKind::Malformed => {
            let mut answer = match run_action(shared, action, region, params, &identity) {
                Ok(a) => a,
                Err(f) => f.render(service, region),
            };
            if let (Some(item), StatusCode::OK) = (&effect.append_item, answer.status) {
                if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&answer.body) {
                    let list = match body.get_mut("TrailList") {
                        Some(l) => Some(l),
                        None => body.pointer_mut("/Regions/Region"),
                    };
                    if let Some(serde_json::Value::Array(items)) = list {
                        items.push(item.clone());
                    }
                    answer.body = serde_json::to_vec(&body).expect("JSON values serialize");
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
        "DescribeTrails" => describe_trails(shared, region, params, identity),
        "DescribeRegions" => Ok(describe_regions(shared)),
        "GetCallerIdentity" => Ok(get_caller_identity(identity)),
        "AssumeRole" => assume_role(shared, params, identity),
        _ => unreachable!("Service::of accepted the action"),
    }
}

fn bool_param(params: &BTreeMap<String, String>, name: &str) -> Result<bool, ApiFailure> {
    match params.get(name).map(String::as_str) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ApiFailure::new(
            400,
            "InvalidQueryParameter",
            format!(
                "The specified query parameter is invalid: {name}={v:?} is neither true nor false."
            ),
        )),
    }
}

fn describe_trails(
    shared: &Shared,
    region: &str,
    params: &BTreeMap<String, String>,
    identity: &Identity,
) -> Result<Answer, ApiFailure> {
    let query = TrailQuery {
        include_shadow_trails: bool_param(params, "IncludeShadowTrails")?,
        include_organization_trail: bool_param(params, "IncludeOrganizationTrail")?,
        name_list: params.get("NameList").map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        }),
    };
    let trails = shared
        .trails
        .describe_trails(&identity.account_id, region, &query);
    // The items are JSON text already: the answer is written around them.
    let head = format!(r#"{{"RequestId":{},"TrailList":["#, json!(new_request_id()));
    let mut body =
        Vec::with_capacity(head.len() + trails.iter().map(|t| t.len() + 1).sum::<usize>() + 2);
    body.extend_from_slice(head.as_bytes());
    for (i, trail) in trails.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(trail.as_bytes());
    }
    body.extend_from_slice(b"]}");
    Ok(Answer::json_text(body))
}

fn describe_regions(shared: &Shared) -> Answer {
    let regions: Vec<Value> = shared
        .fixture
        .regions
        .iter()
        .map(|r| {
            json!({
                "RegionId": r.region_id,
                "RegionEndpoint": format!("actiontrail.{}.aliyuncs.com", r.region_id),
                "LocalName": r.local_name,
            })
        })
        .collect();
    Answer::json(&json!({
        "RequestId": new_request_id(),
        "Regions": { "Region": regions },
    }))
}

fn get_caller_identity(identity: &Identity) -> Answer {
    let mut body = json!({
        "RequestId": new_request_id(),
        "AccountId": identity.account_id,
        "Arn": identity.arn,
        "IdentityType": identity.identity_type,
        "PrincipalId": identity.principal_id,
        "UserId": identity.user_id,
    });
    if let Some(role_id) = &identity.role_id {
        body["RoleId"] = Value::from(role_id.clone());
    }
    Answer::json(&body)
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'))
}

fn assume_role(
    shared: &Shared,
    params: &BTreeMap<String, String>,
    identity: &Identity,
) -> Result<Answer, ApiFailure> {
    let role_arn = params
        .get("RoleArn")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| auth::missing("RoleArn"))?;
    let session = params
        .get("RoleSessionName")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| auth::missing("RoleSessionName"))?;
    if !valid_session_name(session) {
        return Err(ApiFailure::new(
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ));
    }
    let duration = match params.get("DurationSeconds").filter(|v| !v.is_empty()) {
        None => 3600,
        Some(v) => match v.parse::<u64>() {
            Ok(d) if (900..=43200).contains(&d) => d,
            _ => {
                return Err(ApiFailure::new(
                    400,
                    "InvalidParameter.DurationSeconds",
                    "The parameter DurationSeconds is out of range: it must be between 900 and the MaxSessionDuration of the role.",
                ))
            }
        },
    };
    let role = shared.fixture.role(role_arn).ok_or_else(|| {
        ApiFailure::new(
            403,
            "EntityNotExist.Role",
            format!("The specified Role not exists: {role_arn}."),
        )
    })?;
    if !role.assumable_by.contains(&identity.account_id) {
        return Err(ApiFailure::known("NoPermission"));
    }
    let account = role.account_id().unwrap_or_default().to_string();
    let role_name = role.name().unwrap_or_default().to_string();
    let lifetime = duration.min(shared.fixture.sts_credential_lifetime_seconds);
    let assumed = Identity::assumed_role(&account, &role_name, &role.role_id, session);
    let (key_id, cred) = auth::issue_temp_cred(shared, assumed, lifetime);
    Ok(Answer::json(&json!({
        "RequestId": new_request_id(),
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{account}:role/{role_name}/{session}"),
            "AssumedRoleId": format!("{}:{session}", role.role_id),
        },
        "Credentials": {
            "AccessKeyId": key_id,
            "AccessKeySecret": cred.secret,
            "SecurityToken": cred.token,
            "Expiration": auth::format_timestamp(cred.expires),
        },
    })))
}
