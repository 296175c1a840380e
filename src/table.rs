//! The `alicloud_action_trail` table, declared once.
//!
//! [`COLUMNS`] drives everything that knows the table's shape: `IMPORT FOREIGN SCHEMA` (the
//! `CREATE FOREIGN TABLE` statement and its comments), the check of a table made by hand, the row
//! mapping of a scan, and the column list of `docs/tables/alicloud_action_trail.md` (a test keeps the
//! docs in step).

use alicloud_api::Trail;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub const TABLE_NAME: &str = "alicloud_action_trail";

pub const TABLE_COMMENT: &str =
    "ActionTrail trails of the account, one row per trail per region that \
lists it (shadow trails included), multi-account trails included.";

/// The Postgres types the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Boolean,
    Timestamptz,
    Jsonb,
}

impl ColumnType {
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamptz => "timestamp with time zone",
            ColumnType::Jsonb => "jsonb",
        }
    }
}

/// A value of one cell, before it becomes a Postgres datum.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Text(String),
    Boolean(bool),
    Timestamptz(DateTime<Utc>),
    Jsonb(Value),
}

/// What a row is computed from: a trail, the region whose endpoint listed it, and the account id
/// (present only when a selected column needs it).
pub struct RowSource<'a> {
    pub trail: &'a Trail,
    pub region: &'a str,
    pub account_id: Option<&'a str>,
}

pub struct ColumnDef {
    pub name: &'static str,
    pub ty: ColumnType,
    pub comment: &'static str,
    pub value: fn(&RowSource) -> Option<CellValue>,
    /// The column needs the account id (STS GetCallerIdentity).
    pub needs_account_id: bool,
}

fn text(v: &Option<String>) -> Option<CellValue> {
    v.clone().map(CellValue::Text)
}

fn time(v: &Option<DateTime<Utc>>) -> Option<CellValue> {
    v.map(CellValue::Timestamptz)
}

macro_rules! col {
    ($name:literal, $ty:ident, $comment:literal, $value:expr) => {
        ColumnDef {
            name: $name,
            ty: ColumnType::$ty,
            comment: $comment,
            value: $value,
            needs_account_id: false,
        }
    };
    ($name:literal, $ty:ident, $comment:literal, $value:expr, account) => {
        ColumnDef {
            name: $name,
            ty: ColumnType::$ty,
            comment: $comment,
            value: $value,
            needs_account_id: true,
        }
    };
}

