//! What the mock knows: access keys and their accounts, RAM roles, ECS instance roles, regions,
//! trails, and events (written ones, and generated volumes) with the rules `LookupEvents` plays by.
//! Loaded from JSON; the default is `fixtures/default.json`, compiled in.

use crate::events::LookupRules;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The JSON of the default fixture, compiled in so the file and [`Fixture::default_fixture`] can't drift.
pub const DEFAULT_FIXTURE_JSON: &str = include_str!("../fixtures/default.json");

/// The mock's whole world. Field names are snake_case; trail objects are raw API JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Free text, ignored.
    #[serde(rename = "_comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Upper bound on the lifetime of temporary credentials (AssumeRole: `min(DurationSeconds, this)`;
    /// ECS metadata: exactly this). Set it low to test credential refresh.
    #[serde(default = "default_lifetime")]
    pub sts_credential_lifetime_seconds: u64,
    /// When true, ECS metadata reads without a valid `X-aliyun-ecs-metadata-token` answer 401
    /// (IMDSv2 enforced). When false, a token is checked only if one is sent.
    #[serde(default)]
    pub ecs_metadata_require_token: bool,
    /// When true, `AssumeRole` signed with an account's own (root) keys answers 403
    /// `NoPermission`, as STS does; when false (the default fixture, whose main key is the
    /// account's own, so that tests can assume roles with it), any caller the role trusts may.
    /// `PUT /_admin/sts_rules` changes it while the mock runs.
    #[serde(default)]
    pub sts_refuse_account_keys: bool,
    /// The access keys and the accounts they belong to.
    #[serde(default)]
    pub access_keys: Vec<AccessKey>,
    /// RAM roles that keys may assume.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The accounts of resource directories (`ListAccounts`), each with its directory's
    /// management account.
    #[serde(default)]
    pub directory: Vec<DirectoryAccount>,
    /// ECS instance roles served by the metadata endpoint.
    #[serde(default)]
    pub ecs_roles: Vec<EcsRole>,
    /// What `DescribeRegions` answers (RegionEndpoint is derived).
    #[serde(default)]
    pub regions: Vec<RegionInfo>,
    /// The trails of every account.
    #[serde(default)]
    pub trails: Vec<FixtureTrail>,
    /// Events written out, each at an age before the anchor.
    #[serde(default)]
    pub events: Vec<FixtureEvent>,
    /// Events generated in bulk, spread over the retention.
    #[serde(default)]
    pub event_volume: Vec<EventVolume>,
    /// The instant event ages count back from; by default the minute the mock started in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_anchor: Option<DateTime<Utc>>,
    /// How `LookupEvents` plays the points public sources leave open.
    #[serde(default)]
    pub lookup_rules: LookupRules,
}

/// One event of an account, as the API answers it except `eventTime`, which is the anchor less
/// `age`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureEvent {
    /// The account it belongs to.
    pub account_id: String,
    /// The region that keeps it, or `global` for a global event (kept where
    /// [`LookupRules::global_event_regions`] says).
    pub region: String,
    /// How long before the anchor it happened: `5d3h12m4s` (any of the parts, in that order).
    pub age: String,
    /// The event as the API answers it.
    pub event: Map<String, Value>,
}

/// `count` generated events of an account in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventVolume {
    /// The account.
    pub account_id: String,
    /// The region.
    pub region: String,
    /// How many.
    pub count: usize,
}

fn default_lifetime() -> u64 {
    3600
}

/// A long-term access key. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    /// The key id.
    pub access_key_id: String,
    /// Its secret.
    pub access_key_secret: String,
    /// The account it belongs to.
    pub account_id: String,
    /// `Account` (the root account's key) or `RAMUser`.
    #[serde(default = "default_identity_type")]
    pub identity_type: String,
    /// RAM user name (for the Arn of GetCallerIdentity); only for `RAMUser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// RAM user id (PrincipalId / UserId); only for `RAMUser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Actions this key may not call: they answer 403 `Forbidden.RAM`. `*` denies every action
    /// except `GetCallerIdentity` (which needs no permission on the real service either).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_actions: Vec<String>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .field("identity_type", &self.identity_type)
            .field("user_name", &self.user_name)
            .field("user_id", &self.user_id)
            .field("denied_actions", &self.denied_actions)
            .finish()
    }
}

