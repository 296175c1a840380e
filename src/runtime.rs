//! The one place the extension blocks on async work: one tokio runtime per backend, and a wait
//! that services query cancel, statement_timeout and termination.
//!
//! A Postgres backend is single-threaded, so the runtime is a current-thread one: futures only run
//! inside [`block_on`], on the backend's own thread, and never call into Postgres.

use pgrx::pg_sys;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How often a wait looks at Postgres' interrupt flag: a cancel or statement_timeout takes effect
/// within about this long.
const INTERRUPT_POLL: Duration = Duration::from_millis(10);

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

/// Runs `fut` to completion on the backend's runtime, servicing query cancel, statement_timeout
/// and termination while it waits: when Postgres flags an interrupt, the wait is left, Postgres
/// processes the interrupt (raising the usual "canceling statement ..." error, which unwinds
/// through here and drops `fut`, closing its connections), and if the interrupt was not one that
/// ends the query, the wait resumes.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, String> {
    let rt = runtime()?;
    let mut fut = std::pin::pin!(fut);
    loop {
        let finished = rt.block_on(async {
            tokio::select! {
                biased;
                out = &mut fut => Some(out),
                _ = async {
                    loop {
                        tokio::time::sleep(INTERRUPT_POLL).await;
                        if interrupt_pending() {
                            break;
                        }
                    }
                } => None,
            }
        });
        match finished {
            Some(out) => return Ok(out),
            None => {
                pgrx::check_for_interrupts!();
            }
        }
    }
}
