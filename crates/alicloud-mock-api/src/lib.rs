//! A mock Alibaba Cloud RPC API: ActionTrail (`DescribeTrails`, `DescribeRegions`, `LookupEvents`), STS
//! (`GetCallerIdentity`, `AssumeRole`) and the ECS instance metadata service, with the real
//! signature checks, the real error shapes and faults injected on demand. Used by every test, the
//! demo and the benchmarks of `alicloud_fdw` (no real Alibaba endpoint is reachable).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use alicloud_mock_api::{Fault, MockConfig, MockServer};
//! let server = MockServer::start(MockConfig::default()).await?;
//! let template = server.endpoint_template(); // "http://127.0.0.1:PORT/{region}"
//! server.set_fault("cn-beijing", Fault::throttle(2));
//! // ... point a client at `template`, sign with DEFAULT_ACCESS_KEY_ID / DEFAULT_ACCESS_KEY_SECRET
//! let calls = server.calls();
//! # Ok(()) }
//! ```
//!
//! Wire protocol, faults, admin endpoint and the default fixture's row counts: see `README.md`.

#![warn(missing_docs)]

mod actiontrail;
mod admin;
mod answer;
mod api;
mod auth;
mod errors;
mod events;
mod faults;
mod fixture;
mod metadata;
mod resourcemanager;
mod server;
mod state;
mod sts;

pub use events::{LastToken, LookupRules, PairRule, RateScope};
pub use faults::Fault;
pub use fixture::{
    DirectoryAccount, EventVolume, Fixture, FixtureEvent, FixtureTrail, TrailIndex, TrailQuery,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The default fixture's main key: an account's own (root) key.
pub const DEFAULT_ACCESS_KEY_ID: &str = "LTAI5tMockAccessKey0001";
/// Its secret.
pub const DEFAULT_ACCESS_KEY_SECRET: &str = "MockSecret0123456789abcdefABCDEF";
/// The default account.
pub const DEFAULT_ACCOUNT_ID: &str = "1234567890123456";

/// A key of another account, which has one trail (`other-account-trail`) of its own.
pub const SECOND_ACCESS_KEY_ID: &str = "LTAI5tMockAccessKey0002";
/// Its secret.
pub const SECOND_ACCESS_KEY_SECRET: &str = "MockSecret2ndAccount0123456789ab";
/// The other account.
pub const SECOND_ACCOUNT_ID: &str = "6543210987654321";

/// A RAM user of the default account without permission: `DescribeTrails` answers 403
/// `Forbidden.RAM` (`DescribeRegions` and STS work).
pub const NO_PERMISSION_ACCESS_KEY_ID: &str = "LTAI5tMockNoPermission01";
/// Its secret.
pub const NO_PERMISSION_ACCESS_KEY_SECRET: &str = "MockSecretNoPermission0123456789";

/// The role the member accounts of the default account's resource directory have, which the
/// default account may assume.
pub const MEMBER_ROLE_NAME: &str = "ActionTrailAudit";
/// A role of member account 2222222222222222, assumable by the default account only with the
/// external id [`EXTERNAL_ID`].
pub const EXTERNAL_ROLE_NAME: &str = "ExternalAudit";
/// The external id its trust policy asks for.
pub const EXTERNAL_ID: &str = "acme-audit-7f3a";
/// A RAM role of the default account that the default key (and only it) may assume.
pub const AUDITOR_ROLE_ARN: &str = "acs:ram::1234567890123456:role/auditor";
/// The ECS instance role served by the metadata endpoint (temporary keys of the default account).
pub const ECS_ROLE_NAME: &str = "mock-ecs-role";

/// The region answering when neither the path nor `RegionId` names one.
pub const DEFAULT_REGION: &str = "cn-hangzhou";
/// ActionTrail's API version and STS's.
pub const ACTIONTRAIL_VERSION: &str = "2020-07-06";
/// STS's API version.
pub const STS_VERSION: &str = "2015-04-01";
/// Resource Manager's API version.
pub const RESOURCEMANAGER_VERSION: &str = "2020-03-31";

/// Regions in the default fixture's `DescribeRegions` answer.
pub const DEFAULT_FIXTURE_REGION_COUNT: usize = 28;
/// Rows the default key sees over the default fixture's 28 regions with
/// `IncludeShadowTrails=true` and `IncludeOrganizationTrail=true`.
pub const DEFAULT_FIXTURE_ROWS_SHADOW_ORG: usize = 59;
/// ... with `IncludeShadowTrails=true` only (what Steampipe asks): 59 minus the multi-account trail.
pub const DEFAULT_FIXTURE_ROWS_SHADOW: usize = 58;
/// ... with neither: each trail once, in its home region, without the multi-account trail.
pub const DEFAULT_FIXTURE_ROWS_PLAIN: usize = 4;

/// How the server starts.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// What the mock knows.
    pub fixture: Fixture,
    /// Initial faults: (region id or `*`, fault). A later entry for the same region replaces an earlier one.
    pub faults: Vec<(String, Fault)>,
    /// Where to listen; `127.0.0.1:0` (any free port) by default.
    pub bind: SocketAddr,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            fixture: Fixture::default_fixture(),
            faults: Vec::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// One API request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The region that answered (as received, even when it was invalid).
    pub region: String,
    /// The `Action` parameter (empty when missing).
    pub action: String,
    /// Operation parameters only: the common ones (Action, Version, Format, AccessKeyId,
    /// SignatureMethod, SignatureVersion, SignatureNonce, Timestamp, Signature, SecurityToken,
    /// RegionId) are left out.
    pub params: BTreeMap<String, String>,
    /// The `AccessKeyId` parameter (empty when missing). Never a secret.
    pub access_key_id: String,
    /// `ok`, the error code answered (`Throttling.User`, `SignatureDoesNotMatch`, ...), or the
    /// fault that shaped the answer when it was no API error: `hang`, `html_error`, `malformed_json`.
    pub outcome: String,
}

