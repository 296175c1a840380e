//! The virtual table module, written against SQLite's C interface: one module per table of the
//! table layer, registered under the table's name. Its `xCreate` is its `xConnect`, so each table
//! is eponymous (`SELECT ... FROM alicloud_action_trail` works as soon as the extension is
//! loaded) and `CREATE VIRTUAL TABLE t USING alicloud_action_trail` makes another name for it.
//!
//! Why not rusqlite's `vtab` module: handing a whole `IN` list to `xFilter` needs the raw
//! `sqlite3_index_info` in `xBestIndex` and the raw argument in `xFilter`, which its wrappers do
//! not give out (and only offer, behind its `modern_sqlite` feature, with bindings that refuse
//! SQLite older than 3.45). So every method is here, and each one catches panics: nothing unwinds
//! into SQLite.
//!
//! Every method runs on the thread of the connection's running statement. Cursors read rows one
//! at a time from the answers held; only the columns the statement uses are converted.

use crate::api;
use crate::errors::Failure;
use crate::index::{self, Given, IndexPlan, Offered};
use crate::state::ConnState;
use crate::value::{self, Cell};
use alicloud_tables::cache::Cache;
use alicloud_tables::plan::ScanPlan;
use alicloud_tables::scan::{Fetch, Next, ScanData, ScanError, ScanReport};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::TableDef;
use alicloud_tables::tables::TABLES;
use alicloud_tables::wait::{self, Interrupted, OnInterrupt};
use rusqlite::ffi;
use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

/// Runs one method body, turning a panic into a failure.
fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(Failure::panicked(what, &*payload)),
    }
}

/// A method's result code, with the failure's message, after the table's name, set on the table.
///
/// # Safety
/// `vtab` must be a table of this module.
unsafe fn report(vtab: *mut ffi::sqlite3_vtab, r: Result<(), Failure>) -> c_int {
    match r {
        Ok(()) => ffi::SQLITE_OK,
        Err(f) => {
            // SAFETY: `vtab` is a table of this module (the caller's); its message slot is SQLite's.
            unsafe {
                let name = (*(vtab as *const Table)).def.name;
                if !(*vtab).zErrMsg.is_null() {
                    ffi::sqlite3_free((*vtab).zErrMsg.cast());
                }
                (*vtab).zErrMsg = api::sqlite_string(&format!("{name}: {}", f.message));
            }
            f.code
        }
    }
}

/// What each registered module carries: the connection's state and its table.
struct Aux {
    state: Arc<ConnState>,
    table: &'static TableDef,
}

/// One table instance (`sqlite3_vtab` first, as SQLite requires).
#[repr(C)]
struct Table {
    base: ffi::sqlite3_vtab,
    db: *mut ffi::sqlite3,
    state: Arc<ConnState>,
    def: &'static TableDef,
}

/// The rows of one `xFilter` and the current one.
struct Scan {
    plan: IndexPlan,
    data: ScanData,
    /// The current row's cells (`None` for a column the statement does not use, which SQLite
    /// never asks for); `None` at the end.
    row: Option<Vec<Option<Cell>>>,
    rowid: i64,
}

/// What moving to the next row needs.
enum Step {
    /// The row is there (or the end).
    Done,
    /// A listing's next page first.
    More,
}

impl Scan {
    /// Moves to the next row held, converting the columns used.
    fn step(&mut self, def: &TableDef) -> Result<Step, Failure> {
        let plan = &self.plan;
        match self.data.next_row() {
            Next::Row(row) => {
                let object = row.object();
                let cells = def
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| plan.uses(i).then(|| Cell::from(row.value(&object, c))))
                    .collect();
                self.row = Some(cells);
                self.rowid += 1;
                Ok(Step::Done)
            }
            Next::End => {
                self.row = None;
                Ok(Step::Done)
            }
            Next::More => Ok(Step::More),
            Next::OutOfOrder { region } => Err(Failure::error(format!(
                "region {region} listed the rows of {} out of their order",
                def.name
            ))),
        }
    }

    /// Column `i` of the current row.
    fn cell(&self, i: usize) -> &Cell {
        const NULL: &Cell = &Cell::Null;
        self.row
            .as_ref()
            .and_then(|cells| cells.get(i))
            .and_then(Option::as_ref)
            .unwrap_or(NULL)
    }
}

