//! One error type for every way a call can fail. Its `Display` is a full sentence fit for a Postgres
//! error message; [`Error::request_id`] and [`Error::hint`] feed DETAIL and HINT. No variant ever
//! holds a secret, a security token, a signature or a signed URL.

use std::fmt;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error answer from the API (`{"RequestId","HostId","Code","Message","Recommend"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub action: String,
    pub region: String,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub host_id: Option<String>,
    pub recommend: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The service answered with an error code.
    #[error("{action} in region {region} failed: {code}: {message} (HTTP {status})", action = .0.action, region = .0.region, code = .0.code, message = .0.message, status = .0.status)]
    Api(Box<ApiError>),

    /// The request could not be sent or its answer could not be read (DNS, connect, TLS, reset).
    #[error("{action} in region {region} failed: could not reach {endpoint}: {message}")]
    Transport {
        action: String,
        region: String,
        /// Scheme, host and path only: never the signed query.
        endpoint: String,
        message: String,
    },

    /// No answer in time.
    #[error("{action} in region {region} timed out: {what} after {} ms", after.as_millis())]
    Timeout {
        action: String,
        region: String,
        /// "connecting", "waiting for the response", or "the overall deadline".
        what: &'static str,
        after: Duration,
    },

    /// The service answered, but not with what the operation expects.
    #[error("{action} in region {region} returned an answer that could not be read (HTTP {status}): {message}; the answer began: {excerpt}")]
    Decode {
        action: String,
        region: String,
        status: u16,
        message: String,
        /// The first bytes of the body, as text.
        excerpt: String,
    },

    /// No usable credentials, or temporary credentials could not be obtained.
    #[error("Alibaba Cloud credentials: {message}")]
    Credentials { message: String },

    /// A configuration value is wrong (endpoint template, region id, ...).
    #[error("{message}")]
    Config { message: String },
}

impl Error {
    pub fn credentials(message: impl Into<String>) -> Self {
        Error::Credentials {
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// The API error, when the service answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The API's error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|e| e.code.as_str())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.request_id.as_deref())
    }

    /// The region the failing call went to, when it is a call.
    pub fn region(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.region),
            Error::Transport { region, .. }
            | Error::Timeout { region, .. }
            | Error::Decode { region, .. } => Some(region),
            Error::Credentials { .. } | Error::Config { .. } => None,
        }
    }

    /// What the user can do about it, where we know.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Api(e) => api_hint(e),
            Error::Timeout { .. } => Some(
                "The region did not answer in time. Raise the server options timeout_ms or \
                 max_attempts, or leave the region out of the regions option."
                    .to_string(),
            ),
            Error::Transport { .. } => Some(
                "Check network access to the endpoint, or set the server option endpoint."
                    .to_string(),
            ),
            Error::Credentials { .. } => Some(
                "Give access_key_id and access_key_secret in a user mapping, or see \
                 docs/configuration.md for the other credential sources."
                    .to_string(),
            ),
            Error::Decode { .. } | Error::Config { .. } => None,
        }
    }

    /// Details worth a DETAIL line: request id, host id and the service's recommendation.
    pub fn detail(&self) -> Option<String> {
        let e = self.api()?;
        let mut parts = Vec::new();
        if let Some(id) = &e.request_id {
            parts.push(format!("request id: {id}"));
        }
        if let Some(h) = &e.host_id {
            parts.push(format!("host id: {h}"));
        }
        if let Some(r) = &e.recommend {
            parts.push(format!("recommend: {r}"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

fn api_hint(e: &ApiError) -> Option<String> {
    let code = e.code.as_str();
    let hint = if code.starts_with("InvalidAccessKeyId") {
        "The access key id is unknown or disabled: check access_key_id in the user mapping (or the credential source in use)."
    } else if code == "SignatureDoesNotMatch" || code == "IncompleteSignature" {
        "The access key secret does not match the access key id: check access_key_secret in the user mapping."
    } else if code.starts_with("InvalidTimeStamp") {
        "The database server's clock is off by more than 15 minutes: synchronise it (NTP)."
    } else if code.starts_with("Forbidden") || code == "NoPermission" {
        "The RAM user or role lacks permission: grant it actiontrail:DescribeTrails (for example the AliyunActionTrailReadOnlyAccess policy)."
    } else if code.starts_with("Throttling") {
        "The API is throttling requests: retry later, or lower max_concurrency."
    } else if code.starts_with("InvalidSecurityToken") || code == "InvalidSecurityToken.Expired" {
        "The security token is invalid or expired: renew security_token in the user mapping."
    } else {
        return None;
    };
    Some(hint.to_string())
}

/// A short, printable excerpt of a body (at most `max` characters), for decode errors.
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    if out.trim().is_empty() {
        out = "(empty)".to_string();
    }
    out
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Replaces every occurrence of each secret in `text` with `<redacted>`: as is, percent-encoded,
/// and percent-encoded twice (the form a StringToSign echoed by `SignatureDoesNotMatch` holds).
pub fn redact<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().map(AsRef::as_ref).filter(|s| s.len() >= 4) {
        let once = crate::signer::percent_encode(s);
        let twice = crate::signer::percent_encode(&once);
        for form in [twice, once, s.to_string()] {
            if out.contains(&form) {
                out = out.replace(&form, "<redacted>");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_covers_plain_and_encoded_forms() {
        let text = "token CAIS+AF1/tok= enc CAIS%2BAF1%2Ftok%3D double CAIS%252BAF1%252Ftok%253D";
        let out = redact(text, &["CAIS+AF1/tok="]);
        assert!(!out.contains("CAIS"), "{out}");
        assert_eq!(out.matches("<redacted>").count(), 3);
    }

    #[test]
    fn display_reads_as_a_sentence() {
        let e = Error::Api(Box::new(ApiError {
            action: "DescribeTrails".into(),
            region: "cn-beijing".into(),
            status: 403,
            code: "Forbidden.RAM".into(),
            message: "User not authorized to operate on the specified resource.".into(),
            request_id: Some("REQ-1".into()),
            host_id: None,
            recommend: None,
        }));
        assert_eq!(
            e.to_string(),
            "DescribeTrails in region cn-beijing failed: Forbidden.RAM: User not authorized to operate on the specified resource. (HTTP 403)"
        );
        assert_eq!(e.detail().as_deref(), Some("request id: REQ-1"));
        assert!(e
            .hint()
            .unwrap()
            .contains("AliyunActionTrailReadOnlyAccess"));
    }
}
