//! ActionTrail's actions: `DescribeTrails`, `DescribeRegions`, `LookupEvents`.

use crate::answer::{new_request_id, Answer};
use crate::auth::{self, Identity};
use crate::errors::ApiFailure;
use crate::events::{self, documented_pair, EventQuery, LastToken, PairRule, RateScope, KEYS};
use crate::fixture::TrailQuery;
use crate::state::Shared;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::BTreeMap;

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

pub(crate) fn describe_trails(
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
    let index = shared.trails.read().unwrap();
    let trails = index.describe_trails(&identity.account_id, region, &query);
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

pub(crate) fn describe_regions(shared: &Shared) -> Answer {
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

/// The operation's own parameters that a page token is bound to (all but `NextToken`).
fn token_binding(params: &BTreeMap<String, String>) -> u64 {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (k, v) in params {
        let own = matches!(
            k.as_str(),
            "StartTime" | "EndTime" | "MaxResults" | "Direction"
        ) || k.starts_with("LookupAttribute.");
        if own {
            parts.push(k.as_bytes());
            parts.push(v.as_bytes());
        }
    }
    events::mix(&parts)
}

/// An opaque page token: the parameters it belongs to and where the next page starts.
fn page_token(binding: u64, offset: usize) -> String {
    format!("{binding:016x}{:08x}", offset as u32 ^ (binding as u32))
}

/// The offset a token names, when it was made for these parameters.
fn token_offset(token: &str, binding: u64) -> Option<usize> {
    if token.len() != 24 || !token.is_char_boundary(16) {
        return None;
    }
    let (b, o) = token.split_at(16);
    if u64::from_str_radix(b, 16).ok()? != binding {
        return None;
    }
    Some((u32::from_str_radix(o, 16).ok()? ^ (binding as u32)) as usize)
}

/// `LookupEvents`: the caller's events kept in this region (and the global ones where they are
/// kept), in the window and matching the attributes, newest first, a page at a time, under the
/// rules in force (see `events::LookupRules`).
pub(crate) fn lookup_events(
    shared: &Shared,
    region: &str,
    params: &BTreeMap<String, String>,
    identity: &Identity,
) -> Result<Answer, ApiFailure> {
    let rules = shared.lookup_rules.lock().unwrap().clone();
    // Counted before anything else is read, as a gateway does.
    let bucket = match rules.rate_scope {
        RateScope::Account => identity.account_id.clone(),
        RateScope::Region => format!("{}/{region}", identity.account_id),
    };
    if !shared
        .rate
        .lock()
        .unwrap()
        .take(&bucket, rules.rate_per_second)
    {
        return Err(ApiFailure::known("Throttling.User"));
    }
    let bad = |code: &str, message: String| ApiFailure::new(400, code, message);
    let time = |name: &str, code: &str| match params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => auth::parse_timestamp(v)
            .map(|t| Some(t.timestamp()))
            .ok_or_else(|| {
                bad(
                    code,
                    format!("The parameter {name} must be a time like 2021-07-13T07:33:46Z."),
                )
            }),
    };
    let start = time("StartTime", "InvalidParameterStartTime")?;
    let end = time("EndTime", "InvalidParameterEndTime")?;
    let now = Utc::now().timestamp();
    let (start, end) = match (start, end) {
        (None, None) => (now - 7 * 86_400, now),
        (Some(_), None) => {
            return Err(bad(
                "InvalidParameterEndTime",
                "EndTime must be given with StartTime.".to_string(),
            ))
        }
        (None, Some(_)) => {
            return Err(bad(
                "InvalidParameterStartTime",
                "StartTime must be given with EndTime.".to_string(),
            ))
        }
        (Some(s), Some(e)) => (s, e),
    };
    if end <= start {
        return Err(bad(
            "InvalidParameterCombination",
            "EndTime must be later than StartTime.".to_string(),
        ));
    }
    if let Some(days) = rules.window_cap_days {
        if end - start > i64::from(days) * 86_400 {
            return Err(bad(
                &rules.window_cap_code,
                format!("The time range may not be longer than {days} days."),
            ));
        }
    }
    let max = match params.get("MaxResults").filter(|v| !v.is_empty()) {
        None => rules.default_max_results,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=events::MAX_RESULTS).contains(&n) => n,
            _ => {
                return Err(bad(
                    &rules.max_results_code,
                    format!("MaxResults {v:?} is not between 1 and 50."),
                ))
            }
        },
    };
    let forward = match params.get("Direction").map(String::as_str) {
        None | Some("") | Some("BACKWARD") => false,
        Some("FORWARD") => true,
        Some(v) => {
            return Err(bad(
                "InvalidQueryParameter",
                format!("Direction {v:?} is neither FORWARD nor BACKWARD."),
            ))
        }
    };
    let mut attributes: Vec<(String, String)> = Vec::new();
    for n in 1..=20 {
        let key = params.get(&format!("LookupAttribute.{n}.Key"));
        let value = params.get(&format!("LookupAttribute.{n}.Value"));
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            if value.is_some() {
                return Err(bad(
                    &rules.attribute_code,
                    format!("LookupAttribute.{n}.Key is missing."),
                ));
            }
            continue;
        };
        if !KEYS.contains(&key.as_str()) {
            return Err(bad(
                &rules.attribute_code,
                format!("{key:?} is not a lookup attribute key."),
            ));
        }
        attributes.push((key.clone(), value.cloned().unwrap_or_default()));
    }
    // More than two: the first two apply. The same key twice: the second one applies.
    attributes.truncate(2);
    if attributes.len() == 2 && attributes[0].0 == attributes[1].0 {
        attributes.remove(0);
    }
    if attributes.len() > rules.max_attributes {
        return Err(bad(
            &rules.attribute_code,
            format!(
                "At most {} lookup attribute is supported.",
                rules.max_attributes
            ),
        ));
    }
    if attributes.len() == 2 && !documented_pair(&attributes[0].0, &attributes[1].0) {
        match rules.unsupported_pair {
            PairRule::Error => {
                return Err(bad(
                    &rules.attribute_code,
                    format!(
                        "The lookup attributes {} and {} cannot be combined.",
                        attributes[0].0, attributes[1].0
                    ),
                ))
            }
            PairRule::First => attributes.truncate(1),
            PairRule::Both => {}
        }
    }
    let binding = token_binding(params);
    let offset = match params.get("NextToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => token_offset(t, binding).ok_or_else(|| {
            bad(
                &rules.token_code,
                "The NextToken is not valid for this request.".to_string(),
            )
        })?,
    };
    let selected = shared.events.select(
        &EventQuery {
            account_id: &identity.account_id,
            region,
            start,
            end,
            attributes: &attributes,
            forward,
        },
        &rules,
    );
    let page: Vec<&str> = selected.iter().skip(offset).take(max).copied().collect();
    let next = (offset + max < selected.len()).then(|| page_token(binding, offset + max));
    let format = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0).map_or_else(String::new, events::format_time)
    };
    let mut head = json!({
        "RequestId": new_request_id(),
        "StartTime": format(start),
        "EndTime": format(end),
    });
    match (next, rules.last_token) {
        (Some(t), _) => head["NextToken"] = Value::from(t),
        (None, LastToken::Null) => head["NextToken"] = Value::Null,
        (None, LastToken::Empty) => head["NextToken"] = Value::from(""),
        (None, LastToken::Absent) => {}
    }
    // The events are JSON text already: the answer is written around them.
    let mut body = serde_json::to_vec(&head).expect("JSON values serialize");
    body.pop();
    body.extend_from_slice(b",\"Events\":[");
    for (i, event) in page.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(event.as_bytes());
    }
    body.extend_from_slice(b"]}");
    Ok(Answer::json_text(body))
}
