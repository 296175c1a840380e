//! The mock's state, shared by every request: the fixture, faults, recorded calls, the keys it
//! issued and the metadata service's tokens.

use crate::auth::Keys;
use crate::events::{EventIndex, LookupRules, RateLimiter};
use crate::faults::Fault;
use crate::fixture::{Fixture, TrailIndex};
use crate::Call;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Mutex, RwLock};

pub(crate) struct Shared {
    pub fixture: Fixture,
    /// The fixture's trails, serialized once (the admin endpoint changes them).
    pub trails: RwLock<TrailIndex>,
    /// The fixture's events, serialized once.
    pub events: EventIndex,
    /// `LookupEvents`' rules now (the admin endpoint changes them).
    pub lookup_rules: Mutex<LookupRules>,
    /// `LookupEvents`' rate limit.
    pub rate: Mutex<RateLimiter>,
    pub faults: Mutex<BTreeMap<String, Fault>>,
    pub calls: Mutex<Vec<Call>>,
    /// Nonces seen and temporary keys issued (AssumeRole, ECS metadata).
    pub keys: Keys,
    /// IMDSv2 tokens and when they expire.
    pub imds_tokens: Mutex<HashMap<String, DateTime<Utc>>>,
    /// The temporary key id currently served for each ECS role.
    pub ecs_creds: Mutex<HashMap<String, String>>,
    pub metadata_requests: Mutex<Vec<String>>,
    pub log_requests: AtomicBool,
    /// `AssumeRole` refuses an account's own keys (from the fixture, changed by the admin).
    pub sts_refuse_account_keys: AtomicBool,
    /// Connections accepted since the server started.
    pub connections: AtomicU64,
}

impl Shared {
    pub fn new(fixture: Fixture, faults: Vec<(String, Fault)>) -> Shared {
        let refuse_account_keys = fixture.sts_refuse_account_keys;
        Shared {
            trails: RwLock::new(TrailIndex::new(&fixture)),
            events: EventIndex::new(&fixture, fixture.events_anchor.unwrap_or_else(start_minute)),
            lookup_rules: Mutex::new(fixture.lookup_rules.clone()),
            rate: Mutex::new(RateLimiter::default()),
            fixture,
            faults: Mutex::new(faults.into_iter().collect()),
            calls: Mutex::new(Vec::new()),
            keys: Keys::new(),
            imds_tokens: Mutex::new(HashMap::new()),
            ecs_creds: Mutex::new(HashMap::new()),
            metadata_requests: Mutex::new(Vec::new()),
            log_requests: AtomicBool::new(false),
            sts_refuse_account_keys: AtomicBool::new(refuse_account_keys),
            connections: AtomicU64::new(0),
        }
    }

    pub fn set_fault(&self, region: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .insert(region.to_string(), fault);
    }

    pub fn logging(&self) -> bool {
        self.log_requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The minute the mock started in: the default anchor of the events' ages.
fn start_minute() -> DateTime<Utc> {
    let now = Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::minutes(1)).unwrap_or(now)
}
