//! `alicloud-api`: an engine-neutral client for Alibaba Cloud's RPC APIs.
//!
//! It knows no database engine: the PostgreSQL extension, the SQLite extension and the export CLI
//! all use it, through the table layer (`alicloud-tables`). Its errors say what failed and where;
//! each front end words the advice ([`Remedy`]) in its own terms.
//!
//! Modules, bottom up (private; their items are re-exported here, one path each):
//! - [`signer`]: RPC signature v1.0 (HMAC-SHA1), pure functions (public: the mock API checks
//!   signatures with it);
//! - `credentials`: redacted credential types and the provider chain;
//! - `endpoint`: where a region's API lives;
//! - `retry`: which failures are retried, the backoff, and the retry loop;
//! - `client`: configuration, temporary credentials, signed calls, region fan-out;
//! - `actiontrail`, `sts`, `resourcemanager`: each service's requests, answers and operations (ActionTrail's
//!   `LookupEvents` in `actiontrail/lookup_events.rs`);
//! - `json`: answers kept as text with their objects' spans ([`Items`]), objects read lazily
//!   ([`JsonObject`]);
//! - `fields`: lenient parsing of loosely typed answer fields;
//! - `region`: the default region (environment, CLI profile file), apart from credentials;
//! - `error`: one error type and its [`Remedy`].

#![warn(missing_docs)]

mod actiontrail;
mod client;
mod credentials;
mod endpoint;
mod error;
mod fields;
mod json;
mod region;
mod resourcemanager;
mod retry;
pub mod signer;
mod sts;

pub use actiontrail::{
    format_time, DescribeTrailsRequest, EventsPage, LookupEventsRequest, LookupKey, RegionInfo,
    CALLS_PER_SECOND, EVENT_LIST, MAX_ATTRIBUTES, MAX_RESULTS, OLD_WINDOW_CAP, RETENTION,
    TRAIL_LIST,
};
pub use client::{
    AssumeGate, Client, ClientConfig, Connections, OpenedAhead, Outcome, DEFAULT_MAX_RESPONSE_BYTES,
};
pub use credentials::{
    mask_key_id, CredentialChain, CredentialSource, Credentials, Secret, ACCESS_KEY_ID_VARS,
    ACCESS_KEY_SECRET_VARS, DEFAULT_ECS_METADATA_BASE, DEFAULT_ROLE_SESSION_NAME, PROFILE_VARS,
    REGION_VARS, SECURITY_TOKEN_VARS,
};
pub use endpoint::{parse_base_url, validate_region_id, Endpoint, Product};
pub use error::{contains_secret, redact, ApiError, Call, Error, Remedy, Result};
pub use json::{Items, JsonObject, ListShape};
pub use region::default_region;
pub use resourcemanager::{AccountsPage, DirectoryAccount, JOINED_STATUSES};
pub use retry::{CallReport, RetryPolicy};
pub use sts::CallerIdentity;