/// One cursor (`sqlite3_vtab_cursor` first, as SQLite requires). It holds the statement's
/// snapshot while it is open.
#[repr(C)]
struct Cursor {
    base: ffi::sqlite3_vtab_cursor,
    db: *mut ffi::sqlite3,
    state: Arc<ConnState>,
    def: &'static TableDef,
    snapshot: Arc<Snapshot>,
    scan: Option<Scan>,
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.state.close_cursor();
    }
}

/// A filter argument as the table layer reads it (the text copied).
///
/// # Safety
/// `v` must be a live `sqlite3_value`.
unsafe fn given(v: *mut ffi::sqlite3_value) -> Given {
    // SAFETY: the caller's: a live value, read with SQLite's accessors.
    unsafe {
        match ffi::sqlite3_value_type(v) {
            ffi::SQLITE_NULL => Given::Null,
            ffi::SQLITE_TEXT => {
                let p = ffi::sqlite3_value_text(v);
                let n = ffi::sqlite3_value_bytes(v);
                if p.is_null() || n < 0 {
                    return Given::Other;
                }
                match std::str::from_utf8(std::slice::from_raw_parts(p, n as usize)) {
                    Ok(s) => Given::Text(s.to_string()),
                    Err(_) => Given::Other,
                }
            }
            _ => Given::Other,
        }
    }
}

impl Cursor {
    /// `xFilter`: fetches the rows for the arguments (through the statement's snapshot, the
    /// shared cache, else the API), waiting with an eye on interrupts.
    ///
    /// # Safety
    /// `idx_str` is null or the index string of [`x_best_index`]; `args` are the live arguments.
    unsafe fn filter(
        &mut self,
        idx_str: *const c_char,
        args: &[*mut ffi::sqlite3_value],
    ) -> Result<(), Failure> {
        self.scan = None;
        let plan = if idx_str.is_null() {
            IndexPlan {
                columns: u64::MAX,
                args: Vec::new(),
            }
        } else {
            // SAFETY: a non-null index string is the one x_best_index made, NUL-terminated.
            let text = unsafe { CStr::from_ptr(idx_str) }.to_str().ok();
            text.and_then(IndexPlan::decode)
                .ok_or_else(|| Failure::error("unreadable index string"))?
        };
        if plan.args.len() != args.len() {
            return Err(Failure::error(format!(
                "{} filter arguments for an index string of {}",
                args.len(),
                plan.args.len()
            )));
        }
        let mut constraints = Vec::new();
        for (arg, &v) in plan.args.iter().zip(args) {
            let values = if arg.list {
                // SAFETY: `v` is a live argument of this xFilter call (the caller's).
                unsafe { api::in_values(v, |item| given(item)) }.map_err(|rc| Failure {
                    code: rc,
                    message: "could not read the values of an IN list".to_string(),
                })?
            } else {
                // SAFETY: as above.
                vec![unsafe { given(v) }]
            };
            constraints.extend(index::constraint(self.def, *arg, values));
        }
        let scan_plan = ScanPlan::new(self.def, &constraints);
        let needs_account_id = self
            .def
            .needs_account_id((0..self.def.columns.len()).filter(|&i| plan.uses(i)));
        let data = self.fetch(|fetch, report| {
            self.wait(fetch.start(self.def, &scan_plan, needs_account_id, report))
        })?;
        let mut scan = Scan {
            plan,
            data,
            row: None,
            rowid: 0,
        };
        self.advance(&mut scan)?;
        self.scan = Some(scan);
        Ok(())
    }

    /// Runs `fut` on the connection's runtime until it ends or the statement is interrupted.
    fn wait<F: std::future::Future>(&self, fut: F) -> Result<F::Output, Failure> {
        let runtime = self.state.runtime()?;
        let db = self.db;
        // SAFETY: `db` is this statement's connection, and the wait runs on its thread.
        wait::block_on(
            runtime,
            || unsafe { api::is_interrupted(db) },
            OnInterrupt::Fail,
            fut,
        )
        .map_err(|Interrupted| Failure::interrupted())
    }

