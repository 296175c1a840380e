//! The ECS instance RAM role, from the instance metadata service.
//!
//! IMDSv2 first: `PUT /latest/api/token` with `X-aliyun-ecs-metadata-token-ttl-seconds`, then the
//! token goes along as `X-aliyun-ecs-metadata-token`. A service that refuses the token request with
//! 403, 404 or 405 is asked without one (IMDSv1).
//!
//! No error quotes the credential document: an answer is shown (as a short excerpt) only when it
//! does not look like one.

use super::{Credentials, Secret};
use crate::error::{chain_text, excerpt, Error, Result};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// Where the metadata service lives on every ECS instance (link-local).
pub const DEFAULT_ECS_METADATA_BASE: &str = "http://100.100.100.200";
/// Connect time limit of [`ecs_metadata_http_client`].
pub const ECS_METADATA_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time limit for a whole [`fetch_ecs_role_credentials`] (all its requests together).
pub const ECS_METADATA_TIMEOUT: Duration = Duration::from_secs(5);

const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const TOKEN_TTL_SECONDS: &str = "21600";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";

/// An HTTP client fit for the metadata service: 1 s to connect, 5 s in all, and no proxy (the
/// address is link-local; a proxy from the environment would never reach it).
pub fn ecs_metadata_http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(ECS_METADATA_CONNECT_TIMEOUT)
        .timeout(ECS_METADATA_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::config(format!(
                "could not build the HTTP client for the ECS metadata service: {}",
                chain_text(&e)
            ))
        })
}

/// Temporary credentials of the instance's RAM role `role_name` (asked from the service when
/// `None`), from the metadata service at `metadata_base` (normally [`DEFAULT_ECS_METADATA_BASE`]).
///
/// The whole fetch has [`ECS_METADATA_TIMEOUT`]; each request gets what is left of it. The connect
/// time limit is the client's own: use [`ecs_metadata_http_client`] for 1 s.
pub async fn fetch_ecs_role_credentials(
    http: &reqwest::Client,
    metadata_base: &str,
    role_name: Option<&str>,
) -> Result<Credentials> {
    let fetch = Fetch {
        http,
        base: metadata_base.trim_end_matches('/'),
        deadline: Instant::now() + ECS_METADATA_TIMEOUT,
    };
    let token = fetch.token().await?;
    let role = match role_name.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => fetch.role_name(token.as_ref()).await?,
    };
    if !role
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(Error::config(
            "the ECS RAM role name may hold only letters, digits, '-', '_' and '.'",
        ));
    }
    fetch.credentials(token.as_ref(), &role).await
}

struct Fetch<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    deadline: Instant,
}

