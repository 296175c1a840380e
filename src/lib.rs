//! `alicloud_fdw`: query Alibaba Cloud from PostgreSQL. A thin adapter over the engine-neutral
//! table layer (`alicloud-tables`) and the API client (`alicloud-api`): PostgreSQL's words and
//! types, its planner and executor callbacks, its catalogs and its errors.
//!
//! Modules, one concern each:
//! - `handler`: the FDW handler and validator functions;
//! - `planner`, `quals`: size estimates, paths and plans; which clauses narrow the calls;
//! - `columns`: which table a foreign table scans, and its columns against the declaration;
//! - `executor`, `datum`, `jsonb`: the scan callbacks; values as datums; `jsonb` written from a
//!   listed object's members;
//! - `explain`, `import`: EXPLAIN output; IMPORT FOREIGN SCHEMA;
//! - `options`: the option policy (catalogs, superuser-only options);
//! - `catalog`: reading servers, user mappings, tables and roles;
//! - `connections`: the backend's API clients per server and user, the credential rule, and
//!   their invalidation;
//! - `statement`, `store`: the statement snapshot; the shared cache's and statistics' place and
//!   the `alicloud_fdw.cache` setting;
//! - `runtime`: the one interruptible wait on async work;
//! - `admin`: SQL functions (comments, statistics, clearing the cache);
//! - `outcomes`: the accounts the session's latest scan covered, for compliance checks;
//! - `error`: errors as PostgreSQL reports them, scrubbed of secrets;
//! - `compat`: the internals whose shape differs between PostgreSQL majors.

mod admin;
mod catalog;
mod columns;
mod compat;
mod connections;
mod datum;
mod error;
mod executor;
mod explain;
mod handler;
mod import;
mod jsonb;
mod options;
mod outcomes;
mod planner;
mod quals;
mod runtime;
mod statement;
mod store;

pgrx::pg_module_magic!();

/// Runs once per backend, when the library is loaded (at the first use of the wrapper, or at
/// start with `shared_preload_libraries`, which is not needed).
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    store::define_settings();
    connections::register_invalidation();
    statement::register_transaction_callback();
}

pgrx::extension_sql_file!(
    "../sql/alicloud_fdw_wrapper.sql",
    name = "alicloud_fdw_wrapper",
    finalize
);

pgrx::extension_sql_file!(
    "../sql/alicloud_compliance.sql",
    name = "alicloud_compliance",
    requires = [outcomes::alicloud_fdw_scan_accounts]
);

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    /// No setup needed.
    pub fn setup(_options: Vec<&str>) {}

    /// No settings needed.
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use crate::columns::type_sql;
    use alicloud_tables::table::TableDef;
    use alicloud_tables::tables::TABLES;

    /// A table's docs column table, in the format of `docs/tables/<table>.md`.
    fn docs_column_table(table: &TableDef) -> String {
        let mut s = String::from("| Column | Type | Description |\n|---|---|---|\n");
        for c in table.columns {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                c.name,
                type_sql(c.ty),
                c.description
            ));
        }
        s
    }

    /// The statements of a SQL file: comment lines dropped, split at blank lines.
    fn statements(sql: &str) -> Vec<String> {
        sql.split("\n\n")
            .map(|s| {
                s.lines()
                    .filter(|l| !l.starts_with("--"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The code blocks of a flavour (`sql+postgres`, `sql+sqlite`) in a Markdown page.
    fn blocks(page: &str, flavour: &str) -> Vec<String> {
        page.split(&format!("```{flavour}\n"))
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .map(|b| b.trim().to_string())
            .collect()
    }

    /// A table's page, `docs/tables/<table>.md`.
    fn page(table: &str) -> String {
        let path = format!("{}/docs/tables/{table}.md", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_table_page_examples_are_the_ones_the_tests_run() {
        let page = &page("alicloud_action_trail");
        let postgres = statements(include_str!("../tests/sql/table_page_examples.sql"));
        let sqlite = statements(include_str!(
            "../tests/frontends/table_page_examples.sqlite.sql"
        ));
        assert_eq!(postgres.len(), 4);
        assert_eq!(blocks(page, "sql+postgres"), postgres);
        assert_eq!(blocks(page, "sql+sqlite"), sqlite);
    }

    #[test]
    fn docs_list_every_column() {
        for table in TABLES {
            let doc = page(table.name);
            assert!(
                doc.contains(&docs_column_table(table)),
                "docs/tables/{}.md is out of date; its column table must be:\n{}",
                table.name,
                docs_column_table(table)
            );
        }
    }
}
