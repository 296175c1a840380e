//! Planning: the size estimate, the paths (plain, and parameterized by an outer relation's key
//! column for nested loops), and the plan.
//!
//! A plan may be executed many times (prepared statements, PL/pgSQL, drivers' server-side
//! statements, cursors), so it holds data only: [`PlanData`] as a JSON string node in
//! `fdw_private`, and the expressions of pushed-down conditions in `fdw_exprs`. Nothing in a plan
//! points into executor (or planner) memory. Planning makes no network call.

use crate::catalog;
use crate::error::{raise, FdwError};
use crate::quals::{self, Condition, Keys};
use alicloud_api::CredentialChain;
use alicloud_tables::options::{Regions, Settings};
use alicloud_tables::table::{ColumnType, TableDef};
use pgrx::pg_sys;
use pgrx::PgList;
use serde::{Deserialize, Serialize};

/// The table every foreign table of this wrapper scans.
pub fn table() -> &'static TableDef {
    alicloud_tables::table::table("alicloud_action_trail").expect("the table is declared")
}

/// Rows a region is assumed to list, for the planner's estimate.
const ROWS_PER_REGION: f64 = 5.0;
/// Regions assumed when the `regions` option is `*` (ActionTrail has had 26 to 28).
const ALL_REGIONS: f64 = 28.0;
/// The cost of one fan-out: the regions are called at once, so one round trip, whatever their
/// number. High against local work, so that a nested loop that rescans the table for every outer
/// row is chosen only when little else is possible.
const FAN_OUT_COST: f64 = 1000.0;

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

/// A column the scan fills: its attribute number and its index in the table declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retrieved {
    /// Attribute number in the foreign table.
    pub attno: i16,
    /// Index in [`TableDef::columns`].
    pub column: usize,
}

/// What a plan holds: plain data, copied with the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanData {
    /// The columns the scan fills (the others stay NULL): those the query uses, or all of them
    /// for a whole-row reference.
    pub columns: Vec<Retrieved>,
    /// The conditions that narrow the calls.
    pub conditions: Vec<Condition>,
}

impl PlanData {
    /// Whether a filled column needs the account id.
    pub fn needs_account_id(&self) -> bool {
        self.columns
            .iter()
            .any(|r| table().columns[r.column].needs_account_id)
    }

    /// As `fdw_private`: a one-element list holding a string node.
    unsafe fn into_list(self) -> *mut pg_sys::List {
        let text = serde_json::to_string(&self).unwrap_or_default();
        let c = std::ffi::CString::new(text).unwrap_or_default();
        let node = pg_sys::makeString(pg_sys::pstrdup(c.as_ptr()));
        let mut list = PgList::<pg_sys::String>::new();
        list.push(node);
        list.into_pg()
    }

