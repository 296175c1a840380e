//! Which failures are worth another attempt, and how long to wait before it.
//!
//! Retried: throttling (`Throttling`, `Throttling.User`, `Throttling.Api`), `ServiceUnavailable`,
//! `InternalError`, `UnknownError`, any HTTP 502/503/504, connect and read failures, and an
//! attempt that timed out. `SignatureNonceUsed` is retried once, with a new nonce. Everything
//! else (bad keys, bad signature, clock skew, permissions, bad parameters) fails at once.

use crate::error::{Call, Error, Result};
use std::future::Future;
use std::time::{Duration, Instant};

/// Retry settings. The defaults follow the official SDKs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff's upper bound; doubles with each attempt.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after a backoff.
    Retry,
    /// Try again at once with a new nonce; allowed once per call.
    RetryOnceNow,
    /// Give up and return the error.
    Fail,
}

/// Classifies a failed attempt.
pub fn classify(error: &Error) -> Decision {
    match error {
        Error::Api(e) => {
            let code = e.code.as_str();
            if code == "SignatureNonceUsed" {
                Decision::RetryOnceNow
            } else if code.starts_with("Throttling")
                || matches!(
                    code,
                    "ServiceUnavailable" | "InternalError" | "UnknownError"
                )
                || matches!(e.status, 502..=504)
            {
                Decision::Retry
            } else {
                Decision::Fail
            }
        }
        Error::Transport { .. } | Error::Timeout { .. } => Decision::Retry,
        Error::Decode {
            status: 502..=504, ..
        } => Decision::Retry,
        _ => Decision::Fail,
    }
}

/// A failed attempt, with the server's hint of when to try again (`x-acs-retry-after`).
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// What happened over the attempts of one call, for statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallReport {
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Attempts the API answered with a throttling code.
    pub throttled: u32,
    /// Time from the first attempt to the outcome, backoffs included.
    pub elapsed: Duration,
    /// Bytes of answer bodies received, over all attempts.
    pub bytes: u64,
}

impl CallReport {
    /// Adds `more` (another request of the same call: a page that took several requests, a
    /// listing of several pages).
    pub fn absorb(&mut self, more: CallReport) {
        self.attempts += more.attempts;
        self.throttled += more.throttled;
        self.elapsed += more.elapsed;
        self.bytes += more.bytes;
    }
}

