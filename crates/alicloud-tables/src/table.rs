//! What a table is, in no engine's words: its name, description and columns (neutral type,
//! description, how the value is computed from a row, how the column narrows the calls), and the
//! API operation it lists with ([`crate::listing::Listing`]). Each table is declared once, in its
//! module of `tables/`; every front end, IMPORT FOREIGN SCHEMA and the docs' column lists read the
//! declaration.

use crate::listing::Listing;
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// A listed object (a trail, an event): its members split, read only when a column needs them.
/// Rows are made of these.
pub use alicloud_api::JsonObject;

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

/// What a row's values are computed from: the object the API listed (a trail, an event), the
/// region whose endpoint listed it, the account id of the credentials (present when a selected
/// column needs it), and the name of the connection that scanned it.
pub struct RowSource<'a> {
    /// The listed object.
    pub item: &'a JsonObject<'a>,
    /// The region that listed it.
    pub region: &'a str,
    /// The account id, from `GetCallerIdentity`.
    pub account_id: Option<&'a str>,
    /// The connection's name ([`crate::connect::Connection::name`]).
    pub connection_name: &'a str,
}

impl<'a> RowSource<'a> {
    /// The listed object's text member `field`.
    pub fn text(&self, field: &str) -> Value<'a> {
        Value::text(self.item.text(field))
    }

    /// Its time member `field`.
    pub fn time(&self, field: &str) -> Value<'a> {
        Value::timestamp(self.item.time(field))
    }

    /// Its member `field` as JSON, as received (an object, an array, a string); null or absent
    /// is NULL.
    pub fn json(&self, field: &str) -> Value<'a> {
        match self.item.field(field) {
            None | Some("null") => Value::Null,
            Some(t) => Value::Json(Cow::Borrowed(t)),
        }
    }
}

/// Which conditions on a column narrow the API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushdown {
    /// Equality (`=`, `IN`) chooses the regions called. Every table has one such column,
    /// `region`.
    Region,
    /// Equality (`=`, `IN`) on it is handed to the table's listing (a `NameList`, a lookup
    /// attribute).
    Equal,
    /// Comparisons (`<`, `<=`, `=`, `>=`, `>`, and so `BETWEEN`) on it are handed to the table's
    /// listing (a time window).
    Range,
    /// Equality (`=`, `IN`) chooses the member accounts scanned (`account_id`, known before any
    /// call for a member); on a server without members it narrows nothing.
    Account,
    /// Equality (`=`, `IN`) and `LIKE` choose the connections scanned (`sp_connection_name`):
    /// the members of a server with members, or the server itself.
    Connection,
}

impl Pushdown {
    /// Whether it takes equality only (`=`, `IN`), not comparisons.
    pub fn equality_only(self) -> bool {
        self != Pushdown::Range
    }
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
    /// Which conditions on it narrow the calls.
    pub pushdown: Option<Pushdown>,
    /// Its value is the listed object's own JSON text (`raw`): a front end that stores JSON in a
    /// binary form may reuse the members the object was already split into.
    pub raw: bool,
    /// Its value is the same in every row of one connection (the connection columns): a front
    /// end may convert it once per connection.
    pub per_connection: bool,
}