fn default_identity_type() -> String {
    "Account".to_string()
}

/// A RAM role that `AssumeRole` can assume. Its account is the one in the ARN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// `acs:ram::<account>:role/<name>`
    pub arn: String,
    /// The role id (`AssumedRoleId`).
    #[serde(default = "default_role_id")]
    pub role_id: String,
    /// Accounts whose keys may assume the role.
    #[serde(default)]
    pub assumable_by: Vec<String>,
    /// The `ExternalId` the role's trust policy asks for, if any: `AssumeRole` without it (or
    /// with another) is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

fn default_role_id() -> String {
    "300000000000000000".to_string()
}

impl Role {
    /// The account of the role (from its ARN), if the ARN is well formed.
    pub fn account_id(&self) -> Option<&str> {
        parse_role_arn(&self.arn).map(|(account, _)| account)
    }
    /// The role's name (after `role/`).
    pub fn name(&self) -> Option<&str> {
        parse_role_arn(&self.arn).map(|(_, name)| name)
    }
}

/// `acs:ram::<account>:role/<name>` -> (account, name)
pub(crate) fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, role) = rest.split_once(':')?;
    let name = role.strip_prefix("role/")?;
    if account.is_empty() || name.is_empty() {
        return None;
    }
    Some((account, name))
}

/// An account of a resource directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryAccount {
    /// The directory's management account: the account whose keys may list it.
    pub management_account_id: String,
    /// The member account.
    pub account_id: String,
    /// Its display name.
    pub display_name: String,
    /// Its status: `CreateSuccess`, `InviteSuccess`, `PromoteSuccess` (joined), or another
    /// (`PromoteVerifying`, ...).
    pub status: String,
}

/// An ECS instance RAM role served by the metadata endpoint; its temporary keys act as `account_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsRole {
    /// The role name.
    pub name: String,
    /// The account of the role.
    pub account_id: String,
    /// The role id.
    #[serde(default = "default_role_id")]
    pub role_id: String,
}

/// One region of the `DescribeRegions` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionInfo {
    /// The region id.
    #[serde(rename = "RegionId")]
    pub region_id: String,
    /// Its display name.
    #[serde(rename = "LocalName")]
    pub local_name: String,
}

/// A trail: the account it belongs to and the raw object the API answers with.
/// `HomeRegion`, `TrailRegion`, `Name` and `IsOrganizationTrail` (JSON bool or `"true"`/`"false"`)
/// drive the `DescribeTrails` semantics; every other field is served untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureTrail {
    /// The account that owns the trail.
    pub account_id: String,
    /// The trail as the API answers it.
    pub trail: Map<String, Value>,
}

impl FixtureTrail {
    fn str_field(&self, name: &str) -> &str {
        self.trail.get(name).and_then(Value::as_str).unwrap_or("")
    }
    /// Its `Name`.
    pub fn name(&self) -> &str {
        self.str_field("Name")
    }
    /// Its `HomeRegion`.
    pub fn home_region(&self) -> &str {
        self.str_field("HomeRegion")
    }
    /// `All` or a region id; a missing value counts as `All` (the API's default).
    pub fn trail_region(&self) -> &str {
        match self.str_field("TrailRegion") {
            "" => "All",
            r => r,
        }
    }
    /// Whether it is a multi-account trail.
    pub fn is_organization_trail(&self) -> bool {
        match self.trail.get("IsOrganizationTrail") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            _ => false,
        }
    }
}

/// The filters of a `DescribeTrails` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailQuery {
    /// List shadow copies of other regions' `All` trails too.
    pub include_shadow_trails: bool,
    /// List multi-account trails too.
    pub include_organization_trail: bool,
    /// Names to keep; `None` (or empty) keeps all.
    pub name_list: Option<Vec<String>>,
}

impl Fixture {
    /// The default fixture (`fixtures/default.json`).
    pub fn default_fixture() -> Fixture {
        Fixture::from_json_str(DEFAULT_FIXTURE_JSON).expect("fixtures/default.json is valid")
    }

