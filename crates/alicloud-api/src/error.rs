//! One error type for every way a call can fail.
//!
//! `Display` is one sentence that says what failed and where (operation, region, API code, message).
//! What can be done about it is a [`Remedy`], in no front end's words: each front end (the
//! PostgreSQL extension, the SQLite extension, the export CLI) turns it into advice that names its
//! own knobs. No variant ever holds a secret, a security token, a signature or a signed URL.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The longest API message kept, in characters: a service that answers with a megabyte of text
/// must not turn into a megabyte error.
const MAX_MESSAGE_CHARS: usize = 500;
/// The longest code, request id or host id kept, in characters.
const MAX_FIELD_CHARS: usize = 120;

/// Which call failed: the operation and the region it was sent for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The API action, e.g. `DescribeTrails`.
    pub action: String,
    /// The region the call was made for (its `RegionId`).
    pub region: String,
}

impl Call {
    /// A call of `action` for `region`.
    pub fn new(action: &str, region: &str) -> Call {
        Call {
            action: action.to_string(),
            region: region.to_string(),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in region {}", self.action, self.region)
    }
}

/// An error answer from the API (`{"RequestId","HostId","Code","Message","Recommend"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The call that got this answer.
    pub call: Call,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The API's error code, e.g. `Forbidden.RAM`.
    pub code: String,
    /// The API's message, cut to a readable length.
    pub message: String,
    /// The request id, which Alibaba Cloud support asks for.
    pub request_id: Option<String>,
    /// The host that answered.
    pub host_id: Option<String>,
    /// The diagnosis link the API sometimes adds.
    pub recommend: Option<String>,
}

impl ApiError {
    /// An API error whose texts are cut to a readable length.
    pub fn new(
        call: Call,
        status: u16,
        code: &str,
        message: &str,
        request_id: Option<String>,
    ) -> ApiError {
        ApiError {
            call,
            status,
            code: truncate(code, MAX_FIELD_CHARS),
            message: truncate(message, MAX_MESSAGE_CHARS),
            request_id: request_id.map(|r| truncate(&r, MAX_FIELD_CHARS)),
            host_id: None,
            recommend: None,
        }
    }
}

/// Every way a call can fail. Serializable, so that one session's failure can be handed to the
/// sessions that waited for the same call (see `alicloud-tables`' cache).
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error code.
    #[error("{call} failed: {code}: {message} (HTTP {status})", call = .0.call, code = .0.code, message = .0.message, status = .0.status)]
    Api(Box<ApiError>),

    /// The request could not be sent or its answer could not be read (DNS, connect, TLS, reset).
    #[error("{call} failed: could not reach {endpoint}: {message}")]
    Transport {
        /// The call.
        call: Call,
        /// Scheme, host and path only: never the signed query.
        endpoint: String,
        /// What went wrong, from the HTTP stack.
        message: String,
    },

    /// No answer in time.
    #[error("{call} timed out: {what} after {} ms", after.as_millis())]
    Timeout {
        /// The call.
        call: Call,
        /// "connecting", "waiting for the response", or "the overall deadline".
        what: Cow<'static, str>,
        /// The limit that was reached.
        after: Duration,
    },

    /// The service answered, but not with what the operation expects.
    #[error("{call} returned an answer that could not be read (HTTP {status}): {message}; the answer began: {excerpt}")]
    Decode {
        /// The call.
        call: Call,
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        message: String,
        /// The first characters of the body, as printable text.
        excerpt: String,
    },

    /// The endpoint answered with a redirect, which is never followed: a signed request goes to
    /// the configured host or nowhere.
    #[error("{call} failed: the endpoint answered HTTP {status}, a redirect to {target}, which is not followed")]
    Redirect {
        /// The call.
        call: Call,
        /// The 3xx status.
        status: u16,
        /// The host the redirect points at (never its path or query), or a note that it has none.
        target: String,
    },

    /// The answer was larger than the configured limit, so reading stopped.
    #[error("{call} failed: the answer is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The call.
        call: Call,
        /// The limit, in bytes.
        limit: u64,
    },

    /// A listing's pages did not end: the same page token came twice, or more pages came than a
    /// listing can have.
    #[error("{call} failed: {message}")]
    Paging {
        /// The call.
        call: Call,
        /// What was wrong.
        message: String,
    },

    /// No usable credentials, or temporary credentials could not be obtained.
    #[error("Alibaba Cloud credentials: {message}")]
    Credentials {
        /// What is missing or wrong.
        message: String,
    },

    /// A configuration value is wrong (endpoint template, region id, ...).
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },
}

