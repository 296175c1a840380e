//! Which failures are worth another attempt, and how long to wait before it.
//!
//! Retried: throttling (`Throttling`, `Throttling.User`, `Throttling.Api`), `ServiceUnavailable`,
//! `InternalError`, `UnknownError`, any HTTP 502/503/504, connect and read failures, and an
//! attempt that timed out. `SignatureNonceUsed` is retried once, with a new nonce. Everything
//! else (bad keys, bad signature, clock skew, permissions, bad parameters) fails at once.

use crate::error::Error;
use std::time::Duration;

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
        Error::Decode { .. } | Error::Credentials { .. } | Error::Config { .. } => Decision::Fail,
    }
}

impl RetryPolicy {
    /// The wait before attempt `next_attempt` (2 for the first retry): "full jitter", a uniform
    /// draw in `[0, min(max_delay, base_delay * 2^(next_attempt-2))]`. A server hint
    /// (`x-acs-retry-after`, milliseconds) is honoured as a floor, still capped by `max_delay`.
    pub fn backoff(&self, next_attempt: u32, server_hint: Option<Duration>) -> Duration {
        let exp = next_attempt.saturating_sub(2).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(fastrand::f64());
        match server_hint {
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
        Error::Api(Box::new(ApiError {
            action: "DescribeTrails".into(),
            region: "cn-hangzhou".into(),
            status,
            code: code.into(),
            message: "m".into(),
            request_id: None,
            host_id: None,
            recommend: None,
        }))
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
                action: "a".into(),
                region: "r".into(),
                endpoint: "e".into(),
                message: "m".into()
            }),
            Decision::Retry
        );
        assert_eq!(classify(&Error::credentials("no keys")), Decision::Fail);
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
