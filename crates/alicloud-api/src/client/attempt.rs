//! One signed attempt: sign, POST, read the answer within its size limit, and sort it into a body
//! (2xx), an API error (`{"Code": ...}`), a redirect (never followed), or an unreadable answer.

use super::http::{Answer, Http, SendError};
use crate::credentials::Credentials;
use crate::error::{ApiError, Call, Error};
use crate::retry::Failure;
use crate::signer::{self, RpcRequest};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Everything one attempt needs.
pub(super) struct Attempt<'a> {
    pub http: &'a Http,
    pub call: &'a Call,
    /// Scheme, host and path: the URL without its query.
    pub endpoint: &'a str,
    pub version: &'a str,
    pub params: &'a BTreeMap<String, String>,
    pub credentials: &'a Credentials,
    pub connect_timeout: Duration,
    pub max_bytes: u64,
    /// Body bytes read, added to over all attempts of the call.
    pub bytes_read: &'a AtomicU64,
}

impl Attempt<'_> {
    /// Sends the request once. On failure, also returns the server's retry hint.
    pub(super) async fn send(self) -> Result<Vec<u8>, Failure> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let query = signer::rpc_query(
            RpcRequest {
                action: &self.call.action,
                version: self.version,
                region: &self.call.region,
                now: chrono::Utc::now(),
                nonce: &nonce,
            },
            self.params,
            self.credentials,
        );
        let response = self
            .http
            .post(format!("{}?{query}", self.endpoint))
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status;
        let retry_after = response
            .headers
            .get("x-acs-retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        if (300..400).contains(&status) {
            let target = response
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(redirect_target)
                .unwrap_or_else(|| "no location".to_string());
            return Err(Failure::from(Error::Redirect {
                call: self.call.clone(),
                status,
                target,
            }));
        }
        let body = self
            .read_body(response)
            .await
            .map_err(|error| Failure { error, retry_after })?;
        if (200..300).contains(&status) {
            // The operation reads it (and reports an unreadable one).
            return Ok(body);
        }
        Err(Failure {
            error: self.error_answer(status, &body),
            retry_after,
        })
    }

    /// Reads the body, stopping as soon as it passes the size limit.
    async fn read_body(&self, mut response: Answer) -> Result<Vec<u8>, Error> {
        let too_large = || Error::TooLarge {
            call: self.call.clone(),
            limit: self.max_bytes,
        };
        let announced = response.announced_len();
        if announced.is_some_and(|n| n > self.max_bytes) {
            return Err(too_large());
        }
        // Sized by the announced length (already within the limit): a large answer is then
        // read without growing the buffer (copying what arrived) along the way.
        let mut body =
            Vec::with_capacity(announced.map_or(8 * 1024, |n| usize::try_from(n).unwrap_or(0)));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(e).error)?
        {
            self.bytes_read
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, e: SendError) -> Failure {
        Failure::from(if e.connect_timed_out {
            Error::Timeout {
                call: self.call.clone(),
                what: "connecting".into(),
                after: self.connect_timeout,
            }
        } else {
            Error::Transport {
                call: self.call.clone(),
                endpoint: self.endpoint.to_string(),
                message: e.message,
            }
        })
    }

    /// A non-2xx answer: the API's error object, or a decode error with an excerpt.
    fn error_answer(&self, status: u16, body: &[u8]) -> Error {
        let parsed = serde_json::from_slice::<serde_json::Value>(body);
        let Some(v) = parsed.as_ref().ok().filter(|v| v.get("Code").is_some()) else {
            return Error::decode(self.call, status, "expected a JSON error object", body);
        };
        // The service may echo request parts (SignatureDoesNotMatch quotes its StringToSign,
        // security token included): keep the secrets out.
        let secrets: Vec<&str> = self.credentials.secrets().collect();
        let text = |k: &str| {
            crate::fields::parse_text(v.get(k)).map(|t| crate::error::redact(&t, &secrets))
        };
        let mut api = ApiError::new(
            self.call.clone(),
            status,
            &text("Code").unwrap_or_default(),
            &text("Message").unwrap_or_default(),
            text("RequestId"),
        );
        api.host_id = text("HostId");
        api.recommend = text("Recommend");
        Error::Api(Box::new(api))
    }
}

/// The host (and port) a redirect points at, never its path or query (which may echo the signed
/// request).
fn redirect_target(location: &str) -> String {
    match url::Url::parse(location) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("host {h}:{p}"),
            (Some(h), None) => format!("host {h}"),
            (None, _) => "a location without a host".to_string(),
        },
        Err(_) => "a path on the same host".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_target;

    #[test]
    fn redirect_targets_show_the_host_only() {
        assert_eq!(
            redirect_target("http://evil.example:8080/steal?SecurityToken=abc"),
            "host evil.example:8080"
        );
        assert_eq!(redirect_target("https://x.example/a"), "host x.example");
        assert_eq!(
            redirect_target("/other?Signature=x"),
            "a path on the same host"
        );
    }
}
