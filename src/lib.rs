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

extension_sql!(
    r#"
CREATE FOREIGN DATA WRAPPER alicloud_fdw
  HANDLER alicloud_fdw_handler
  VALIDATOR alicloud_fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER alicloud_fdw IS 'Alibaba Cloud (ActionTrail trails) as foreign tables';

-- Postgres lets an FDW's import return only CREATE FOREIGN TABLE statements, so the table and
-- column comments are added here, right after IMPORT FOREIGN SCHEMA creates the table.
CREATE FUNCTION alicloud_fdw_comment_imported_tables() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  cmd record;
  c record;
BEGIN
  FOR cmd IN
    SELECT e.objid
    FROM pg_event_trigger_ddl_commands() e
    JOIN pg_foreign_table ft ON ft.ftrelid = e.objid
    JOIN pg_foreign_server s ON s.oid = ft.ftserver
    JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
    JOIN pg_class r ON r.oid = e.objid
    WHERE e.command_tag = 'CREATE FOREIGN TABLE'
      AND w.fdwname = 'alicloud_fdw'
      AND r.relname = 'alicloud_action_trail'
  LOOP
    FOR c IN SELECT * FROM alicloud_fdw_table_comments() LOOP
      IF c.column_name IS NULL THEN
        EXECUTE format('COMMENT ON FOREIGN TABLE %s IS %L', cmd.objid::regclass, c.comment);
      ELSE
        EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', cmd.objid::regclass, c.column_name, c.comment);
      END IF;
    END LOOP;
  END LOOP;
END
$$;

CREATE EVENT TRIGGER alicloud_fdw_comment_imported_tables
  ON ddl_command_end
  WHEN TAG IN ('IMPORT FOREIGN SCHEMA')
  EXECUTE FUNCTION alicloud_fdw_comment_imported_tables();
"#,
    name = "alicloud_fdw_wrapper",
    finalize
);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
