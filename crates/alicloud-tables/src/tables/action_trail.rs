//! `alicloud_action_trail`: one row per trail per region whose `DescribeTrails` lists it.

use crate::listing::{Deferred, Listing, Page, Params};
use crate::pace::Pace;
use crate::plan::{narrow, Constraint};
use crate::table::{self, col, ColumnDef, ColumnType, Pushdown, TableDef, Value};
use alicloud_api::{Client, DescribeTrailsRequest, Items, OpenedAhead, Outcome};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::borrow::Cow;

/// The table's declaration.
pub static TABLE: TableDef = TableDef {
    name: "alicloud_action_trail",
    description:
        "ActionTrail trails of the account: a row for each trail in each region whose \
                  DescribeTrails lists it, so shadow copies and multi-account trails have rows too.",
    columns: COLUMNS,
    listing: &DescribeTrails,
    unique: None,
    order: None,
    // An account has a few trails.
    rows_per_region: 5.0,
};

/// The trail's `Name` member.
const NAME: &str = "Name";
/// The trail's `HomeRegion` member.
const HOME_REGION: &str = "HomeRegion";
/// The `NameList` parameter: the trails' names, comma-separated.
const NAME_LIST: &str = "NameList";
/// The most characters of `NameList` sent: a longer filter (or a name with a comma, which the
/// comma-separated list cannot carry) is not sent, and the front end filters the rows instead.
pub const MAX_NAME_LIST_CHARS: usize = 2048;

use ColumnType::{Boolean, Json, Text, Timestamp};

static COLUMNS: &[ColumnDef] = &[
    col("name", Text, "Trail name, unique within the account.", |r| r.text(NAME)).pushed(Pushdown::Equal),
    col("home_region", Text, "Region where the trail was created and is managed.", |r| r.text(HOME_REGION)),
    ColumnDef::region("Region whose ActionTrail endpoint returned this row; not the home region when the row is a shadow copy."),
    col("trail_region", Text, "Regions whose events the trail records: All, or a single region id.", |r| r.text("TrailRegion")),
    col("status", Text, "Enable when logging, Disable when stopped, Fresh when created but never started.", |r| r.text("Status")),
    col("event_rw", Text, "Which events are delivered: Write, Read or All.", |r| r.text("EventRW")),
    col("is_organization_trail", Boolean, "Whether the trail covers every member account of a resource directory.", |r| Value::boolean(r.item.boolean("IsOrganizationTrail"))),
    col("is_shadow_trail", Boolean, "Whether this row is a copy shown outside the home region: the API's own flag when it sends one, else home_region <> region.",
        |r| {
            let computed = r.item.text(HOME_REGION).map(|home| home != r.region);
            Value::boolean(r.item.boolean("IsShadowTrail").or(computed))
        }),
    col("organization_id", Text, "Resource directory id of a multi-account trail.", |r| r.text("OrganizationId")),
    col("oss_bucket_name", Text, "OSS bucket that receives the log files.", |r| r.text("OssBucketName")),
    col("oss_bucket_location", Text, "Region of that OSS bucket.", |r| r.text("OssBucketLocation")),
    col("oss_key_prefix", Text, "Object name prefix of the log files in OSS.", |r| r.text("OssKeyPrefix")),
    col("oss_write_role_arn", Text, "ARN of the role ActionTrail uses to write into OSS.", |r| r.text("OssWriteRoleArn")),
    col("sls_project_arn", Text, "ARN of the Simple Log Service project that receives the events.", |r| r.text("SlsProjectArn")),
    col("sls_write_role_arn", Text, "ARN of the role ActionTrail uses to write into Simple Log Service.", |r| r.text("SlsWriteRoleArn")),
    col("mns_topic_arn", Text, "ARN of the MNS topic told about deliveries.", |r| r.text("MnsTopicArn")),
    col("role_name", Text, "RAM role ActionTrail acts as for this trail.", |r| r.text("RoleName")),
    col("max_compute_project_arn", Text, "ARN of the MaxCompute project that receives the events.", |r| r.text("MaxComputeProjectArn")),
    col("max_compute_write_role_arn", Text, "ARN of the role ActionTrail uses to write into MaxCompute.", |r| r.text("MaxComputeWriteRoleArn")),
    col("trail_arn", Text, "ARN that identifies the trail.", |r| r.text("TrailArn")),
    col("create_time", Timestamp, "Time the trail was created.", |r| r.time("CreateTime")),
    col("update_time", Timestamp, "Time of the last change to the trail's settings.", |r| r.time("UpdateTime")),
    col("start_logging_time", Timestamp, "Time logging was last turned on.", |r| r.time("StartLoggingTime")),
    col("stop_logging_time", Timestamp, "Time logging was last turned off.", |r| r.time("StopLoggingTime")),
    ColumnDef::account_id("Alibaba Cloud account the credentials belong to (from STS GetCallerIdentity)."),
    col("title", Text, "Display title of the row: the trail name.", |r| r.text(NAME)),
    col("akas", Json, "Globally unique names of the trail, as a JSON array: [\"acs:actiontrail:<home_region>:<account_id>:actiontrail/<name>\"].",
        |r| {
            let (Some(home), Some(account), Some(name)) = (r.item.text(HOME_REGION), r.account_id, r.item.text(NAME)) else {
                return Value::Null;
            };
            // The JSON text of a one-string array, escaped by serde only when a part needs it.
            let json = format!("[\"acs:actiontrail:{home}:{account}:actiontrail/{name}\"]");
            let aka = &json[2..json.len() - 2];
            let plain = !aka.contains(|c: char| c == '"' || c == '\\' || c.is_control());
            Value::Json(Cow::Owned(if plain {
                json
            } else {
                format!("[{}]", serde_json::Value::String(aka.to_string()))
            }))
        }).with_account(),
    ColumnDef::raw("The trail object exactly as the API sent it, fields this table does not know included."),
    table::SP_CONNECTION_NAME,
    table::SP_CTX,
    table::CTX,
];

