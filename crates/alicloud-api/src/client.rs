//! The client: its configuration, the temporary-credential cache, signed calls with retries, and
//! a concurrent fan-out over regions. One signed attempt is `client/attempt.rs`; the retry loop is
//! [`crate::retry`]; each service's operations sit beside its types (`actiontrail.rs`, `sts.rs`).
//!
//! A [`Client`] is cheap to clone (one `Arc`); clones share the HTTP connection pool and the cached
//! temporary credentials. It remembers nothing else: what an answer may be reused for is the
//! caller's decision (a statement snapshot, a cache with a TTL).

mod attempt;

use crate::credentials::{self, CredentialSource, Credentials};
use crate::endpoint::{Endpoint, Product};
use crate::error::{Call, Error, Result};
use crate::retry::{CallReport, Limits, RetryPolicy};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Temporary credentials are renewed when they have less than this left.
const REFRESH_BEFORE_EXPIRY: chrono::TimeDelta = chrono::TimeDelta::minutes(3);

/// The default limit on one answer's size: far above any real `DescribeTrails` answer (an account
/// has at most a few trails per region), far below what would strain a database server.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Everything that shapes how requests are made. Defaults follow the official SDKs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where ActionTrail is.
    pub actiontrail_endpoint: Endpoint,
    /// Where STS is.
    pub sts_endpoint: Endpoint,
    /// Where Resource Manager is (`ListAccounts`).
    pub resourcemanager_endpoint: Endpoint,
    /// The region of calls that are not about one region: STS calls (also the region of a
    /// `{region}` STS endpoint) and `DescribeRegions`.
    pub global_region: String,
    /// The ECS instance metadata service, for the `EcsRamRole` credential source.
    pub ecs_metadata_base: String,
    /// Limit on opening a connection.
    pub connect_timeout: Duration,
    /// Limit on one attempt: sending the request and reading the whole answer.
    pub attempt_timeout: Duration,
    /// Limit on one call, all attempts and backoffs included; `None`: only the attempts' limits.
    pub deadline: Option<Duration>,
    /// Which failures are retried, how often, and the backoff.
    pub retry: RetryPolicy,
    /// At most this many calls a scan makes at once; `None`: every one at once (each region is
    /// its own endpoint).
    pub max_concurrency: Option<usize>,
    /// The largest answer read, in bytes; a larger one fails the call.
    pub max_response_bytes: u64,
    /// The `User-Agent` header: the front end that uses the client names itself here.
    pub user_agent: String,
}

impl ClientConfig {
    /// The longest one call can take, all attempts and backoffs included: the deadline when
    /// there is one, else every attempt timing out after the longest backoffs. A session that
    /// waits for another session's call of the same request waits no longer than this.
    pub fn call_limit(&self) -> Duration {
        let longest = self.retry.longest(self.attempt_timeout);
        self.deadline.map_or(longest, |d| d.min(longest))
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            actiontrail_endpoint: Endpoint::Default(Product::ActionTrail),
            sts_endpoint: Endpoint::Default(Product::Sts),
            resourcemanager_endpoint: Endpoint::Default(Product::ResourceManager),
            global_region: "cn-hangzhou".to_string(),
            ecs_metadata_base: credentials::DEFAULT_ECS_METADATA_BASE.to_string(),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: None,
            retry: RetryPolicy::default(),
            max_concurrency: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent: concat!("alicloud-api/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Reads a JSON answer with `read`; otherwise, what is wrong with it.
pub(crate) fn read_json<T>(
    body: &[u8],
    read: impl FnOnce(&serde_json::Value) -> Result<T, String>,
) -> Result<T, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("invalid JSON: {e}"))
        .and_then(|v| read(&v))
}

/// An API this client speaks: its version, and where it is (each service module declares its own,
/// so the client names none).
#[derive(Clone, Copy)]
pub(crate) struct Service {
    pub version: &'static str,
    pub endpoint: fn(&ClientConfig) -> &Endpoint,
}

/// The result of one API call and what it took.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The answer, or why there is none.
    pub result: Result<T>,
    /// Attempts, throttling, time and bytes of the call.
    pub report: CallReport,
}

/// A client for Alibaba Cloud's RPC APIs with one credential source.
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
}