/// An HTTP answer, read whole.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Fetch<'_> {
    fn remaining(&self, step: &str) -> Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timed_out(step));
        }
        Ok(left)
    }

    fn timed_out(&self, step: &str) -> Error {
        Error::credentials(format!(
            "the ECS metadata service at {} did not answer in time ({} s in all) while {step}",
            self.base,
            ECS_METADATA_TIMEOUT.as_secs()
        ))
    }

    async fn send(&self, req: reqwest::RequestBuilder, step: &str) -> Result<Answer> {
        let req = req.timeout(self.remaining(step)?);
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                self.timed_out(step)
            } else if e.is_connect() {
                Error::credentials(format!(
                    "could not connect to the ECS metadata service at {} while {step} \
                     (is this an ECS instance?): {}",
                    self.base,
                    chain_text(&e)
                ))
            } else {
                Error::credentials(format!(
                    "the ECS metadata service at {} failed while {step}: {}",
                    self.base,
                    chain_text(&e)
                ))
            }
        };
        let resp = req.send().await.map_err(fail)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(fail)?.to_vec();
        Ok(Answer { status, body })
    }

    /// An IMDSv2 session token, or `None` where the service does not hand them out.
    async fn token(&self) -> Result<Option<Secret>> {
        let step = "asking for a session token";
        let req = self
            .http
            .put(format!("{}/latest/api/token", self.base))
            .header(TOKEN_TTL_HEADER, TOKEN_TTL_SECONDS);
        let a = self.send(req, step).await?;
        match a.status {
            200..=299 => {
                let token = String::from_utf8_lossy(&a.body).trim().to_string();
                Ok((!token.is_empty()).then(|| Secret::new(token)))
            }
            // 403, 404, 405: no IMDSv2 here (or it is switched off); go on without a token.
            403..=405 => Ok(None),
            // The token itself would be the body of a success; a failure's body is safe to show,
            // but guard it all the same.
            s => Err(self.bad_status(step, s, &a.body)),
        }
    }

    fn get(&self, path: &str, token: Option<&Secret>) -> reqwest::RequestBuilder {
        let req = self.http.get(format!("{}{path}", self.base));
        match token {
            Some(t) => req.header(TOKEN_HEADER, t.expose()),
            None => req,
        }
    }

    /// The instance's RAM role, from the listing.
    async fn role_name(&self, token: Option<&Secret>) -> Result<String> {
        let step = "asking which RAM role the instance has";
        let a = self.send(self.get(CREDENTIALS_PATH, token), step).await?;
        match a.status {
            200..=299 => {}
            404 => return Err(no_role()),
            s => return Err(self.bad_status(step, s, &a.body)),
        }
        let text = String::from_utf8_lossy(&a.body);
        let role = text.lines().map(str::trim).find(|l| !l.is_empty());
        match role {
            Some(r) => Ok(r.to_string()),
            None => Err(no_role()),
        }
    }

    async fn credentials(&self, token: Option<&Secret>, role: &str) -> Result<Credentials> {
        let step = format!("fetching the credentials of RAM role {role}");
        let a = self
            .send(self.get(&format!("{CREDENTIALS_PATH}{role}"), token), &step)
            .await?;
        match a.status {
            200..=299 => {}
            404 => {
                return Err(Error::credentials(format!(
                    "the ECS instance has no RAM role named {role} (HTTP 404 from the metadata service at {})",
                    self.base
                )))
            }
            s => return Err(self.bad_status(&step, s, &a.body)),
        }
        let doc: serde_json::Value = serde_json::from_slice(&a.body).map_err(|_| {
            let shown = match safe_excerpt(&a.body) {
                Some(x) => format!("; the answer began: {x}"),
                None => String::new(),
            };
            Error::credentials(format!(
                "the ECS metadata service at {} answered {step} with something that is not JSON (HTTP {}){shown}",
                self.base, a.status
            ))
        })?;
        let field = |name: &str| -> Option<String> {
            doc.get(name)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        // A value from the document is quoted only when it looks like what it should be and is
        // not (part of) one of the document's secrets.
        let secrets: Vec<String> = ["AccessKeySecret", "SecurityToken"]
            .iter()
            .filter_map(|n| field(n))
            .collect();
        let showable = |s: &str, shape: fn(&str) -> bool| {
            shape(s)
                && !secrets
                    .iter()
                    .any(|v| v.contains(s) || s.contains(v.as_str()))
        };
        let code = field("Code");
        if code.as_deref() != Some("Success") {
            let code = match code {
                Some(c) if showable(&c, is_code) => format!("Code {c:?}"),
                Some(_) => "a Code that is not shown".to_string(),
                None => "no Code".to_string(),
            };
            return Err(Error::credentials(format!(
                "the ECS metadata service at {} answered {code} instead of \"Success\" when {step}",
                self.base
            )));
        }
        let required = |name: &str| {
            field(name).ok_or_else(|| {
                Error::credentials(format!(
                    "the ECS metadata service's answer when {step} has no {name}"
                ))
            })
        };
        let access_key_id = required("AccessKeyId")?;
        let access_key_secret = Secret::new(required("AccessKeySecret")?);
        let security_token = Secret::new(required("SecurityToken")?);
        let expiration_text = required("Expiration")?;
        let expiration = DateTime::parse_from_rfc3339(&expiration_text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                let shown = if showable(&expiration_text, is_plain) {
                    format!(" {expiration_text:?}")
                } else {
                    String::new()
                };
                Error::credentials(format!(
                    "the ECS metadata service's answer when {step} has an Expiration{shown} that is not \
                     an RFC 3339 time"
                ))
            })?;
        Ok(Credentials {
            access_key_id,
            access_key_secret,
            security_token: Some(security_token),
            expiration: Some(expiration),
        })
    }

    fn bad_status(&self, step: &str, status: u16, body: &[u8]) -> Error {
        let shown = match safe_excerpt(body) {
            Some(x) => format!("; the answer began: {x}"),
            None => String::new(),
        };
        Error::credentials(format!(
            "the ECS metadata service at {} answered HTTP {status} when {step}{shown}",
            self.base
        ))
    }
}

fn no_role() -> Error {
    Error::credentials(
        "the ECS instance has no RAM role attached (the metadata service lists none)",
    )
}

/// A short excerpt of `body`, unless it may be (part of) a credential document.
fn safe_excerpt(body: &[u8]) -> Option<String> {
    let lower = String::from_utf8_lossy(body).to_ascii_lowercase();
    let risky = ["secret", "token", "accesskey", "access_key"];
    if risky.iter().any(|r| lower.contains(r)) {
        return None;
    }
    Some(excerpt(body, 120))
}

/// Letters, digits, `.` and `_`, at most 40 characters: the shape of a status code.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
}

/// Printable ASCII without quotes or backslashes, at most 64 characters: safe to quote.
fn is_plain(s: &str) -> bool {
    s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

#[cfg(test)]
mod tests;
