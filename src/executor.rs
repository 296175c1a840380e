//! The scan: `BeginForeignScan` resolves the table and the connection, `IterateForeignScan`
//! starts the scan on its first call (evaluating the conditions' parameters then) and returns one
//! row per call, fetching a listing's next page when the rows reach it; `ReScan` replays the rows
//! or, when a parameter changed, scans again (usually from the statement snapshot); and
//! `EndForeignScan` lets the answers go.
//!
//! The scan's state lives in the executor's memory context and is dropped with it (also when the
//! query fails), never in the plan. Only the answers' text is held; each row is converted when it
//! is returned, into the per-tuple memory context.

use crate::datum::ConnectionMemo;
use crate::error::{raise, warn, FdwError};
use crate::planner::PlanData;
use crate::quals::{self, Constant};
use crate::{catalog, compat, connections, datum, outcomes, runtime, statement, store};
use alicloud_tables::cache::Cache;
use alicloud_tables::connect::Connection;
use alicloud_tables::plan::{Constraint, Operand, ScanPlan};
use alicloud_tables::scan::{
    AccountOutcome, ErrorRecord, Fetch, Next, ScanData, ScanError, ScanReport,
};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::TableDef;
use pgrx::{pg_sys, PgList, PgMemoryContexts};

/// Everything one execution of a scan keeps.
pub struct ScanState {
    plan: PlanData,
    table: &'static TableDef,
    server: pg_sys::Oid,
    /// The role whose user mapping the scan uses (the owner of its statistics' errors).
    user: pg_sys::Oid,
    connection: Connection,
    /// The conditions' expressions, initialised for this execution (executor memory).
    exprs: Vec<*mut pg_sys::ExprState>,
    /// The constraints of the data held (to tell whether a rescan needs new data).
    constraints: Option<Vec<Constraint>>,
    data: Option<ScanData>,
    /// A parameter changed since `data` was fetched.
    stale: bool,
    /// Every answer obtained over this execution's fetches, for EXPLAIN ANALYZE.
    pub report: ScanReport,
    /// Scans started (a rescan with new parameters starts one again).
    pub fetches: u32,
    /// The connection columns' datums, in the query's memory context.
    memo: ConnectionMemo,
}

/// The scan state of a scan node.
///
/// # Safety
/// `node` must be a scan node of this wrapper.
unsafe fn scan_state<'a>(node: *mut pg_sys::ForeignScanState) -> Option<&'a mut ScanState> {
    // SAFETY: the caller's; begin_foreign_scan set `fdw_state` to a ScanState (or left it null
    // under plain EXPLAIN).
    unsafe { ((*node).fdw_state as *mut ScanState).as_mut() }
}

/// The scan state of an executed scan, if it was started (not under plain EXPLAIN).
///
/// # Safety
/// `node` must be a scan node of this wrapper.
pub unsafe fn state_of<'a>(node: *mut pg_sys::ForeignScanState) -> Option<&'a ScanState> {
    // SAFETY: the caller's.
    unsafe { scan_state(node).map(|s| &*s) }
}

// SAFETY (the callbacks below): PostgreSQL calls them on the backend's thread with the scan's
// node, its plan and its executor state, alive for the call.