    /// Loads and checks a fixture file.
    pub fn from_path(path: &Path) -> std::io::Result<Fixture> {
        let text = std::fs::read_to_string(path)?;
        Fixture::from_json_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("fixture {}: {e}", path.display()),
            )
        })
    }

    /// Parses and checks a fixture.
    pub fn from_json_str(text: &str) -> Result<Fixture, String> {
        let fixture: Fixture = serde_json::from_str(text).map_err(|e| e.to_string())?;
        fixture.check()?;
        Ok(fixture)
    }

    /// Consistency checks: unique key ids, valid region ids, trails with a name and home region,
    /// well-formed role ARNs.
    pub fn check(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        for k in &self.access_keys {
            if !ids.insert(k.access_key_id.as_str()) {
                return Err(format!("access key {} is listed twice", k.access_key_id));
            }
            if k.access_key_id.starts_with("STS.") {
                return Err(format!(
                    "access key {}: ids starting with STS. are reserved for temporary keys",
                    k.access_key_id
                ));
            }
        }
        for r in &self.regions {
            if !valid_region_id(&r.region_id) {
                return Err(format!("region id {:?} is not valid", r.region_id));
            }
        }
        for r in &self.roles {
            if parse_role_arn(&r.arn).is_none() {
                return Err(format!(
                    "role ARN {:?} is not acs:ram::<account>:role/<name>",
                    r.arn
                ));
            }
        }
        for e in &self.events {
            if crate::events::parse_age(&e.age).is_none() {
                return Err(format!("event age {:?} is not like 5d3h12m4s", e.age));
            }
            if e.region != crate::events::GLOBAL && !valid_region_id(&e.region) {
                return Err(format!("event region {:?} is not valid", e.region));
            }
        }
        for v in &self.event_volume {
            if !valid_region_id(&v.region) {
                return Err(format!("event volume region {:?} is not valid", v.region));
            }
        }
        for t in &self.trails {
            if t.name().is_empty() || t.home_region().is_empty() {
                return Err(format!(
                    "every trail needs string Name and HomeRegion fields: {}",
                    Value::Object(t.trail.clone())
                ));
            }
        }
        if self.sts_credential_lifetime_seconds == 0 {
            return Err("sts_credential_lifetime_seconds must be at least 1".to_string());
        }
        Ok(())
    }

    /// Adds `n` member accounts to the default account's resource directory, `8888000000000000`
    /// and on: each joined, with the role `ActionTrailAudit` that the default account may assume,
    /// and one trail recording every region from the first region (so each region lists it).
    pub fn add_generated_members(&mut self, n: usize) {
        let home = self
            .region_ids()
            .first()
            .cloned()
            .unwrap_or_else(|| crate::DEFAULT_REGION.to_string());
        let manager = crate::DEFAULT_ACCOUNT_ID.to_string();
        for i in 0..n {
            let account = format!("8888{i:012}");
            self.roles.push(Role {
                arn: format!("acs:ram::{account}:role/{}", crate::MEMBER_ROLE_NAME),
                role_id: format!("3888{i:014}"),
                assumable_by: vec![manager.clone()],
                external_id: None,
            });
            self.directory.push(DirectoryAccount {
                management_account_id: manager.clone(),
                account_id: account.clone(),
                display_name: format!("member-{i:04}"),
                status: "CreateSuccess".to_string(),
            });
            let trail = serde_json::json!({
                "Name": format!("member-{i:04}-trail"), "HomeRegion": home, "TrailRegion": "All",
                "Status": "Enable", "EventRW": "All", "IsOrganizationTrail": false,
                "OssBucketName": format!("member-{i:04}-audit"), "OssKeyPrefix": "trails",
                "RoleName": "aliyunactiontraildefaultrole",
                "CreateTime": 1700000000000u64, "UpdateTime": 1700000000000u64,
            });
            if let Value::Object(trail) = trail {
                self.trails.push(FixtureTrail {
                    account_id: account,
                    trail,
                });
            }
        }
    }

    /// Adds `n` trails of the default account, named `generated-000000` and on, their home regions
    /// taken in turn from the fixture's regions, each delivering its home region's events only (so
    /// each is listed once), with every field a real trail has.
    pub fn add_generated_trails(&mut self, n: usize) {
        let regions = self.region_ids();
        if regions.is_empty() {
            return;
        }
        for i in 0..n {
            let home = &regions[i % regions.len()];
            let name = format!("generated-{i:06}");
            let account = crate::DEFAULT_ACCOUNT_ID;
            let trail = serde_json::json!({
                "Name": name, "HomeRegion": home, "TrailRegion": home,
                "Status": if i % 3 == 0 { "Disable" } else { "Enable" },
                "EventRW": "Write", "IsOrganizationTrail": false,
                "OssBucketName": format!("audit-{home}"), "OssKeyPrefix": format!("trails/{name}"),
                "OssWriteRoleArn": format!("acs:ram::{account}:role/aliyunactiontraildefaultrole"),
                "SlsProjectArn": format!("acs:log:{home}:{account}:project/audit-{home}"),
                "SlsWriteRoleArn": format!("acs:ram::{account}:role/aliyunserviceroleforactiontrail"),
                "RoleName": "aliyunactiontraildefaultrole",
                "TrailArn": format!("acs:actiontrail:{home}:{account}:actiontrail/{name}"),
                "CreateTime": 1614580048000i64 + i as i64, "UpdateTime": 1619407012000i64,
                "StartLoggingTime": 1619407012000i64, "StopLoggingTime": 1617674944000i64,
            });
            let Value::Object(trail) = trail else {
                unreachable!("a JSON object literal")
            };
            self.trails.push(FixtureTrail {
                account_id: account.to_string(),
                trail,
            });
        }
    }

    /// Adds `count` generated events of the default account in `region` (the benchmarks' volume).
    pub fn add_generated_events(&mut self, region: &str, count: usize) {
        self.event_volume.push(EventVolume {
            account_id: crate::DEFAULT_ACCOUNT_ID.to_string(),
            region: region.to_string(),
            count,
        });
    }

    /// The region ids of `DescribeRegions`, in fixture order.
    pub fn region_ids(&self) -> Vec<String> {
        self.regions.iter().map(|r| r.region_id.clone()).collect()
    }

    /// The access key with this id.
    pub fn access_key(&self, access_key_id: &str) -> Option<&AccessKey> {
        self.access_keys
            .iter()
            .find(|k| k.access_key_id == access_key_id)
    }

    /// The role with this ARN.
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.arn == arn)
    }

    /// The ECS role with this name.
    pub fn ecs_role(&self, name: &str) -> Option<&EcsRole> {
        self.ecs_roles.iter().find(|r| r.name == name)
    }
}

