//! The statement snapshot: every scan of one statement shares one [`Snapshot`], so a query that
//! reads the table several times (CTEs, self-joins, subqueries, functions it calls) makes each
//! request once and sees one consistent set of rows. A statement is told by its transaction and
//! its start time; the snapshot is dropped when the next statement starts or the transaction ends.

use alicloud_tables::snapshot::Snapshot;
use pgrx::pg_sys;
use std::cell::RefCell;
use std::sync::Arc;

/// (local transaction id, statement start time).
type StatementId = (u32, i64);

thread_local! {
    static CURRENT: RefCell<Option<(StatementId, Arc<Snapshot>)>> = const { RefCell::new(None) };
}

fn statement_id() -> StatementId {
    // SAFETY: backend globals read on the backend's thread; MyProc is set for every backend that
    // runs queries.
    unsafe {
        let lxid = if pg_sys::MyProc.is_null() {
            0
        } else {
            (*pg_sys::MyProc).lxid
        };
        (lxid, pg_sys::GetCurrentStatementStartTimestamp())
    }
}

/// The snapshot of the statement running now.
pub fn current() -> Arc<Snapshot> {
    let id = statement_id();
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        match c.as_ref() {
            Some((held, s)) if *held == id => s.clone(),
            _ => {
                let s = Arc::new(Snapshot::new());
                *c = Some((id, s.clone()));
                s
            }
        }
    })
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn at_transaction_end(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    if matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PARALLEL_COMMIT
            | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT
            | pg_sys::XactEvent::XACT_EVENT_PREPARE
    ) {
        // `try_with`: the thread-local may already be gone when the backend exits.
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

/// Drops the snapshot whenever a transaction ends. Called once, when the library is loaded.
pub fn register_transaction_callback() {
    // SAFETY: registering a plain function once per backend, from _PG_init.
    unsafe { pg_sys::RegisterXactCallback(Some(at_transaction_end), std::ptr::null_mut()) }
}
