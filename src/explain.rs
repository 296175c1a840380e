//! EXPLAIN: what the scan calls after pushdown (regions, `NameList`), whether the shared cache is
//! used; with ANALYZE, what it took (API calls, cache and snapshot hits, retries, the slowest
//! region). Server options hold no secrets (the validator refuses them there).

use crate::executor;
use crate::planner::{self, table, PlanData};
use crate::quals::Values;
use crate::{catalog, store};
use alicloud_tables::options::Regions;
use alicloud_tables::plan::{Constraint, ScanPlan};
use alicloud_tables::table::KeyColumn;
use pgrx::{pg_sys, PgList};
use std::ffi::CString;

unsafe fn property(es: *mut pg_sys::ExplainState, label: &str, value: &str) {
    let label = CString::new(label).unwrap_or_default();
    let value = CString::new(value.replace('\0', "")).unwrap_or_default();
    pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
}

unsafe fn count(es: *mut pg_sys::ExplainState, label: &str, value: i64) {
    let label = CString::new(label).unwrap_or_default();
    pg_sys::ExplainPropertyInteger(label.as_ptr(), std::ptr::null(), value, es);
}

/// The SQL of the conditions' expressions on `key`, as EXPLAIN prints expressions.
unsafe fn expressions(
    data: &PlanData,
    key: KeyColumn,
    exprs: &PgList<pg_sys::Node>,
    es: *mut pg_sys::ExplainState,
) -> Vec<String> {
    data.conditions
        .iter()
        .filter(|c| c.key(table()) == Some(key))
        .filter_map(|c| match c.values {
            Values::Expression { index, .. } => exprs.get_ptr(index),
            Values::Constant(_) => None,
        })
        .map(|e| {
            let p = pg_sys::deparse_expression(e, (*es).deparse_cxt, false, false);
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        })
        .collect()
}

/// `ExplainForeignScan`.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let data = PlanData::from_list((*plan).fdw_private);
    let exprs = PgList::<pg_sys::Node>::from_pg((*plan).fdw_exprs);
    let table_oid = (*(*node).ss.ss_currentRelation).rd_id;
    let server = catalog::server(catalog::server_of_table(table_oid));
    let settings = planner::settings_of(&server);

    // What the constant conditions leave; the others are known when the scan starts.
    let constants: Vec<Constraint> = data
        .conditions
        .iter()
        .filter_map(|c| match &c.values {
            Values::Constant(v) => Some(Constraint {
                key: c.key(table())?,
                values: v.clone(),
            }),
            Values::Expression { .. } => None,
        })
        .collect();
    let scan = ScanPlan::new(&constants);
    let region_exprs = expressions(&data, KeyColumn::Region, &exprs, es);
    let name_exprs = expressions(&data, KeyColumn::Name, &exprs, es);

    property(
        es,
        "Alibaba Cloud API",
        "ActionTrail DescribeTrails, once per region",
    );
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
    if !scan.is_empty() {
        let names = match (scan.names(), name_exprs.is_empty()) {
            (Some(n), true) => Some(n.join(", ")),
            (Some(n), false) => Some(format!("{} and {}", n.join(", "), name_exprs.join(" and "))),
            (None, false) => Some(format!("from {}", name_exprs.join(" and "))),
            (None, true) => None,
        };
        if let Some(names) = names {
            property(es, "NameList", &names);
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

    if !(*es).analyze {
        return;
    }
    let Some(state) = executor::state_of(node) else {
        return;
    };
    let report = &state.report;
    count(es, "API Calls", report.api_calls() as i64);
    count(es, "Cache Hits", report.cache_hits() as i64);
    count(es, "Snapshot Hits", report.snapshot_hits() as i64);
    count(es, "Retries", i64::from(report.retries()));
    if let Some((region, took)) = report.slowest() {
        property(
            es,
            "Slowest Region",
            &format!("{region} ({} ms)", took.as_millis()),
        );
    }
}
