//! `IMPORT FOREIGN SCHEMA alicloud`: the `CREATE FOREIGN TABLE` statement of every declared
//! table, from the declarations. (PostgreSQL applies LIMIT TO and EXCEPT itself, and accepts only
//! `CREATE FOREIGN TABLE` from an import, so the comments are added by the extension's event
//! trigger, from `alicloud_fdw_table_comments(table)`.)

use crate::columns::type_sql;
use crate::error::{raise, FdwError};
use alicloud_tables::table::TableDef;
use alicloud_tables::tables::TABLES;
use pgrx::{pg_sys, PgList};
use std::ffi::{CStr, CString};

/// The remote schema that holds the tables.
pub const REMOTE_SCHEMA: &str = "alicloud";

fn quote(ident: &str) -> String {
    let c = CString::new(ident).unwrap_or_default();
    // SAFETY: quote_identifier returns its argument or a palloc'd quoted copy.
    unsafe {
        CStr::from_ptr(pg_sys::quote_identifier(c.as_ptr()))
            .to_string_lossy()
            .into_owned()
    }
}

/// The statement that creates `table` in `schema` on `server`.
pub fn create_table_statement(table: &TableDef, server: &str, schema: &str) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("  {} {}", quote(c.name), type_sql(c.ty)))
        .collect();
    format!(
        "CREATE FOREIGN TABLE {}.{} (\n{}\n) SERVER {}",
        quote(schema),
        quote(table.name),
        columns.join(",\n"),
        quote(server)
    )
}

/// `ImportForeignSchema`.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn import_foreign_schema(
    stmt: *mut pg_sys::ImportForeignSchemaStmt,
    _server: pg_sys::Oid,
) -> *mut pg_sys::List {
    // SAFETY: PostgreSQL calls this with its statement, whose names are NUL-terminated strings.
    let (remote, server, local) = unsafe {
        let text = |p: *mut std::ffi::c_char| CStr::from_ptr(p).to_string_lossy().into_owned();
        (
            text((*stmt).remote_schema),
            text((*stmt).server_name),
            text((*stmt).local_schema),
        )
    };
    if remote != REMOTE_SCHEMA {
        raise(FdwError::UnknownSchema(remote));
    }
    let mut list = PgList::<std::ffi::c_char>::new();
    for table in TABLES {
        let sql = CString::new(create_table_statement(table, &server, &local)).unwrap_or_default();
        // SAFETY: copies the statement into the current memory context, where PostgreSQL reads
        // the list.
        list.push(unsafe { pg_sys::pstrdup(sql.as_ptr()) });
    }
    list.into_pg()
}