/// The user whose mapping a scan uses: the view owner's for a scan inside a view (the range
/// table entry's `checkAsUser`), else the current user, as PostgreSQL's own FDWs decide.
///
/// # Safety
/// `node` must be a scan node being executed.
pub unsafe fn scan_user(node: *mut pg_sys::ForeignScanState) -> pg_sys::Oid {
    // SAFETY: the caller's; the relation's range table entry is at the plan's scanrelid.
    let check_as = unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let estate = (*node).ss.ps.state;
        let rtindex = (*plan).scan.scanrelid as usize;
        PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table)
            .get_ptr(rtindex.saturating_sub(1))
            .map(|rte| compat::check_as_user(compat::estate_perminfos(estate), rte))
    };
    match check_as {
        Some(user) if user != pg_sys::InvalidOid => user,
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
    // Until this scan starts, no account is covered (a failure before then leaves none).
    outcomes::forget();
    // SAFETY: see above: the plan's data, the scanned relation.
    let (data, table_oid) = unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        (
            PlanData::from_list((*plan).fdw_private),
            (*(*node).ss.ss_currentRelation).rd_id,
        )
    };
    let table = data.table();
    let server = catalog::server(catalog::server_of_table(table_oid));
    // SAFETY: see above.
    let user = unsafe { scan_user(node) };
    let mapping = catalog::mapping(user, server.oid);
    let superuser = catalog::is_superuser(user);
    let mut connection = connections::connection(&server, &mapping, user, superuser, || {
        catalog::role_name(user)
    })
    .unwrap_or_else(|e| raise(e));
    // Member servers are matched at every execution: a server created since joins.
    if let Some(members) = &connection.settings.member_servers {
        let servers = connections::member_servers(&server, members, user, superuser)
            .unwrap_or_else(|e| raise(e));
        connection = connection.with_servers(servers);
    }
    // SAFETY: initialises the plan's expressions for this node, in the executor's memory.
    let exprs = unsafe {
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        PgList::<pg_sys::ExprState>::from_pg(pg_sys::ExecInitExprList(
            (*plan).fdw_exprs,
            node as *mut pg_sys::PlanState,
        ))
        .iter_ptr()
        .collect()
    };
    let state = ScanState {
        plan: data,
        table,
        server: server.oid,
        user,
        connection,
        exprs,
        constraints: None,
        data: None,
        stale: false,
        report: ScanReport::default(),
        fetches: 0,
        // SAFETY: the query's context lives as long as the state (which lives in it).
        memo: ConnectionMemo::new(unsafe { (*(*node).ss.ps.state).es_query_cxt }),
    };
    // SAFETY: the state lives in the executor's query context and is dropped with it.
    unsafe {
        let estate = (*node).ss.ps.state;
        (*node).fdw_state = PgMemoryContexts::For((*estate).es_query_cxt)
            .leak_and_drop_on_delete(state)
            .cast();
    }
}

impl ScanState {
    /// The value of the plan's expression `index`, evaluated now, in the per-tuple memory
    /// context (`None`: NULL, which nothing equals).
    ///
    /// # Safety
    /// `node` must be the scan node this state belongs to, being executed.
    unsafe fn eval(
        &self,
        node: *mut pg_sys::ForeignScanState,
        index: usize,
        array: bool,
    ) -> Option<Vec<Operand>> {
        let expr = *self.exprs.get(index)?;
        // SAFETY: the caller's; the expression state belongs to this node, and its result is
        // read before the per-tuple context is reset.
        unsafe {
            let econtext = (*node).ss.ps.ps_ExprContext;
            PgMemoryContexts::For((*econtext).ecxt_per_tuple_memory).switch_to(|_| {
                let mut isnull = false;
                let evalfunc = (*expr).evalfunc?;
                let d = evalfunc(expr, econtext, &mut isnull);
                let values = if isnull {
                    Vec::new()
                } else {
                    let ty = pg_sys::exprType((*expr).expr as *mut pg_sys::Node);
                    quals::datum_values(ty, d, array)
                };
                Some(values.iter().map(Constant::operand).collect())
            })
        }
    }

    /// The constraints of the plan's conditions, their expressions evaluated now.
    ///
    /// # Safety
    /// As [`ScanState::eval`].
    unsafe fn constraints(&self, node: *mut pg_sys::ForeignScanState) -> Vec<Constraint> {
        quals::constraints(&self.plan.conditions, |index, array| {
            // SAFETY: the caller's.
            unsafe { self.eval(node, index, array) }
        })
    }