/// The fixture's trails as `DescribeTrails` serves them, each serialized once: a listing copies
/// text instead of cloning and serializing JSON trees, so that the mock stays cheap next to the
/// client it serves (benchmarks list 100,000 trails on the same cores as the database).
pub struct TrailIndex {
    trails: Vec<IndexedTrail>,
    /// The joined member accounts of each directory, by management account: a multi-account
    /// trail of a management account is listed to them too (read-only there, as the API does).
    members: HashMap<String, HashSet<String>>,
}

/// One trail of a [`TrailIndex`]: what the listing filters on, and its JSON texts.
struct IndexedTrail {
    account_id: String,
    name: String,
    home_region: String,
    organization: bool,
    /// The object as the fixture holds it (kept for changes made at run time).
    trail: Map<String, Value>,
    /// As listed in its home region.
    json: Box<str>,
    /// As listed in other regions (`"IsShadowTrail": 1` added), for trails of every region only.
    shadow_json: Option<Box<str>>,
}

impl IndexedTrail {
    fn new(account_id: &str, trail: Map<String, Value>) -> IndexedTrail {
        let serialize = |trail: &Map<String, Value>| -> Box<str> {
            serde_json::to_string(trail)
                .expect("JSON values serialize")
                .into()
        };
        let t = FixtureTrail {
            account_id: account_id.to_string(),
            trail,
        };
        let all_regions = t.trail_region() == "All";
        IndexedTrail {
            account_id: t.account_id.clone(),
            name: t.name().to_string(),
            home_region: t.home_region().to_string(),
            organization: t.is_organization_trail(),
            json: serialize(&t.trail),
            shadow_json: all_regions.then(|| {
                let mut shadow = t.trail.clone();
                shadow.insert("IsShadowTrail".to_string(), Value::from(1));
                serialize(&shadow)
            }),
            trail: t.trail,
        }
    }
}