/// The time limits one call runs under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Limit on one attempt.
    pub attempt: Duration,
    /// Limit on the whole call; `None`: only the attempts' limits.
    pub deadline: Option<Duration>,
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails for good, runs out of attempts or of time: a
    /// per-attempt limit, the overall deadline, backoff between attempts, and one immediate retry
    /// for a used nonce. Each attempt reports the body bytes it read through `report.bytes`.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        call: &Call,
        limits: Limits,
        report: &mut CallReport,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, Failure>>,
    {
        let started = Instant::now();
        let deadline = limits.deadline.map(|d| started + d);
        let deadline_error = || Error::Timeout {
            call: call.clone(),
            what: "the overall deadline".into(),
            after: limits.deadline.unwrap_or_default(),
        };
        let mut nonce_retry_used = false;
        let outcome = loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                break Err(deadline_error());
            }
            let limit = remaining.map_or(limits.attempt, |r| r.min(limits.attempt));
            report.attempts += 1;
            let failure = match tokio::time::timeout(limit, attempt()).await {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err(failure)) => failure,
                Err(_) if limit < limits.attempt => break Err(deadline_error()),
                Err(_) => Failure::from(Error::Timeout {
                    call: call.clone(),
                    what: "waiting for the response".into(),
                    after: limit,
                }),
            };
            if failure
                .error
                .code()
                .is_some_and(|c| c.starts_with("Throttling"))
            {
                report.throttled += 1;
            }
            match classify(&failure.error) {
                Decision::Fail => break Err(failure.error),
                Decision::RetryOnceNow if !nonce_retry_used => nonce_retry_used = true,
                Decision::RetryOnceNow => break Err(failure.error),
                Decision::Retry => {
                    if report.attempts >= self.max_attempts {
                        break Err(failure.error);
                    }
                    let wait = self.backoff(report.attempts + 1, failure.retry_after);
                    // A wait that would outlast the deadline cannot end in a useful attempt.
                    if deadline.is_some_and(|d| wait >= d.saturating_duration_since(Instant::now()))
                    {
                        break Err(failure.error);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        };
        report.elapsed = started.elapsed();
        outcome
    }

    /// The longest a call can take when each attempt may take `attempt`: every attempt timing
    /// out, with the longest backoff before each retry.
    pub fn longest(&self, attempt: Duration) -> Duration {
        let attempts = self.max_attempts.max(1);
        let backoffs = (2..=attempts).fold(Duration::ZERO, |sum, next| {
            let exp = next.saturating_sub(2).min(20);
            sum.saturating_add(
                self.base_delay
                    .saturating_mul(1u32 << exp)
                    .min(self.max_delay),
            )
        });
        attempt.saturating_mul(attempts).saturating_add(backoffs)
    }

    /// The wait before attempt `next_attempt` (2 for the first retry): "full jitter", a uniform
    /// draw in `[0, min(max_delay, base_delay * 2^(next_attempt-2))]`. A server hint
    /// (`x-acs-retry-after`, milliseconds) is honoured as a floor, still capped by `max_delay`.
    pub fn backoff(&self, next_attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = next_attempt.saturating_sub(2).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(fastrand::f64());
        match retry_after {
            Some(h) => jittered.max(h).min(self.max_delay),
            None => jittered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(code: &str, status: u16) -> Error {
        Error::Api(Box::new(ApiError::new(
            Call::new("DescribeTrails", "cn-hangzhou"),
            status,
            code,
            "m",
            None,
        )))
    }

    #[test]
    fn classification_follows_the_notes() {
        for (code, status) in [
            ("Throttling", 400),
            ("Throttling.User", 400),
            ("Throttling.Api", 400),
            ("ServiceUnavailable", 503),
            ("InternalError", 500),
            ("UnknownError", 500),
            ("Whatever", 502),
            ("Whatever", 504),
        ] {
            assert_eq!(classify(&api(code, status)), Decision::Retry, "{code}");
        }
        assert_eq!(
            classify(&api("SignatureNonceUsed", 400)),
            Decision::RetryOnceNow
        );
        for (code, status) in [
            ("InvalidTimeStamp.Expired", 400),
            ("SignatureDoesNotMatch", 400),
            ("IncompleteSignature", 403),
            ("InvalidAccessKeyId.NotFound", 404),
            ("InvalidAccessKeyId.Inactive", 400),
            ("Forbidden.RAM", 403),
            ("NoPermission", 403),
            ("Forbidden", 403),
            ("InvalidTrailNameException", 400),
            ("InvalidQueryParameter", 400),
        ] {
            assert_eq!(classify(&api(code, status)), Decision::Fail, "{code}");
        }
        assert_eq!(
            classify(&Error::Transport {
                call: Call::new("a", "r"),
                endpoint: "e".into(),
                message: "m".into()
            }),
            Decision::Retry
        );
        assert_eq!(classify(&Error::credentials("no keys")), Decision::Fail);
        let call = Call::new("a", "r");
        for e in [
            Error::Redirect {
                call: call.clone(),
                status: 302,
                target: "evil.example".into(),
            },
            Error::TooLarge { call, limit: 1 },
        ] {
            assert_eq!(classify(&e), Decision::Fail, "{e}");
        }
    }

    #[test]
    fn the_longest_call() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(150),
        };
        // 3 attempts of 1 s, backoffs of at most 100 ms and 150 ms (capped).
        assert_eq!(
            p.longest(Duration::from_secs(1)),
            Duration::from_millis(3250)
        );
        let once = RetryPolicy {
            max_attempts: 1,
            ..p
        };
        assert_eq!(once.longest(Duration::from_secs(1)), Duration::from_secs(1));
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        for _ in 0..200 {
            assert!(p.backoff(2, None) <= Duration::from_millis(100));
            assert!(p.backoff(3, None) <= Duration::from_millis(200));
            assert!(p.backoff(10, None) <= Duration::from_millis(350));
            let hinted = p.backoff(2, Some(Duration::from_millis(250)));
            assert!(hinted >= Duration::from_millis(250) && hinted <= Duration::from_millis(350));
            assert_eq!(
                p.backoff(2, Some(Duration::from_secs(9))),
                Duration::from_millis(350)
            );
        }
        // Jitter: not every draw is the same.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(4, None)).collect();
        assert!(draws.len() > 1);
    }
}