/// How long an excerpt of an unreadable body may be, in characters.
const EXCERPT_CHARS: usize = 160;

/// What can be done about a failure, in no front end's words. Each front end says it with its own
/// knobs (server options, configure keys, command-line flags); [`Remedy::neutral`] says it plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remedy {
    /// The region answered too slowly: allow more time or attempts, or leave the region out.
    RaiseTimeouts,
    /// The endpoint could not be reached: check the network path or the endpoint.
    CheckNetwork,
    /// No credentials were found: give keys, or set up another source.
    ProvideCredentials,
    /// The access key id is unknown or disabled.
    CheckKeyId,
    /// The secret does not match the key id.
    CheckSecret,
    /// The clock of this machine is off.
    SyncClock,
    /// The identity lacks permission for the action.
    GrantPermission,
    /// The API is throttling: call less at once, or later.
    SlowDown,
    /// The security token is invalid or expired.
    RenewToken,
    /// The answer was larger than the configured limit.
    RaiseResponseLimit,
    /// The endpoint redirected or answered with something that is not the API.
    CheckEndpoint,
    /// A RAM role could not be assumed: it is missing, or does not trust the caller.
    CheckRole,
}

impl Remedy {
    /// The advice in plain words, naming no configuration knob.
    pub fn neutral(self) -> &'static str {
        match self {
            Remedy::RaiseTimeouts => "The region did not answer in time: allow a longer time limit or more attempts, or leave the region out.",
            Remedy::CheckNetwork => "Check network access to the endpoint, and the endpoint itself.",
            Remedy::ProvideCredentials => "Give an access key id and secret, or set up another credential source.",
            Remedy::CheckKeyId => "The access key id is unknown or disabled: the key may be wrong or deleted.",
            Remedy::CheckSecret => "The access key secret does not match the access key id: the secret may be wrong.",
            Remedy::SyncClock => "This machine's clock is off by more than 15 minutes: synchronise it (NTP).",
            Remedy::GrantPermission => "The RAM user or role lacks permission for this action: grant it (the AliyunActionTrailReadOnlyAccess policy allows every ActionTrail action these tables call).",
            Remedy::SlowDown => "The API is throttling requests: retry later, or call fewer regions at once.",
            Remedy::RenewToken => "The security token is invalid or expired: renew it.",
            Remedy::RaiseResponseLimit => "The answer was larger than the size limit: raise the limit if the answer is expected to be this large.",
            Remedy::CheckEndpoint => "The endpoint did not answer as the API does: check that it points at the API itself.",
            Remedy::CheckRole => "The role could not be assumed: check that it exists in that account, that its trust policy names the caller (and that the external id matches, when the policy asks for one), and that the caller is a RAM user or role allowed sts:AssumeRole (an account's own keys cannot assume roles).",
        }
    }
}