    /// Read back from a plan's `fdw_private`.
    ///
    /// # Safety
    /// `list` must be the `fdw_private` of a plan made by [`get_foreign_plan`].
    pub unsafe fn from_list(list: *mut pg_sys::List) -> PlanData {
        let list = PgList::<pg_sys::String>::from_pg(list);
        let text = list
            .get_ptr(0)
            .map(|s| {
                std::ffi::CStr::from_ptr((*s).sval)
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| {
            raise(FdwError::Internal(format!(
                "the plan's data cannot be read: {e}"
            )))
        })
    }
}

/// What planning learns about the relation once, in `GetForeignRelSize`.
struct RelInfo {
    /// (attribute number, key column name) of the key columns the foreign table declares.
    keys: Vec<(i16, &'static str)>,
    /// attribute number → column index, for every column of the foreign table.
    columns: Vec<(i16, usize)>,
    /// Attribute numbers the query needs (0: the whole row).
    attrs: Vec<i16>,
}

/// The attribute numbers `node` uses of relation `relid`, added to `attrs`.
unsafe fn add_attrs(node: *mut pg_sys::Node, relid: u32, attrs: &mut Vec<i16>) {
    let mut set: *mut pg_sys::Bitmapset = std::ptr::null_mut();
    pg_sys::pull_varattnos(node, relid, &mut set);
    let mut m = -1;
    loop {
        m = pg_sys::bms_next_member(set, m);
        if m < 0 {
            break;
        }
        let attno = (m + pg_sys::FirstLowInvalidHeapAttributeNumber) as i16;
        if attno >= 0 && !attrs.contains(&attno) {
            attrs.push(attno);
        }
    }
}

unsafe fn rel_info<'a>(baserel: *mut pg_sys::RelOptInfo) -> &'a RelInfo {
    &*((*baserel).fdw_private as *const RelInfo)
}

/// `GetForeignRelSize`: checks the table, reads the server's options (no network), and estimates
/// the rows from the regions and names the constant conditions leave.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    let _ = root;
    let columns = crate::columns::check(foreigntableid).unwrap_or_else(|e| raise(e));
    let settings = settings_of(&catalog::server(catalog::server_of_table(foreigntableid)));
    let t = table();
    let keys: Vec<(i16, &'static str)> = columns
        .iter()
        .filter(|(_, index)| t.columns[*index].key.is_some())
        .map(|(attno, index)| (*attno, t.columns[*index].name))
        .collect();
    let relid = (*baserel).relid;
    let mut attrs = Vec::new();
    add_attrs(
        (*(*baserel).reltarget).exprs as *mut pg_sys::Node,
        relid,
        &mut attrs,
    );
    let restrictions = PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).baserestrictinfo);
    let mut exprs = Vec::new();
    let mut conditions = Vec::new();
    let key_index = Keys {
        relid,
        by_attno: &keys,
    };
    for rinfo in restrictions.iter_ptr() {
        add_attrs((*rinfo).clause as *mut pg_sys::Node, relid, &mut attrs);
        if let Some(c) = quals::condition(&key_index, (*rinfo).clause, &mut exprs) {
            conditions.push(c);
        }
    }
    let (regions, per_region) = estimate(&settings, &conditions);
    (*baserel).rows = (regions * per_region).max(1.0);
    let info = RelInfo {
        keys,
        columns,
        attrs,
    };
    (*baserel).fdw_private = pgrx::PgMemoryContexts::CurrentMemoryContext
        .leak_and_drop_on_delete(info)
        .cast();
}

/// Regions called and rows per region, from the constant conditions.
fn estimate(settings: &Settings, conditions: &[Condition]) -> (f64, f64) {
    let t = table();
    let constants = |key| {
        conditions
            .iter()
            .filter(|c| c.key(t) == Some(key))
            .filter_map(|c| match &c.values {
                quals::Values::Constant(v) => Some(v.len() as f64),
                quals::Values::Expression { .. } => None,
            })
            .reduce(f64::min)
    };
    let configured = match &settings.regions {
        Regions::List(l) => l.len() as f64,
        Regions::All => ALL_REGIONS,
    };
    let regions = constants(alicloud_tables::table::KeyColumn::Region)
        .map_or(configured, |n| n.min(configured));
    let per_region = constants(alicloud_tables::table::KeyColumn::Name).unwrap_or(ROWS_PER_REGION);
    (regions, per_region)
}

fn costs(rows: f64) -> (f64, f64) {
    // SAFETY: reads a planner GUC.
    let per_row = unsafe { pg_sys::cpu_tuple_cost } * 10.0;
    (FAN_OUT_COST, FAN_OUT_COST + rows * per_row)
}

/// Whether an equivalence class member is the key column `arg` points at.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn member_is_key(
    _root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut std::ffi::c_void,
) -> bool {
    let attno = *(arg as *const i16);
    let expr = (*em).em_expr as *mut pg_sys::Node;
    if expr.is_null() || (*expr).type_ != pg_sys::NodeTag::T_Var {
        return false;
    }
    let var = expr as *mut pg_sys::Var;
    (*var).varno as u32 == (*rel).relid && (*var).varattno == attno && (*var).varlevelsup == 0
}