    /// Logs the regions a scan step skipped (`sqlite3_log`, as a warning).
    fn warn(&self, report: &ScanReport, secrets: &[String]) {
        for skipped in &report.skipped {
            let line =
                alicloud_tables::wording::redact(&format!("{}: {skipped}", self.def.name), secrets);
            api::log(ffi::SQLITE_WARNING, &line);
        }
        for note in &report.notes {
            let line =
                alicloud_tables::wording::redact(&format!("{}: {note}", self.def.name), secrets);
            api::log(ffi::SQLITE_WARNING, &line);
        }
    }

    /// One step of the scan (`run`) with this connection's tiers: the regions it skipped are
    /// logged, and its error is worded for the user.
    fn fetch<T>(
        &self,
        run: impl FnOnce(&Fetch<'_>, &mut ScanReport) -> Result<Result<T, ScanError>, Failure>,
    ) -> Result<T, Failure> {
        let connection = self.state.connected()?;
        let cache = Cache::for_user(&connection.settings);
        let fetch = Fetch {
            connection: &connection,
            snapshot: &self.snapshot,
            cache: cache.as_ref(),
            progress: None,
        };
        let mut report = ScanReport::default();
        let outcome = run(&fetch, &mut report);
        let secrets = connection.secrets();
        self.warn(&report, &secrets);
        outcome?.map_err(|e| Failure::error(crate::errors::scan_message(&e, &secrets)))
    }

    /// Moves `scan` to its next row, fetching a listing's next page when the rows reach it.
    fn advance(&self, scan: &mut Scan) -> Result<(), Failure> {
        while let Step::More = scan.step(self.def)? {
            self.fetch(|fetch, report| self.wait(fetch.more(&mut scan.data, report)))?;
        }
        Ok(())
    }
}

unsafe extern "C" fn x_connect(
    db: *mut ffi::sqlite3,
    aux: *mut c_void,
    argc: c_int,
    _argv: *const *const c_char,
    pp_vtab: *mut *mut ffi::sqlite3_vtab,
    pz_err: *mut *mut c_char,
) -> c_int {
    let r = guard("xConnect", || {
        // SAFETY: `aux` is the `Aux` registered with this module, alive while the module is.
        let aux = unsafe { &*(aux as *const Aux) };
        if argc > 3 {
            return Err(Failure::error(format!(
                "{}: the table takes no arguments; configure it with alicloud_configure('{{...}}')",
                aux.table.name
            )));
        }
        let sql = CString::new(value::schema(aux.table)).map_err(|_| {
            Failure::error(format!("{}: a column name holds a NUL", aux.table.name))
        })?;
        // SAFETY: the connection being connected, and a NUL-terminated statement.
        let rc = unsafe { ffi::sqlite3_declare_vtab(db, sql.as_ptr()) };
        if rc != ffi::SQLITE_OK {
            return Err(Failure {
                code: rc,
                message: format!("{}: could not declare the table's columns", aux.table.name),
            });
        }
        let table = Box::new(Table {
            base: ffi::sqlite3_vtab {
                pModule: ptr::null(),
                nRef: 0,
                zErrMsg: ptr::null_mut(),
            },
            db,
            state: aux.state.clone(),
            def: aux.table,
        });
        // SAFETY: SQLite's out-parameter for the new table.
        unsafe { *pp_vtab = Box::into_raw(table).cast() };
        Ok(())
    });
    match r {
        Ok(()) => ffi::SQLITE_OK,
        Err(f) => {
            if !pz_err.is_null() {
                // SAFETY: SQLite's out-parameter for the message, checked for null.
                unsafe { *pz_err = api::sqlite_string(&f.message) };
            }
            f.code
        }
    }
}

unsafe extern "C" fn x_disconnect(vtab: *mut ffi::sqlite3_vtab) -> c_int {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if vtab.is_null() {
            return;
        }
        // SAFETY: made by `x_connect`; SQLite calls this once, last.
        let table = unsafe { Box::from_raw(vtab as *mut Table) };
        if !table.base.zErrMsg.is_null() {
            // SAFETY: a message SQLite allocated (or this module, with sqlite3_mprintf's allocator).
            unsafe { ffi::sqlite3_free(table.base.zErrMsg.cast()) };
        }
    }));
    ffi::SQLITE_OK
}