impl Error {
    /// A credentials error.
    pub fn credentials(message: impl Into<String>) -> Self {
        Error::Credentials {
            message: message.into(),
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// An answer that could not be read, with an excerpt of its body.
    pub(crate) fn decode(
        call: &Call,
        status: u16,
        message: impl Into<String>,
        body: &[u8],
    ) -> Self {
        Error::Decode {
            call: call.clone(),
            status,
            message: message.into(),
            excerpt: excerpt(body, EXCERPT_CHARS),
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

    /// The request id of an API error answer.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.request_id.as_deref())
    }

    /// The call that failed, when the failure is a call's.
    pub fn call(&self) -> Option<&Call> {
        match self {
            Error::Api(e) => Some(&e.call),
            Error::Transport { call, .. }
            | Error::Timeout { call, .. }
            | Error::Decode { call, .. }
            | Error::Redirect { call, .. }
            | Error::Paging { call, .. }
            | Error::TooLarge { call, .. } => Some(call),
            Error::Credentials { .. } | Error::Config { .. } => None,
        }
    }

    /// The region the failing call went to, when it is a call.
    pub fn region(&self) -> Option<&str> {
        self.call().map(|c| c.region.as_str())
    }

    /// A short label of the failure for lists and statistics: the API code, else the kind.
    pub fn label(&self) -> &str {
        match self {
            Error::Api(e) => &e.code,
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::Decode { .. } => "unreadable answer",
            Error::Redirect { .. } => "redirect",
            Error::TooLarge { .. } => "answer too large",
            Error::Paging { .. } => "paging",
            Error::Credentials { .. } => "credentials",
            Error::Config { .. } => "configuration",
        }
    }

    /// What can be done about it, where we know.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Error::Api(e) if e.call.action == "AssumeRole" && role_refused(&e.code) => {
                Some(Remedy::CheckRole)
            }
            Error::Api(e) => api_remedy(&e.code),
            Error::Timeout { .. } => Some(Remedy::RaiseTimeouts),
            Error::Transport { .. } => Some(Remedy::CheckNetwork),
            Error::Credentials { .. } => Some(Remedy::ProvideCredentials),
            Error::TooLarge { .. } => Some(Remedy::RaiseResponseLimit),
            Error::Redirect { .. } => Some(Remedy::CheckEndpoint),
            Error::Decode { .. } | Error::Paging { .. } | Error::Config { .. } => None,
        }
    }

    /// Details worth a line of their own: request id, host id and the service's recommendation.
    pub fn detail(&self) -> Option<String> {
        let e = self.api()?;
        let parts: Vec<String> = [
            ("request id", &e.request_id),
            ("host id", &e.host_id),
            ("recommend", &e.recommend),
        ]
        .into_iter()
        .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label}: {v}")))
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

impl Error {
    /// The same error with every secret of `secrets` replaced in each of its texts (see
    /// [`redact`]): the API may echo a request (a `SignatureDoesNotMatch` StringToSign, a proxy's
    /// error page), and an unreadable answer is quoted in an excerpt.
    pub fn redacted<S: AsRef<str>>(self, secrets: &[S]) -> Error {
        if secrets.is_empty() {
            return self;
        }
        let r = |t: &mut String| {
            if contains_secret(t, secrets) {
                *t = redact(t, secrets);
            }
        };
        let mut e = self;
        match &mut e {
            Error::Api(a) => {
                let a = a.as_mut();
                for t in [&mut a.code, &mut a.message] {
                    r(t);
                }
                for t in [&mut a.request_id, &mut a.host_id, &mut a.recommend]
                    .into_iter()
                    .flatten()
                {
                    r(t);
                }
            }
            Error::Transport {
                endpoint, message, ..
            } => {
                r(endpoint);
                r(message);
            }
            Error::Decode {
                message, excerpt, ..
            } => {
                r(message);
                *excerpt = redact_cut(excerpt, secrets);
            }
            Error::Redirect { target, .. } => r(target),
            Error::Paging { message, .. } => r(message),
            Error::Credentials { message } | Error::Config { message } => r(message),
            Error::Timeout { .. } | Error::TooLarge { .. } => {}
        }
        e
    }
}

/// Whether `code`, answering `AssumeRole`, says the role is missing or does not trust the caller.
fn role_refused(code: &str) -> bool {
    code.starts_with("NoPermission") || code.starts_with("EntityNotExist.Role")
}

fn api_remedy(code: &str) -> Option<Remedy> {
    Some(if code.starts_with("InvalidAccessKeyId") {
        Remedy::CheckKeyId
    } else if code == "SignatureDoesNotMatch" || code == "IncompleteSignature" {
        Remedy::CheckSecret
    } else if code.starts_with("InvalidTimeStamp") {
        Remedy::SyncClock
    } else if code.starts_with("Forbidden") || code == "NoPermission" {
        Remedy::GrantPermission
    } else if code.starts_with("Throttling") {
        Remedy::SlowDown
    } else if code.starts_with("InvalidSecurityToken") {
        Remedy::RenewToken
    } else {
        return None;
    })
}

/// `text` cut to at most `max` characters, with `…` when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// A short, printable excerpt of a body (at most `max` characters), for decode errors.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let head = &body[..body.len().min(max * 4)];
    let text = String::from_utf8_lossy(head);
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = truncate(&printable, max);
    if head.len() < body.len() && !out.ends_with('…') {
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

/// The forms a secret takes in text: percent-encoded twice (as a StringToSign echoed by
/// `SignatureDoesNotMatch` holds it), once (as a signed query holds it), and as is. Secrets
/// shorter than 4 characters are not looked for (they would match ordinary text).
fn secret_forms<S: AsRef<str>>(secrets: &[S]) -> impl Iterator<Item = String> + '_ {
    secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| s.len() >= 4)
        .flat_map(|s| {
            let once = crate::signer::percent_encode(s);
            let twice = crate::signer::percent_encode(&once);
            [twice, once, s.to_string()]
        })
}

