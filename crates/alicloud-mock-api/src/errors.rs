//! The API error answers the mock gives, in one table: code, HTTP status and message, as the real
//! service words them. Faults, the server-error fault and the handlers all read it. And an error
//! before it is rendered.

use crate::answer::{new_request_id, Answer, JSON};
use axum::http::StatusCode;
use serde_json::json;

/// One error answer.
pub(crate) struct KnownError {
    pub code: &'static str,
    pub status: u16,
    pub message: &'static str,
}

const fn known(code: &'static str, status: u16, message: &'static str) -> KnownError {
    KnownError {
        code,
        status,
        message,
    }
}

/// The errors the mock answers with by name; codes are matched exactly, then by the prefixes
/// below.
const KNOWN: &[KnownError] = &[
    known("Forbidden.RAM", 403, "User not authorized to operate on the specified resource, or this API doesn't support RAM."),
    known("NoPermission", 403, "You are not authorized to do this action. You should be authorized by RAM."),
    known("Forbidden", 403, "You are not authorized to operate on the specified resource."),
    known("InvalidAction.NotFound", 404, "Specified api is not found, please check your url and method."),
    known("InternalError", 500, "The request processing has failed due to some unknown error, exception or failure."),
    known("UnknownError", 500, "The request processing has failed due to some unknown error."),
    known("BadGateway", 502, "The gateway received an invalid response."),
    known("ServiceUnavailable", 503, "The request has failed due to a temporary failure of the server."),
    known("GatewayTimeout", 504, "The gateway did not receive a response in time."),
    known("Throttling.User", 400, "Request was denied due to user flow control."),
];

/// The entry for `code`: exact, else by family (`Throttling*`, `Forbidden*`).
fn lookup(code: &str) -> Option<&'static KnownError> {
    KNOWN.iter().find(|k| k.code == code).or_else(|| {
        let family = if code.starts_with("Throttling") {
            "Throttling.User"
        } else if code.starts_with("Forbidden") {
            "Forbidden"
        } else {
            return None;
        };
        KNOWN.iter().find(|k| k.code == family)
    })
}

/// The HTTP status the real service uses for `code`.
pub(crate) fn status_for(code: &str) -> u16 {
    match lookup(code) {
        Some(k) => k.status,
        None if code.ends_with(".NotFound") => 404,
        None => 400,
    }
}

/// The service's message for `code`, or one that says the error was injected.
pub(crate) fn message_for(code: &str) -> String {
    lookup(code).map_or_else(
        || format!("Injected fault: {code}."),
        |k| k.message.to_string(),
    )
}

/// The code the service answers a bare HTTP status with (500, 502, 503, 504; any other status
/// counts as 503), and that status.
pub(crate) fn server_error(status: u16) -> &'static KnownError {
    let status = if matches!(status, 500 | 502 | 503 | 504) {
        status
    } else {
        503
    };
    KNOWN
        .iter()
        .find(|k| k.status == status)
        .expect("every 5xx status above has an entry")
}

/// The code an error fault that gives only a status answers with.
pub(crate) fn code_for_status(status: u16) -> &'static str {
    match status {
        403 => "Forbidden",
        404 => "InvalidAction.NotFound",
        500 | 502 | 503 | 504 => server_error(status).code,
        _ => "InvalidParameter",
    }
}

/// An API error before it is rendered.
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// A fixed request id (from a fault); `None`: a fresh one.
    pub request_id: Option<String>,
}

impl ApiFailure {
    /// An error of the mock's table of errors (`errors.rs`), with its status and message.
    pub fn known(code: &str) -> ApiFailure {
        ApiFailure::new(status_for(code), code, message_for(code))
    }

    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiFailure {
        ApiFailure {
            status,
            code: code.to_string(),
            message: message.into(),
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> ApiFailure {
        self.request_id = request_id;
        self
    }

    /// The real error body: `{"RequestId","HostId","Code","Message","Recommend"}`, for the
    /// service `product` (its name in the troubleshooting link) at host `host_id`.
    pub fn render(&self, product: &str, host_id: &str) -> Answer {
        let request_id = self.request_id.clone().unwrap_or_else(new_request_id);
        let body = json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code,
            "Message": self.message,
            "Recommend": format!(
                "https://api.aliyun.com/troubleshoot?q={}&product={}&requestId={}",
                self.code,
                product,
                request_id
            ),
        });
        Answer {
            status: StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            body: serde_json::to_vec(&body).expect("JSON values serialize"),
            content_type: JSON,
            headers: Vec::new(),
            outcome: self.code.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_messages() {
        assert_eq!(status_for("Forbidden.RAM"), 403);
        assert_eq!(status_for("Forbidden.Whatever"), 403);
        assert_eq!(status_for("InvalidAccessKeyId.NotFound"), 404);
        assert_eq!(status_for("Throttling.Api"), 400);
        assert_eq!(status_for("ServiceUnavailable"), 503);
        assert_eq!(status_for("Odd"), 400);
        assert_eq!(
            message_for("Throttling.Api"),
            "Request was denied due to user flow control."
        );
        assert_eq!(message_for("Odd"), "Injected fault: Odd.");
        assert_eq!(server_error(502).code, "BadGateway");
        assert_eq!(server_error(418).status, 503);
        assert_eq!(code_for_status(404), "InvalidAction.NotFound");
    }
}
