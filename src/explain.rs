//! EXPLAIN: what the scan calls after pushdown (regions, `NameList`), whether the shared cache is
//! used; with ANALYZE, what it took (API calls, cache and snapshot hits, retries, the slowest
//! region). Server options hold no secrets (the validator refuses them there).

use crate::planner::{constant_plan, PlanData};
use crate::quals::Values;
use crate::{catalog, connections, executor, store};
use alicloud_tables::listing::Deferred;
use alicloud_tables::options::Regions;
use alicloud_tables::table::{Pushdown, TableDef};
use pgrx::{pg_sys, PgList};
use std::ffi::CString;

// SAFETY (this module): ExplainForeignScan runs on the backend's thread with the scan's node, its
// plan and the ExplainState, alive for the call.

fn property(es: *mut pg_sys::ExplainState, label: &str, value: &str) {
    let label = CString::new(label).unwrap_or_default();
    let value = CString::new(value.replace('\0', "")).unwrap_or_default();
    // SAFETY: see above; the strings outlive the call, which copies them.
    unsafe { pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es) };
}

fn count(es: *mut pg_sys::ExplainState, label: &str, value: i64) {
    let label = CString::new(label).unwrap_or_default();
    // SAFETY: as in `property`.
    unsafe { pg_sys::ExplainPropertyInteger(label.as_ptr(), std::ptr::null(), value, es) };
}

/// The key columns whose values come from expressions (known when the scan starts), each with
/// the SQL of its expression, as EXPLAIN prints expressions.
fn expressions(
    table: &'static TableDef,
    data: &PlanData,
    exprs: &PgList<pg_sys::Node>,
    es: *mut pg_sys::ExplainState,
) -> Vec<Deferred<'static>> {
    data.conditions
        .iter()
        .filter_map(|c| match c.values {
            Values::Expression { index, .. } => {
                Some((&table.columns[c.column], c.op, exprs.get_ptr(index)?))
            }
            Values::Constant(_) => None,
        })
        .map(|(column, op, e)| {
            // SAFETY: see above; deparse_expression returns a palloc'd C string.
            let sql = unsafe {
                let p = pg_sys::deparse_expression(e, (*es).deparse_cxt, false, false);
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            };
            Deferred { column, op, sql }
        })
        .collect()
}

/// `ExplainForeignScan`.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: see above.
    let (data, exprs, table_oid) = unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        (
            PlanData::from_list((*plan).fdw_private),
            PgList::<pg_sys::Node>::from_pg((*plan).fdw_exprs),
            (*(*node).ss.ss_currentRelation).rd_id,
        )
    };
    let table = data.table();
    // SAFETY: see above.
    let user = unsafe { executor::scan_user(node) };
    let settings =
        connections::settings(table_oid, user).unwrap_or_else(|e| crate::error::raise(e));

    // What the constant conditions leave; the others are known when the scan starts.
    let scan = constant_plan(table, &data);
    let pending = expressions(table, &data, &exprs, es);
    let region_exprs: Vec<&str> = pending
        .iter()
        .filter(|d| d.column.pushdown == Some(Pushdown::Region))
        .map(|d| d.sql.as_str())
        .collect();
    let own: Vec<Deferred> = pending
        .iter()
        .filter(|d| matches!(d.column.pushdown, Some(Pushdown::Equal | Pushdown::Range)))
        .cloned()
        .collect();

    property(es, "Alibaba Cloud API", table.listing.calls());
    let mut regions = if scan.is_empty() {
        "none: the conditions contradict each other".to_string()
    } else {
        match &settings.regions {
            Regions::List(configured) => {
                let called = scan.regions(configured);
                if called.is_empty() {
                    "none: no configured region matches".to_string()
                } else if called.len() == configured.len() {
                    called.join(", ")
                } else {
                    format!("{} (of {} configured)", called.join(", "), configured.len())
                }
            }
            Regions::All => match scan.named_regions() {
                None => "every region DescribeRegions lists".to_string(),
                Some(named) => format!("{}, where DescribeRegions lists them", named.join(", ")),
            },
        }
    };
    if !region_exprs.is_empty() && !scan.is_empty() {
        regions.push_str(&format!(
            ", narrowed when the scan starts by {}",
            region_exprs.join(" and ")
        ));
    }
    property(es, "Regions", &regions);
    if let Some(members) = &settings.members {
        let text = if members.directory {
            format!(
                "those that joined the resource directory (ListAccounts when the scan starts; EXPLAIN ANALYZE counts those left out), each by assuming the role {}",
                members.role_name
            )
        } else {
            let server = catalog::server(catalog::server_of_table(table_oid)).name;
            let scanned = scan.accounts(&server, &members.accounts);
            let mut text = format!(
                "{} of {}, each by assuming the role {}",
                scanned.len(),
                members.accounts.len(),
                members.role_name
            );
            if !scanned.is_empty() && scanned.len() < members.accounts.len() {
                text.push_str(&format!(": {}", scanned.join(", ")));
            }
            text
        };
        property(es, "Member Accounts", &text);
    }
    if let Some(members) = &settings.member_servers {
        let server = catalog::server(catalog::server_of_table(table_oid));
        let text = match connections::member_server_names(&server, members) {
            Err(_) => format!("'{}' matches no server", members.text()),
            Ok(all) => {
                let scanned: Vec<&str> = all
                    .iter()
                    .map(|(_, n)| n.as_str())
                    .filter(|n| scan.admits(n, None))
                    .collect();
                format!(
                    "{} of {} matching '{}' (matched again when the scan starts){}{}",
                    scanned.len(),
                    all.len(),
                    members.text(),
                    if scanned.is_empty() { "" } else { ": " },
                    scanned.join(", ")
                )
            }
        };
        property(es, "Member Servers", &text);
    }
    if !scan.is_empty() {
        for (label, value) in table.listing.explain(scan.requests(), &own) {
            property(es, label, &value);
        }
    }
    let cache = if settings.cache_ttl.is_zero() {
        "off (cache_ttl 0)".to_string()
    } else if !store::cache_on() {
        "off (alicloud_fdw.cache)".to_string()
    } else {
        format!("on (cache_ttl {} s)", settings.cache_ttl.as_secs())
    };
    property(es, "Cache", &cache);

    // SAFETY: see above.
    if !unsafe { (*es).analyze } {
        return;
    }
    // SAFETY: see above: the node's scan state, when it was executed.
    let Some(state) = (unsafe { executor::state_of(node) }) else {
        return;
    };
    let report = &state.report;
    count(es, "API Calls", report.api_calls() as i64);
    count(es, "Cache Hits", report.cache_hits() as i64);
    count(es, "Snapshot Hits", report.snapshot_hits() as i64);
    count(es, "Retries", i64::from(report.retries()));
    if let Some(directory) = &report.directory {
        let left_out: Vec<String> = directory
            .not_joined()
            .map(|(id, status)| match status.as_str() {
                "" => format!("{id} (no status)"),
                s => format!("{id} ({s})"),
            })
            .collect();
        let joined = directory.joined().count();
        let text = if left_out.is_empty() {
            format!("{joined} joined, none left out")
        } else {
            format!(
                "{joined} joined; {} left out, not joined: {}",
                left_out.len(),
                left_out.join(", ")
            )
        };
        property(es, "Directory Accounts", &text);
    }
    if let Some((region, took)) = report.slowest() {
        property(
            es,
            "Slowest Region",
            &format!("{region} ({} ms)", took.as_millis()),
        );
    }
}
