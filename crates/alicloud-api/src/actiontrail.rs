//! ActionTrail (API version 2020-07-06): `DescribeTrails` and `DescribeRegions`, typed.

use crate::time::{parse_bool, parse_text, parse_time};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const VERSION: &str = "2020-07-06";

/// The parameters of a `DescribeTrails` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeTrailsRequest {
    /// Also list trails of other home regions that deliver events of this region (`TrailRegion=All`).
    pub include_shadow_trails: bool,
    /// Also list multi-account (organization) trails.
    pub include_organization_trail: bool,
    /// Only these trails (sent as the comma list `NameList`); empty means all.
    pub name_list: Vec<String>,
}

impl DescribeTrailsRequest {
    /// The operation's own query parameters.
    pub fn params(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        p.insert(
            "IncludeShadowTrails".to_string(),
            self.include_shadow_trails.to_string(),
        );
        p.insert(
            "IncludeOrganizationTrail".to_string(),
            self.include_organization_trail.to_string(),
        );
        if !self.name_list.is_empty() {
            p.insert("NameList".to_string(), self.name_list.join(","));
        }
        p
    }
}

/// One trail, as one region's `DescribeTrails` answered it. Every field is optional: the live API's
/// formats are only partly documented, so parsing is lenient (see [`crate::time`]) and `raw` keeps the
/// object exactly as received, unknown fields included.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trail {
    pub name: Option<String>,
    pub home_region: Option<String>,
    /// The API's own `Region` field, when it sends one.
    pub region: Option<String>,
    pub trail_region: Option<String>,
    pub status: Option<String>,
    pub event_rw: Option<String>,
    pub create_time: Option<DateTime<Utc>>,
    pub update_time: Option<DateTime<Utc>>,
    pub start_logging_time: Option<DateTime<Utc>>,
    pub stop_logging_time: Option<DateTime<Utc>>,
    pub is_organization_trail: Option<bool>,
    pub is_shadow_trail: Option<bool>,
    pub organization_id: Option<String>,
    pub oss_bucket_name: Option<String>,
    pub oss_bucket_location: Option<String>,
    pub oss_key_prefix: Option<String>,
    pub oss_write_role_arn: Option<String>,
    pub sls_project_arn: Option<String>,
    pub sls_write_role_arn: Option<String>,
    pub mns_topic_arn: Option<String>,
    pub role_name: Option<String>,
    pub max_compute_project_arn: Option<String>,
    pub max_compute_write_role_arn: Option<String>,
    pub trail_arn: Option<String>,
    pub raw: Map<String, Value>,
}

impl Trail {
    /// Reads a trail object; never fails (unknown or malformed fields become `None`).
    pub fn from_json(raw: Map<String, Value>) -> Trail {
        let text = |k: &str| parse_text(raw.get(k));
        let time = |k: &str| parse_time(raw.get(k));
        let boolean = |k: &str| parse_bool(raw.get(k));
        Trail {
            name: text("Name"),
            home_region: text("HomeRegion"),
            region: text("Region"),
            trail_region: text("TrailRegion"),
            status: text("Status"),
            event_rw: text("EventRW"),
            create_time: time("CreateTime"),
            update_time: time("UpdateTime"),
            start_logging_time: time("StartLoggingTime"),
            stop_logging_time: time("StopLoggingTime"),
            is_organization_trail: boolean("IsOrganizationTrail"),
            is_shadow_trail: boolean("IsShadowTrail"),
            organization_id: text("OrganizationId"),
            oss_bucket_name: text("OssBucketName"),
            oss_bucket_location: text("OssBucketLocation"),
            oss_key_prefix: text("OssKeyPrefix"),
            oss_write_role_arn: text("OssWriteRoleArn"),
            sls_project_arn: text("SlsProjectArn"),
            sls_write_role_arn: text("SlsWriteRoleArn"),
            mns_topic_arn: text("MnsTopicArn"),
            role_name: text("RoleName"),
            max_compute_project_arn: text("MaxComputeProjectArn"),
            max_compute_write_role_arn: text("MaxComputeWriteRoleArn"),
            trail_arn: text("TrailArn"),
            raw,
        }
    }
}

/// A `DescribeTrails` answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeTrailsResponse {
    pub request_id: Option<String>,
    pub trails: Vec<Trail>,
}

impl DescribeTrailsResponse {
    /// Reads the answer body. `TrailList` may be missing (no trails), an array, or the XML-to-JSON
    /// shape `{"TrailList": {"Trail": [...]}}` some Alibaba APIs use.
    pub fn from_json(body: Value) -> Result<Self, String> {
        let Value::Object(mut obj) = body else {
            return Err("expected a JSON object".to_string());
        };
        let request_id = parse_text(obj.get("RequestId"));
        let list = match obj.remove("TrailList") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(Value::Object(mut wrapper)) => match wrapper.remove("Trail") {
                Some(Value::Array(items)) => items,
                Some(Value::Object(one)) => vec![Value::Object(one)],
                _ => return Err("TrailList is an object without a Trail array".to_string()),
            },
            Some(other) => return Err(format!("TrailList is {}", json_kind(&other))),
        };
        let mut trails = Vec::with_capacity(list.len());
        for item in list {
            match item {
                Value::Object(o) => trails.push(Trail::from_json(o)),
                other => return Err(format!("a TrailList entry is {}", json_kind(&other))),
            }
        }
        Ok(DescribeTrailsResponse { request_id, trails })
    }
}

/// One entry of `DescribeRegions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    pub region_id: String,
    pub endpoint: Option<String>,
    pub local_name: Option<String>,
}

