//! Planning: the size estimate, the paths (plain; in the table's order when the query asks for
//! it; parameterized by an outer relation's key column for nested loops), and the plan.
//!
//! A plan may be executed many times (prepared statements, PL/pgSQL, drivers' server-side
//! statements, cursors), so it holds data only: [`PlanData`] as a JSON string node in
//! `fdw_private`, and the expressions of pushed-down conditions in `fdw_exprs`. Nothing in a plan
//! points into executor (or planner) memory. Planning makes no network call.

use crate::columns;
use crate::compat;
use crate::connections;
use crate::error::{raise, FdwError};
use crate::quals::{self, Condition, Keys};
use alicloud_tables::options::Regions;
use alicloud_tables::plan::{Op, ScanPlan};
use alicloud_tables::table::{Pushdown, TableDef};
use pgrx::pg_sys;
use pgrx::PgList;
use serde::{Deserialize, Serialize};

/// Regions assumed when the `regions` option is `*` (ActionTrail has had 26 to 28).
const ALL_REGIONS: f64 = 28.0;
/// The cost of one fan-out: the regions are called at once, so one round trip, whatever their
/// number. High against local work, so that a nested loop that rescans the table for every outer
/// row is chosen only when little else is possible.
const FAN_OUT_COST: f64 = 1000.0;
/// `BTGreaterStrategyNumber` (access/stratnum.h): a `DESC` ordering's strategy.
const BT_GREATER_STRATEGY: i32 = 5;
/// `BTLessStrategyNumber`: an `ASC` ordering's strategy.
const BT_LESS_STRATEGY: i32 = 1;

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
    /// The table scanned.
    pub table: String,
    /// The columns the scan fills (the others stay NULL): those the query uses, or all of them
    /// for a whole-row reference.
    pub columns: Vec<Retrieved>,
    /// The conditions that narrow the calls.
    pub conditions: Vec<Condition>,
    /// The rows must come in the table's order (the plan relies on it for an `ORDER BY`).
    pub ordered: bool,
}

impl PlanData {
    /// The table scanned.
    pub fn table(&self) -> &'static TableDef {
        columns::table_named(&self.table, || self.table.clone()).unwrap_or_else(|e| raise(e))
    }

    /// As `fdw_private`: a one-element list holding a string node.
    fn into_list(self) -> *mut pg_sys::List {
        let text = serde_json::to_string(&self).unwrap_or_default();
        let c = std::ffi::CString::new(text).unwrap_or_default();
        // SAFETY: copies the C string into the current (planner) memory context and wraps it
        // in a String node and a list, as PostgreSQL's own plans hold data.
        unsafe {
            let node = pg_sys::makeString(pg_sys::pstrdup(c.as_ptr()));
            let mut list = PgList::<pg_sys::String>::new();
            list.push(node);
            list.into_pg()
        }
    }

    /// Read back from a plan's `fdw_private`.
    ///
    /// # Safety
    /// `list` must be the `fdw_private` of a plan made by [`get_foreign_plan`].
    pub unsafe fn from_list(list: *mut pg_sys::List) -> PlanData {
        // SAFETY: the caller's: a list of one String node holding a C string.
        let text = unsafe {
            let list = PgList::<pg_sys::String>::from_pg(list);
            list.get_ptr(0)
                .map(|s| {
                    std::ffi::CStr::from_ptr((*s).sval)
                        .to_string_lossy()
                        .into_owned()
                })
                .unwrap_or_default()
        };
        serde_json::from_str(&text).unwrap_or_else(|e| {
            raise(FdwError::Internal(format!(
                "the plan's data cannot be read: {e}"
            )))
        })
    }
}

/// What planning learns about the relation once, in `GetForeignRelSize`.
struct RelInfo {
    table: &'static TableDef,
    /// (attribute number, column index) of the key columns the foreign table declares.
    keys: Vec<(i16, usize)>,
    /// attribute number → column index, for every column of the foreign table.
    columns: Vec<(i16, usize)>,
    /// Attribute numbers the query needs (0: the whole row).
    attrs: Vec<i16>,
}

impl RelInfo {
    fn keys(&self, relid: u32) -> Keys<'_> {
        Keys {
            relid,
            by_attno: &self.keys,
            table: self.table,
        }
    }
}

// SAFETY (the callbacks below): PostgreSQL calls them on the backend's thread with its planner
// structures (`root`, `baserel`, their lists and nodes), alive for the call; they are read and
// extended with PostgreSQL's own planner functions, in the planner's memory context.

