//! What a scan obtained and what it cost, answer by answer, for EXPLAIN ANALYZE, the statistics
//! and warnings; and how a scan fails.

use alicloud_api::{CallReport, Error};
use std::fmt;
use std::time::Duration;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A call to the API; `cache_missed` when the cache was asked first.
    Api {
        /// The cache was consulted and had nothing.
        cache_missed: bool,
    },
    /// The shared cache.
    Cache,
    /// Another session's call of the same request, made while this one waited for it (its
    /// answer through the cache, or its error).
    Coalesced,
    /// The statement's snapshot.
    Snapshot,
    /// No call: the outcome of one member's part of a scan (its rows, or why it failed), kept
    /// as the member's last outcome.
    Member,
}

/// One answer a scan obtained: what, where from, and what it cost.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The API action.
    pub action: &'static str,
    /// The region it was for.
    pub region: String,
    /// Where the answer came from.
    pub source: Source,
    /// Attempts, throttling, time and bytes (zero unless the API was called).
    pub report: CallReport,
    /// Rows the answer gave (zero for the actions that list no rows).
    pub rows: u64,
    /// The failure, when there was one.
    pub error: Option<ErrorRecord>,
    /// The member whose call it was (its name, `sp_connection_name`), on a server with members.
    pub member: Option<String>,
}

/// A failure, as statistics keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecord {
    /// The API code, or the kind of failure.
    pub code: String,
    /// The whole message.
    pub message: String,
    /// The request id of an API error.
    pub request_id: Option<String>,
}

impl ErrorRecord {
    /// The record of `e`, with `secrets` scrubbed from its texts (the client scrubs its own
    /// credentials already; this is the second line).
    pub fn new(e: &Error, secrets: &[String]) -> ErrorRecord {
        let scrub = |t: &str| alicloud_api::redact(t, secrets);
        ErrorRecord {
            code: scrub(e.label()),
            message: scrub(&e.to_string()),
            request_id: e.request_id().map(scrub),
        }
    }
}

/// Everything a scan obtained, for EXPLAIN ANALYZE, statistics and warnings (also when the scan
/// failed).
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// One record per answer, in the order they completed.
    pub records: Vec<CallRecord>,
    /// Regions skipped by `ignore_error_codes`, and members by `member_failure 'skip'`.
    pub skipped: Vec<Skipped>,
    /// Other warnings for the user (two member servers that reach the same account).
    pub notes: Vec<String>,
    /// On a server with members, each member's outcome, in the order the members finished.
    pub accounts: Vec<AccountOutcome>,
    /// With `member_accounts 'directory'`: the directory's accounts as listed, joined or not.
    pub directory: Option<Directory>,
}

/// The accounts of a resource directory, each with its status (`CreateSuccess`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Account id and status, in the order listed.
    pub accounts: Vec<(String, String)>,
}

impl Directory {
    /// The ids of the accounts that have joined the directory (the members a scan covers).
    pub fn joined(&self) -> impl Iterator<Item = &str> {
        self.accounts
            .iter()
            .filter(|(_, s)| alicloud_api::JOINED_STATUSES.contains(&s.as_str()))
            .map(|(id, _)| id.as_str())
    }

    /// The accounts left out because they have not joined, each with its status.
    pub fn not_joined(&self) -> impl Iterator<Item = &(String, String)> {
        self.accounts
            .iter()
            .filter(|(_, s)| !alicloud_api::JOINED_STATUSES.contains(&s.as_str()))
    }
}

/// How one member account's part of a scan ended: what a compliance check needs to tell "no
/// trail" from "could not look".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountOutcome {
    /// The member's `sp_connection_name`.
    pub member: String,
    /// Its account id (`None`: it could not be learned, and the member failed).
    pub account_id: Option<String>,
    /// Why it failed, when it did (its rows are then missing), and the region of the failure.
    pub error: Option<(ErrorRecord, Option<String>)>,
    /// Regions left out by `ignore_error_codes` (its rows from them are missing).
    pub ignored_regions: Vec<String>,
}

impl ScanReport {
    /// API calls made (attempts not counted separately).
    pub fn api_calls(&self) -> usize {
        self.records
            .iter()
            .filter(|r| matches!(r.source, Source::Api { .. }))
            .count()
    }

