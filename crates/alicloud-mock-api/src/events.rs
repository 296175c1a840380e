//! ActionTrail's event history as `LookupEvents` serves it: the fixture's events (written ones, at
//! ages before the anchor, and generated ones spread over the retention), indexed once, and the
//! rules public sources leave open, each switchable ([`LookupRules`]).

use crate::fixture::{Fixture, FixtureEvent};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// How long the service keeps events.
pub const RETENTION_DAYS: i64 = 90;
/// The largest `MaxResults`.
pub const MAX_RESULTS: usize = 50;
/// The store of global events (identity management, console sign-in), served in
/// [`LookupRules::global_event_regions`].
pub const GLOBAL: &str = "global";

/// What a pair of lookup attributes outside the documented ones does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairRule {
    /// The request is refused with [`LookupRules::attribute_code`].
    Error,
    /// Only the first attribute applies.
    First,
    /// Both apply, as for a documented pair.
    Both,
}

/// Whether the rate limit counts calls per account, or per account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateScope {
    /// Every region's calls count together.
    Account,
    /// Each region counts its own.
    Region,
}

/// How the last page says that it is the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastToken {
    /// No `NextToken` member.
    Absent,
    /// `"NextToken": null`.
    Null,
    /// `"NextToken": ""`.
    Empty,
}

/// The points of `LookupEvents` that public sources do not settle, as this mock plays them. The
/// defaults are the current documentation's reading; tests switch them to prove the client works
/// under each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LookupRules {
    /// The longest window, in days (an older page said 30); `None`: no cap.
    pub window_cap_days: Option<u32>,
    /// The code of a window over the cap.
    pub window_cap_code: String,
    /// Lookup attributes accepted at once: 2 (current pages) or 1 (older texts); more is refused
    /// with [`LookupRules::attribute_code`].
    pub max_attributes: usize,
    /// What a pair outside the documented ones does.
    pub unsupported_pair: PairRule,
    /// The code of an unknown attribute key, or of attributes refused.
    pub attribute_code: String,
    /// The code of a `MaxResults` out of 1..=50.
    pub max_results_code: String,
    /// The code of a `NextToken` that is not one this mock gave for the same parameters.
    pub token_code: String,
    /// Calls per second before `Throttling.User`; 0: no limit.
    pub rate_per_second: u32,
    /// What the rate limit counts.
    pub rate_scope: RateScope,
    /// The regions that serve global events; `*` alone: every region.
    pub global_event_regions: Vec<String>,
    /// The page size when `MaxResults` is not sent.
    pub default_max_results: usize,
    /// How the last page ends the listing.
    pub last_token: LastToken,
}

impl Default for LookupRules {
    fn default() -> Self {
        LookupRules {
            window_cap_days: None,
            window_cap_code: "InvalidParameterCombination".to_string(),
            max_attributes: 2,
            unsupported_pair: PairRule::Error,
            attribute_code: "InvalidQueryParameter".to_string(),
            max_results_code: "InvalidQueryParameter".to_string(),
            token_code: "InvalidQueryParameter".to_string(),
            rate_per_second: 2,
            rate_scope: RateScope::Account,
            global_event_regions: vec!["ap-southeast-1".to_string()],
            default_max_results: 20,
            last_token: LastToken::Absent,
        }
    }
}

impl LookupRules {
    /// Whether `region` serves global events.
    pub fn serves_global(&self, region: &str) -> bool {
        self.global_event_regions
            .iter()
            .any(|r| r == "*" || r == region)
    }
}

/// The lookup attribute keys the service documents, and the documented pairs.
pub const KEYS: &[&str] = &[
    "ServiceName",
    "EventName",
    "User",
    "EventId",
    "ResourceType",
    "ResourceName",
    "EventRW",
    "EventAccessKeyId",
    "SensitiveAction",
    "SourceIpAddress",
    "EventType",
    "RoleName",
    "PrincipalId",
];

/// Whether `a` and `b` are a documented pair of lookup attributes.
pub fn documented_pair(a: &str, b: &str) -> bool {
    let one_way = |a: &str, b: &str| match a {
        "ServiceName" => matches!(
            b,
            "EventName"
                | "User"
                | "PrincipalId"
                | "RoleName"
                | "ResourceName"
                | "EventRW"
                | "SensitiveAction"
                | "EventType"
        ),
        "ResourceName" => matches!(
            b,
            "ResourceType" | "EventName" | "User" | "RoleName" | "ServiceName"
        ),
        "EventType" => b == "EventName",
        _ => false,
    };
    one_way(a, b) || one_way(b, a)
}

