//! The client: its configuration, the temporary-credential cache, signed calls with retries, and
//! a concurrent fan-out over regions. One signed attempt is `client/attempt.rs`; the retry loop is
//! [`crate::retry`]; each service's operations sit beside its types (`actiontrail.rs`, `sts.rs`).
//!
//! A [`Client`] is cheap to clone (one `Arc`); clones share the HTTP connection pool and the cached
//! temporary credentials. It remembers nothing else: what an answer may be reused for is the
//! caller's decision (a statement snapshot, a cache with a TTL).

mod attempt;
mod http;

pub use http::{Connections, OpenedAhead};

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
/// Temporary credentials, and when they were fetched.
struct Held {
    credentials: Credentials,
    fetched: chrono::DateTime<chrono::Utc>,
}

impl Held {
    /// Whether they are due for renewal: past 80% of their life (so a long scan never meets their
    /// end), or within [`REFRESH_BEFORE_EXPIRY`] of it.
    fn due(&self) -> bool {
        let c = &self.credentials;
        let Some(expiration) = c.expiration else {
            return false;
        };
        let renew_at = self.fetched + (expiration - self.fetched) * 4 / 5;
        chrono::Utc::now() >= renew_at || c.expires_within(REFRESH_BEFORE_EXPIRY)
    }
}

/// What a client waits for before each `AssumeRole` it makes: a turn of a rate that the front end
/// shares among clients (every member account's role is assumed with the same caller's keys,
/// which STS limits together).
pub type AssumeGate =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The code of a call signed with temporary credentials that expired.
const TOKEN_EXPIRED: &str = "InvalidSecurityToken.Expired";

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
    http: http::Http,
    /// For the link-local metadata service: short timeouts, no proxy. Built when first used (only
    /// the `EcsRamRole` source uses it).
    metadata_http: std::sync::OnceLock<reqwest::Client>,
    config: ClientConfig,
    source: CredentialSource,
    /// The temporary credentials held, with when they were fetched.
    temporary: tokio::sync::Mutex<Option<Held>>,
    /// What each `AssumeRole` waits for first, when the front end set it.
    assume_gate: std::sync::OnceLock<AssumeGate>,
}