/// The attribute numbers `node` uses of relation `relid`, added to `attrs`.
fn add_attrs(node: *mut pg_sys::Node, relid: u32, attrs: &mut Vec<i16>) {
    let mut set: *mut pg_sys::Bitmapset = std::ptr::null_mut();
    // SAFETY: read the planner's nodes (see above).
    unsafe { pg_sys::pull_varattnos(node, relid, &mut set) };
    let mut m = -1;
    loop {
        // SAFETY: `set` is the Bitmapset just built (or null, which is empty).
        m = unsafe { pg_sys::bms_next_member(set, m) };
        if m < 0 {
            break;
        }
        let attno = (m + pg_sys::FirstLowInvalidHeapAttributeNumber) as i16;
        if attno >= 0 && !attrs.contains(&attno) {
            attrs.push(attno);
        }
    }
}

/// The relation's planning data, made by [`get_foreign_rel_size`].
///
/// # Safety
/// `baserel` must be a foreign relation planned by this wrapper.
unsafe fn rel_info<'a>(baserel: *mut pg_sys::RelOptInfo) -> &'a RelInfo {
    // SAFETY: the caller's; get_foreign_rel_size set `fdw_private` to a RelInfo that lives in
    // the planner's memory context.
    unsafe { &*((*baserel).fdw_private as *const RelInfo) }
}

/// The role whose user mapping applies to the relation: the view owner's inside a view (the
/// range table entry's `checkAsUser`), else the current user, as the executor decides.
///
/// # Safety
/// `root` and `baserel` must be the planner's, for this relation.
unsafe fn planning_user(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
) -> pg_sys::Oid {
    // SAFETY: the caller's; the relation's range table entry is at its relid.
    let rte = unsafe {
        PgList::<pg_sys::RangeTblEntry>::from_pg((*(*root).parse).rtable)
            .get_ptr(((*baserel).relid as usize).saturating_sub(1))
    };
    // SAFETY: an entry of the query's range table.
    match rte.map(|r| unsafe { compat::check_as_user(compat::query_perminfos((*root).parse), r) }) {
        Some(user) if user != pg_sys::InvalidOid => user,
        _ => crate::catalog::current_user(),
    }
}

/// `GetForeignRelSize`: resolves the table and checks its columns, reads the settings (no
/// network), and estimates the rows from the regions and values the constant conditions leave.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    let table = columns::table_of(foreigntableid).unwrap_or_else(|e| raise(e));
    let columns = columns::check(foreigntableid, table).unwrap_or_else(|e| raise(e));
    // SAFETY: see above.
    let user = unsafe { planning_user(root, baserel) };
    let settings = connections::settings(foreigntableid, user).unwrap_or_else(|e| raise(e));
    let keys: Vec<(i16, usize)> = columns
        .iter()
        .filter(|(_, index)| table.columns[*index].pushdown.is_some())
        .copied()
        .collect();
    let mut info = RelInfo {
        table,
        keys,
        columns,
        attrs: Vec::new(),
    };
    let mut conditions = Vec::new();
    // SAFETY: read the relation's target list and restrictions (see above).
    unsafe {
        let relid = (*baserel).relid;
        let mut attrs = Vec::new();
        add_attrs(
            (*(*baserel).reltarget).exprs as *mut pg_sys::Node,
            relid,
            &mut attrs,
        );
        let mut exprs = Vec::new();
        for rinfo in PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).baserestrictinfo).iter_ptr()
        {
            add_attrs((*rinfo).clause as *mut pg_sys::Node, relid, &mut attrs);
            if let Some(c) = quals::condition(&info.keys(relid), (*rinfo).clause, &mut exprs) {
                conditions.push(c);
            }
        }
        info.attrs = attrs;
    }
    let rows = estimate(table, &settings.regions, &conditions);
    // SAFETY: sets the estimate, and hands the planning data to the later callbacks in the
    // planner's memory context (freed with it).
    unsafe {
        (*baserel).rows = rows.max(1.0);
        (*baserel).fdw_private = pgrx::PgMemoryContexts::CurrentMemoryContext
            .leak_and_drop_on_delete(info)
            .cast();
    }
}

/// Rows the scan returns, from the regions called and the constant conditions: the fewest values
/// of an equality on a key column of the table's own (a `NameList` of two names: two rows per
/// region), else the table's assumed rows per region.
fn estimate(table: &TableDef, regions: &Regions, conditions: &[Condition]) -> f64 {
    let count = |c: &Condition| match &c.values {
        quals::Values::Constant(v) if c.op == Op::Eq => Some(v.len() as f64),
        _ => None,
    };
    let fewest = |kind: Pushdown| {
        conditions
            .iter()
            .filter(|c| table.columns[c.column].pushdown == Some(kind))
            .filter_map(count)
            .reduce(f64::min)
    };
    let configured = match regions {
        Regions::List(l) => l.len() as f64,
        Regions::All => ALL_REGIONS,
    };
    let regions = fewest(Pushdown::Region).map_or(configured, |n| n.min(configured));
    let per_region = fewest(Pushdown::Equal).unwrap_or(table.rows_per_region);
    regions * per_region
}

