//! `alicloud_action_trail`: one row per trail per region whose `DescribeTrails` lists it.

use crate::table::{ColumnDef, ColumnType, KeyColumn, RowSource, TableDef, Value};
use std::borrow::Cow;

/// The table's declaration.
pub static TABLE: TableDef = TableDef {
    name: "alicloud_action_trail",
    description:
        "ActionTrail trails of the account: a row for each trail in each region whose \
                  DescribeTrails lists it, so shadow copies and multi-account trails have rows too.",
    columns: COLUMNS,
};

fn text<'a>(r: &RowSource<'a>, field: &str) -> Value<'a> {
    Value::text(r.trail.text(field))
}

fn time<'a>(r: &RowSource<'a>, field: &str) -> Value<'a> {
    Value::timestamp(r.trail.time(field))
}

const fn col(
    name: &'static str,
    ty: ColumnType,
    description: &'static str,
    value: for<'a> fn(&RowSource<'a>) -> Value<'a>,
) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        description,
        value,
        needs_account_id: false,
        key: None,
    }
}

const fn keyed(c: ColumnDef, key: KeyColumn) -> ColumnDef {
    ColumnDef {
        key: Some(key),
        ..c
    }
}

const fn with_account(c: ColumnDef) -> ColumnDef {
    ColumnDef {
        needs_account_id: true,
        ..c
    }
}

use ColumnType::{Boolean, Json, Text, Timestamp};