    fn fetch<'a>(&'a self, snapshot: &'a Snapshot, cache: Option<&'a Cache>) -> Fetch<'a> {
        Fetch {
            connection: &self.connection,
            snapshot,
            cache,
            progress: None,
        }
    }

    /// Records what a step of the scan obtained, and warns of skipped regions.
    fn account(&mut self, report: ScanReport) {
        store::stats(self.server).record(&store::owner(self.user), &report.records);
        if !report.skipped.is_empty() || !report.notes.is_empty() {
            // A skipped member's reason is free text: scrubbed like an error.
            let secrets = self.connection.secrets();
            let texts = report.skipped.iter().map(ToString::to_string);
            for text in texts.chain(report.notes.iter().cloned()) {
                warn(&alicloud_tables::wording::redact(&text, &secrets));
            }
        }
        self.report.extend(report);
    }

    /// Keeps the accounts this scan covered and how each ended, for
    /// `alicloud_fdw_scan_accounts()`: the members' outcomes on a server with members, else the
    /// server's one account.
    fn remember_accounts(&self, result: &Result<ScanData, ScanError>, report: &ScanReport) {
        let settings = &self.connection.settings;
        let accounts = if settings.members.is_some() || settings.member_servers.is_some() {
            report.accounts.clone()
        } else {
            let secrets = self.connection.secrets();
            vec![AccountOutcome {
                member: self.connection.name.clone(),
                account_id: result.as_ref().ok().and_then(|d| d.account_id.clone()),
                error: result.as_ref().err().map(|e| {
                    (
                        ErrorRecord::new(&e.error, &secrets),
                        e.error.region().map(str::to_string),
                    )
                }),
                ignored_regions: report.skipped.iter().map(|s| s.region.clone()).collect(),
            }]
        };
        outcomes::remember(&self.connection.name, self.user, accounts);
    }

    fn fail(&self, error: ScanError) -> ! {
        raise(FdwError::Scan {
            error: Box::new(error),
            secrets: self.connection.secrets(),
        })
    }

    /// Starts the scan for the current parameters (unless the data held is for the same ones
    /// and can be read again).
    ///
    /// # Safety
    /// As [`ScanState::eval`].
    unsafe fn start(&mut self, node: *mut pg_sys::ForeignScanState) {
        // SAFETY: the caller's.
        let constraints = unsafe { self.constraints(node) };
        self.stale = false;
        if self.constraints.as_ref() == Some(&constraints)
            && self.data.as_mut().is_some_and(ScanData::rewind)
        {
            return;
        }
        self.data = None;
        let plan = ScanPlan::new(self.table, &constraints);
        let needs_account_id = self
            .table
            .needs_account_id(self.plan.columns.iter().map(|r| r.column));
        let snapshot = statement::current();
        let cache = store::cache(self.server, &self.connection.settings);
        let mut report = ScanReport::default();
        let result = runtime::block_on(self.fetch(&snapshot, Some(&cache)).start(
            self.table,
            &plan,
            needs_account_id,
            &mut report,
        ))
        .unwrap_or_else(|e| raise(FdwError::Internal(e)));
        self.remember_accounts(&result, &report);
        self.account(report);
        self.fetches += 1;
        let mut data = result.unwrap_or_else(|e| self.fail(e));
        data.set_ordered(self.plan.ordered);
        self.constraints = Some(constraints);
        self.data = Some(data);
    }

    /// Fetches the page the rows wait for.
    fn more(&mut self) {
        let Some(mut data) = self.data.take() else {
            return;
        };
        let snapshot = statement::current();
        let cache = store::cache(self.server, &self.connection.settings);
        let mut report = ScanReport::default();
        let result = runtime::block_on(
            self.fetch(&snapshot, Some(&cache))
                .more(&mut data, &mut report),
        )
        .unwrap_or_else(|e| raise(FdwError::Internal(e)));
        self.account(report);
        if let Err(e) = result {
            self.fail(e);
        }
        self.data = Some(data);
    }
}

/// `IterateForeignScan`: the next row in the scan slot, or an empty slot at the end.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: see above: the scan's slot and state.
    let (slot, state) = unsafe {
        let slot = (*node).ss.ss_ScanTupleSlot;
        if let Some(clear) = (*(*slot).tts_ops).clear {
            clear(slot);
        }
        (slot, scan_state(node))
    };
    let Some(state) = state else {
        return slot;
    };
    if state.data.is_none() || state.stale {
        // SAFETY: see above.
        unsafe { state.start(node) };
    }
    loop {
        let table = state.table;
        let Some(data) = state.data.as_mut() else {
            return slot;
        };
        match data.next_row() {
            Next::Row(row) => {
                let memo = &mut state.memo;
                // SAFETY: the scan's cleared slot, in the per-tuple memory context; the memo's
                // context is the query's, which outlives the rows.
                let stored =
                    unsafe { datum::store_row(slot, table, &state.plan.columns, &row, memo) };
                if let Err(e) = stored {
                    raise(FdwError::BadValue {
                        message: e.to_string(),
                    });
                }
                return slot;
            }
            Next::End => return slot,
            Next::More => state.more(),
            Next::OutOfOrder { region } => raise(FdwError::OutOfOrder {
                table: table.name,
                region,
            }),
        }
    }
}

/// `ReScanForeignScan`: the same rows again, or new ones when a parameter changed.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn rescan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    // SAFETY: see above.
    let Some(state) = (unsafe { scan_state(node) }) else {
        return;
    };
    // The parameters are evaluated at the next row, when they are set; equal ones keep the data
    // held, read again from the start when it still holds every page.
    state.stale = true;
}

/// `EndForeignScan`: the answers go now; the state itself goes with the executor's memory.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    // SAFETY: see above.
    if let Some(state) = unsafe { scan_state(node) } {
        state.data = None;
    }
}
