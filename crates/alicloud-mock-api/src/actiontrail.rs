//! ActionTrail's actions: `DescribeTrails`, `DescribeRegions`.

use crate::answer::{new_request_id, Answer};
use crate::auth::Identity;
use crate::errors::ApiFailure;
use crate::fixture::TrailQuery;
use crate::state::Shared;
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