/// A running mock server. Dropping it (or [`MockServer::shutdown`]) stops it, including the
/// connections held by a `hang` fault.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<state::Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Binds, spawns the server on the current tokio runtime and returns at once.
    ///
    /// The server runs on the caller's runtime: a test that then blocks its thread (a blocking
    /// client, `block_on` inside a current-thread runtime) starves it; use
    /// [`MockServer::start_blocking`] there.
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        let (listener, addr) = server::bind(config.bind)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let shared = Arc::new(state::Shared::new(config.fixture, config.faults));
        tokio::spawn(server::serve(listener, shared.clone(), stop_rx));
        Ok(MockServer {
            addr,
            shared,
            stop,
            thread: None,
        })
    }

    /// Like [`MockServer::start`], but on a runtime of its own in a background thread, so it can be
    /// used from code that is not async (or that blocks its runtime). Callable from anywhere.
    pub fn start_blocking(config: MockConfig) -> std::io::Result<MockServer> {
        let (listener, addr) = server::bind(config.bind)?;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let shared = Arc::new(state::Shared::new(config.fixture, config.faults));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("alicloud-mock-api")
            .enable_all()
            .build()?;
        let shared2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("alicloud-mock-api".to_string())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server::serve(listener, shared2, stop_rx).await,
                        Err(e) => eprintln!("alicloud-mock-api: {e}"),
                    }
                });
                // Dropping the runtime here cancels the connection tasks still running.
                runtime.shutdown_background();
            })?;
        Ok(MockServer {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/{region}`: an endpoint template where the path names the region.
    pub fn endpoint_template(&self) -> String {
        format!("http://{}/{{region}}", self.addr)
    }

    /// Sets (replaces) the fault of a region, or of every region with `*`.
    pub fn set_fault(&self, region: &str, fault: Fault) {
        self.shared.set_fault(region, fault);
    }

    /// Removes the fault of one region (or of `*`).
    pub fn clear_fault(&self, region: &str) {
        self.shared.faults.lock().unwrap().remove(region);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().unwrap().clear();
    }

    /// The faults in force, with their counters as they are now.
    pub fn faults(&self) -> BTreeMap<String, Fault> {
        self.shared.faults.lock().unwrap().clone()
    }

    /// Connections accepted since the server started (every kind of request counts).
    pub fn connections(&self) -> u64 {
        self.shared
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every API request received (admin and metadata requests excluded), in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Forgets the calls received.
    pub fn clear_calls(&self) {
        self.shared.calls.lock().unwrap().clear();
    }

    /// Ends the life of every temporary key issued so far (see `POST
    /// /_admin/expire_temporary_keys`); returns how many there were.
    pub fn expire_temporary_keys(&self) -> usize {
        self.shared.keys.expire_all()
    }

    /// Revokes (or, with `revoked` false, restores) the fixture key `key_id` (see `PUT
    /// /_admin/revoked_keys/{key_id}`).
    pub fn set_key_revoked(&self, key_id: &str, revoked: bool) {
        self.shared.keys.set_revoked(key_id, revoked);
    }

    /// The calls in the admin endpoint's text form: `region action k=v k=v` per line, sorted.
    pub fn calls_text(&self) -> String {
        admin::calls_text(&self.calls())
    }

    /// ECS metadata requests received, as `METHOD path STATUS`, in arrival order.
    pub fn metadata_requests(&self) -> Vec<String> {
        self.shared.metadata_requests.lock().unwrap().clone()
    }

    /// Log one line per request to stderr (region, action, status, outcome; never a secret).
    pub fn set_log_requests(&self, on: bool) {
        self.shared
            .log_requests
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Replaces `LookupEvents`' rules (the fixture's are the first).
    pub fn set_lookup_rules(&self, rules: LookupRules) {
        *self.shared.lookup_rules.lock().unwrap() = rules;
    }

    /// Every event of `account_id` the mock holds, one JSON line each (see the admin endpoint's
    /// `/_admin/events`).
    pub fn events_text(&self, account_id: &str) -> String {
        self.shared.events.dump(account_id)
    }

    /// The instant the events' ages count back from.
    pub fn events_anchor(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.events.anchor
    }

    /// The fixture the server answers from.
    pub fn fixture(&self) -> &Fixture {
        &self.shared.fixture
    }

    /// Stops the server and waits for its thread (if it has one).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