/// Replaces every occurrence of each secret in `text` with `<redacted>`: as is, percent-encoded,
/// and percent-encoded twice (the form a StringToSign echoed by `SignatureDoesNotMatch` holds).
pub fn redact<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut out = text.to_string();
    for form in secret_forms(secrets) {
        if out.contains(&form) {
            out = out.replace(&form, "<redacted>");
        }
    }
    out
}

/// [`redact`] for an excerpt that may have been cut (it ends with `…`): a secret cut in the middle
/// leaves its first characters at the end, which are removed too (4 or more of them).
fn redact_cut<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let out = redact(text, secrets);
    let Some(head) = out.strip_suffix('…') else {
        return out;
    };
    let cut = secret_forms(secrets)
        .filter_map(|form| {
            (4..form.len())
                .rev()
                .filter(|&k| form.is_char_boundary(k))
                .find(|&k| head.ends_with(&form[..k]))
                .map(|k| head.len() - k)
        })
        .min();
    match cut {
        Some(at) => format!("{}<redacted>…", &head[..at]),
        None => out,
    }
}

/// Whether `text` holds any of `secrets`, in any form [`redact`] replaces. Copies nothing, so it
/// suits whole answers (a cache refuses to store one that echoes the request's secrets).
pub fn contains_secret<S: AsRef<str>>(text: &str, secrets: &[S]) -> bool {
    secret_forms(secrets).any(|form| text.contains(&form))
}

