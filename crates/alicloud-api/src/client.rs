//! The client: signed RPC requests with retries and time limits, temporary-credential refresh, a
//! per-client caller identity, and a bounded concurrent fan-out over regions.
//!
//! A [`Client`] is cheap to clone (one `Arc`); clones share the HTTP connection pool, the cached
//! temporary credentials and the cached caller identity.

use crate::actiontrail::{self, DescribeTrailsRequest, DescribeTrailsResponse, RegionInfo};
use crate::credentials::{self, CredentialSource, Credentials};
use crate::endpoint::{Endpoint, Product};
use crate::error::{excerpt, ApiError, Error, Result};
use crate::retry::{classify, Decision, RetryPolicy};
use crate::signer;
use crate::sts::{self, CallerIdentity};
use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Temporary credentials are renewed when they have less than this left.
const REFRESH_BEFORE_EXPIRY: chrono::TimeDelta = chrono::TimeDelta::minutes(3);

/// How long an excerpt of an unreadable body may be.
const EXCERPT_CHARS: usize = 160;

/// Everything that shapes how requests are made. Defaults follow the official SDKs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub actiontrail_endpoint: Endpoint,
    pub sts_endpoint: Endpoint,
    /// The region passed to the STS endpoint (template) and as `RegionId` of STS calls.
    pub sts_region: String,
    /// The ECS instance metadata service, for the `EcsRamRole` credential source.
    pub ecs_metadata_base: String,
    pub connect_timeout: Duration,
    /// Limit on one attempt: sending the request and reading the whole answer.
    pub attempt_timeout: Duration,
    /// Limit on one call, all attempts and backoffs included; `None`: only the attempts' limits.
    pub deadline: Option<Duration>,
    pub retry: RetryPolicy,
    /// At most this many regions are called at once by [`Client::for_each_region`].
    pub max_concurrency: usize,
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            actiontrail_endpoint: Endpoint::Default(Product::ActionTrail),
            sts_endpoint: Endpoint::Default(Product::Sts),
            sts_region: "cn-hangzhou".to_string(),
            ecs_metadata_base: credentials::DEFAULT_ECS_METADATA_BASE.to_string(),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: None,
            retry: RetryPolicy::default(),
            max_concurrency: 10,
            user_agent: concat!("alicloud-fdw/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// The APIs this client speaks.
#[derive(Debug, Clone, Copy)]
enum Service {
    ActionTrail,
    Sts,
}

impl Service {
    fn version(self) -> &'static str {
        match self {
            Service::ActionTrail => actiontrail::VERSION,
            Service::Sts => sts::VERSION,
        }
    }
}

#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// For the link-local metadata service: short timeouts, no proxy.
    metadata_http: reqwest::Client,
    config: ClientConfig,
    source: CredentialSource,
    temporary: tokio::sync::Mutex<Option<Credentials>>,
    identity: tokio::sync::OnceCell<CallerIdentity>,
    regions: tokio::sync::OnceCell<Vec<String>>,
}

/// Builds the HTTP client the [`Client`] uses: rustls, a connect timeout, keep-alive pooling.
pub fn build_http_client(connect_timeout: Duration, user_agent: &str) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(user_agent)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| {
            Error::config(format!(
                "could not build the HTTP client: {}",
                e.without_url()
            ))
        })
}

impl Client {
    pub fn new(config: ClientConfig, source: CredentialSource) -> Result<Client> {
        let http = build_http_client(config.connect_timeout, &config.user_agent)?;
        Ok(Client::with_http_client(http, config, source))
    }

