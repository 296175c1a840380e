//! Which table a foreign table scans, and its columns against that table's declaration. As
//! postgres_fdw reads `table_name`, a foreign table names its table with the `table` option, or
//! by its own name (what IMPORT FOREIGN SCHEMA creates); a table made by hand under another name
//! and without the option scans the one table that has all its columns. Each column must be one
//! of the table's, with the declared type; this is how a table made by hand is checked.

use crate::catalog;
use crate::error::FdwError;
use alicloud_tables::table::{ColumnType, TableDef};
use alicloud_tables::tables;
use pgrx::pg_sys;

/// The foreign table option that names the table it scans.
pub const TABLE_OPTION: &str = "table";

/// The PostgreSQL type of a neutral column type.
pub fn type_oid(ty: ColumnType) -> pg_sys::Oid {
    match ty {
        ColumnType::Text => pg_sys::TEXTOID,
        ColumnType::Boolean => pg_sys::BOOLOID,
        ColumnType::Timestamp => pg_sys::TIMESTAMPTZOID,
        ColumnType::Json => pg_sys::JSONBOID,
    }
}

/// The SQL name of a neutral column type.
pub fn type_sql(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "text",
        ColumnType::Boolean => "boolean",
        ColumnType::Timestamp => "timestamp with time zone",
        ColumnType::Json => "jsonb",
    }
}

/// The table `name` names, or why none: every table's name in the hint.
pub fn table_named(
    name: &str,
    relation: impl FnOnce() -> String,
) -> Result<&'static TableDef, FdwError> {
    tables::table(name).ok_or_else(|| FdwError::UnknownTable {
        relation: relation(),
        name: name.to_string(),
        tables: tables::table_names(),
    })
}

/// The table foreign table `rel` scans: its `table` option; else the table of its name; else the
/// one table that has every column it declares (when none has them all, the one that has the
/// most, so that the column check names what is wrong).
pub fn table_of(rel: pg_sys::Oid) -> Result<&'static TableDef, FdwError> {
    let relation = catalog::relation_name(rel);
    if let Some(name) = catalog::table_options(rel).get(TABLE_OPTION) {
        return table_named(name, || relation);
    }
    if let Some(t) = tables::table(&relation) {
        return Ok(t);
    }
    // SAFETY: called while planning a scan of the table (or commenting one just created), which
    // holds a lock on it.
    let names: Vec<String> = unsafe { catalog::relation_columns(rel) }
        .into_iter()
        .map(|c| c.name)
        .collect();
    let matching = |t: &TableDef| names.iter().filter(|n| t.column(n).is_some()).count();
    let whole: Vec<&'static TableDef> = tables::TABLES
        .iter()
        .copied()
        .filter(|t| matching(t) == names.len())
        .collect();
    match whole.as_slice() {
        [one] => Ok(one),
        // The first of those that have the most (max_by_key keeps the last of equals).
        [] => Ok(tables::TABLES
            .iter()
            .copied()
            .rev()
            .max_by_key(|t| matching(t))
            .unwrap_or(tables::TABLES[0])),
        several => Err(FdwError::AmbiguousTable {
            relation,
            tables: several
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// (attribute number, index in the declaration) of every column of foreign table `rel`, which
/// scans `table`.
pub fn check(rel: pg_sys::Oid, table: &'static TableDef) -> Result<Vec<(i16, usize)>, FdwError> {
    // SAFETY: called while planning a scan of the table, which holds a lock on it.
    let columns = unsafe { catalog::relation_columns(rel) };
    columns
        .into_iter()
        .map(|c| {
            let Some(index) = table.column_index(&c.name) else {
                return Err(FdwError::UnknownColumn {
                    table: catalog::relation_name(rel),
                    column: c.name,
                    of: table.name,
                    hint: table.columns_hint(),
                });
            };
            let def = &table.columns[index];
            if c.type_oid != type_oid(def.ty) {
                return Err(FdwError::ColumnType {
                    table: catalog::relation_name(rel),
                    column: c.name,
                    found: catalog::type_name(c.type_oid),
                    of: table.name,
                    expected: type_sql(def.ty),
                });
            }
            Ok((c.attno, index))
        })
        .collect()
}
