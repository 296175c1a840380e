//! The table's neutral values in SQLite's terms: text stays text, booleans are integers 0/1,
//! instants are ISO-8601 text in UTC, JSON documents are JSON text. Also the schema SQLite is
//! told about, with the matching declared types.

use alicloud_tables::table::{ColumnType, TableDef, Value};

/// One cell as SQLite receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer (the booleans).
    Integer(i64),
    /// Text (text, instants and JSON).
    Text(String),
}

impl From<Value<'_>> for Cell {
    fn from(v: Value<'_>) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Text(t) | Value::Json(t) => Cell::Text(t.into_owned()),
            Value::Boolean(b) => Cell::Integer(i64::from(b)),
            Value::Timestamp(t) => Cell::Text(Value::timestamp_text(&t)),
        }
    }
}

/// The declared type of a column of type `ty`: what `PRAGMA table_info` shows, and the affinity
/// SQLite compares with.
pub fn declared_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Boolean => "INTEGER",
        ColumnType::Text | ColumnType::Timestamp | ColumnType::Json => "TEXT",
    }
}

/// The `CREATE TABLE` statement given to `sqlite3_declare_vtab` for `table`.
pub fn schema(table: &TableDef) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("\"{}\" {}", c.name, declared_type(c.ty)))
        .collect();
    format!("CREATE TABLE x({})", columns.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_tables::table::{JsonObject, RowSource};
    use alicloud_tables::tables::table;

    #[test]
    fn neutral_values_become_sqlite_values() {
        let t = "2021-03-01T06:27:28Z".parse().unwrap();
        assert_eq!(Cell::from(Value::Null), Cell::Null);
        assert_eq!(Cell::from(Value::Boolean(true)), Cell::Integer(1));
        assert_eq!(Cell::from(Value::Boolean(false)), Cell::Integer(0));
        assert_eq!(
            Cell::from(Value::Timestamp(t)),
            Cell::Text("2021-03-01T06:27:28Z".into())
        );
        assert_eq!(
            Cell::from(Value::Json("[\"a\"]".into())),
            Cell::Text("[\"a\"]".into())
        );
        assert_eq!(Cell::from(Value::Text("x".into())), Cell::Text("x".into()));
    }

    #[test]
    fn a_trail_row_in_sqlite_terms() {
        let t = table("alicloud_action_trail").unwrap();
        let raw = r#"{"Name":"t","HomeRegion":"cn-hangzhou","IsOrganizationTrail":true,"CreateTime":1614580048000}"#;
        let trail = JsonObject::parse(raw);
        let source = RowSource {
            item: &trail,
            region: "cn-beijing",
            account_id: None,
            connection_name: "alicloud",
        };
        let cell = |name: &str| Cell::from((t.column(name).unwrap().value)(&source));
        assert_eq!(cell("is_organization_trail"), Cell::Integer(1));
        assert_eq!(cell("is_shadow_trail"), Cell::Integer(1));
        assert_eq!(
            cell("create_time"),
            Cell::Text("2021-03-01T06:27:28Z".into())
        );
        assert_eq!(cell("raw"), Cell::Text(raw.into()));
        assert_eq!(cell("account_id"), Cell::Null);
        assert_eq!(cell("status"), Cell::Null);
    }

    #[test]
    fn the_schema_declares_every_column_with_its_affinity() {
        let t = table("alicloud_action_trail").unwrap();
        let sql = schema(t);
        assert!(sql.starts_with("CREATE TABLE x(\"name\" TEXT, \"home_region\" TEXT, "));
        assert!(sql.contains("\"is_organization_trail\" INTEGER"));
        assert!(sql.contains("\"create_time\" TEXT"));
        assert!(sql.ends_with(
            "\"raw\" TEXT, \"sp_connection_name\" TEXT, \"sp_ctx\" TEXT, \"_ctx\" TEXT)"
        ));
        assert_eq!(sql.matches('"').count(), 2 * t.columns.len());
    }
}