/// One event of the index: its time, id, what lookup attributes match it, and its JSON text.
struct IndexedEvent {
    /// Seconds since the epoch.
    time: i64,
    id: String,
    /// (attribute key, value) pairs that match it; a key may have several values.
    attributes: Vec<(&'static str, String)>,
    json: Box<str>,
}

/// Every event of the fixture, newest first in each store (an account's region, or its global
/// events), each serialized once.
pub struct EventIndex {
    /// When "now" was for the fixture's ages.
    pub anchor: DateTime<Utc>,
    stores: HashMap<(String, String), Vec<IndexedEvent>>,
}

/// The events a `LookupEvents` request selects.
pub struct EventQuery<'a> {
    /// The account asking.
    pub account_id: &'a str,
    /// The region asked.
    pub region: &'a str,
    /// The window, in epoch seconds, both ends included.
    pub start: i64,
    /// See `start`.
    pub end: i64,
    /// The attributes that apply (key, value).
    pub attributes: &'a [(String, String)],
    /// Oldest first.
    pub forward: bool,
}

impl EventIndex {
    /// Builds the index of `fixture`'s events, their ages counted back from `anchor`.
    pub fn new(fixture: &Fixture, anchor: DateTime<Utc>) -> EventIndex {
        let mut stores: HashMap<(String, String), Vec<IndexedEvent>> = HashMap::new();
        let mut add = |account: &str, store: &str, event: Map<String, Value>| {
            let indexed = index(event);
            stores
                .entry((account.to_string(), store.to_string()))
                .or_default()
                .push(indexed);
        };
        for e in &fixture.events {
            let mut event = e.event.clone();
            let time = anchor - e.age();
            event.insert("eventTime".to_string(), Value::from(format_time(time)));
            let store = if e.region == GLOBAL {
                GLOBAL
            } else {
                &e.region
            };
            add(&e.account_id, store, event);
        }
        for v in &fixture.event_volume {
            for i in 0..v.count {
                let event = generated(&v.account_id, &v.region, i, v.count, anchor);
                add(&v.account_id, &v.region, event);
            }
        }
        for events in stores.values_mut() {
            events.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
        }
        EventIndex { anchor, stores }
    }

    /// The events `query` selects, newest first (oldest first when `forward`), as JSON texts.
    pub fn select(&self, query: &EventQuery, rules: &LookupRules) -> Vec<&str> {
        let stores = [
            self.stores
                .get(&(query.account_id.to_string(), query.region.to_string())),
            rules
                .serves_global(query.region)
                .then(|| {
                    self.stores
                        .get(&(query.account_id.to_string(), GLOBAL.to_string()))
                })
                .flatten(),
        ];
        let mut selected: Vec<&IndexedEvent> = stores
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.time >= query.start && e.time <= query.end)
            .filter(|e| {
                query.attributes.iter().all(|(k, v)| {
                    e.attributes
                        .iter()
                        .any(|(ek, ev)| *ek == k.as_str() && ev == v)
                })
            })
            .collect();
        selected.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
        if query.forward {
            selected.reverse();
        }
        selected.into_iter().map(|e| &*e.json).collect()
    }

    /// Every event of `account_id`, one JSON object per line: `{"store": region or "global",
    /// "event": {...}}`, newest first per store, stores in name order (for tests that compare a
    /// scan with the fixture).
    pub fn dump(&self, account_id: &str) -> String {
        let mut keys: Vec<&(String, String)> = self
            .stores
            .keys()
            .filter(|(a, _)| a == account_id)
            .collect();
        keys.sort();
        let mut out = String::new();
        for key in keys {
            for e in &self.stores[key] {
                out.push_str(&format!(
                    "{{\"store\":{},\"event\":{}}}\n",
                    json!(key.1),
                    e.json
                ));
            }
        }
        out
    }
}

/// `2021-07-13T07:33:46Z`
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The lookup attributes that match `event`, and its index entry.
fn index(event: Map<String, Value>) -> IndexedEvent {
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let top = |name: &str| text(event.get(name));
    let identity = |name: &str| text(event.get("userIdentity").and_then(|u| u.get(name)));
    let mut attributes: Vec<(&'static str, String)> = Vec::new();
    let mut put = |key: &'static str, value: Option<String>| {
        if let Some(v) = value {
            attributes.push((key, v));
        }
    };
    put("ServiceName", top("serviceName"));
    put("EventName", top("eventName"));
    put("User", identity("userName"));
    put("EventId", top("eventId"));
    put("EventRW", top("eventRW"));
    put("EventAccessKeyId", identity("accessKeyId"));
    put("SourceIpAddress", top("sourceIpAddress"));
    put("EventType", top("eventType"));
    put("PrincipalId", identity("principalId"));
    put(
        "SensitiveAction",
        text(
            event
                .get("eventAttributes")
                .and_then(|a| a.get("SensitiveAction")),
        ),
    );
    if identity("type").as_deref() == Some("assumed-role") {
        put("RoleName", identity("userName"));
    }
    for t in top("resourceType").unwrap_or_default().split(';') {
        put(
            "ResourceType",
            Some(t.to_string()).filter(|t| !t.is_empty()),
        );
    }
    for n in top("resourceName").unwrap_or_default().split([';', ',']) {
        put(
            "ResourceName",
            Some(n.to_string()).filter(|n| !n.is_empty()),
        );
    }
    let time = top("eventTime")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map_or(0, |t| t.timestamp());
    IndexedEvent {
        time,
        id: top("eventId").unwrap_or_default(),
        attributes,
        json: serde_json::to_string(&event)
            .expect("JSON values serialize")
            .into(),
    }
}