/// Reads a `DescribeRegions` answer: `{"Regions":{"Region":[{"RegionId",...}]}}` (a bare array under
/// `Regions` is accepted too).
pub fn parse_regions(body: &Value) -> Result<Vec<RegionInfo>, String> {
    let regions = body
        .get("Regions")
        .ok_or_else(|| "no Regions field".to_string())?;
    let list = match regions {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("Region") {
            Some(Value::Array(a)) => a,
            _ => return Err("Regions has no Region array".to_string()),
        },
        other => return Err(format!("Regions is {}", json_kind(other))),
    };
    list.iter()
        .map(|r| {
            let region_id = parse_text(r.get("RegionId"))
                .ok_or_else(|| "a region without RegionId".to_string())?;
            Ok(RegionInfo {
                region_id,
                endpoint: parse_text(r.get("RegionEndpoint")),
                local_name: parse_text(r.get("LocalName")),
            })
        })
        .collect()
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The JSON sample of the DescribeTrails reference (the seed).
    fn seed_sample() -> Value {
        json!({
          "RequestId" : "10313D41-C40A-4D53-ACA0-0190334DF81C",
          "TrailList" : [ {
            "Status" : "Enable",
            "MnsTopicArn" : "acs:mns:cn-hangzhou:1111:/topics/your-topic-name",
            "HomeRegion" : "cn-hangzhou",
            "StartLoggingTime" : 1619407012000i64,
            "CreateTime" : 1614580048000i64,
            "StopLoggingTime" : 1617674944000i64,
            "SlsWriteRoleArn" : "acs:ram::159498693826****:role/aliyunserviceroleforactiontrail",
            "TrailRegion" : "All",
            "Name" : "test-4",
            "IsOrganizationTrail" : false,
            "SlsProjectArn" : "acs:log:cn-hangzhou:159498693826****:project/alice-audit-log",
            "RoleName" : "aliyunactiontraildefaultrole",
            "EventRW" : "Write",
            "UpdateTime" : 1619407012000i64,
            "OssKeyPrefix" : "trail1",
            "OssBucketName" : "secloud"
          } ]
        })
    }

    #[test]
    fn parses_the_seed_sample() {
        let r = DescribeTrailsResponse::from_json(seed_sample()).unwrap();
        assert_eq!(
            r.request_id.as_deref(),
            Some("10313D41-C40A-4D53-ACA0-0190334DF81C")
        );
        let t = &r.trails[0];
        assert_eq!(t.name.as_deref(), Some("test-4"));
        assert_eq!(t.home_region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(t.trail_region.as_deref(), Some("All"));
        assert_eq!(t.status.as_deref(), Some("Enable"));
        assert_eq!(t.event_rw.as_deref(), Some("Write"));
        assert_eq!(t.is_organization_trail, Some(false));
        assert_eq!(t.is_shadow_trail, None);
        assert_eq!(
            t.create_time.unwrap().to_rfc3339(),
            "2021-03-01T06:27:28+00:00"
        );
        assert_eq!(t.oss_bucket_name.as_deref(), Some("secloud"));
        assert_eq!(t.raw.len(), 16);
    }

    #[test]
    fn unknown_fields_and_odd_shapes() {
        let r = DescribeTrailsResponse::from_json(json!({
            "RequestId": "x",
            "TrailList": {"Trail": [{"Name": "a", "Future": {"deep": [1, 2]}, "IsShadowTrail": 1,
                                      "CreateTime": "", "IsOrganizationTrail": "true"}]}
        }))
        .unwrap();
        let t = &r.trails[0];
        assert_eq!(t.name.as_deref(), Some("a"));
        assert_eq!(t.is_shadow_trail, Some(true));
        assert_eq!(t.is_organization_trail, Some(true));
        assert_eq!(t.create_time, None);
        assert_eq!(t.raw["Future"], json!({"deep": [1, 2]}));

        assert!(DescribeTrailsResponse::from_json(json!({"RequestId": "x"}))
            .unwrap()
            .trails
            .is_empty());
        assert!(DescribeTrailsResponse::from_json(json!({"TrailList": "nope"})).is_err());
        assert!(DescribeTrailsResponse::from_json(json!({"TrailList": [1]})).is_err());
        assert!(DescribeTrailsResponse::from_json(json!([])).is_err());
    }

    #[test]
    fn request_params() {
        let p = DescribeTrailsRequest {
            include_shadow_trails: true,
            include_organization_trail: false,
            name_list: vec!["a".into(), "b".into()],
        }
        .params();
        assert_eq!(p["IncludeShadowTrails"], "true");
        assert_eq!(p["IncludeOrganizationTrail"], "false");
        assert_eq!(p["NameList"], "a,b");
        assert!(!DescribeTrailsRequest::default()
            .params()
            .contains_key("NameList"));
    }

    #[test]
    fn regions() {
        let r = parse_regions(&json!({"RequestId": "x", "Regions": {"Region": [
            {"RegionId": "cn-hangzhou", "RegionEndpoint": "actiontrail.cn-hangzhou.aliyuncs.com", "LocalName": "China (Hangzhou)"}
        ]}}))
        .unwrap();
        assert_eq!(r[0].region_id, "cn-hangzhou");
        assert_eq!(r[0].local_name.as_deref(), Some("China (Hangzhou)"));
        assert!(parse_regions(&json!({"Regions": {"Region": [{"LocalName": "x"}]}})).is_err());
        assert!(parse_regions(&json!({})).is_err());
    }
}