    /// Shares an existing HTTP client (and so its connection pool). Its connect timeout wins over
    /// `config.connect_timeout`.
    pub fn with_http_client(
        http: reqwest::Client,
        config: ClientConfig,
        source: CredentialSource,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                http: http.clone(),
                metadata_http: credentials::ecs_metadata_http_client().unwrap_or(http),
                config,
                source,
                temporary: tokio::sync::Mutex::new(None),
                identity: tokio::sync::OnceCell::new(),
                regions: tokio::sync::OnceCell::new(),
            }),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The credentials to sign with now: static ones as they are; temporary ones from the cache,
    /// fetched (AssumeRole or ECS metadata) when missing or within minutes of expiry.
    pub async fn credentials(&self) -> Result<Credentials> {
        match &self.inner.source {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::RamRoleArn {
                base,
                role_arn,
                session_name,
                duration_seconds,
            } => {
                self.cached_temporary(|| {
                    self.assume_role(base, role_arn, session_name, *duration_seconds)
                })
                .await
            }
            CredentialSource::EcsRamRole { role_name } => {
                self.cached_temporary(|| {
                    credentials::fetch_ecs_role_credentials(
                        &self.inner.metadata_http,
                        &self.inner.config.ecs_metadata_base,
                        role_name.as_deref(),
                    )
                })
                .await
            }
        }
    }

    async fn cached_temporary<F, Fut>(&self, fetch: F) -> Result<Credentials>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Credentials>>,
    {
        let mut slot = self.inner.temporary.lock().await;
        if let Some(c) = slot.as_ref() {
            let fresh = c
                .expiration
                .is_none_or(|exp| exp - chrono::Utc::now() > REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(c.clone());
            }
        }
        let c = fetch().await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// STS `AssumeRole`, signed with `base`.
    pub async fn assume_role(
        &self,
        base: &Credentials,
        role_arn: &str,
        session_name: &str,
        duration_seconds: u32,
    ) -> Result<Credentials> {
        let mut params = BTreeMap::new();
        params.insert("RoleArn".to_string(), role_arn.to_string());
        params.insert("RoleSessionName".to_string(), session_name.to_string());
        params.insert("DurationSeconds".to_string(), duration_seconds.to_string());
        let region = self.inner.config.sts_region.clone();
        let body = self
            .call(Service::Sts, "AssumeRole", &region, params, base)
            .await?;
        sts::parse_assume_role(&body).map_err(|m| Error::Credentials {
            message: format!("AssumeRole of {role_arn} answered without usable credentials: {m}"),
        })
    }

    /// STS `GetCallerIdentity`, asked once per client and remembered.
    pub async fn caller_identity(&self) -> Result<CallerIdentity> {
        self.inner
            .identity
            .get_or_try_init(|| async {
                let region = self.inner.config.sts_region.clone();
                let body = self
                    .call_with_own_credentials(
                        Service::Sts,
                        "GetCallerIdentity",
                        &region,
                        BTreeMap::new(),
                    )
                    .await?;
                sts::parse_caller_identity(&body)
                    .map_err(|m| decode_error("GetCallerIdentity", &region, 200, m, &body))
            })
            .await
            .cloned()
    }

    /// ActionTrail `DescribeTrails` in one region.
    pub async fn describe_trails(
        &self,
        region: &str,
        request: &DescribeTrailsRequest,
    ) -> Result<DescribeTrailsResponse> {
        let body = self
            .call_with_own_credentials(
                Service::ActionTrail,
                "DescribeTrails",
                region,
                request.params(),
            )
            .await?;
        let shown = body.clone();
        DescribeTrailsResponse::from_json(body)
            .map_err(|m| decode_error("DescribeTrails", region, 200, m, &shown))
    }

    /// ActionTrail `DescribeRegions`, asked of `region`'s endpoint.
    pub async fn describe_regions(&self, region: &str) -> Result<Vec<RegionInfo>> {
        let mut params = BTreeMap::new();
        params.insert("AcceptLanguage".to_string(), "en-US".to_string());
        let body = self
            .call_with_own_credentials(Service::ActionTrail, "DescribeRegions", region, params)
            .await?;
        actiontrail::parse_regions(&body)
            .map_err(|m| decode_error("DescribeRegions", region, 200, m, &body))
    }

    /// Every region id `DescribeRegions` reports (asked of `region`'s endpoint), asked once per
    /// client and remembered: this is what a `*` region list expands to.
    pub async fn all_regions(&self, region: &str) -> Result<Vec<String>> {
        self.inner
            .regions
            .get_or_try_init(|| async {
                let list = self.describe_regions(region).await?;
                Ok::<_, Error>(list.into_iter().map(|r| r.region_id).collect())
            })
            .await
            .cloned()
    }

    /// `DescribeTrails` in every region of `regions`, at most `max_concurrency` at once. The results
    /// come back in the order of `regions`, each region's error kept apart.
    pub async fn describe_trails_in_regions(
        &self,
        regions: &[String],
        request: &DescribeTrailsRequest,
    ) -> Vec<(String, Result<DescribeTrailsResponse>)> {
        self.for_each_region(regions, |client, region| {
            let request = request.clone();
            async move { client.describe_trails(&region, &request).await }
        })
        .await
    }

    /// Runs `call` for every region concurrently (capped by `max_concurrency`); results in the
    /// order of `regions`.
    pub async fn for_each_region<T, F, Fut>(
        &self,
        regions: &[String],
        call: F,
    ) -> Vec<(String, Result<T>)>
    where
        F: Fn(Client, String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let cap = self.inner.config.max_concurrency.max(1);
        let mut done: Vec<(usize, String, Result<T>)> =
            stream::iter(regions.iter().cloned().enumerate())
                .map(|(i, region)| {
                    let fut = call(self.clone(), region.clone());
                    async move { (i, region, fut.await) }
                })
                .buffer_unordered(cap)
                .collect()
                .await;
        done.sort_by_key(|(i, _, _)| *i);
        done.into_iter().map(|(_, r, res)| (r, res)).collect()
    }

    /// [`Client::call`] signed with the client's own credentials (refreshed when temporary).
    async fn call_with_own_credentials(
        &self,
        service: Service,
        action: &str,
        region: &str,
        params: BTreeMap<String, String>,
    ) -> Result<Value> {
        let creds = self.credentials().await?;
        self.call(service, action, region, params, &creds).await
    }

    /// One RPC call with retries: a fresh nonce, timestamp and signature per attempt; backoff with
    /// jitter; the per-attempt limit and the overall deadline enforced. Signed with `creds`.
    async fn call(
        &self,
        service: Service,
        action: &str,
        region: &str,
        params: BTreeMap<String, String>,
        creds: &Credentials,
    ) -> Result<Value> {
        let config = &self.inner.config;
        let started = Instant::now();
        let deadline = config.deadline.map(|d| started + d);
        let deadline_error = || Error::Timeout {
            action: action.to_string(),
            region: region.to_string(),
            what: "the overall deadline",
            after: config.deadline.unwrap_or_default(),
        };
        let mut attempt = 1u32;
        let mut nonce_retry_used = false;
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                return Err(deadline_error());
            }
            let limit = remaining.map_or(config.attempt_timeout, |r| r.min(config.attempt_timeout));
            let outcome =
                tokio::time::timeout(limit, self.attempt(service, action, region, &params, creds))
                    .await;
            let (error, hint) = match outcome {
                Ok(Ok(body)) => return Ok(body),
                Ok(Err(failure)) => failure,
                Err(_) if limit < config.attempt_timeout => return Err(deadline_error()),
                Err(_) => (
                    Error::Timeout {
                        action: action.to_string(),
                        region: region.to_string(),
                        what: "waiting for the response",
                        after: limit,
                    },
                    None,
                ),
            };
            match classify(&error) {
                Decision::Fail => return Err(error),
                Decision::RetryOnceNow if !nonce_retry_used => nonce_retry_used = true,
                Decision::RetryOnceNow => return Err(error),
                Decision::Retry => {
                    if attempt >= config.retry.max_attempts {
                        return Err(error);
                    }
                    attempt += 1;
                    let wait = config.retry.backoff(attempt, hint);
                    // A wait that would outlast the deadline cannot end in a useful attempt.
                    if deadline.is_some_and(|d| wait >= d.saturating_duration_since(Instant::now()))
                    {
                        return Err(error);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One signed attempt. On failure, also returns the server's retry hint (`x-acs-retry-after`).
    async fn attempt(
        &self,
        service: Service,
        action: &str,
        region: &str,
        operation_params: &BTreeMap<String, String>,
        creds: &Credentials,
    ) -> std::result::Result<Value, (Error, Option<Duration>)> {
        let config = &self.inner.config;
        let endpoint = match service {
            Service::ActionTrail => config.actiontrail_endpoint.url(region),
            Service::Sts => config.sts_endpoint.url(region),
        };
        let mut params = operation_params.clone();
        for (k, v) in [
            ("Action", action),
            ("Version", service.version()),
            ("Format", "JSON"),
            ("AccessKeyId", &creds.access_key_id),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("RegionId", region),
        ] {
            params.insert(k.to_string(), v.to_string());
        }
        params.insert(
            "SignatureNonce".to_string(),
            uuid::Uuid::new_v4().to_string(),
        );
        params.insert(
            "Timestamp".to_string(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        if let Some(token) = &creds.security_token {
            params.insert("SecurityToken".to_string(), token.expose().to_string());
        }
        let signature = signer::sign("POST", &params, creds.access_key_secret.expose());
        let url = format!(
            "{endpoint}?{}&Signature={}",
            signer::canonicalized_query(&params),
            signer::percent_encode(&signature)
        );

        let transport = |e: reqwest::Error| {
            let timed_out = e.is_timeout() && e.is_connect();
            let e = e.without_url();
            let err = if timed_out {
                Error::Timeout {
                    action: action.to_string(),
                    region: region.to_string(),
                    what: "connecting",
                    after: config.connect_timeout,
                }
            } else {
                Error::Transport {
                    action: action.to_string(),
                    region: region.to_string(),
                    endpoint: endpoint.clone(),
                    message: error_chain(&e),
                }
            };
            (err, None)
        };
        let response = self
            .inner
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let hint = response
            .headers()
            .get("x-acs-retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        let body = response.bytes().await.map_err(|e| (transport(e).0, hint))?;

        let parsed = serde_json::from_slice::<Value>(&body);
        if (200..300).contains(&status) {
            return parsed.map_err(|e| {
                let err = Error::Decode {
                    action: action.to_string(),
                    region: region.to_string(),
                    status,
                    message: format!("invalid JSON: {e}"),
                    excerpt: excerpt(&body, EXCERPT_CHARS),
                };
                (err, None)
            });
        }
        let err = match parsed {
            Ok(v) if v.get("Code").is_some() => {
                // The service may echo request parts (SignatureDoesNotMatch quotes its
                // StringToSign, security token included): keep the secrets out.
                let secrets: Vec<&str> = std::iter::once(creds.access_key_secret.expose())
                    .chain(creds.security_token.as_ref().map(|t| t.expose()))
                    .collect();
                let text = |k: &str| {
                    crate::time::parse_text(v.get(k)).map(|t| crate::error::redact(&t, &secrets))
                };
                Error::Api(Box::new(ApiError {
                    action: action.to_string(),
                    region: region.to_string(),
                    status,
                    code: text("Code").unwrap_or_default(),
                    message: text("Message").unwrap_or_default(),
                    request_id: text("RequestId"),
                    host_id: text("HostId"),
                    recommend: text("Recommend"),
                }))
            }
            _ => Error::Decode {
                action: action.to_string(),
                region: region.to_string(),
                status,
                message: "expected a JSON error object".to_string(),
                excerpt: excerpt(&body, EXCERPT_CHARS),
            },
        };
        Err((err, hint))
    }
}

fn decode_error(action: &str, region: &str, status: u16, message: String, body: &Value) -> Error {
    Error::Decode {
        action: action.to_string(),
        region: region.to_string(),
        status,
        message,
        excerpt: excerpt(body.to_string().as_bytes(), EXCERPT_CHARS),
    }
}

/// "outer: inner: innermost", without repeating a message its source already says.
fn error_chain(e: &dyn std::error::Error) -> String {
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