/// A number from `parts`, the same on every run (FNV-1a, then a SplitMix64 round).
pub(crate) fn mix(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// What a generated event does: service, action, read or write, resource type, API version.
const OPERATIONS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Ecs",
        "DescribeInstances",
        "Read",
        "ACS::ECS::Instance",
        "2014-05-26",
    ),
    (
        "Ecs",
        "StartInstance",
        "Write",
        "ACS::ECS::Instance",
        "2014-05-26",
    ),
    (
        "Ecs",
        "StopInstance",
        "Write",
        "ACS::ECS::Instance",
        "2014-05-26",
    ),
    (
        "Oss",
        "PutBucketAcl",
        "Write",
        "ACS::OSS::Bucket",
        "2019-05-17",
    ),
    (
        "Oss",
        "GetBucketInfo",
        "Read",
        "ACS::OSS::Bucket",
        "2019-05-17",
    ),
    ("Vpc", "CreateVpc", "Write", "ACS::VPC::VPC", "2016-04-28"),
    (
        "Rds",
        "DescribeDBInstances",
        "Read",
        "ACS::RDS::DBInstance",
        "2014-08-15",
    ),
    ("Kms", "Decrypt", "Read", "ACS::KMS::Key", "2016-01-20"),
    (
        "Actiontrail",
        "DescribeTrails",
        "Read",
        "ACS::ActionTrail::Trail",
        "2020-07-06",
    ),
    (
        "Slb",
        "SetLoadBalancerStatus",
        "Write",
        "ACS::SLB::LoadBalancer",
        "2014-05-15",
    ),
];

/// Who a generated event's caller is: identity type, user name, principal id, access key id.
const CALLERS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "ram-user",
        "alice",
        "200000000000000001",
        Some("LTAI5tAlice00000000001"),
    ),
    (
        "ram-user",
        "bob",
        "200000000000000002",
        Some("LTAI5tBob0000000000002"),
    ),
    (
        "assumed-role",
        "ops-automation",
        "300000000000000003:deploy",
        Some("STS.NSmockAutomation01"),
    ),
    ("root-account", "root", "1234567890123456", None),
    ("ram-user", "carol", "200000000000000004", None),
];