impl ColumnDef {
    /// A column whose value is computed by `value`.
    pub const fn new(
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
            pushdown: None,
            raw: false,
            per_connection: false,
        }
    }

    /// The same column, its value the same in every row of one connection.
    pub const fn per_connection(self) -> ColumnDef {
        ColumnDef {
            per_connection: true,
            ..self
        }
    }

    /// The same column, narrowing the calls as `pushdown` says.
    pub const fn pushed(self, pushdown: Pushdown) -> ColumnDef {
        ColumnDef {
            pushdown: Some(pushdown),
            ..self
        }
    }

    /// The same column, needing the account id.
    pub const fn with_account(self) -> ColumnDef {
        ColumnDef {
            needs_account_id: true,
            ..self
        }
    }

    /// The `region` column: the region whose endpoint returned the row; equality chooses the
    /// regions called.
    pub const fn region(description: &'static str) -> ColumnDef {
        ColumnDef::new("region", ColumnType::Text, description, |r| {
            Value::Text(Cow::Borrowed(r.region))
        })
        .pushed(Pushdown::Region)
    }

    /// The `account_id` column: the account the credentials belong to.
    pub const fn account_id(description: &'static str) -> ColumnDef {
        ColumnDef::new("account_id", ColumnType::Text, description, |r| {
            Value::text(r.account_id.map(Cow::Borrowed))
        })
        .with_account()
        .pushed(Pushdown::Account)
    }

    /// The `raw` column: the listed object exactly as the API sent it.
    pub const fn raw(description: &'static str) -> ColumnDef {
        ColumnDef {
            raw: true,
            ..ColumnDef::new("raw", ColumnType::Json, description, |r| {
                Value::Json(Cow::Borrowed(r.item.raw()))
            })
        }
    }
}

/// [`ColumnDef::new`], shorter, for the tables' column lists.
pub(crate) const fn col(
    name: &'static str,
    ty: ColumnType,
    description: &'static str,
    value: for<'a> fn(&RowSource<'a>) -> Value<'a>,
) -> ColumnDef {
    ColumnDef::new(name, ty, description, value)
}

// The connection columns every table ends with, as Steampipe's tables do, so that queries
// written for its connections and aggregators run unchanged: `sp_connection_name`, and the
// context `sp_ctx` with its older name `_ctx`. `tables.rs` tests that every table has them.

/// `sp_connection_name`: the name of the connection that returned the row.
pub const SP_CONNECTION_NAME: ColumnDef = col(
    "sp_connection_name",
    ColumnType::Text,
    "Connection that returned the row: the foreign server, or the member (<server>.<account id>, or a member server); in SQLite and the CLI, the profile, else alicloud.",
    |r| Value::Text(Cow::Borrowed(r.connection_name)),
)
.pushed(Pushdown::Connection)
.per_connection();

/// `sp_ctx`: the row's context.
pub const SP_CTX: ColumnDef = col(
    "sp_ctx",
    ColumnType::Json,
    "Context of the row, as a JSON object: {\"connection_name\": <sp_connection_name>}.",
    context,
)
.per_connection();

/// `_ctx`: `sp_ctx` under the name older queries use.
pub const CTX: ColumnDef = col(
    "_ctx",
    ColumnType::Json,
    "The same context as sp_ctx, under the name older queries use.",
    context,
)
.per_connection();

/// The value of the context columns.
fn context<'a>(r: &RowSource<'a>) -> Value<'a> {
    let ctx = serde_json::json!({ "connection_name": r.connection_name });
    Value::Json(Cow::Owned(ctx.to_string()))
}

impl std::fmt::Debug for ColumnDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ColumnDef")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .finish()
    }
}

/// How a table's listing orders the rows of one region: a front end may then ask for them merged
/// across regions in that order (PostgreSQL: a scan that already satisfies `ORDER BY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The index of the column the rows are ordered by.
    pub column: usize,
    /// Newest (largest) first.
    pub descending: bool,
}

/// One table.
pub struct TableDef {
    /// Its name, the same in every front end.
    pub name: &'static str,
    /// What a row is, for comments and docs.
    pub description: &'static str,
    /// Its columns, in order.
    pub columns: &'static [ColumnDef],
    /// The API operation it lists with.
    pub listing: &'static dyn Listing,
    /// The column whose value identifies one object wherever it is listed: an object listed by
    /// several regions is one row (the first region's). `None`: every listing is its own rows.
    pub unique: Option<usize>,
    /// How each region's rows are ordered, when they are.
    pub order: Option<Order>,
    /// Rows a region is assumed to list, for planners' estimates.
    pub rows_per_region: f64,
}

impl std::fmt::Debug for TableDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableDef")
            .field("name", &self.name)
            .finish()
    }
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
}
