//! A foreign table's columns against the table's declaration: each must be one of its columns, with
//! the declared type. This is how a table made by hand (not by IMPORT FOREIGN SCHEMA) is checked.

use crate::catalog;
use crate::error::FdwError;
use crate::planner::{table, type_oid, type_sql};
use pgrx::pg_sys;

/// (attribute number, index in the declaration) of every column of foreign table `table_oid`.
pub fn check(table_oid: pg_sys::Oid) -> Result<Vec<(i16, usize)>, FdwError> {
    // SAFETY: called while planning a scan of the table, which holds a lock on it.
    let columns = unsafe { catalog::relation_columns(table_oid) };
    let t = table();
    columns
        .into_iter()
        .map(|c| {
            let Some(index) = t.column_index(&c.name) else {
                return Err(FdwError::UnknownColumn {
                    table: catalog::relation_name(table_oid),
                    column: c.name,
                    hint: t.columns_hint(),
                });
            };
            let def = &t.columns[index];
            if c.type_oid != type_oid(def.ty) {
                return Err(FdwError::ColumnType {
                    table: catalog::relation_name(table_oid),
                    column: c.name,
                    found: catalog::type_name(c.type_oid),
                    expected: type_sql(def.ty),
                });
            }
            Ok((c.attno, index))
        })
        .collect()
}