/// The `i`th of `count` events generated for `account_id` in `region`: spread evenly over the
/// retention (the newest a minute before `anchor`, the oldest a day inside the retention), every
/// field a real one has, some varying in form as live answers do.
fn generated(
    account_id: &str,
    region: &str,
    i: usize,
    count: usize,
    anchor: DateTime<Utc>,
) -> Map<String, Value> {
    let r = mix(&[account_id.as_bytes(), region.as_bytes(), &i.to_le_bytes()]);
    let span = (RETENTION_DAYS - 1) * 86_400 - 60;
    let age = 60 + span * i as i64 / count.max(1) as i64 + (r % 37) as i64;
    let time = anchor - TimeDelta::seconds(age);
    let (service, name, rw, resource_type, api_version) =
        OPERATIONS[(r >> 8) as usize % OPERATIONS.len()];
    let (kind, user, principal, key) = CALLERS[(r >> 16) as usize % CALLERS.len()];
    let console = key.is_none();
    let id = if r.is_multiple_of(29) {
        // Not every event id is a UUID.
        format!("E{:016X}", r)
    } else {
        uuid_of(r)
    };
    let resource = format!(
        "{}-{:08x}",
        resource_type
            .rsplit("::")
            .next()
            .unwrap_or("r")
            .to_ascii_lowercase(),
        r >> 32
    );
    let mut identity = json!({
        "type": kind,
        "principalId": principal,
        "accountId": account_id,
        "userName": user,
        "sessionContext": {"attributes": {"mfaAuthenticated": "false", "creationDate": format_time(time - TimeDelta::minutes(5))}},
    });
    if let Some(key) = key {
        identity["accessKeyId"] = Value::from(key);
    }
    let failed = r.is_multiple_of(7);
    let mut event = json!({
        "eventId": id,
        "eventVersion": if i.is_multiple_of(2) { json!(1) } else { json!("1") },
        "eventName": name,
        "eventType": if console { "ConsoleOperation" } else { "ApiCall" },
        "eventCategory": "Management",
        "eventRW": rw,
        "eventTime": format_time(time),
        "eventSource": format!("{}.{region}.aliyuncs.com", service.to_ascii_lowercase()),
        "serviceName": service,
        "acsRegion": region,
        "apiVersion": api_version,
        "requestId": uuid_of(r.rotate_left(17)),
        "sourceIpAddress": format!("203.0.113.{}", (r >> 40) % 250 + 1),
        "userAgent": if console { "console.aliyun.com".to_string() } else { "AlibabaCloud (Linux; x86_64) Go/1.22 Core/1.62".to_string() },
        "userIdentity": identity,
        "requestParameters": {"RegionId": region, "PageSize": 10, "Force": false, "ResourceIds": [resource.clone()]},
        "referencedResources": {resource_type: [resource.clone()]},
        "resourceName": resource,
        "resourceType": resource_type,
        "isGlobal": false,
        "eventAttributes": {"SensitiveAction": if rw == "Write" && r.is_multiple_of(3) { "true" } else { "false" }},
    });
    if failed {
        event["errorCode"] = Value::from("Forbidden.RAM");
        event["errorMessage"] =
            Value::from("User not authorized to operate on the specified resource.");
    } else {
        event["responseElements"] = json!({"RequestId": uuid_of(r.rotate_left(17))});
    }
    if console {
        event["additionalEventData"] =
            json!({"loginAccount": format!("{user}@{account_id}.onaliyun.com")});
    }
    match event {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A UUID in the service's upper-case form, from a number.
fn uuid_of(r: u64) -> String {
    let b = mix(&[&r.to_le_bytes()]);
    let h = format!("{r:016X}{b:016X}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The per-key call counts of the rate limit: a bucket of `rate` calls, refilled at `rate` per
/// second.
#[derive(Default)]
pub struct RateLimiter {
    buckets: HashMap<String, (f64, std::time::Instant)>,
}

impl RateLimiter {
    /// Takes one call from `key`'s bucket; false when it is empty (the call is throttled).
    pub fn take(&mut self, key: &str, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let now = std::time::Instant::now();
        let capacity = f64::from(rate);
        let (tokens, at) = self
            .buckets
            .entry(key.to_string())
            .or_insert((capacity, now));
        let refilled = (*tokens + now.duration_since(*at).as_secs_f64() * capacity).min(capacity);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }
}

impl FixtureEvent {
    /// How long before the anchor it happened.
    pub fn age(&self) -> TimeDelta {
        parse_age(&self.age).unwrap_or_default()
    }
}

/// `5d3h12m4s` (any of the parts, in that order) as a duration.
pub fn parse_age(text: &str) -> Option<TimeDelta> {
    let mut total = 0i64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    (number.is_empty() && !text.is_empty()).then(|| TimeDelta::seconds(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(
            parse_age("5d3h"),
            Some(TimeDelta::seconds(5 * 86_400 + 3 * 3_600))
        );
        assert_eq!(parse_age("90s"), Some(TimeDelta::seconds(90)));
        for bad in ["", "5", "5x", "d"] {
            assert_eq!(parse_age(bad), None, "{bad}");
        }
    }

    #[test]
    fn pairs_are_symmetric_and_documented_only() {
        assert!(documented_pair("ServiceName", "EventName"));
        assert!(documented_pair("EventName", "ServiceName"));
        assert!(documented_pair("EventName", "EventType"));
        assert!(!documented_pair("EventName", "User"));
        assert!(!documented_pair("EventId", "EventName"));
    }

    #[test]
    fn generated_events_are_the_same_every_time_and_inside_the_retention() {
        let anchor: DateTime<Utc> = "2026-12-05T00:00:00Z".parse().unwrap();
        let a = generated("1", "cn-hangzhou", 3, 100, anchor);
        assert_eq!(a, generated("1", "cn-hangzhou", 3, 100, anchor));
        for i in [0, 99] {
            let e = index(generated("1", "cn-hangzhou", i, 100, anchor));
            let age = anchor.timestamp() - e.time;
            assert!((60..RETENTION_DAYS * 86_400).contains(&age), "{age}");
        }
    }

    #[test]
    fn buckets_refill() {
        let mut limiter = RateLimiter::default();
        assert!(limiter.take("k", 2) && limiter.take("k", 2));
        assert!(!limiter.take("k", 2));
        assert!(limiter.take("other", 2));
        std::thread::sleep(std::time::Duration::from_millis(520));
        assert!(limiter.take("k", 2));
    }
}