    /// Answers served by the shared cache (another session's call waited for included).
    pub fn cache_hits(&self) -> usize {
        self.records
            .iter()
            .filter(|r| matches!(r.source, Source::Cache | Source::Coalesced))
            .count()
    }

    /// Answers served by the statement's snapshot.
    pub fn snapshot_hits(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.source == Source::Snapshot)
            .count()
    }

    /// Attempts beyond the first, over all calls.
    pub fn retries(&self) -> u32 {
        self.records
            .iter()
            .map(|r| r.report.attempts.saturating_sub(1))
            .sum()
    }

    /// The slowest API call: its region and time.
    pub fn slowest(&self) -> Option<(&str, Duration)> {
        self.records
            .iter()
            .filter(|r| matches!(r.source, Source::Api { .. }))
            .max_by_key(|r| r.report.elapsed)
            .map(|r| (r.region.as_str(), r.report.elapsed))
    }

    /// Adds another scan's records.
    pub fn extend(&mut self, other: ScanReport) {
        self.records.extend(other.records);
        self.skipped.extend(other.skipped);
        self.notes.extend(other.notes);
        self.accounts.extend(other.accounts);
        if other.directory.is_some() {
            self.directory = other.directory;
        }
    }
}

/// A region left out (or the rest of its listing) because its error code is in
/// `ignore_error_codes`; or a member account left out because it failed under `member_failure
/// 'skip'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The region.
    pub region: String,
    /// The failed action.
    pub action: String,
    /// Its API error code (`no error code` for a failure without one, a member's only).
    pub code: String,
    /// Its request id.
    pub request_id: Option<String>,
    /// The member left out: its name and account (`acme.1111 (account 1111)`).
    pub member: Option<String>,
    /// What went wrong, when it was no call (a member server the user may not use).
    pub reason: Option<String>,
}

impl Skipped {
    /// What is left out when `e` (in `region`, with `code`) is skipped; `member`: the member
    /// account left out, when it is one.
    pub(crate) fn of(e: &Error, region: &str, code: &str, member: Option<String>) -> Skipped {
        Skipped {
            region: region.to_string(),
            action: e
                .call()
                .map_or("the call", |c| c.action.as_str())
                .to_string(),
            code: code.to_string(),
            request_id: e.request_id().map(str::to_string),
            member,
            reason: e.call().is_none().then(|| e.to_string()),
        }
    }

    /// The warning, naming the option as the front end calls it (`ignore_error_codes`,
    /// `--ignore-error-codes`; a member's names `member_failure` the same way).
    pub fn warning(&self, option: &str) -> String {
        let request = request_words(self.request_id.as_deref());
        match &self.member {
            None => format!(
                "skipping region {}: {} failed with {} ({request}), which {option} lists",
                self.region, self.action, self.code,
            ),
            Some(member) => {
                let policy = if option.starts_with("--") {
                    "--member-failure skip"
                } else {
                    "member_failure 'skip'"
                };
                match &self.reason {
                    Some(reason) => format!("skipping member {member}: {reason}, as {policy} asks"),
                    None => format!(
                        "skipping member {member}: {} failed in {} with {} ({request}), as {policy} asks",
                        self.action, self.region, self.code,
                    ),
                }
            }
        }
    }
}

/// The warning with the option's own name, as the extension and the configure function call it.
/// How a warning names a call's request id: `request id <id>`, or `no request id`.
pub(crate) fn request_words(request_id: Option<&str>) -> String {
    match request_id {
        Some(r) => format!("request id {r}"),
        None => "no request id".to_string(),
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.warning("ignore_error_codes"))
    }
}

/// The scan failed: the first failure, and a summary of the others.
#[derive(Debug, Clone)]
pub struct ScanError {
    /// The first failure, in region order.
    pub error: Box<Error>,
    /// "2 of 4 regions failed; also: cn-shenzhen: NoPermission", when more than one failed.
    pub others: Option<String>,
}

impl From<Error> for ScanError {
    fn from(error: Error) -> Self {
        ScanError {
            error: Box::new(error),
            others: None,
        }
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}
