//! The one place the extension blocks on async work: one tokio runtime per backend, and the table
//! layer's wait ([`alicloud_tables::wait`]) with PostgreSQL's interrupt handling.
//!
//! A Postgres backend must not be called into from other threads, so the scan runs on a
//! current-thread runtime: its futures only run inside [`block_on`], on the backend's own thread.
//! The API calls they make run on the API client's own threads (which never call into Postgres
//! and block its signals); the backend's thread waits for their answers here.

use alicloud_tables::wait::{self, OnInterrupt};
use pgrx::pg_sys;
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

fn runtime() -> Result<&'static Runtime, String> {
    RUNTIME
        .get_or_init(alicloud_tables::connect::runtime)
        .as_ref()
        .map_err(Clone::clone)
}

fn interrupt_pending() -> bool {
    // SAFETY: a sig_atomic_t flag that signal handlers set; a volatile read is how C reads it too.
    unsafe { std::ptr::read_volatile(std::ptr::addr_of!(pg_sys::InterruptPending)) != 0 }
}

fn service_interrupts() {
    pgrx::check_for_interrupts!();
}

/// Runs `fut` to completion on the backend's runtime, servicing query cancel, statement_timeout
/// and termination while it waits: when Postgres flags an interrupt, Postgres processes it
/// (raising the usual "canceling statement ..." error, which unwinds through here and drops
/// `fut`, closing its connections), and if the interrupt was not one that ends the query, the
/// wait resumes.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, String> {
    let rt = runtime()?;
    wait::block_on(
        rt,
        interrupt_pending,
        OnInterrupt::Service(service_interrupts),
        fut,
    )
    .map_err(|_| "interrupted".to_string())
}
