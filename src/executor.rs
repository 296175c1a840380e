//! The scan: `BeginForeignScan` resolves the connection, `IterateForeignScan` fetches on its first
//! call (evaluating the conditions' parameters then) and returns one row per call, `ReScan` replays
//! the rows or, when a parameter changed, fetches again (usually from the statement snapshot), and
//! `EndForeignScan` lets the answers go.
//!
//! The scan's state lives in the executor's memory context and is dropped with it (also when the
//! query fails), never in the plan. Only the answers' text is held; each row is converted when it
//! is returned, into the per-tuple memory context.

use crate::connections::{self, Resolved};
use crate::datum;
use crate::error::{raise, warn, FdwError};
use crate::planner::{table, PlanData};
use crate::quals::{self, Values};
use crate::{catalog, runtime, statement, store};
use alicloud_tables::plan::{Constraint, ScanPlan};
use alicloud_tables::scan::{Cursor, Fetch, ScanData, ScanReport};
use pgrx::{pg_sys, PgList};

/// Everything one execution of a scan keeps.
pub struct ScanState {
    plan: PlanData,
    server: pg_sys::Oid,
    /// The role whose user mapping the scan uses (the owner of its statistics' errors).
    user: pg_sys::Oid,
    resolved: Resolved,
    /// The conditions' expressions, initialised for this execution (executor memory).
    exprs: Vec<*mut pg_sys::ExprState>,
    /// The constraints of the data held (to tell whether a rescan needs new data).
    constraints: Option<Vec<Constraint>>,
    data: Option<ScanData>,
    /// A parameter changed since `data` was fetched.
    stale: bool,
    cursor: Cursor,
    /// Every answer obtained over this execution's fetches, for EXPLAIN ANALYZE.
    pub report: ScanReport,
    /// Fetches made (a rescan with new parameters fetches again).
    pub fetches: u32,
}

unsafe fn scan_state<'a>(node: *mut pg_sys::ForeignScanState) -> Option<&'a mut ScanState> {
    ((*node).fdw_state as *mut ScanState).as_mut()
}

/// The scan state of an executed scan, if it was started (not under plain EXPLAIN).
///
/// # Safety
/// `node` must be a scan node of this wrapper.
pub unsafe fn state_of<'a>(node: *mut pg_sys::ForeignScanState) -> Option<&'a ScanState> {
    scan_state(node).map(|s| &*s)
}

/// The user whose mapping a scan uses: the view owner's for a scan inside a view (the range
/// table entry's `checkAsUser`), else the current user, as PostgreSQL's own FDWs decide.
unsafe fn scan_user(node: *mut pg_sys::ForeignScanState) -> pg_sys::Oid {
    let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let estate = (*node).ss.ps.state;
    let rtindex = (*plan).scan.scanrelid as usize;
    let rte = PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table)
        .get_ptr(rtindex.saturating_sub(1));
    match rte {
        Some(rte) if (*rte).checkAsUser != pg_sys::InvalidOid => (*rte).checkAsUser,
        _ => catalog::current_user(),
    }
}

/// `BeginForeignScan`.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    eflags: i32,
) {
    if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0 {
        return;
    }
    let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let data = PlanData::from_list((*plan).fdw_private);
    let table_oid = (*(*node).ss.ss_currentRelation).rd_id;
    let server = catalog::server(catalog::server_of_table(table_oid));
    let user = scan_user(node);
    let mapping = catalog::mapping(user, server.oid);
    let resolved =
        connections::connection(&server, &mapping, user, catalog::is_superuser(user), || {
            catalog::role_name(user)
        })
        .unwrap_or_else(|e| raise(e));
    let exprs = PgList::<pg_sys::ExprState>::from_pg(pg_sys::ExecInitExprList(
        (*plan).fdw_exprs,
        node as *mut pg_sys::PlanState,
    ))
    .iter_ptr()
    .collect();
    let state = ScanState {
        plan: data,
        server: server.oid,
        user,
        resolved,
        exprs,
        constraints: None,
        data: None,
        stale: false,
        cursor: Cursor::default(),
        report: ScanReport::default(),
        fetches: 0,
    };
    let estate = (*node).ss.ps.state;
    (*node).fdw_state = pgrx::PgMemoryContexts::For((*estate).es_query_cxt)
        .leak_and_drop_on_delete(state)
        .cast();
}

