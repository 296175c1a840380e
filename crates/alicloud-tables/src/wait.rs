//! The one way a front end blocks on async work: the future runs on a current-thread runtime
//! while a timer looks for an interrupt every [`INTERRUPT_POLL`]. What an interrupt does is the
//! front end's: PostgreSQL services it (cancel and `statement_timeout` then end the query by
//! unwinding, which drops the future) and resumes otherwise; SQLite fails the statement.

use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How often a wait looks for an interrupt: a cancel ends a query waiting on the API within about
/// this long.
pub const INTERRUPT_POLL: Duration = Duration::from_millis(10);

/// The wait was interrupted (and the future dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// What to do when `pending` says an interrupt is there.
#[derive(Clone, Copy)]
pub enum OnInterrupt {
    /// Drop the future and return [`Interrupted`].
    Fail,
    /// Call the function (which may unwind, ending the wait and dropping the future), then go on
    /// waiting.
    Service(fn()),
}

/// Runs `fut` to completion on `rt`, looking at `pending` before the start and every
/// [`INTERRUPT_POLL`], on the calling thread.
pub fn block_on<F: Future>(
    rt: &Runtime,
    pending: impl Fn() -> bool,
    on: OnInterrupt,
    fut: F,
) -> Result<F::Output, Interrupted> {
    let mut fut = std::pin::pin!(fut);
    let mut interrupted = pending();
    loop {
        if interrupted {
            match on {
                OnInterrupt::Fail => return Err(Interrupted),
                OnInterrupt::Service(service) => service(),
            }
        }
        let finished = rt.block_on(async {
            tokio::select! {
                biased;
                out = &mut fut => Some(out),
                () = async {
                    loop {
                        tokio::time::sleep(INTERRUPT_POLL).await;
                        if pending() {
                            break;
                        }
                    }
                } => None,
            }
        });
        match finished {
            Some(out) => return Ok(out),
            None => interrupted = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn rt() -> Runtime {
        crate::connect::runtime().unwrap()
    }

    #[test]
    fn a_finished_future_is_returned() {
        assert_eq!(
            block_on(&rt(), || false, OnInterrupt::Fail, async { 7 }),
            Ok(7)
        );
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
        // Interrupted at the third look (the first is before the start).
        let r = block_on(
            &rt(),
            || {
                asked.set(asked.get() + 1);
                asked.get() >= 3
            },
            OnInterrupt::Fail,
            forever,
        );
        assert_eq!(r, Err(Interrupted));
        assert_eq!(asked.get(), 3);
        assert!(dropped.get());
    }

    #[test]
    fn an_interrupt_before_the_start_runs_nothing() {
        let ran = Cell::new(false);
        let r = block_on(&rt(), || true, OnInterrupt::Fail, async { ran.set(true) });
        assert_eq!(r, Err(Interrupted));
        assert!(!ran.get());
    }

    thread_local! {
        static SERVICED: Cell<u32> = const { Cell::new(0) };
    }

    #[test]
    fn a_serviced_interrupt_that_does_not_end_the_wait_resumes_it() {
        let looks = Cell::new(0);
        let r = block_on(
            &rt(),
            || {
                looks.set(looks.get() + 1);
                looks.get() == 2
            },
            OnInterrupt::Service(|| SERVICED.with(|s| s.set(s.get() + 1))),
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                5
            },
        );
        assert_eq!(r, Ok(5));
        assert_eq!(SERVICED.with(Cell::get), 1);
    }
}
