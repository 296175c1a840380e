//! `alicloud-api`: an engine-agnostic client for Alibaba Cloud's RPC APIs.
//!
//! It knows nothing of Postgres: the `alicloud_fdw` extension, and later a SQLite extension and an
//! export CLI, share it. Layers, bottom up:
//! - [`signer`]: RPC signature v1.0 (HMAC-SHA1), a pure function.
//! - [`credentials`]: redacted credential types and the provider chain.
//! - [`endpoint`]: where a region's API lives.
//! - [`retry`]: which failures are retried, and the backoff.
//! - [`client`]: signed requests with retries and time limits, credential refresh, region fan-out.
//! - [`actiontrail`], [`sts`]: typed operations and responses.
//! - [`error`]: one error type whose `Display` reads well in a Postgres error message.

pub mod actiontrail;
pub mod client;
pub mod credentials;
pub mod endpoint;
pub mod error;
pub mod retry;
pub mod signer;
pub mod sts;
pub mod time;

pub use actiontrail::{DescribeTrailsRequest, Trail};
pub use client::{Client, ClientConfig};
pub use credentials::{CredentialChain, CredentialSource, Credentials, Secret};
pub use endpoint::Endpoint;
pub use error::{Error, Result};