/// Whether constraint `i` compares under the BINARY collation.
unsafe fn is_binary(info: *mut ffi::sqlite3_index_info, i: c_int) -> bool {
    // SAFETY: the caller's: `info` is the index info of this xBestIndex call.
    let name = unsafe { ffi::sqlite3_vtab_collation(info, i) };
    !name.is_null()
        // SAFETY: a collation name SQLite returned, checked for null.
        && unsafe { CStr::from_ptr(name) }
            .to_bytes()
            .eq_ignore_ascii_case(b"BINARY")
}

unsafe extern "C" fn x_best_index(
    vtab: *mut ffi::sqlite3_vtab,
    info: *mut ffi::sqlite3_index_info,
) -> c_int {
    // SAFETY: SQLite calls xBestIndex with a table of this module and its index info, whose arrays hold nConstraint entries.
    let r = guard("xBestIndex", || unsafe {
        let table = &*(vtab as *const Table);
        let n = usize::try_from((*info).nConstraint).unwrap_or(0);
        let constraints: &[ffi::sqlite3_index_constraint] = if n == 0 {
            &[]
        } else {
            std::slice::from_raw_parts((*info).aConstraint, n)
        };
        let lists = api::in_lists_supported();
        let offered: Vec<Offered> = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let usable = c.usable != 0;
                let equality = usable && c.op == index::OP_EQ;
                Offered {
                    column: c.iColumn,
                    op: c.op,
                    usable,
                    binary: usable && is_binary(info, i as c_int),
                    in_list: equality && lists && api::vtab_in(info, i as c_int, -1),
                }
            })
            .collect();
        let mut choice = index::choose(table.def, &offered, (*info).colUsed);
        for (k, &i) in choice.used.iter().enumerate() {
            // Ask for the whole list; if SQLite declines, it sends the values one at a time.
            if choice.plan.args[k].list && !api::vtab_in(info, i as c_int, 1) {
                choice.plan.args[k].list = false;
            }
            let usage = &mut *(*info).aConstraintUsage.add(i);
            usage.argvIndex = k as c_int + 1;
            usage.omit = 0;
        }
        let idx_str = api::sqlite_string(&choice.plan.encode());
        if idx_str.is_null() {
            return Err(Failure {
                code: ffi::SQLITE_NOMEM,
                message: "out of memory".into(),
            });
        }
        (*info).idxNum = 0;
        (*info).idxStr = idx_str;
        (*info).needToFreeIdxStr = 1;
        (*info).estimatedCost = choice.cost;
        (*info).estimatedRows = choice.rows;
        Ok(())
    });
    // SAFETY: `vtab` is a table of this module.
    unsafe { report(vtab, r) }
}

unsafe extern "C" fn x_open(
    vtab: *mut ffi::sqlite3_vtab,
    pp_cursor: *mut *mut ffi::sqlite3_vtab_cursor,
) -> c_int {
    let r = guard("xOpen", || {
        // SAFETY: made by `x_connect`.
        let table = unsafe { &*(vtab as *const Table) };
        let cursor = Box::new(Cursor {
            base: ffi::sqlite3_vtab_cursor {
                pVtab: ptr::null_mut(),
            },
            db: table.db,
            state: table.state.clone(),
            def: table.def,
            snapshot: table.state.open_cursor(),
            scan: None,
        });
        // SAFETY: SQLite's out-parameter for the new cursor.
        unsafe { *pp_cursor = Box::into_raw(cursor).cast() };
        Ok(())
    });
    // SAFETY: `vtab` is a table of this module.
    unsafe { report(vtab, r) }
}

unsafe extern "C" fn x_close(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: made by `x_open`; SQLite calls this once, last.
        drop(unsafe { Box::from_raw(cursor as *mut Cursor) });
    }));
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_filter(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    _idx_num: c_int,
    idx_str: *const c_char,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) -> c_int {
    // SAFETY: SQLite calls xFilter with a cursor of this module and argc live arguments.
    let r = guard("xFilter", || unsafe {
        let c = &mut *(cursor as *mut Cursor);
        let n = usize::try_from(argc).unwrap_or(0);
        let args: &[*mut ffi::sqlite3_value] = if n == 0 || argv.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts(argv, n)
        };
        c.filter(idx_str, args)
    });
    // SAFETY: a cursor of this module belongs to a table of it.
    unsafe { report((*cursor).pVtab, r) }
}

