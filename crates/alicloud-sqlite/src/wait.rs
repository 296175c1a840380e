//! The one place the extension blocks on async work: the scan runs on the connection's
//! current-thread runtime while a timer looks for an interrupt every [`INTERRUPT_POLL`]; an
//! interrupt drops the scan (closing its HTTP connections) and the statement fails at once.

use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How often a wait looks for an interrupt: Ctrl-C in the shell (or `sqlite3_interrupt` from
/// another thread) ends a query waiting on the API within about this long.
pub const INTERRUPT_POLL: Duration = Duration::from_millis(10);

/// The wait was interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// Runs `fut` to completion on `rt`, unless `interrupted` says so first (it is asked before the
/// start and every [`INTERRUPT_POLL`], on the calling thread).
pub fn block_on<F: Future>(
    rt: &Runtime,
    interrupted: impl Fn() -> bool,
    fut: F,
) -> Result<F::Output, Interrupted> {
    if interrupted() {
        return Err(Interrupted);
    }
    rt.block_on(async {
        tokio::select! {
            biased;
            out = fut => Ok(out),
            () = async {
                loop {
                    tokio::time::sleep(INTERRUPT_POLL).await;
                    if interrupted() {
                        break;
                    }
                }
            } => Err(Interrupted),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn rt() -> Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_finished_future_is_returned() {
        assert_eq!(block_on(&rt(), || false, async { 7 }), Ok(7));
    }

    #[test]
    fn an_interrupt_drops_a_future_that_never_ends() {
        let asked = Cell::new(0);
        let dropped = Cell::new(false);
        struct OnDrop<'a>(&'a Cell<bool>);
        impl Drop for OnDrop<'_> {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let forever = async {
            let _guard = OnDrop(&dropped);
            std::future::pending::<()>().await
        };
        // Interrupted at the third look: the wait ends, the future is dropped.
        let r = block_on(
            &rt(),
            || {
                asked.set(asked.get() + 1);
                asked.get() >= 3
            },
            forever,
        );
        assert_eq!(r, Err(Interrupted));
        assert_eq!(asked.get(), 3);
        assert!(dropped.get());
    }

    #[test]
    fn an_interrupt_before_the_start_runs_nothing() {
        let ran = Cell::new(false);
        let r = block_on(&rt(), || true, async { ran.set(true) });
        assert_eq!(r, Err(Interrupted));
        assert!(!ran.get());
    }
}
