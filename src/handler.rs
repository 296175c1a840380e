//! The wrapper's two entry points: the handler, which hands PostgreSQL the callbacks, and the
//! validator, which checks every `OPTIONS` list when it is set.

use crate::error::raise;
use crate::options::{self, Catalog};
use crate::{catalog, executor, explain, import, planner};
use pgrx::prelude::*;
use pgrx::{pg_sys, AllocatedByRust, PgBox};

/// The callbacks of a read-only scan, with EXPLAIN and IMPORT FOREIGN SCHEMA.
#[pg_extern]
fn alicloud_fdw_handler() -> PgBox<pg_sys::FdwRoutine> {
    // SAFETY: a zeroed FdwRoutine node in the current memory context, as PostgreSQL's own
    // handlers make it; every callback set here has the type PostgreSQL calls it with.
    unsafe {
        let mut r =
            PgBox::<pg_sys::FdwRoutine, AllocatedByRust>::alloc_node(pg_sys::NodeTag::T_FdwRoutine);
        r.GetForeignRelSize = Some(planner::get_foreign_rel_size);
        r.GetForeignPaths = Some(planner::get_foreign_paths);
        r.GetForeignPlan = Some(planner::get_foreign_plan);
        r.BeginForeignScan = Some(executor::begin_foreign_scan);
        r.IterateForeignScan = Some(executor::iterate_foreign_scan);
        r.ReScanForeignScan = Some(executor::rescan_foreign_scan);
        r.EndForeignScan = Some(executor::end_foreign_scan);
        r.ExplainForeignScan = Some(explain::explain_foreign_scan);
        r.ImportForeignSchema = Some(import::import_foreign_schema);
        r.into_pg_boxed()
    }
}

/// Checks the options of `CREATE`/`ALTER FOREIGN DATA WRAPPER`, `SERVER`, `USER MAPPING` and
/// `FOREIGN TABLE`.
#[pg_extern]
fn alicloud_fdw_validator(options: Vec<Option<String>>, catalog: Option<pg_sys::Oid>) {
    let Some(catalog) = catalog.and_then(Catalog::of) else {
        return;
    };
    if let Err(e) = options::validate(&options, catalog, catalog::current_user_is_superuser()) {
        raise(e.into());
    }
}