unsafe extern "C" fn x_next(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    let r = guard("xNext", || {
        // SAFETY: made by `x_open`.
        let c = unsafe { &mut *(cursor as *mut Cursor) };
        let Some(mut scan) = c.scan.take() else {
            return Ok(());
        };
        let moved = c.advance(&mut scan);
        c.scan = Some(scan);
        moved
    });
    // SAFETY: as above.
    unsafe { report((*cursor).pVtab, r) }
}

unsafe extern "C" fn x_eof(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: made by `x_open`.
        let c = unsafe { &*(cursor as *const Cursor) };
        c.scan.as_ref().is_none_or(|s| s.row.is_none())
    }))
    .map_or(1, c_int::from)
}

unsafe extern "C" fn x_column(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    ctx: *mut ffi::sqlite3_context,
    i: c_int,
) -> c_int {
    // SAFETY: SQLite calls xColumn with a cursor of this module and its result context.
    let r = guard("xColumn", || unsafe {
        let c = &*(cursor as *const Cursor);
        let cell = match (&c.scan, usize::try_from(i)) {
            (Some(scan), Ok(i)) => scan.cell(i),
            _ => &Cell::Null,
        };
        match cell {
            Cell::Null => ffi::sqlite3_result_null(ctx),
            Cell::Integer(n) => ffi::sqlite3_result_int64(ctx, *n),
            Cell::Text(t) => ffi::sqlite3_result_text64(
                ctx,
                t.as_ptr().cast(),
                t.len() as u64,
                ffi::SQLITE_TRANSIENT(),
                ffi::SQLITE_UTF8 as u8,
            ),
        }
        Ok(())
    });
    // SAFETY: a cursor of this module belongs to a table of it.
    unsafe { report((*cursor).pVtab, r) }
}

unsafe extern "C" fn x_rowid(cursor: *mut ffi::sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    // SAFETY: SQLite calls xRowid with a cursor of this module and an out-parameter.
    let r = guard("xRowid", || unsafe {
        let c = &*(cursor as *const Cursor);
        *rowid = c.scan.as_ref().map_or(0, |s| s.rowid);
        Ok(())
    });
    // SAFETY: a cursor of this module belongs to a table of it.
    unsafe { report((*cursor).pVtab, r) }
}

/// The module: read-only, eponymous (`xCreate` is `xConnect`).
static MODULE: ffi::sqlite3_module = ffi::sqlite3_module {
    iVersion: 1,
    xCreate: Some(x_connect),
    xConnect: Some(x_connect),
    xBestIndex: Some(x_best_index),
    xDisconnect: Some(x_disconnect),
    xDestroy: Some(x_disconnect),
    xOpen: Some(x_open),
    xClose: Some(x_close),
    xFilter: Some(x_filter),
    xNext: Some(x_next),
    xEof: Some(x_eof),
    xColumn: Some(x_column),
    xRowid: Some(x_rowid),
    xUpdate: None,
    xBegin: None,
    xSync: None,
    xCommit: None,
    xRollback: None,
    xFindFunction: None,
    xRename: None,
    xSavepoint: None,
    xRelease: None,
    xRollbackTo: None,
    xShadowName: None,
};

unsafe extern "C" fn drop_aux(aux: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the `Aux` boxed by `register`; SQLite calls this once.
        drop(unsafe { Box::from_raw(aux as *mut Aux) });
    }));
}

/// Registers a module for every table on connection `db`.
///
/// # Safety
/// `db` must be the connection the extension is being loaded into.
pub unsafe fn register(db: *mut ffi::sqlite3, state: &Arc<ConnState>) -> Result<(), String> {
    for &table in TABLES {
        let name = CString::new(table.name).map_err(|e| e.to_string())?;
        let aux = Box::into_raw(Box::new(Aux {
            state: state.clone(),
            table,
        }));
        // On failure SQLite calls `drop_aux` itself.
        // SAFETY: the connection being initialised; the module is static and the aux pointer is freed by drop_aux.
        let rc = unsafe {
            ffi::sqlite3_create_module_v2(db, name.as_ptr(), &MODULE, aux.cast(), Some(drop_aux))
        };
        if rc != ffi::SQLITE_OK {
            return Err(format!(
                "could not register the module {} (result code {rc})",
                table.name
            ));
        }
    }
    Ok(())
}