pub static COLUMNS: &[ColumnDef] = &[
    col!("name", Text, "The name of the trail.", |r| text(&r.trail.name)),
    col!("home_region", Text, "The home region of the trail.", |r| text(&r.trail.home_region)),
    col!("region", Text, "The region whose ActionTrail endpoint listed this row; differs from home_region for a shadow trail.",
        |r| Some(CellValue::Text(r.region.to_string()))),
    col!("trail_region", Text, "The region whose events the trail delivers: All, or one region id.", |r| text(&r.trail.trail_region)),
    col!("status", Text, "The status of the trail: Enable, Disable, or Fresh (created, never enabled).", |r| text(&r.trail.status)),
    col!("event_rw", Text, "The type of events delivered: Write, Read, or All.", |r| text(&r.trail.event_rw)),
    col!("is_organization_trail", Boolean, "True for a multi-account (resource directory) trail.", |r| r.trail.is_organization_trail.map(CellValue::Boolean)),
    col!("is_shadow_trail", Boolean, "True when this row is the copy of a trail listed by a region other than its home region (the API's flag when given, else home_region <> region).",
        |r| {
            let computed = r.trail.home_region.as_deref().map(|home| home != r.region);
            r.trail.is_shadow_trail.or(computed).map(CellValue::Boolean)
        }),
    col!("organization_id", Text, "The resource directory (organization) id of a multi-account trail.", |r| text(&r.trail.organization_id)),
    col!("oss_bucket_name", Text, "The OSS bucket the events are delivered to.", |r| text(&r.trail.oss_bucket_name)),
    col!("oss_bucket_location", Text, "The region of the OSS bucket.", |r| text(&r.trail.oss_bucket_location)),
    col!("oss_key_prefix", Text, "The prefix of the log files in the OSS bucket.", |r| text(&r.trail.oss_key_prefix)),
    col!("oss_write_role_arn", Text, "The ARN of the role ActionTrail assumes to write to OSS.", |r| text(&r.trail.oss_write_role_arn)),
    col!("sls_project_arn", Text, "The ARN of the Log Service project the events are delivered to.", |r| text(&r.trail.sls_project_arn)),
    col!("sls_write_role_arn", Text, "The ARN of the role ActionTrail assumes to write to Log Service.", |r| text(&r.trail.sls_write_role_arn)),
    col!("mns_topic_arn", Text, "The ARN of the MNS topic notified of deliveries.", |r| text(&r.trail.mns_topic_arn)),
    col!("role_name", Text, "The name of the RAM role ActionTrail assumes.", |r| text(&r.trail.role_name)),
    col!("max_compute_project_arn", Text, "The ARN of the MaxCompute project the events are delivered to.", |r| text(&r.trail.max_compute_project_arn)),
    col!("max_compute_write_role_arn", Text, "The ARN of the role ActionTrail assumes to write to MaxCompute.", |r| text(&r.trail.max_compute_write_role_arn)),
    col!("trail_arn", Text, "The ARN of the trail.", |r| text(&r.trail.trail_arn)),
    col!("create_time", Timestamptz, "When the trail was created.", |r| time(&r.trail.create_time)),
    col!("update_time", Timestamptz, "When the trail's configuration was last changed.", |r| time(&r.trail.update_time)),
    col!("start_logging_time", Timestamptz, "When the trail was last enabled.", |r| time(&r.trail.start_logging_time)),
    col!("stop_logging_time", Timestamptz, "When the trail was last disabled.", |r| time(&r.trail.stop_logging_time)),
    col!("account_id", Text, "The Alibaba Cloud account id of the credentials (STS GetCallerIdentity).",
        |r| r.account_id.map(|a| CellValue::Text(a.to_string())), account),
    col!("title", Text, "The title of the resource (the trail's name).", |r| text(&r.trail.name)),
    col!("akas", Jsonb, "Array of globally unique identifiers: [\"acs:actiontrail:<home_region>:<account_id>:actiontrail/<name>\"].",
        |r| {
            let (home, account, name) = (r.trail.home_region.as_deref()?, r.account_id?, r.trail.name.as_deref()?);
            Some(CellValue::Jsonb(json!([format!("acs:actiontrail:{home}:{account}:actiontrail/{name}")])))
        }, account),
    col!("raw", Jsonb, "The trail exactly as the API returned it, unknown fields included.", |r| Some(CellValue::Jsonb(Value::Object(r.trail.raw.clone())))),
];

pub fn column(name: &str) -> Option<&'static ColumnDef> {
    COLUMNS.iter().find(|c| c.name == name)
}

/// Quotes an SQL identifier when it needs it.
pub fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// The `CREATE FOREIGN TABLE` statement `IMPORT FOREIGN SCHEMA` runs. (Postgres accepts nothing
/// but `CREATE FOREIGN TABLE` from an import, so the comments are added by the extension's event
/// trigger on `IMPORT FOREIGN SCHEMA`, from [`comments`].)
pub fn create_table_statement(server: &str, local_schema: &str) -> String {
    let cols: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("  {} {}", quote_ident(c.name), c.ty.sql()))
        .collect();
    format!(
        "CREATE FOREIGN TABLE {}.{} (\n{}\n) SERVER {}",
        quote_ident(local_schema),
        quote_ident(TABLE_NAME),
        cols.join(",\n"),
        quote_ident(server)
    )
}

/// The table's comment (column `None`) and every column's.
pub fn comments() -> impl Iterator<Item = (Option<&'static str>, &'static str)> {
    std::iter::once((None, TABLE_COMMENT)).chain(COLUMNS.iter().map(|c| (Some(c.name), c.comment)))
}

/// The docs' column table, in the format of `docs/tables/alicloud_action_trail.md`.
pub fn docs_column_table() -> String {
    let mut s = String::from("| Column | Type | Description |\n|---|---|---|\n");
    for c in COLUMNS {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.name,
            c.ty.sql(),
            c.comment
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_plain() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
        assert!(COLUMNS.iter().all(|c| quote_ident(c.name) == c.name));
    }

    #[test]
    fn docs_list_every_column() {
        let doc = include_str!("../docs/tables/alicloud_action_trail.md");
        assert!(
            doc.contains(&docs_column_table()),
            "docs/tables/alicloud_action_trail.md is out of date; its column table must be:\n{}",
            docs_column_table()
        );
    }
}