/// `DescribeTrails` with shadow and multi-account trails, one page per region; equality on `name`
/// becomes its `NameList`.
struct DescribeTrails;

/// The names of a request's `NameList`; `None`: every trail.
fn names(request: &Params) -> Option<Vec<&str>> {
    request.get(NAME_LIST).map(|l| l.split(',').collect())
}

fn name_of<'a>(t: &alicloud_api::JsonObject<'a>) -> Option<Cow<'a, str>> {
    t.text(NAME)
}

impl Listing for DescribeTrails {
    fn action(&self) -> &'static str {
        "DescribeTrails"
    }

    fn calls(&self) -> &'static str {
        "ActionTrail DescribeTrails, once per region"
    }

    fn requests(&self, _table: &TableDef, constraints: &[Constraint]) -> Option<Vec<Params>> {
        let mut wanted: Option<Vec<String>> = None;
        for c in constraints {
            // The name column is null for an empty name, so '' matches nothing.
            let values = c
                .texts()
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            wanted = Some(narrow(wanted, values));
        }
        let mut request = Params::new();
        match wanted {
            Some(n) if n.is_empty() => return None,
            // Names the API cannot be sent are left to the front end's own filter.
            Some(n) => {
                let chars: usize = n.iter().map(|s| s.chars().count() + 1).sum();
                if !n.iter().any(|s| s.contains(',')) && chars <= MAX_NAME_LIST_CHARS {
                    request.insert(NAME_LIST.to_string(), n.join(","));
                }
            }
            None => {}
        }
        Some(vec![request])
    }

    fn open_ahead(&self, client: &Client, calls: &[&str]) -> Option<OpenedAhead> {
        client.open_actiontrail_ahead(calls.iter().copied())
    }

    fn page<'a>(
        &'a self,
        client: &'a Client,
        _pace: &'a Pace,
        region: &'a str,
        request: &'a Params,
        _token: Option<&'a str>,
    ) -> BoxFuture<'a, Outcome<Page>> {
        async move {
            let request = DescribeTrailsRequest {
                include_shadow_trails: true,
                include_organization_trail: true,
                name_list: names(request)
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            };
            let outcome = client.describe_trails(region, &request).await;
            Outcome {
                result: outcome.result.map(|items| Page { items, next: None }),
                report: outcome.report,
            }
        }
        .boxed()
    }

    /// The API's own filter: `Name` equal to one of the names, exactly. The full listing answers
    /// any `NameList`; a `NameList` answer answers any subset of its names.
    fn narrow(&self, held: &Params, wanted: &Params, pages: &[Items]) -> Option<Vec<Items>> {
        let only = |keep: Vec<&str>| -> Vec<Items> {
            pages
                .iter()
                .map(|p| p.only(|t| name_of(t).is_some_and(|n| keep.contains(&n.as_ref()))))
                .collect()
        };
        match (names(held), names(wanted)) {
            (None, None) => Some(pages.to_vec()),
            (None, Some(w)) => Some(only(w)),
            (Some(h), Some(w)) if w.iter().all(|n| h.contains(n)) => Some(if w.len() == h.len() {
                pages.to_vec()
            } else {
                only(w)
            }),
            _ => None,
        }
    }

    fn widen(&self, _wanted: &Params) -> Params {
        Params::new()
    }

    fn explain(&self, requests: &[Params], deferred: &[Deferred]) -> Vec<(&'static str, String)> {
        let constant = requests.first().and_then(|r| r.get(NAME_LIST));
        let expressions: Vec<&str> = deferred.iter().map(|d| d.sql.as_str()).collect();
        let line = match (constant, expressions.is_empty()) {
            (Some(n), true) => n.replace(',', ", "),
            (Some(n), false) => {
                format!("{} and {}", n.replace(',', ", "), expressions.join(" and "))
            }
            (None, false) => format!("from {}", expressions.join(" and ")),
            (None, true) => return Vec::new(),
        };
        vec![("NameList", line)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ScanPlan;
    use crate::table::RowSource;
    use alicloud_api::JsonObject;

    fn row<'a>(trail: &'a JsonObject<'a>, region: &'a str) -> Vec<Value<'a>> {
        let source = RowSource {
            item: trail,
            region,
            account_id: Some("123"),
            connection_name: "prod",
        };
        TABLE.columns.iter().map(|c| (c.value)(&source)).collect()
    }

    #[test]
    fn values_of_a_shadow_copy() {
        let raw = r#"{"Name":"t","HomeRegion":"cn-hangzhou","TrailRegion":"All","IsOrganizationTrail":false,"CreateTime":1614580048000,"Extra":[1]}"#;
        let trail = JsonObject::parse(raw);
        let values = row(&trail, "cn-beijing");
        let get = |name: &str| values[TABLE.column_index(name).unwrap()].clone();
        assert_eq!(get("name"), Value::Text("t".into()));
        assert_eq!(get("region"), Value::Text("cn-beijing".into()));
        assert_eq!(get("is_shadow_trail"), Value::Boolean(true));
        assert_eq!(get("is_organization_trail"), Value::Boolean(false));
        assert_eq!(get("status"), Value::Null);
        assert_eq!(get("raw"), Value::Json(raw.into()));
        assert_eq!(get("sp_connection_name"), Value::Text("prod".into()));
        let ctx = Value::Json(r#"{"connection_name":"prod"}"#.into());
        assert_eq!((get("sp_ctx"), get("_ctx")), (ctx.clone(), ctx));
        assert_eq!(
            get("akas"),
            Value::Json(r#"["acs:actiontrail:cn-hangzhou:123:actiontrail/t"]"#.into())
        );
        assert_eq!(
            get("create_time"),
            Value::Timestamp("2021-03-01T06:27:28Z".parse().unwrap())
        );
        // A name that JSON must escape is escaped in akas (and the text still reads back).
        let odd = JsonObject::parse(r#"{"Name":"a\"b\\c\u0001","HomeRegion":"cn-hangzhou"}"#);
        let Value::Json(akas) =
            row(&odd, "cn-hangzhou")[TABLE.column_index("akas").unwrap()].clone()
        else {
            panic!("akas is JSON");
        };
        assert_eq!(
            akas,
            r#"["acs:actiontrail:cn-hangzhou:123:actiontrail/a\"b\\c\u0001"]"#
        );
        let back: Vec<String> = serde_json::from_str(&akas).unwrap();
        assert_eq!(
            back,
            ["acs:actiontrail:cn-hangzhou:123:actiontrail/a\"b\\c\u{1}"]
        );
        // In its home region the row is not a shadow; the API's own flag wins when sent.
        assert_eq!(row(&trail, "cn-hangzhou")[7], Value::Boolean(false));
        let flagged = JsonObject::parse(r#"{"HomeRegion":"cn-hangzhou","IsShadowTrail":1}"#);
        assert_eq!(row(&flagged, "cn-hangzhou")[7], Value::Boolean(true));
    }

    #[test]
    fn key_raw_and_account_columns() {
        let keys: Vec<_> = TABLE
            .columns
            .iter()
            .filter_map(|c| c.pushdown.map(|k| (c.name, k)))
            .collect();
        assert_eq!(
            keys,
            [
                ("name", Pushdown::Equal),
                ("region", Pushdown::Region),
                ("account_id", Pushdown::Account),
                ("sp_connection_name", Pushdown::Connection)
            ]
        );
        let account: Vec<_> = TABLE
            .columns
            .iter()
            .filter(|c| c.needs_account_id)
            .map(|c| c.name)
            .collect();
        assert_eq!(account, ["account_id", "akas"]);
        let raw: Vec<_> = TABLE
            .columns
            .iter()
            .filter(|c| c.raw)
            .map(|c| c.name)
            .collect();
        assert_eq!(raw, ["raw"]);
    }

    fn name_is(values: &[&str]) -> Constraint {
        let c = TABLE.column_index("name").unwrap();
        Constraint::equal(c, values.iter().map(|s| s.to_string()))
    }

    fn name_list(p: &ScanPlan) -> Option<&str> {
        p.requests().first()?.get(NAME_LIST).map(String::as_str)
    }

    #[test]
    fn names_become_the_name_list_and_contradictions_call_nothing() {
        for cs in [
            vec![name_is(&["a"]), name_is(&["b"])],
            vec![name_is(&[])],
            vec![name_is(&[""])],
        ] {
            assert!(ScanPlan::new(&TABLE, &cs).is_empty(), "{cs:?}");
        }
        let p = ScanPlan::new(&TABLE, &[name_is(&["a", "b"]), name_is(&["b", "c"])]);
        assert_eq!(name_list(&p), Some("b"));
        let p = ScanPlan::new(&TABLE, &[name_is(&["a", "a", "b"])]);
        assert_eq!(name_list(&p), Some("a,b"));
    }

    #[test]
    fn names_that_cannot_be_sent_are_not_pushed() {
        let long = "x".repeat(64 * 1024);
        for cs in [vec![name_is(&[&long])], vec![name_is(&["a,b"])]] {
            let p = ScanPlan::new(&TABLE, &cs);
            assert_eq!(name_list(&p), None);
            assert!(!p.is_empty());
        }
    }

    #[test]
    fn held_answers_answer_what_the_api_would() {
        let items = Items::from_text(
            r#"{"TrailList": [{"Name": "a"}, {"Name": "b"}, {"Name": "A"}, {}]}"#.to_string(),
            alicloud_api::TRAIL_LIST,
        )
        .unwrap();
        let req = |names: Option<&str>| {
            let mut p = Params::new();
            if let Some(n) = names {
                p.insert(NAME_LIST.to_string(), n.to_string());
            }
            p
        };
        let names_of = |pages: Option<Vec<Items>>| -> Option<Vec<String>> {
            pages.map(|p| {
                p[0].items()
                    .filter_map(|t| t.text(NAME).map(Cow::into_owned))
                    .collect()
            })
        };
        let l = DescribeTrails;
        let pages = [items];
        assert_eq!(
            names_of(l.narrow(&req(None), &req(Some("a,A,zz")), &pages)),
            Some(vec!["a".to_string(), "A".to_string()])
        );
        assert_eq!(
            names_of(l.narrow(&req(None), &req(None), &pages))
                .unwrap()
                .len(),
            3
        );
        assert!(l.narrow(&req(Some("a")), &req(None), &pages).is_none());
        assert!(l
            .narrow(&req(Some("a")), &req(Some("a,b")), &pages)
            .is_none());
        assert_eq!(l.widen(&req(Some("a"))), req(None));
    }
}
