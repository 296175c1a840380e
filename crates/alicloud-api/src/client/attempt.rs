//! One signed attempt: sign, POST, read the answer within its size limit, and sort it into a body
//! (2xx), an API error (`{"Code": ...}`), a redirect (never followed), or an unreadable answer.

use super::http::{transport, Answer, Http, SendError};
use crate::credentials::Credentials;
use crate::error::{ApiError, Call, Error};
use crate::retry::Failure;
use crate::signer::{self, RpcRequest};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// What every attempt of one call shares.
pub(super) struct Parts {
    pub call: Call,
    /// Scheme, host and path: the URL without its query.
    pub endpoint: String,
    pub version: &'static str,
    pub params: BTreeMap<String, String>,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub max_bytes: u64,
    /// Body bytes read, added to over all attempts of the call.
    pub bytes_read: AtomicU64,
}

/// One attempt: owns what it needs, so that it can run on the transport's threads.
pub(super) struct Attempt {
    pub http: Http,
    pub parts: Arc<Parts>,
}

impl Attempt {
    /// Sends the request once, on the transport's threads (see [`transport`]): signing,
    /// sending and reading the answer there, so that a scan's many calls are not all made by the
    /// thread that waits for them. On failure, also returns the server's retry hint.
    pub(super) async fn send(self) -> Result<Vec<u8>, Failure> {
        let Some(transport) = transport() else {
            return self.send_here().await;
        };
        let parts = self.parts.clone();
        match Transported(transport.spawn(self.send_here())).await {
            Ok(outcome) => outcome,
            // A panic goes on on the caller's thread, as if the attempt had run there.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Failure::from(Error::Transport {
                call: parts.call.clone(),
                endpoint: parts.endpoint.clone(),
                message: format!("the call ended without an answer: {e}"),
            })),
        }
    }

    /// Sends the request once, on this thread.
    async fn send_here(self) -> Result<Vec<u8>, Failure> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let query = signer::rpc_query(
            RpcRequest {
                action: &self.parts.call.action,
                version: self.parts.version,
                region: &self.parts.call.region,
                now: chrono::Utc::now(),
                nonce: &nonce,
            },
            &self.parts.params,
            &self.parts.credentials,
        );
        let response = self
            .http
            .post(format!("{}?{query}", self.parts.endpoint))
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
                call: self.parts.call.clone(),
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
            call: self.parts.call.clone(),
            limit: self.parts.max_bytes,
        };
        let announced = response.announced_len();
        if announced.is_some_and(|n| n > self.parts.max_bytes) {
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
            self.parts
                .bytes_read
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if (body.len() + chunk.len()) as u64 > self.parts.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, e: SendError) -> Failure {
        Failure::from(if e.connect_timed_out {
            Error::Timeout {
                call: self.parts.call.clone(),
                what: "connecting".into(),
                after: self.parts.connect_timeout,
            }
        } else {
            Error::Transport {
                call: self.parts.call.clone(),
                endpoint: self.parts.endpoint.to_string(),
                message: e.message,
            }
        })
    }

    /// A non-2xx answer: the API's error object, or a decode error with an excerpt.
    fn error_answer(&self, status: u16, body: &[u8]) -> Error {
        let parsed = serde_json::from_slice::<serde_json::Value>(body);
        let Some(v) = parsed.as_ref().ok().filter(|v| v.get("Code").is_some()) else {
            return Error::decode(
                &self.parts.call,
                status,
                "expected a JSON error object",
                body,
            );
        };
        // The service may echo request parts (SignatureDoesNotMatch quotes its StringToSign,
        // security token included): keep the secrets out.
        let secrets: Vec<&str> = self.parts.credentials.secrets().collect();
        let text = |k: &str| {
            crate::fields::parse_text(v.get(k)).map(|t| crate::error::redact(&t, &secrets))
        };
        let mut api = ApiError::new(
            self.parts.call.clone(),
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

/// An attempt running on the transport's threads; dropping it (a timeout, a cancelled scan) stops
/// it there too.
struct Transported<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Transported<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Transported<T> {
    fn drop(&mut self) {
        self.0.abort();
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