/// The HTTP client a [`Client`] uses: rustls, a connect timeout, keep-alive pooling, and no
/// redirects (a signed request goes to the configured host or nowhere; a 3xx is an error).
fn build_http_client(connect_timeout: Duration, user_agent: &str) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(user_agent)
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
        .map_err(|e| {
            Error::config(format!(
                "could not build the HTTP client: {}",
                crate::error::chain_text(&e.without_url())
            ))
        })
}

impl Client {
    /// A client with its own HTTP connection pool.
    pub fn new(config: ClientConfig, source: CredentialSource) -> Result<Client> {
        let http = build_http_client(config.connect_timeout, &config.user_agent)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http: http.clone(),
                metadata_http: credentials::ecs_metadata_http_client().unwrap_or(http),
                config,
                source,
                temporary: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The credential source the client signs with.
    pub fn source(&self) -> &CredentialSource {
        &self.inner.source
    }

    pub(crate) fn config(&self) -> &ClientConfig {
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
            if !c.expires_within(REFRESH_BEFORE_EXPIRY) {
                return Ok(c.clone());
            }
        }
        let c = fetch().await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// A call about no region in particular, made in the global region with the client's own
    /// credentials; its JSON answer read by `read` (an unreadable one is a decode error with an
    /// excerpt).
    pub(crate) async fn global_call<T>(
        &self,
        service: Service,
        action: &str,
        params: BTreeMap<String, String>,
        read: impl FnOnce(&serde_json::Value) -> Result<T, String>,
    ) -> Outcome<T> {
        let region = self.inner.config.global_region.clone();
        let call = Call::new(action, &region);
        self.call_with_own_credentials(service, action, &region, params, |body| {
            read_json(&body, read).map_err(|why| Error::decode(&call, 200, why, &body))
        })
        .await
    }

    /// A call signed with the client's own credentials (refreshed when temporary), its answer
    /// read by `read`. Every error, the answer's excerpt in a decode error included, comes back
    /// with the credentials' secrets and token redacted.
    pub(crate) async fn call_with_own_credentials<T>(
        &self,
        service: Service,
        action: &str,
        region: &str,
        params: BTreeMap<String, String>,
        read: impl FnOnce(Vec<u8>) -> Result<T>,
    ) -> Outcome<T> {
        match self.credentials().await {
            Ok(creds) => {
                let outcome = self.call(service, action, region, params, &creds).await;
                let secrets: Vec<&str> = creds.secrets().collect();
                Outcome {
                    result: outcome
                        .result
                        .and_then(read)
                        .map_err(|e| e.redacted(&secrets)),
                    report: outcome.report,
                }
            }
            Err(e) => Outcome {
                result: Err(e),
                report: CallReport::default(),
            },
        }
    }

    /// Every secret value the client signs with now: the secret and token of its own keys, and
    /// of the temporary credentials it holds (a role's, the instance's). For checks that no
    /// answer kept or shown holds one.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .inner
            .source
            .signing_keys()
            .into_iter()
            .flat_map(|k| k.secrets())
            .map(str::to_string)
            .collect();
        if let Ok(held) = self.inner.temporary.try_lock() {
            out.extend(held.iter().flat_map(|c| c.secrets()).map(str::to_string));
        }
        out
    }

    /// One RPC call with retries, signed with `creds`: a fresh nonce, timestamp and signature per
    /// attempt; the answer body when the API says 2xx.
    pub(crate) async fn call(
        &self,
        service: Service,
        action: &str,
        region: &str,
        params: BTreeMap<String, String>,
        creds: &Credentials,
    ) -> Outcome<Vec<u8>> {
        let config = &self.inner.config;
        let call = Call::new(action, region);
        let endpoint = (service.endpoint)(config).url(region);
        let bytes = AtomicU64::new(0);
        let mut report = CallReport::default();
        let limits = Limits {
            attempt: config.attempt_timeout,
            deadline: config.deadline,
        };
        let result = config
            .retry
            .run(&call, limits, &mut report, || {
                attempt::Attempt {
                    http: &self.inner.http,
                    call: &call,
                    endpoint: &endpoint,
                    version: service.version,
                    params: &params,
                    credentials: creds,
                    connect_timeout: config.connect_timeout,
                    max_bytes: config.max_response_bytes,
                    bytes_read: &bytes,
                }
                .send()
            })
            .await;
        report.bytes = bytes.load(Ordering::Relaxed);
        Outcome { result, report }
    }
}