/// Directory statuses of a joined member account.
pub const JOINED_STATUSES: &[&str] = &["CreateSuccess", "InviteSuccess", "PromoteSuccess"];

impl TrailIndex {
    /// Indexes `fixture`'s trails, in fixture order.
    pub fn new(fixture: &Fixture) -> TrailIndex {
        let trails = fixture
            .trails
            .iter()
            .map(|t| IndexedTrail::new(&t.account_id, t.trail.clone()))
            .collect();
        let mut members: HashMap<String, HashSet<String>> = HashMap::new();
        for a in &fixture.directory {
            if JOINED_STATUSES.contains(&a.status.as_str()) {
                members
                    .entry(a.management_account_id.clone())
                    .or_default()
                    .insert(a.account_id.clone());
            }
        }
        TrailIndex { trails, members }
    }

    /// Changes the trail `name` of `account_id` at run time: `changes` are merged into it (a
    /// member set to `null` is removed); a trail that does not exist is created from them (they
    /// must then give `HomeRegion`); `None` deletes it. Answers whether the trail existed.
    pub fn change(
        &mut self,
        account_id: &str,
        name: &str,
        changes: Option<Map<String, Value>>,
    ) -> Result<bool, String> {
        let at = self
            .trails
            .iter()
            .position(|t| t.account_id == account_id && t.name == name);
        let Some(changes) = changes else {
            return Ok(at.map(|i| self.trails.remove(i)).is_some());
        };
        let mut trail = at.map(|i| self.trails[i].trail.clone()).unwrap_or_default();
        trail.insert("Name".to_string(), Value::from(name));
        for (k, v) in changes {
            if v.is_null() {
                trail.remove(&k);
            } else {
                trail.insert(k, v);
            }
        }
        if !trail.get("HomeRegion").is_some_and(Value::is_string) {
            return Err("a trail needs a HomeRegion".to_string());
        }
        let indexed = IndexedTrail::new(account_id, trail);
        match at {
            Some(i) => self.trails[i] = indexed,
            None => self.trails.push(indexed),
        }
        Ok(at.is_some())
    }

    /// What `DescribeTrails` in `region` answers to `account_id` (the `TrailList` items, as JSON
    /// text): trails whose HomeRegion is `region`; with shadow trails, also the `TrailRegion: All`
    /// trails of other home regions, each with `"IsShadowTrail": 1` added; multi-account trails
    /// only when asked, the account's own and those of its directory's management account.
    pub fn describe_trails(&self, account_id: &str, region: &str, query: &TrailQuery) -> Vec<&str> {
        let names: Option<HashSet<&str>> = query
            .name_list
            .as_ref()
            .filter(|n| !n.is_empty())
            .map(|n| n.iter().map(String::as_str).collect());
        let visible = |t: &IndexedTrail| {
            t.account_id == account_id
                || (t.organization
                    && self
                        .members
                        .get(&t.account_id)
                        .is_some_and(|m| m.contains(account_id)))
        };
        let mut out = Vec::new();
        for t in self.trails.iter().filter(|t| visible(t)) {
            if t.organization && !query.include_organization_trail {
                continue;
            }
            if names.as_ref().is_some_and(|n| !n.contains(t.name.as_str())) {
                continue;
            }
            if t.home_region == region {
                out.push(&*t.json);
            } else if let (true, Some(shadow)) = (query.include_shadow_trails, &t.shadow_json) {
                out.push(&**shadow);
            }
        }
        out
    }
}