impl Client {
    /// A client with its own HTTP connection pool.
    pub fn new(config: ClientConfig, source: CredentialSource) -> Result<Client> {
        let http = http::Http::new(config.connect_timeout, &config.user_agent)
            .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                metadata_http: std::sync::OnceLock::new(),
                config,
                source,
                temporary: tokio::sync::Mutex::new(None),
                assume_gate: std::sync::OnceLock::new(),
            }),
        })
    }

    /// A client with `source`'s credentials that shares `pooled`'s HTTP connection pool (its
    /// connect timeout and user agent too): many accounts' calls to one endpoint then reuse the
    /// same connections, and the connections open at once stay as many as the calls made at
    /// once. A request's signature, not its connection, carries the credentials.
    pub fn sharing_pool(pooled: &Client, config: ClientConfig, source: CredentialSource) -> Client {
        Client {
            inner: Arc::new(Inner {
                http: pooled.inner.http.clone(),
                metadata_http: pooled.inner.metadata_http.clone(),
                config,
                source,
                temporary: tokio::sync::Mutex::new(None),
                assume_gate: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The client of the ECS metadata service, built on first use.
    fn metadata_http(&self) -> Result<&reqwest::Client> {
        if let Some(http) = self.inner.metadata_http.get() {
            return Ok(http);
        }
        let http = credentials::ecs_metadata_http_client()?;
        Ok(self.inner.metadata_http.get_or_init(|| http))
    }

    /// Makes every `AssumeRole` of this client wait for `gate` first, renewals in the middle of a
    /// scan included. Set once: a later gate is ignored.
    pub fn gate_assume_role(&self, gate: AssumeGate) {
        let _ = self.inner.assume_gate.set(gate);
    }

    /// Whether signing now needs no credentials fetched first (static keys, or temporary ones
    /// held and not near their expiry).
    pub async fn holds_fresh_credentials(&self) -> bool {
        match &self.inner.source {
            CredentialSource::Static(_) => true,
            _ => self
                .inner
                .temporary
                .lock()
                .await
                .as_ref()
                .is_some_and(|held| !held.due()),
        }
    }

    /// The credential source the client signs with.
    pub fn source(&self) -> &CredentialSource {
        &self.inner.source
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The credentials to sign with now: static ones as they are; temporary ones from the cache,
    /// fetched (AssumeRole or ECS metadata) when missing or past 80% of their life.
    pub async fn credentials(&self) -> Result<Credentials> {
        match &self.inner.source {
            CredentialSource::Static(c) => Ok(c.clone()),
            CredentialSource::RamRoleArn {
                base,
                role_arn,
                session_name,
                duration_seconds,
                external_id,
            } => {
                self.cached_temporary(|| async {
                    if let Some(gate) = self.inner.assume_gate.get() {
                        gate().await;
                    }
                    self.assume_role(
                        base,
                        role_arn,
                        session_name,
                        *duration_seconds,
                        external_id.as_deref(),
                    )
                    .await
                })
                .await
            }
            CredentialSource::EcsRamRole { role_name } => {
                let metadata_http = self.metadata_http()?;
                self.cached_temporary(|| {
                    credentials::fetch_ecs_role_credentials(
                        metadata_http,
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
        if let Some(held) = slot.as_ref() {
            if !held.due() {
                return Ok(held.credentials.clone());
            }
        }
        let fetched = chrono::Utc::now();
        let c = fetch().await?;
        *slot = Some(Held {
            credentials: c.clone(),
            fetched,
        });
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
        let creds = match self.credentials().await {
            Ok(creds) => creds,
            Err(e) => {
                return Outcome {
                    result: Err(e),
                    report: CallReport::default(),
                }
            }
        };
        let mut outcome = self
            .call(service, action, region, params.clone(), &creds)
            .await;
        let mut secrets: Vec<String> = creds.secrets().map(str::to_string).collect();
        // Temporary credentials the API calls expired before their time (a revoked session, a
        // clock ahead of ours) are renewed once, and the call made again with the new ones.
        let expired = |r: &Result<Vec<u8>>| {
            r.as_ref()
                .err()
                .and_then(Error::code)
                .is_some_and(|c| c == TOKEN_EXPIRED)
        };
        if self.is_temporary() && expired(&outcome.result) {
            self.forget_temporary(&creds).await;
            match self.credentials().await {
                Ok(fresh) => {
                    let again = self.call(service, action, region, params, &fresh).await;
                    secrets.extend(fresh.secrets().map(str::to_string));
                    outcome.report.absorb(again.report);
                    outcome.result = again.result;
                }
                Err(e) => outcome.result = Err(e),
            }
        }
        Outcome {
            result: outcome
                .result
                .and_then(read)
                .map_err(|e| e.redacted(&secrets)),
            report: outcome.report,
        }
    }

    /// Whether the client signs with temporary credentials it fetches itself (a role's, the
    /// instance's).
    fn is_temporary(&self) -> bool {
        matches!(
            self.inner.source,
            CredentialSource::RamRoleArn { .. } | CredentialSource::EcsRamRole { .. }
        )
    }

    /// Forgets the temporary credentials held when they are still `failed` (another call may
    /// have renewed them already), so that the next [`Client::credentials`] fetches new ones.
    async fn forget_temporary(&self, failed: &Credentials) {
        let mut slot = self.inner.temporary.lock().await;
        if slot
            .as_ref()
            .is_some_and(|held| held.credentials.access_key_id == failed.access_key_id)
        {
            *slot = None;
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
            out.extend(
                held.iter()
                    .flat_map(|h| h.credentials.secrets())
                    .map(str::to_string),
            );
        }
        out
    }

    /// Opens connections in the background for calls of `service` about to be made at once, one
    /// region per call, kept while the guard is (see [`http::Http::open_ahead`]).
    pub(crate) fn open_ahead<'a>(
        &self,
        service: Service,
        regions: impl IntoIterator<Item = &'a str>,
    ) -> Option<OpenedAhead> {
        let endpoint = (service.endpoint)(&self.inner.config);
        self.inner
            .http
            .open_ahead(regions.into_iter().map(|r| endpoint.url(r)))
    }

    /// This client's connections to `service`'s endpoint in `region` (`None`: the client goes
    /// through a proxy, which keeps its own).
    pub(crate) fn connections(&self, service: Service, region: &str) -> Option<Connections> {
        let endpoint = (service.endpoint)(&self.inner.config);
        self.inner.http.connections_to(&endpoint.url(region))
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
        let endpoint = (service.endpoint)(config).url(region);
        let parts = Arc::new(attempt::Parts {
            call: Call::new(action, region),
            endpoint,
            version: service.version,
            params,
            credentials: creds.clone(),
            connect_timeout: config.connect_timeout,
            max_bytes: config.max_response_bytes,
            bytes_read: AtomicU64::new(0),
        });
        let mut report = CallReport::default();
        let limits = Limits {
            attempt: config.attempt_timeout,
            deadline: config.deadline,
        };
        let result = config
            .retry
            .run(&parts.call, limits, &mut report, || {
                attempt::Attempt {
                    http: self.inner.http.clone(),
                    parts: parts.clone(),
                }
                .send()
            })
            .await;
        report.bytes = parts.bytes_read.load(Ordering::Relaxed);
        Outcome { result, report }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, Utc};

    fn held(age: TimeDelta, life: TimeDelta) -> Held {
        let fetched = Utc::now() - age;
        let mut credentials = Credentials::new("STS.id", "secret");
        credentials.expiration = Some(fetched + life);
        Held {
            credentials,
            fetched,
        }
    }

    #[test]
    fn temporary_credentials_are_renewed_at_four_fifths_of_their_life() {
        let hour = TimeDelta::hours(1);
        assert!(!held(TimeDelta::minutes(47), hour).due());
        assert!(held(TimeDelta::minutes(49), hour).due());
        // A short life: the last three minutes count too.
        assert!(held(TimeDelta::seconds(1), TimeDelta::minutes(3)).due());
        // Keys without an expiry never are.
        let mut forever = held(TimeDelta::hours(5), hour);
        forever.credentials.expiration = None;
        assert!(!forever.due());
    }
}
