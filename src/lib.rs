//! `alicloud_fdw`: query Alibaba Cloud from PostgreSQL. Its first table, `alicloud_action_trail`,
//! lists the account's ActionTrail trails across regions.
//!
//! Modules, one concern each:
//! - [`fdw`]: the `ForeignDataWrapper` (planning, scan, IMPORT FOREIGN SCHEMA, validator);
//! - [`options`]: the option table and its validation;
//! - [`user_mapping`]: the current user's mapping and the credentials it names;
//! - [`pushdown`]: which regions and trail names a scan asks for;
//! - [`table`]: the table's columns, declared once;
//! - [`runtime`]: the async runtime, shared clients, and the one interruptible wait;
//! - [`error`]: errors as Postgres reports them, scrubbed of secrets.
//!
//! The API itself (signing, credentials, retries, typed answers) is the `alicloud-api` crate.

use pgrx::prelude::*;

pub mod error;
mod fdw;
pub mod options;
pub mod pushdown;
pub mod runtime;
pub mod table;
pub mod user_mapping;

pgrx::pg_module_magic!();

/// The comments of `alicloud_action_trail` and its columns (`column_name` NULL: the table's own),
/// used by the event trigger that comments tables made by `IMPORT FOREIGN SCHEMA`.
#[pg_extern]
fn alicloud_fdw_table_comments() -> TableIterator<
    'static,
    (
        name!(column_name, Option<&'static str>),
        name!(comment, &'static str),
    ),
> {
    TableIterator::new(table::comments())
}

extension_sql_file!(
    "../sql/alicloud_fdw_wrapper.sql",
    name = "alicloud_fdw_wrapper",
    finalize
);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