/// Region id syntax: `^[a-z]{2,}(-[a-z0-9]+)+$`, the same rule the client applies.
pub fn valid_region_id(region: &str) -> bool {
    alicloud_api::validate_region_id(region).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn region_syntax() {
        for ok in [
            "cn-hangzhou",
            "ap-southeast-1",
            "cn-shanghai-finance-1",
            "xx-1",
        ] {
            assert!(valid_region_id(ok), "{ok}");
        }
        for bad in [
            "",
            "cn",
            "c-hangzhou",
            "CN-hangzhou",
            "cn-",
            "cn--x",
            "cn-hang_zhou",
            "latest",
            "_admin",
            "1n-x",
        ] {
            assert!(!valid_region_id(bad), "{bad}");
        }
    }

    #[test]
    fn default_fixture_loads_and_checks() {
        let f = Fixture::default_fixture();
        assert_eq!(f.regions.len(), 28);
        assert_eq!(f.trails.len(), 9);
        assert_eq!(
            f.role(crate::AUDITOR_ROLE_ARN).unwrap().account_id(),
            Some(crate::DEFAULT_ACCOUNT_ID)
        );
    }

    /// The names `describe_trails` lists to `account` in `region` (shadow and multi-account
    /// trails asked for).
    fn listed(index: &TrailIndex, account: &str, region: &str) -> Vec<String> {
        let query = TrailQuery {
            include_shadow_trails: true,
            include_organization_trail: true,
            name_list: None,
        };
        index
            .describe_trails(account, region, &query)
            .into_iter()
            .map(|t| {
                let v: Value = serde_json::from_str(t).unwrap();
                v["Name"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn multi_account_trails_are_listed_to_joined_members_only() {
        let index = TrailIndex::new(&Fixture::default_fixture());
        // The management account's multi-account trail, in its home region.
        for joined in [
            crate::DEFAULT_ACCOUNT_ID,
            "1111111111111111",
            "3333333333333333",
        ] {
            assert!(listed(&index, joined, "cn-shanghai").contains(&"org-audit-shanghai".into()));
        }
        // Not to an account still joining (PromoteVerifying), nor to another directory.
        for other in ["5555555555555555", "6543210987654321", "4444444444444444"] {
            assert!(!listed(&index, other, "cn-shanghai").contains(&"org-audit-shanghai".into()));
        }
    }

    #[test]
    fn trails_change_at_run_time() {
        let mut index = TrailIndex::new(&Fixture::default_fixture());
        let obj = |v: Value| v.as_object().unwrap().clone();
        // Merged: a member changed, one removed; the shadow copies follow.
        let existed = index
            .change(
                "1111111111111111",
                "acme-prod-trail",
                Some(obj(json!({"Status": "Disable", "OssKeyPrefix": null}))),
            )
            .unwrap();
        assert!(existed);
        let shadow = index.describe_trails(
            "1111111111111111",
            "cn-beijing",
            &TrailQuery {
                include_shadow_trails: true,
                ..TrailQuery::default()
            },
        );
        let v: Value = serde_json::from_str(shadow[0]).unwrap();
        assert_eq!(v["Status"], "Disable");
        assert_eq!(v["IsShadowTrail"], 1);
        assert!(v.get("OssKeyPrefix").is_none());
        // Created (a home region is needed), then deleted.
        assert!(index
            .change(
                "1111111111111111",
                "new",
                Some(obj(json!({"Status": "Fresh"})))
            )
            .is_err());
        let existed = index
            .change(
                "1111111111111111",
                "new",
                Some(obj(
                    json!({"HomeRegion": "cn-hangzhou", "TrailRegion": "cn-hangzhou"}),
                )),
            )
            .unwrap();
        assert!(!existed);
        assert!(listed(&index, "1111111111111111", "cn-hangzhou").contains(&"new".into()));
        assert!(index.change("1111111111111111", "new", None).unwrap());
        assert!(!listed(&index, "1111111111111111", "cn-hangzhou").contains(&"new".into()));
        assert!(!index.change("1111111111111111", "new", None).unwrap());
    }

    #[test]
    fn role_arn_parsing() {
        assert_eq!(parse_role_arn("acs:ram::123:role/x"), Some(("123", "x")));
        assert_eq!(parse_role_arn("acs:ram::123:user/x"), None);
        assert_eq!(parse_role_arn("acs:ram:::role/x"), None);
    }
}
