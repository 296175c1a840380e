//! ActionTrail (API version 2020-07-06): `DescribeTrails`, `DescribeRegions` and `LookupEvents`
//! (in `lookup_events.rs`), their requests and the client's operations for them. An answer is kept as the text that arrived
//! ([`crate::Items`]), each trail read from its own slice of it only when a row needs it.

use crate::client::{Client, Connections, OpenedAhead, Outcome, Service};
use crate::endpoint::validate_region_id;
use crate::error::{Call, Error};
use crate::fields::parse_text;
use crate::json::{kind_of, Items, ListShape};
use serde_json::Value;
use std::collections::BTreeMap;

mod lookup_events;

pub use lookup_events::{
    format_time, EventsPage, LookupEventsRequest, LookupKey, CALLS_PER_SECOND, EVENT_LIST,
    MAX_ATTRIBUTES, MAX_RESULTS, OLD_WINDOW_CAP, RETENTION,
};

/// The API version these operations speak.
pub const VERSION: &str = "2020-07-06";

/// The parameters of a `DescribeTrails` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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

/// Where a `DescribeTrails` answer lists its trails.
pub const TRAIL_LIST: ListShape = ListShape {
    field: "TrailList",
    wrapper: "Trail",
};

/// ActionTrail, as the client calls it.
pub(crate) const SERVICE: Service = Service {
    version: VERSION,
    endpoint: |config| &config.actiontrail_endpoint,
};

impl Client {
    /// ActionTrail `DescribeTrails` in one region.
    pub async fn describe_trails(
        &self,
        region: &str,
        request: &DescribeTrailsRequest,
    ) -> Outcome<Items> {
        let call = Call::new("DescribeTrails", region);
        self.call_with_own_credentials(SERVICE, &call.action, region, request.params(), |body| {
            Items::from_body(body, TRAIL_LIST)
                .map_err(|(why, body)| Error::decode(&call, 200, why, &body))
        })
        .await
    }

    /// Opens connections in the background for ActionTrail calls about to be made at once, one
    /// region per call, so that each finds a connection of its own (a scan does this while it
    /// waits for roles to be assumed). They are kept while the returned guard is; `None`: nothing
    /// is opened (enough are open, or the client goes through a proxy).
    pub fn open_actiontrail_ahead<'a>(
        &self,
        regions: impl IntoIterator<Item = &'a str>,
    ) -> Option<OpenedAhead> {
        self.open_ahead(SERVICE, regions)
    }

    /// The connections to ActionTrail's endpoint in `region` (`None` through a proxy).
    pub fn actiontrail_connections(&self, region: &str) -> Option<Connections> {
        self.connections(SERVICE, region)
    }

    /// ActionTrail `DescribeRegions`, asked of the global region's endpoint: every region id
    /// ActionTrail serves (checked for the form of a region id, since it goes into URLs).
    pub async fn describe_regions(&self) -> Outcome<Vec<RegionInfo>> {
        let params = BTreeMap::from([("AcceptLanguage".to_string(), "en-US".to_string())]);
        self.global_call(SERVICE, "DescribeRegions", params, parse_regions)
            .await
    }
}

/// One entry of `DescribeRegions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region id, e.g. `cn-hangzhou`.
    pub region_id: String,
    /// The region's ActionTrail endpoint host, as the API names it.
    pub endpoint: Option<String>,
    /// The region's display name.
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
        other => return Err(format!("Regions is {}", kind_of(&other.to_string()))),
    };
    list.iter()
        .map(|r| {
            let region_id = parse_text(r.get("RegionId"))
                .ok_or_else(|| "a region without RegionId".to_string())?;
            validate_region_id(&region_id).map_err(|_| {
                format!(
                    "the region id {:?} is not of the form cn-hangzhou",
                    crate::error::truncate(&region_id, 64)
                )
            })?;
            Ok(RegionInfo {
                region_id,
                endpoint: parse_text(r.get("RegionEndpoint")),
                local_name: parse_text(r.get("LocalName")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        // Region ids go into URLs: anything but the form of a region id is refused.
        for bad in [
            "xa-q?Injected=1#frag",
            "../../x",
            "cn-hangzhou/x",
            "evil.example:80",
        ] {
            let e =
                parse_regions(&json!({"Regions": {"Region": [{"RegionId": bad}]}})).unwrap_err();
            assert!(e.contains("not of the form"), "{bad}: {e}");
        }
    }
}