static COLUMNS: &[ColumnDef] = &[
    keyed(col("name", Text, "Trail name, unique within the account.", |r| text(r, "Name")), KeyColumn::Name),
    col("home_region", Text, "Region where the trail was created and is managed.", |r| text(r, "HomeRegion")),
    keyed(col("region", Text, "Region whose ActionTrail endpoint returned this row; not the home region when the row is a shadow copy.",
        |r| Value::Text(Cow::Borrowed(r.region))), KeyColumn::Region),
    col("trail_region", Text, "Regions whose events the trail records: All, or a single region id.", |r| text(r, "TrailRegion")),
    col("status", Text, "Enable when logging, Disable when stopped, Fresh when created but never started.", |r| text(r, "Status")),
    col("event_rw", Text, "Which events are delivered: Write, Read or All.", |r| text(r, "EventRW")),
    col("is_organization_trail", Boolean, "Whether the trail covers every member account of a resource directory.", |r| Value::boolean(r.trail.boolean("IsOrganizationTrail"))),
    col("is_shadow_trail", Boolean, "Whether this row is a copy shown outside the home region: the API's own flag when it sends one, else home_region <> region.",
        |r| {
            let computed = r.trail.text("HomeRegion").map(|home| home != r.region);
            Value::boolean(r.trail.boolean("IsShadowTrail").or(computed))
        }),
    col("organization_id", Text, "Resource directory id of a multi-account trail.", |r| text(r, "OrganizationId")),
    col("oss_bucket_name", Text, "OSS bucket that receives the log files.", |r| text(r, "OssBucketName")),
    col("oss_bucket_location", Text, "Region of that OSS bucket.", |r| text(r, "OssBucketLocation")),
    col("oss_key_prefix", Text, "Object name prefix of the log files in OSS.", |r| text(r, "OssKeyPrefix")),
    col("oss_write_role_arn", Text, "ARN of the role ActionTrail uses to write into OSS.", |r| text(r, "OssWriteRoleArn")),
    col("sls_project_arn", Text, "ARN of the Simple Log Service project that receives the events.", |r| text(r, "SlsProjectArn")),
    col("sls_write_role_arn", Text, "ARN of the role ActionTrail uses to write into Simple Log Service.", |r| text(r, "SlsWriteRoleArn")),
    col("mns_topic_arn", Text, "ARN of the MNS topic told about deliveries.", |r| text(r, "MnsTopicArn")),
    col("role_name", Text, "RAM role ActionTrail acts as for this trail.", |r| text(r, "RoleName")),
    col("max_compute_project_arn", Text, "ARN of the MaxCompute project that receives the events.", |r| text(r, "MaxComputeProjectArn")),
    col("max_compute_write_role_arn", Text, "ARN of the role ActionTrail uses to write into MaxCompute.", |r| text(r, "MaxComputeWriteRoleArn")),
    col("trail_arn", Text, "ARN that identifies the trail.", |r| text(r, "TrailArn")),
    col("create_time", Timestamp, "Time the trail was created.", |r| time(r, "CreateTime")),
    col("update_time", Timestamp, "Time of the last change to the trail's settings.", |r| time(r, "UpdateTime")),
    col("start_logging_time", Timestamp, "Time logging was last turned on.", |r| time(r, "StartLoggingTime")),
    col("stop_logging_time", Timestamp, "Time logging was last turned off.", |r| time(r, "StopLoggingTime")),
    with_account(col("account_id", Text, "Alibaba Cloud account the credentials belong to (from STS GetCallerIdentity).",
        |r| Value::text(r.account_id.map(Cow::Borrowed)))),
    col("title", Text, "Display title of the row: the trail name.", |r| text(r, "Name")),
    with_account(col("akas", Json, "Globally unique names of the trail, as a JSON array: [\"acs:actiontrail:<home_region>:<account_id>:actiontrail/<name>\"].",
        |r| {
            let (Some(home), Some(account), Some(name)) = (r.trail.text("HomeRegion"), r.account_id, r.trail.text("Name")) else {
                return Value::Null;
            };
            let aka = format!("acs:actiontrail:{home}:{account}:actiontrail/{name}");
            Value::Json(Cow::Owned(serde_json::Value::from(vec![aka]).to_string()))
        })),
    col("raw", Json, "The trail object exactly as the API sent it, fields this table does not know included.",
        |r| Value::Json(Cow::Borrowed(r.trail.raw()))),
];

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_api::Trail;

    fn row<'a>(trail: &'a Trail<'a>, region: &'a str) -> Vec<Value<'a>> {
        let source = RowSource {
            trail,
            region,
            account_id: Some("123"),
        };
        TABLE.columns.iter().map(|c| (c.value)(&source)).collect()
    }

    #[test]
    fn values_of_a_shadow_copy() {
        let raw = r#"{"Name":"t","HomeRegion":"cn-hangzhou","TrailRegion":"All","IsOrganizationTrail":false,"CreateTime":1614580048000,"Extra":[1]}"#;
        let trail = Trail::parse(raw);
        let values = row(&trail, "cn-beijing");
        let get = |name: &str| values[TABLE.column_index(name).unwrap()].clone();
        assert_eq!(get("name"), Value::Text("t".into()));
        assert_eq!(get("region"), Value::Text("cn-beijing".into()));
        assert_eq!(get("is_shadow_trail"), Value::Boolean(true));
        assert_eq!(get("is_organization_trail"), Value::Boolean(false));
        assert_eq!(get("status"), Value::Null);
        assert_eq!(get("raw"), Value::Json(raw.into()));
        assert_eq!(
            get("akas"),
            Value::Json(r#"["acs:actiontrail:cn-hangzhou:123:actiontrail/t"]"#.into())
        );
        assert_eq!(
            get("create_time"),
            Value::Timestamp("2021-03-01T06:27:28Z".parse().unwrap())
        );
        // In its home region the row is not a shadow; the API's own flag wins when sent.
        assert_eq!(row(&trail, "cn-hangzhou")[7], Value::Boolean(false));
        let flagged = Trail::parse(r#"{"HomeRegion":"cn-hangzhou","IsShadowTrail":1}"#);
        assert_eq!(row(&flagged, "cn-hangzhou")[7], Value::Boolean(true));
    }

    #[test]
    fn key_and_account_columns() {
        let keys: Vec<_> = TABLE
            .columns
            .iter()
            .filter_map(|c| c.key.map(|k| (c.name, k)))
            .collect();
        assert_eq!(
            keys,
            [("name", KeyColumn::Name), ("region", KeyColumn::Region)]
        );
        let account: Vec<_> = TABLE
            .columns
            .iter()
            .filter(|c| c.needs_account_id)
            .map(|c| c.name)
            .collect();
        assert_eq!(account, ["account_id", "akas"]);
    }
}
