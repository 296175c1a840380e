//! Table declarations: each table's name, description and columns (neutral type, description, how
//! the value is computed), declared once and read by every front end, by IMPORT FOREIGN SCHEMA and
//! by the docs' column lists.

use crate::tables;
use alicloud_api::Trail;
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// A column's type, in no engine's words. Each front end maps it: PostgreSQL `text`, `boolean`,
/// `timestamp with time zone`, `jsonb`; SQLite text, integer 0/1, ISO-8601 text, JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text.
    Text,
    /// True or false.
    Boolean,
    /// An instant, in UTC.
    Timestamp,
    /// A JSON document.
    Json,
}

/// One cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// No value.
    Null,
    /// Text.
    Text(Cow<'a, str>),
    /// A boolean.
    Boolean(bool),
    /// An instant.
    Timestamp(DateTime<Utc>),
    /// A JSON document, as JSON text.
    Json(Cow<'a, str>),
}

impl<'a> Value<'a> {
    /// Text, or null.
    pub fn text(v: Option<Cow<'a, str>>) -> Value<'a> {
        v.map_or(Value::Null, Value::Text)
    }

    /// A boolean, or null.
    pub fn boolean(v: Option<bool>) -> Value<'a> {
        v.map_or(Value::Null, Value::Boolean)
    }

    /// An instant, or null.
    pub fn timestamp(v: Option<DateTime<Utc>>) -> Value<'a> {
        v.map_or(Value::Null, Value::Timestamp)
    }

    /// An instant as front ends without a timestamp type show it: ISO-8601 in UTC, to the second
    /// (`2021-03-01T06:27:28Z`; fractions only when there are any).
    pub fn timestamp_text(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    /// The value as text, for front ends without types (csv, a terminal): null as nothing,
    /// booleans `true`/`false`, instants as [`Value::timestamp_text`], JSON as its text.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Null => Cow::Borrowed(""),
            Value::Text(t) | Value::Json(t) => Cow::Borrowed(t),
            Value::Boolean(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Timestamp(t) => Cow::Owned(Value::timestamp_text(t)),
        }
    }

    /// The value as JSON: text as a string, booleans as booleans, instants as ISO-8601 strings,
    /// JSON documents as themselves (unreadable JSON, which the API never sends, as a string).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Text(t) => serde_json::Value::String(t.to_string()),
            Value::Boolean(b) => serde_json::Value::Bool(*b),
            Value::Timestamp(t) => serde_json::Value::String(Value::timestamp_text(t)),
            Value::Json(j) => {
                serde_json::from_str(j).unwrap_or_else(|_| serde_json::Value::String(j.to_string()))
            }
        }
    }
}

/// What a row is computed from: one trail, the region whose endpoint listed it, and the account
/// id of the credentials (present when a selected column needs it).
pub struct RowSource<'a> {
    /// The trail.
    pub trail: &'a Trail<'a>,
    /// The region that listed it.
    pub region: &'a str,
    /// The account id, from `GetCallerIdentity`.
    pub account_id: Option<&'a str>,
}

/// How a column takes part in narrowing the API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyColumn {
    /// Equality on it chooses the regions called.
    Region,
    /// Equality on it is sent as the `NameList` filter.
    Name,
}

/// One column.
pub struct ColumnDef {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColumnType,
    /// What it holds, for comments and docs.
    pub description: &'static str,
    /// Its value in a row.
    pub value: for<'a> fn(&RowSource<'a>) -> Value<'a>,
    /// The value needs the account id (STS `GetCallerIdentity`).
    pub needs_account_id: bool,
    /// Equality on this column narrows the calls.
    pub key: Option<KeyColumn>,
}

impl std::fmt::Debug for ColumnDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnDef")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .finish()
    }
}

/// One table.
#[derive(Debug)]
pub struct TableDef {
    /// Its name, the same in every front end.
    pub name: &'static str,
    /// What a row is, for comments and docs.
    pub description: &'static str,
    /// Its columns, in order.
    pub columns: &'static [ColumnDef],
}

impl TableDef {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&'static ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether any of the columns at `indexes` needs the account id (a scan then asks
    /// `GetCallerIdentity` too).
    pub fn needs_account_id(&self, indexes: impl IntoIterator<Item = usize>) -> bool {
        indexes
            .into_iter()
            .any(|i| self.columns.get(i).is_some_and(|c| c.needs_account_id))
    }

    /// The hint of every front end's "unknown column" error: "The columns of <table> are: …".
    pub fn columns_hint(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!("The columns of {} are: {}.", self.name, names.join(", "))
    }
}

/// Every table, in the order listings show them.
pub static TABLES: &[&TableDef] = &[&tables::action_trail::TABLE];

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// The table names, comma-separated, for messages.
pub fn table_names() -> String {
    TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_json_and_text() {
        let t: DateTime<Utc> = "2021-03-01T06:27:28Z".parse().unwrap();
        assert_eq!(Value::timestamp_text(&t), "2021-03-01T06:27:28Z");
        let cases = [
            (Value::Null, serde_json::json!(null)),
            (Value::Text("a".into()), serde_json::json!("a")),
            (Value::Boolean(true), serde_json::json!(true)),
            (
                Value::Timestamp(t),
                serde_json::json!("2021-03-01T06:27:28Z"),
            ),
            (
                Value::Json("[1,{\"a\":2}]".into()),
                serde_json::json!([1, {"a": 2}]),
            ),
        ];
        for (v, want) in cases {
            assert_eq!(v.to_json(), want);
        }
        assert_eq!(Value::Boolean(false).to_text(), "false");
        assert_eq!(Value::Timestamp(t).to_text(), "2021-03-01T06:27:28Z");
        assert_eq!(Value::Null.to_text(), "");
    }

    #[test]
    fn names_are_unique_and_plain() {
        for t in TABLES {
            let mut names: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
            let plain = |s: &str| s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            assert!(plain(t.name) && t.columns.iter().all(|c| plain(c.name)));
        }
        assert!(table("alicloud_action_trail").is_some());
        assert!(table("nope").is_none());
    }
}