fn costs(rows: f64) -> (f64, f64) {
    // SAFETY: reads a planner GUC.
    let per_row = unsafe { pg_sys::cpu_tuple_cost } * 10.0;
    (FAN_OUT_COST, FAN_OUT_COST + rows * per_row)
}

/// Whether an equivalence class member is the key column whose attribute number `arg` points at.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn member_is_key(
    _root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut std::ffi::c_void,
) -> bool {
    // SAFETY: PostgreSQL calls this with its planner structures; `arg` is the i16 attribute
    // number get_foreign_paths passes.
    unsafe {
        let attno = *(arg as *const i16);
        let expr = (*em).em_expr as *mut pg_sys::Node;
        if expr.is_null() || (*expr).type_ != pg_sys::NodeTag::T_Var {
            return false;
        }
        let var = expr as *mut pg_sys::Var;
        (*var).varno as u32 == (*rel).relid && (*var).varattno == attno && (*var).varlevelsup == 0
    }
}

/// The query's ordering, when the table's listing gives its rows in it: a single sort key on the
/// table's order column, in its direction (nulls first when descending, last when ascending, as
/// PostgreSQL's defaults are).
///
/// # Safety
/// As the callbacks (see above).
unsafe fn useful_pathkeys(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    info: &RelInfo,
) -> Option<*mut pg_sys::List> {
    let order = info.table.order?;
    let attno = info
        .columns
        .iter()
        .find(|(_, c)| *c == order.column)
        .map(|(a, _)| *a)?;
    // SAFETY: the caller's.
    unsafe {
        let pathkeys = (*root).query_pathkeys;
        let keys = PgList::<pg_sys::PathKey>::from_pg(pathkeys);
        if keys.len() != 1 {
            return None;
        }
        let key = keys.get_ptr(0)?;
        let strategy = if order.descending {
            BT_GREATER_STRATEGY
        } else {
            BT_LESS_STRATEGY
        };
        if (*key).pk_strategy != strategy || (*key).pk_nulls_first != order.descending {
            return None;
        }
        let ec = (*key).pk_eclass;
        let ours = PgList::<pg_sys::EquivalenceMember>::from_pg((*ec).ec_members)
            .iter_ptr()
            .any(|em| {
                let mut arg = attno;
                member_is_key(root, baserel, ec, em, (&mut arg as *mut i16).cast())
            });
        ours.then_some(pathkeys)
    }
}

/// `GetForeignPaths`: the plain path; one in the table's order when the query asks for it; and
/// one per outer relation whose column equals a key column (a nested loop then sends each outer
/// row's value in the calls).
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    _foreigntableid: pg_sys::Oid,
) {
    // SAFETY: see above.
    unsafe {
        let info = rel_info(baserel);
        let (startup, total) = costs((*baserel).rows);
        let path = |rows, startup, total, pathkeys, outer| {
            compat::foreign_path(root, baserel, rows, startup, total, pathkeys, outer)
                as *mut pg_sys::Path
        };
        // The plain path, and the ordered one: its first rows come after the first page of each
        // region, so a LIMIT stops there.
        let ordered = useful_pathkeys(root, baserel, info);
        for pathkeys in std::iter::once(std::ptr::null_mut()).chain(ordered) {
            let unparameterized = (*baserel).lateral_relids;
            pg_sys::add_path(
                baserel,
                path((*baserel).rows, startup, total, pathkeys, unparameterized),
            );
        }

        // Join clauses that could narrow the calls: from the relation's join clauses, and implied
        // by equivalence classes (`t.name = w.name` lives in one).
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
        let keys = info.keys((*baserel).relid);
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
            pg_sys::add_path(
                baserel,
                path(rows, startup, total, std::ptr::null_mut(), outer),
            );
        }
    }
}

/// `GetForeignPlan`: the conditions that narrow the calls (from the restrictions and, for a
/// parameterized path, its join clauses), the columns to fill, whether the rows must come in
/// order, and every clause kept as a filter PostgreSQL checks on the rows.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    _root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    _foreigntableid: pg_sys::Oid,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    // SAFETY: see above.
    unsafe {
        let info = rel_info(baserel);
        let relid = (*baserel).relid;
        let keys = info.keys(relid);
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
        let ordered = !(*best_path).path.pathkeys.is_null();
        let columns: Vec<Retrieved> = info
            .columns
            .iter()
            .filter(|(attno, _)| whole_row || attrs.contains(attno))
            .map(|&(attno, column)| Retrieved { attno, column })
            .collect();
        let data = PlanData {
            table: info.table.name.to_string(),
            columns,
            conditions,
            ordered,
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
}

/// The plan of the constant conditions: what EXPLAIN can tell before the scan starts.
pub fn constant_plan(table: &'static TableDef, data: &PlanData) -> ScanPlan {
    ScanPlan::new(table, &quals::constraints(&data.conditions, |_, _| None))
}