/// `GetForeignPaths`: the plain path, and one path per outer relation whose column equals a key
/// column (a nested loop then sends each outer row's value as the region or `NameList`).
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    _foreigntableid: pg_sys::Oid,
) {
    let info = rel_info(baserel);
    let (startup, total) = costs((*baserel).rows);
    let path = pg_sys::create_foreignscan_path(
        root,
        baserel,
        std::ptr::null_mut(),
        (*baserel).rows,
        startup,
        total,
        std::ptr::null_mut(),
        (*baserel).lateral_relids,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    );
    pg_sys::add_path(baserel, path as *mut pg_sys::Path);

    // Join clauses that could narrow the calls: from the relation's join clauses, and implied by
    // equivalence classes (`t.name = w.name` lives in one).
    let mut candidates: Vec<*mut pg_sys::RestrictInfo> =
        PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).joininfo)
            .iter_ptr()
            .filter(|&r| pg_sys::join_clause_is_movable_to(r, baserel))
            .collect();
    for (attno, _) in &info.keys {
        let mut arg = *attno;
        let implied = pg_sys::generate_implied_equalities_for_column(
            root,
            baserel,
            Some(member_is_key),
            (&mut arg as *mut i16).cast(),
            (*baserel).lateral_referencers,
        );
        candidates.extend(PgList::<pg_sys::RestrictInfo>::from_pg(implied).iter_ptr());
    }
    let keys = Keys {
        relid: (*baserel).relid,
        by_attno: &info.keys,
    };
    let mut seen: Vec<*mut pg_sys::Bitmapset> = Vec::new();
    for rinfo in candidates {
        let mut scratch = Vec::new();
        if quals::condition(&keys, (*rinfo).clause, &mut scratch).is_none() {
            continue;
        }
        let outer = pg_sys::bms_union(
            pg_sys::bms_difference((*rinfo).clause_relids, (*baserel).relids),
            (*baserel).lateral_relids,
        );
        if pg_sys::bms_is_empty(outer) || seen.iter().any(|&s| pg_sys::bms_equal(s, outer)) {
            continue;
        }
        seen.push(outer);
        let param = pg_sys::get_baserel_parampathinfo(root, baserel, outer);
        let rows = (*param).ppi_rows.clamp(1.0, (*baserel).rows.max(1.0));
        let (startup, total) = costs(rows);
        let path = pg_sys::create_foreignscan_path(
            root,
            baserel,
            std::ptr::null_mut(),
            rows,
            startup,
            total,
            std::ptr::null_mut(),
            outer,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        pg_sys::add_path(baserel, path as *mut pg_sys::Path);
    }
}

/// `GetForeignPlan`: the conditions that narrow the calls (from the restrictions and, for a
/// parameterized path, its join clauses), the columns to fill, and every clause kept as a filter
/// PostgreSQL checks on the rows.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    _root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    _foreigntableid: pg_sys::Oid,
    _best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    let info = rel_info(baserel);
    let relid = (*baserel).relid;
    let keys = Keys {
        relid,
        by_attno: &info.keys,
    };
    let mut exprs: Vec<*mut pg_sys::Expr> = Vec::new();
    let mut conditions = Vec::new();
    let mut attrs = info.attrs.clone();
    for rinfo in PgList::<pg_sys::RestrictInfo>::from_pg(scan_clauses).iter_ptr() {
        add_attrs((*rinfo).clause as *mut pg_sys::Node, relid, &mut attrs);
        if (*rinfo).pseudoconstant {
            continue;
        }
        if let Some(c) = quals::condition(&keys, (*rinfo).clause, &mut exprs) {
            conditions.push(c);
        }
    }
    let whole_row = attrs.contains(&0);
    let columns = info
        .columns
        .iter()
        .filter(|(attno, _)| whole_row || attrs.contains(attno))
        .map(|&(attno, column)| Retrieved { attno, column })
        .collect();
    let data = PlanData {
        columns,
        conditions,
    };
    let mut fdw_exprs = PgList::<pg_sys::Expr>::new();
    for e in exprs {
        fdw_exprs.push(e);
    }
    pg_sys::make_foreignscan(
        tlist,
        pg_sys::extract_actual_clauses(scan_clauses, false),
        relid,
        fdw_exprs.into_pg(),
        data.into_list(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        outer_plan,
    )
}

/// The settings of a server's options (no network call), for the estimate and EXPLAIN.
pub fn settings_of(server: &catalog::Server) -> Settings {
    Settings::from_options(&server.options, || {
        CredentialChain::from_process_env().default_region()
    })
    .unwrap_or_else(|e| raise(e.into()))
}