/// "outer: inner: innermost", without repeating a message its source already says.
pub(crate) fn chain_text(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        source = s.source();
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
    fn every_text_of_an_error_is_redacted() {
        let mut api = ApiError::new(
            Call::new("DescribeTrails", "cn-beijing"),
            400,
            "SignatureDoesNotMatch",
            "StringToSign POST&%2F&SecurityToken%3DTOKEN%252Bxyz",
            Some("REQ".into()),
        );
        api.recommend = Some("see TOKEN+xyz".into());
        let errors = [
            Error::Api(Box::new(api)),
            Error::Decode {
                call: Call::new("DescribeTrails", "cn-beijing"),
                status: 200,
                message: "expected a JSON object".into(),
                excerpt: "hush-hush-secret echoed".into(),
            },
            Error::Transport {
                call: Call::new("a", "r"),
                endpoint: "http://x/".into(),
                message: "hush-hush-secret".into(),
            },
        ];
        for e in errors {
            let secrets = ["hush-hush-secret", "TOKEN+xyz"];
            let before = format!("{e:?}");
            assert!(contains_secret(&before, &secrets), "{before}");
            let text = format!(
                "{:?} {}",
                e.clone().redacted(&secrets),
                e.redacted(&secrets)
            );
            assert!(!contains_secret(&text, &secrets), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
        assert!(!contains_secret("abc", &["ab"]), "too short to look for");
        // An excerpt cut in the middle of a token keeps none of it.
        let cut = Error::Decode {
            call: Call::new("DescribeTrails", "cn-beijing"),
            status: 200,
            message: "expected a JSON object".into(),
            excerpt: "upstream error SecurityToken: CAIS+longtoke…".into(),
        };
        let text = cut.redacted(&["CAIS+longtoken/value"]).to_string();
        assert!(text.ends_with("SecurityToken: <redacted>…"), "{text}");
        assert!(!text.contains("CAIS"), "{text}");
    }

    #[test]
    fn errors_survive_a_round_trip_through_json() {
        let e = Error::Timeout {
            call: Call::new("DescribeTrails", "cn-beijing"),
            what: "the overall deadline".into(),
            after: Duration::from_millis(2000),
        };
        let back: Error = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back.to_string(), e.to_string());
        let api = Error::Api(Box::new(ApiError::new(
            Call::new("DescribeTrails", "cn-beijing"),
            503,
            "ServiceUnavailable",
            "try later",
            Some("REQ-9".into()),
        )));
        let back: Error = serde_json::from_str(&serde_json::to_string(&api).unwrap()).unwrap();
        assert_eq!(back.code(), Some("ServiceUnavailable"));
        assert_eq!(back.request_id(), Some("REQ-9"));
        assert_eq!(back.to_string(), api.to_string());
    }

    #[test]
    fn display_reads_as_a_sentence() {
        let mut api = ApiError::new(
            Call::new("DescribeTrails", "cn-beijing"),
            403,
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource.",
            Some("REQ-1".into()),
        );
        api.recommend = Some("https://api.aliyun.com/troubleshoot".into());
        let e = Error::Api(Box::new(api));
        assert_eq!(
            e.to_string(),
            "DescribeTrails in region cn-beijing failed: Forbidden.RAM: User not authorized to operate on the specified resource. (HTTP 403)"
        );
        assert_eq!(
            e.detail().as_deref(),
            Some("request id: REQ-1, recommend: https://api.aliyun.com/troubleshoot")
        );
        assert_eq!(e.remedy(), Some(Remedy::GrantPermission));
        assert!(e
            .remedy()
            .unwrap()
            .neutral()
            .contains("AliyunActionTrailReadOnlyAccess"));
        assert_eq!(e.label(), "Forbidden.RAM");
    }

    #[test]
    fn long_api_texts_are_cut() {
        let huge = "x".repeat(1_000_000);
        let e = ApiError::new(
            Call::new("DescribeTrails", "cn-beijing"),
            400,
            &huge,
            &huge,
            Some(huge.clone()),
        );
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(e.message.ends_with('…'));
        assert_eq!(e.code.chars().count(), MAX_FIELD_CHARS + 1);
        assert!(Error::Api(Box::new(e)).to_string().len() < 1000);
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(excerpt(b"<html>\n<b>Bad</b>", 160), "<html> <b>Bad</b>");
        assert_eq!(excerpt(b"", 160), "(empty)");
        let long = vec![b'a'; 10_000];
        let e = excerpt(&long, 10);
        assert_eq!(e, "aaaaaaaaaa…");
        // A cut in the middle of a multi-byte character is not a panic.
        let text = "é".repeat(100);
        assert!(excerpt(&text.as_bytes()[..51], 160).starts_with('é'));
    }

    #[test]
    fn remedies_by_code() {
        for (code, remedy) in [
            ("InvalidAccessKeyId.NotFound", Remedy::CheckKeyId),
            ("SignatureDoesNotMatch", Remedy::CheckSecret),
            ("InvalidTimeStamp.Expired", Remedy::SyncClock),
            ("NoPermission", Remedy::GrantPermission),
            ("Throttling.User", Remedy::SlowDown),
            ("InvalidSecurityToken.Expired", Remedy::RenewToken),
        ] {
            assert_eq!(api_remedy(code), Some(remedy), "{code}");
        }
        assert_eq!(api_remedy("InvalidQueryParameter"), None);
    }
}
