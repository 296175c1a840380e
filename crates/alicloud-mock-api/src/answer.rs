//! What the mock sends back: an API answer before faults shape its delivery, and the plain
//! responses of the admin and metadata endpoints.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

/// An answer before faults that shape its delivery (latency, trickle, hang) are applied.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    /// `ok` or the error code; see [`Call::outcome`].
    pub outcome: String,
}

pub(crate) const JSON: &str = "application/json;charset=utf-8";

impl Answer {
    pub fn json(value: &serde_json::Value) -> Answer {
        Answer::json_text(serde_json::to_vec(value).expect("JSON values serialize"))
    }

    /// A successful answer whose body is JSON text already.
    pub fn json_text(body: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::OK,
            body,
            content_type: JSON,
            headers: Vec::new(),
            outcome: "ok".to_string(),
        }
    }
}

pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = Response::new(Body::from(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    response
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(
        serde_json::to_vec_pretty(value).expect("JSON values serialize"),
    ));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(JSON));
    response
}

/// A fresh request id, in the service's format.
pub(crate) fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}
