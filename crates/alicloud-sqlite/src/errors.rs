//! Failures as SQLite reports them: a result code and one line of text. A failed call's line says
//! what failed and where (action, region, API code, message), then the request id and the other
//! details, then the advice in the configure function's words. Every line is scrubbed of the
//! secrets in use (the client's errors hold none; this is a second line of defence).

use crate::config;
use alicloud_tables::connect::{ConnectError, ConnectErrorKind};
use alicloud_tables::scan::ScanError;
use alicloud_tables::wording::redact;
use rusqlite::ffi;
use std::os::raw::c_int;

/// A failure of a virtual table method: SQLite's result code and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The result code returned to SQLite.
    pub code: c_int,
    /// The message (set as the table's error message).
    pub message: String,
}

impl Failure {
    /// A plain `SQLITE_ERROR`.
    pub fn error(message: impl Into<String>) -> Failure {
        Failure {
            code: ffi::SQLITE_ERROR,
            message: message.into(),
        }
    }

    /// The statement was interrupted (`sqlite3_interrupt`) while it waited on the API.
    pub fn interrupted() -> Failure {
        Failure {
            code: ffi::SQLITE_INTERRUPT,
            message: "interrupted".to_string(),
        }
    }

    /// A panic caught at an entry point (a bug): reported, never unwound into SQLite.
    pub fn panicked(what: &str, payload: &(dyn std::any::Any + Send)) -> Failure {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Failure::error(format!("internal error in {what}: {detail}"))
    }
}

/// The line for a failed call, `others` summing up the other regions that failed.
pub fn api_message(
    error: &alicloud_tables::scan::Error,
    others: Option<&str>,
    secrets: &[String],
) -> String {
    let mut m = error.to_string();
    if let Some(detail) = error.detail() {
        m.push_str(&format!(" [{detail}]"));
    }
    if let Some(others) = others {
        m.push_str(&format!("; {others}"));
    }
    if let Some(remedy) = error.remedy() {
        m.push_str(&format!(". Hint: {}", config::hint(remedy)));
    }
    redact(&m, secrets)
}

/// The line for a failed scan.
pub fn scan_message(error: &ScanError, secrets: &[String]) -> String {
    api_message(&error.error, error.others.as_deref(), secrets)
}

/// The line for a connection that could not be made.
pub fn connect_message(error: &ConnectError) -> String {
    match error.kind.as_ref() {
        ConnectErrorKind::Option(e) => config::option_message(e),
        ConnectErrorKind::Api(e) => api_message(e, None, &error.secrets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_tables::scan::{ApiError, Call, Error};

    fn forbidden() -> Error {
        let mut e = ApiError::new(
            Call::new("DescribeTrails", "cn-beijing"),
            403,
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource.",
            Some("REQ-SQLITE-1".to_string()),
        );
        e.host_id = Some("actiontrail.cn-beijing.aliyuncs.com".to_string());
        Error::Api(Box::new(e))
    }

    #[test]
    fn a_failed_call_names_region_code_and_request_id() {
        let m = api_message(&forbidden(), None, &[]);
        assert_eq!(
            m,
            "DescribeTrails in region cn-beijing failed: Forbidden.RAM: \
             User not authorized to operate on the specified resource. (HTTP 403) \
             [request id: REQ-SQLITE-1, host id: actiontrail.cn-beijing.aliyuncs.com]. \
             Hint: The RAM user or role lacks permission for this action: grant it (the \
             AliyunActionTrailReadOnlyAccess policy allows every ActionTrail action these tables \
             call)."
        );
        let scan = ScanError {
            error: Box::new(forbidden()),
            others: Some("2 of 4 regions failed; also: cn-shenzhen: NoPermission".into()),
        };
        assert!(scan_message(&scan, &[]).contains(
            "[request id: REQ-SQLITE-1, host id: actiontrail.cn-beijing.aliyuncs.com]; 2 of 4 regions failed; also: cn-shenzhen: NoPermission. Hint:"
        ));
    }

    #[test]
    fn secrets_are_scrubbed_and_advice_names_configure_keys() {
        let e = Error::Api(Box::new(ApiError::new(
            Call::new("DescribeTrails", "cn-hangzhou"),
            400,
            "SignatureDoesNotMatch",
            "The StringToSign was GET&%2F&AccessKeySecret%3Dhunter2-secret",
            None,
        )));
        let m = api_message(&e, None, &["hunter2-secret".to_string()]);
        assert!(!m.contains("hunter2-secret"), "{m}");
        assert!(m.contains("<redacted>"), "{m}");
        assert!(
            m.ends_with("check access_key_secret in alicloud_configure."),
            "{m}"
        );
        let m = connect_message(&ConnectError {
            kind: Box::new(ConnectErrorKind::Api(Error::credentials(
                "no credentials found",
            ))),
            secrets: Vec::new(),
        });
        assert!(m.contains("Give access_key_id and access_key_secret in alicloud_configure"));
    }
}