impl ScanState {
    /// The constraints of the plan's conditions, their expressions evaluated now.
    unsafe fn constraints(&self, node: *mut pg_sys::ForeignScanState) -> Vec<Constraint> {
        let econtext = (*node).ss.ps.ps_ExprContext;
        let t = table();
        self.plan
            .conditions
            .iter()
            .filter_map(|c| {
                let key = c.key(t)?;
                let values = match &c.values {
                    Values::Constant(v) => v.clone(),
                    Values::Expression { index, array } => {
                        let expr = *self.exprs.get(*index)?;
                        let old = pg_sys::MemoryContextSwitchTo((*econtext).ecxt_per_tuple_memory);
                        let mut isnull = false;
                        let d = (*expr).evalfunc.expect("an initialised expression")(
                            expr,
                            econtext,
                            &mut isnull,
                        );
                        let values = match (isnull, array) {
                            (true, _) => Vec::new(),
                            (false, true) => quals::datum_texts(d),
                            (false, false) => vec![quals::datum_text(d)],
                        };
                        pg_sys::MemoryContextSwitchTo(old);
                        values
                    }
                };
                Some(Constraint { key, values })
            })
            .collect()
    }

    /// Fetches the rows for the current parameters (unless the data held is for the same ones).
    unsafe fn start(&mut self, node: *mut pg_sys::ForeignScanState) {
        let constraints = self.constraints(node);
        self.stale = false;
        self.cursor.rewind();
        if self.data.is_some() && self.constraints.as_ref() == Some(&constraints) {
            return;
        }
        let plan = ScanPlan::new(&constraints);
        let connection = &self.resolved.connection;
        let snapshot = statement::current();
        let cache = store::cache(self.server, &connection.settings);
        let fetch = Fetch {
            connection,
            snapshot: &snapshot,
            cache: cache.as_ref(),
            progress: None,
        };
        let mut report = ScanReport::default();
        let result = runtime::block_on(fetch.run(&plan, self.plan.needs_account_id(), &mut report))
            .unwrap_or_else(|e| raise(FdwError::Internal(e)));
        store::stats(self.server).record(&store::owner(self.user), &report.records);
        for skipped in &report.skipped {
            warn(&skipped.to_string());
        }
        self.report.extend(report);
        self.fetches += 1;
        let data = result.unwrap_or_else(|error| {
            raise(FdwError::Scan {
                error: Box::new(error),
                secrets: self.resolved.secrets.clone(),
            })
        });
        self.constraints = Some(constraints);
        self.data = Some(data);
    }
}

/// `IterateForeignScan`: the next row in the scan slot, or an empty slot at the end.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    let slot = (*node).ss.ss_ScanTupleSlot;
    if let Some(clear) = (*(*slot).tts_ops).clear {
        clear(slot);
    }
    let Some(state) = scan_state(node) else {
        return slot;
    };
    if state.data.is_none() || state.stale {
        state.start(node);
    }
    let Some(data) = state.data.as_ref() else {
        return slot;
    };
    let Some((region, raw)) = state.cursor.next(data) else {
        return slot;
    };
    let row = datum::Row {
        raw,
        region,
        account_id: data.account_id.as_deref(),
    };
    if let Err(e) = datum::store_row(slot, &state.plan.columns, &row) {
        raise(FdwError::BadValue {
            message: e.to_string(),
        });
    }
    slot
}

/// `ReScanForeignScan`: the same rows again, or new ones when a parameter changed.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn rescan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    let Some(state) = scan_state(node) else {
        return;
    };
    if !(*node).ss.ps.chgParam.is_null() && !state.exprs.is_empty() {
        // The parameters are evaluated at the next row, when they are set; equal ones keep the
        // data held.
        state.stale = true;
    }
    state.cursor.rewind();
}

/// `EndForeignScan`: the answers go now; the state itself goes with the executor's memory.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    if let Some(state) = scan_state(node) {
        state.data = None;
    }
}
