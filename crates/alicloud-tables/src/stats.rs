//! Call statistics shared across sessions and processes: per region and action, the calls made,
//! errors by code, retries, throttling, cache hits and misses, rows, bytes, latency and the last
//! error. A directory per front end's unit (e.g. one per PostgreSQL server) holds an append-only
//! log, one short line per answer a scan obtained (cheap enough for every scan), and the folded
//! totals, which a reader brings up to date under a file lock.
//!
//! The counts are everyone's. The last error, with its message and request id, belongs to whoever
//! made the call (the front end names the owner: a PostgreSQL role): an error text can quote the
//! request (a filter, an access key id), so a front end shows it to its owner only. At most
//! [`MAX_OWNERS`] owners' last errors are kept per region and action, the most recent ones.
//! Messages are scrubbed of the secrets in use before they are recorded.
//!
//! On a server with members, each member's calls are counted apart (under the member's name and
//! the region, see [`key`]), and so is each member's part of a scan ([`MEMBER_SCAN`]): how many
//! there were, when the last one succeeded, and its failures with their last error, so that a
//! member skipped under `member_failure 'skip'` leaves a durable trace where no one saw the
//! warning (a scheduled job).

use crate::files;
use crate::scan::{CallRecord, Source, MEMBER_SCAN};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, Write};
use std::path::PathBuf;

const TOTALS_FILE: &str = "stats.json";
/// The log this version appends to: lines that leave out what is false or zero, which earlier
/// versions could not read.
const LOG_FILE: &str = "stats.v2.log";
/// The log earlier versions append to (lines in full): still folded, so that while backends of
/// an earlier version run beside this one, neither loses the other's lines.
const EARLIER_LOG_FILE: &str = "stats.log";
const LOCK_FILE: &str = "stats.lock";
/// A writer that finds the log longer than this folds it into the totals. Reading the
/// statistics folds too, so this only bounds the log: a scan of 30 member accounts over 28
/// regions appends about 130 kB, and folding (reading and rewriting the totals) at every other
/// such scan cost it about 1.5 ms on average.
const FOLD_AT_BYTES: u64 = 4 * 1024 * 1024;
/// The totals file is never read beyond this (it holds regions × actions × owners' errors).
const MAX_TOTALS_BYTES: u64 = 64 * 1024 * 1024;
/// Owners whose last error is kept, per region and action.
pub const MAX_OWNERS: usize = 32;

/// Between a member's name and the region in the keys of [`Stats`] (no server name or region
/// holds it).
const MEMBER_SEPARATOR: char = '\u{1f}';

/// The key of [`Stats`] for `region` and, on a server with members, `member`.
pub fn key(member: Option<&str>, region: &str) -> String {
    match member {
        Some(m) => format!("{m}{MEMBER_SEPARATOR}{region}"),
        None => region.to_string(),
    }
}

/// A key of [`Stats`] as its member (if any) and region.
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once(MEMBER_SEPARATOR) {
        Some((member, region)) => (Some(member), region),
        None => (None, key),
    }
}

/// The counters of one region and action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Calls made to the API.
    pub calls: u64,
    /// A member's parts of scans ([`MEMBER_SCAN`]), failed ones included.
    #[serde(default)]
    pub scans: u64,
    /// When a member's part of a scan last succeeded, in RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok_at: Option<String>,
    /// Failed calls, by API error code (or kind of failure).
    pub errors: BTreeMap<String, u64>,
    /// Attempts beyond the first.
    pub retries: u64,
    /// Attempts answered with a throttling code.
    pub throttles: u64,
    /// Answers served by the shared cache.
    pub cache_hits: u64,
    /// Outcomes taken from another session's call of the same request, made while this one
    /// waited (an answer, also counted as a cache hit, or an error).
    #[serde(default)]
    pub coalesced: u64,
    /// Times the cache was asked and had nothing, so the API was called.
    pub cache_misses: u64,
    /// Rows returned (from the API and the cache).
    pub rows: u64,
    /// Bytes of answers received from the API.
    pub bytes: u64,
    /// Time spent in API calls, in milliseconds.
    pub total_ms: f64,
    /// The slowest API call, in milliseconds.
    pub max_ms: f64,
    /// The last failure of each owner (see the module docs), by owner.
    #[serde(default)]
    pub last_errors: BTreeMap<String, LastError>,
}

impl Counters {
    /// The last failure `owner` may see: its own; with `all` (an administrator), anyone's most
    /// recent.
    pub fn last_error_for(&self, owner: &str, all: bool) -> Option<&LastError> {
        if all {
            self.last_errors.values().max_by(|a, b| a.at.cmp(&b.at))
        } else {
            self.last_errors.get(owner)
        }
    }
}

/// The last failure of a region and action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// When, in RFC 3339.
    pub at: String,
    /// The API code or kind of failure.
    pub code: String,
    /// The whole message.
    pub message: String,
    /// The request id, for support.
    pub request_id: Option<String>,
}

/// Counters by region (with the member, see [`key`]), then action.
pub type Stats = BTreeMap<String, BTreeMap<String, Counters>>;

/// One line of the log: what one answer cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    region: String,
    action: String,
    /// The member whose call it was, on a server with members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member: Option<String>,
    /// When, for a member's outcome (errors carry their own time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    /// Who made the call.
    #[serde(default)]
    owner: String,
    // What is false or zero is left out of the line (an answer from the cache is about half as
    // long): a line is written for every answer a scan obtains.
    /// From the cache (else from the API).
    #[serde(default, skip_serializing_if = "is_default")]
    cached: bool,
    /// Taken from another session's call (see [`Source::Coalesced`]).
    #[serde(default, skip_serializing_if = "is_default")]
    coalesced: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    cache_missed: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    attempts: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    throttled: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    micros: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    bytes: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<LastError>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Line {
    fn of(owner: &str, r: &CallRecord) -> Option<Line> {
        let (cached, coalesced, cache_missed) = match r.source {
            Source::Snapshot => return None,
            Source::Member => (false, false, false),
            Source::Cache => (true, false, false),
            Source::Coalesced => (r.error.is_none(), true, false),
            Source::Api { cache_missed } => (false, false, cache_missed),
        };
        let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Some(Line {
            region: r.region.clone(),
            action: r.action.to_string(),
            member: r.member.clone(),
            at: (r.source == Source::Member).then(now),
            owner: owner.to_string(),
            cached,
            coalesced,
            cache_missed,
            attempts: r.report.attempts,
            throttled: r.report.throttled,
            micros: r.report.elapsed.as_micros() as u64,
            bytes: r.report.bytes,
            rows: r.rows,
            error: r.error.as_ref().map(|e| LastError {
                at: now(),
                code: e.code.clone(),
                message: e.message.clone(),
                request_id: e.request_id.clone(),
            }),
        })
    }
}

impl Counters {
    fn add(&mut self, l: Line) {
        self.coalesced += u64::from(l.coalesced);
        if l.action == MEMBER_SCAN {
            // A member's part of a scan: no call of its own.
            self.scans += 1;
            if l.error.is_none() {
                self.last_ok_at = l.at.clone();
            }
        } else if l.cached {
            self.cache_hits += 1;
        } else if l.coalesced {
            // Another session's failed call: its calls are counted where it made them.
        } else {
            self.calls += 1;
            self.cache_misses += u64::from(l.cache_missed);
            self.retries += u64::from(l.attempts.saturating_sub(1));
            self.throttles += u64::from(l.throttled);
            self.bytes += l.bytes;
            let ms = l.micros as f64 / 1000.0;
            self.total_ms += ms;
            self.max_ms = self.max_ms.max(ms);
        }
        self.rows += l.rows;
        if let Some(e) = l.error {
            if !l.coalesced {
                *self.errors.entry(e.code.clone()).or_default() += 1;
            }
            self.last_errors.insert(l.owner, e);
            while self.last_errors.len() > MAX_OWNERS {
                let oldest = self
                    .last_errors
                    .iter()
                    .min_by(|a, b| a.1.at.cmp(&b.1.at))
                    .map(|(o, _)| o.clone());
                match oldest {
                    Some(o) => self.last_errors.remove(&o),
                    None => break,
                };
            }
        }
    }
}

/// The statistics of one directory.
#[derive(Debug, Clone)]
pub struct StatsStore {
    dir: PathBuf,
}

impl StatsStore {
    /// Statistics kept in `dir` (made on first write).
    pub fn new(dir: PathBuf) -> StatsStore {
        StatsStore { dir }
    }

    fn lock(&self) -> std::io::Result<fs::File> {
        files::private_dir(&self.dir)?;
        files::open_rw(&self.dir.join(LOCK_FILE))
    }

    /// Adds the records of a scan `owner` made: one appended line per answer. Best effort:
    /// statistics that cannot be written are lost, the scan is not failed for them.
    pub fn record(&self, owner: &str, records: &[CallRecord]) {
        let mut text = Vec::new();
        for line in records.iter().filter_map(|r| Line::of(owner, r)) {
            if serde_json::to_writer(&mut text, &line).is_ok() {
                text.push(b'\n');
            }
        }
        if text.is_empty() {
            return;
        }
        let appended = (|| {
            let lock = self.lock()?;
            // Shared: appenders do not exclude each other, only a fold excludes them.
            lock.lock_shared()?;
            let mut log = files::open_append(&self.dir.join(LOG_FILE))?;
            log.write_all(&text)?;
            log.metadata().map(|m| m.len())
        })();
        if appended.is_ok_and(|len| len > FOLD_AT_BYTES) {
            let _ = self.fold(|_| {});
        }
    }

    /// The statistics so far (the log folded into the totals on the way).
    pub fn load(&self) -> Stats {
        self.fold(|_| {}).unwrap_or_else(|_| self.totals())
    }

    /// Starts the statistics afresh.
    pub fn reset(&self) {
        let _ = self.fold(|stats| stats.clear());
    }

    fn totals(&self) -> Stats {
        files::read_at_most(&self.dir.join(TOTALS_FILE), MAX_TOTALS_BYTES)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default()
    }

    /// Under the exclusive lock: the totals plus the log, then `change`, written back; the log
    /// emptied.
    fn fold(&self, change: impl FnOnce(&mut Stats)) -> std::io::Result<Stats> {
        let lock = self.lock()?;
        lock.lock()?;
        let mut stats = self.totals();
        let logs = [EARLIER_LOG_FILE, LOG_FILE].map(|name| self.dir.join(name));
        for log_path in &logs {
            let Ok(Some(log)) = files::open_read(log_path) else {
                continue;
            };
            let log = std::io::Read::take(log, MAX_TOTALS_BYTES);
            for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
                if let Ok(l) = serde_json::from_str::<Line>(&line) {
                    stats
                        .entry(key(l.member.as_deref(), &l.region))
                        .or_default()
                        .entry(l.action.clone())
                        .or_default()
                        .add(l);
                }
            }
        }
        change(&mut stats);
        let tmp = self.dir.join(format!(
            ".{TOTALS_FILE}.{}.{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let written = files::create_new(&tmp).and_then(|mut f| {
            f.write_all(serde_json::to_string(&stats).unwrap_or_default().as_bytes())
        });
        if let Err(e) = written.and_then(|_| fs::rename(&tmp, self.dir.join(TOTALS_FILE))) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        for log_path in &logs {
            if log_path.exists() {
                files::open_rw(log_path)?.set_len(0)?;
            }
        }
        Ok(stats)
        // The lock is released when `lock` is dropped.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ErrorRecord;
    use alicloud_api::CallReport;
    use std::time::Duration;

    fn api(region: &str, ms: u64, attempts: u32, error: Option<&str>) -> CallRecord {
        CallRecord {
            action: "DescribeTrails",
            region: region.into(),
            source: Source::Api { cache_missed: true },
            report: CallReport {
                attempts,
                throttled: attempts - 1,
                elapsed: Duration::from_millis(ms),
                bytes: 100,
            },
            rows: if error.is_some() { 0 } else { 3 },
            error: error.map(|c| ErrorRecord {
                code: c.into(),
                message: format!("{c} happened"),
                request_id: Some("REQ".into()),
            }),
            member: None,
        }
    }

    #[test]
    fn members_are_counted_apart_with_their_last_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatsStore::new(dir.path().join("s"));
        let outcome = |member: &str, error: Option<&str>| CallRecord {
            action: MEMBER_SCAN,
            region: String::new(),
            source: Source::Member,
            report: CallReport::default(),
            rows: 0,
            error: api("", 0, 1, error).error,
            member: Some(member.into()),
        };
        let mut call = api("cn-beijing", 10, 1, None);
        call.member = Some("acct_a".into());
        store.record(
            "alice",
            &[
                call,
                outcome("acct_a", None),
                outcome("acct_b", Some("NoPermission")),
            ],
        );
        store.record("alice", &[outcome("acct_b", None)]);
        let stats = store.load();
        let a = &stats[&key(Some("acct_a"), "cn-beijing")]["DescribeTrails"];
        assert_eq!((a.calls, a.rows), (1, 3));
        assert_eq!(
            split_key(&key(Some("acct_a"), "cn-beijing")),
            (Some("acct_a"), "cn-beijing")
        );
        assert_eq!(split_key("cn-beijing"), (None, "cn-beijing"));
        let b = &stats[&key(Some("acct_b"), "")][MEMBER_SCAN];
        assert_eq!((b.scans, b.calls), (2, 0));
        assert_eq!(b.errors.get("NoPermission"), Some(&1));
        let failed = b.last_error_for("alice", false).unwrap();
        assert_eq!(failed.request_id.as_deref(), Some("REQ"));
        // The success came after the failure: it is the last outcome.
        assert!(b.last_ok_at.as_deref().unwrap() >= failed.at.as_str());
        assert!(
            !stats.contains_key("cn-beijing"),
            "a member's calls are not the server's own"
        );
    }

    #[test]
    fn records_add_up_across_scans() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatsStore::new(dir.path().join("s"));
        assert!(store.load().is_empty());
        store.record(
            "alice",
            &[
                api("cn-beijing", 10, 1, None),
                api("cn-hangzhou", 30, 3, Some("Throttling.User")),
            ],
        );
        let mut cached = api("cn-beijing", 0, 1, None);
        cached.source = Source::Cache;
        store.record("alice", &[api("cn-beijing", 20, 2, None), cached]);
        let stats = store.load();
        let b = &stats["cn-beijing"]["DescribeTrails"];
        assert_eq!(
            (
                b.calls,
                b.retries,
                b.cache_hits,
                b.cache_misses,
                b.rows,
                b.bytes
            ),
            (2, 1, 1, 2, 9, 200)
        );
        assert_eq!((b.total_ms, b.max_ms), (30.0, 20.0));
        let h = &stats["cn-hangzhou"]["DescribeTrails"];
        assert_eq!(h.errors["Throttling.User"], 1);
        assert_eq!(h.throttles, 2);
        assert_eq!(
            h.last_error_for("alice", false)
                .unwrap()
                .request_id
                .as_deref(),
            Some("REQ")
        );
        store.reset();
        assert!(store.load().is_empty());
    }

    #[test]
    fn lines_leave_out_what_is_zero_and_lines_in_full_still_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatsStore::new(dir.path().to_path_buf());
        let mut cached = api("cn-beijing", 0, 1, None);
        cached.source = Source::Cache;
        cached.report = CallReport::default();
        store.record("alice", &[cached]);
        let log = fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        assert_eq!(
            log,
            "{\"region\":\"cn-beijing\",\"action\":\"DescribeTrails\",\"owner\":\"alice\",\
             \"cached\":true,\"rows\":3}\n"
        );
        // A line as earlier versions wrote it, every field present, in their log.
        let full = "{\"region\":\"cn-beijing\",\"action\":\"DescribeTrails\",\"owner\":\"bob\",\
                    \"cached\":false,\"coalesced\":false,\"cache_missed\":true,\"attempts\":2,\
                    \"throttled\":1,\"micros\":5000,\"bytes\":10,\"rows\":2}\n";
        let mut f = files::open_append(&dir.path().join(EARLIER_LOG_FILE)).unwrap();
        f.write_all(full.as_bytes()).unwrap();
        let b = &store.load()["cn-beijing"]["DescribeTrails"];
        assert_eq!(
            (
                b.calls,
                b.cache_hits,
                b.cache_misses,
                b.retries,
                b.throttles
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!((b.rows, b.bytes, b.total_ms), (5, 10, 5.0));
        // Both logs were folded: each line counts once.
        for name in [LOG_FILE, EARLIER_LOG_FILE] {
            assert_eq!(fs::metadata(dir.path().join(name)).unwrap().len(), 0);
        }
        assert_eq!(store.load()["cn-beijing"]["DescribeTrails"].rows, 5);
    }

    #[test]
    fn last_errors_belong_to_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatsStore::new(dir.path().to_path_buf());
        store.record(
            "alice",
            &[api("cn-beijing", 10, 1, Some("SignatureDoesNotMatch"))],
        );
        std::thread::sleep(Duration::from_millis(5));
        store.record("bob", &[api("cn-beijing", 10, 1, Some("Forbidden.RAM"))]);
        let mut shared = api("cn-beijing", 0, 1, Some("ServiceUnavailable"));
        shared.source = Source::Coalesced;
        store.record("carol", &[shared]);
        let stats = store.load();
        let c = &stats["cn-beijing"]["DescribeTrails"];
        assert_eq!(
            c.last_error_for("alice", false).unwrap().code,
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            c.last_error_for("bob", false).unwrap().code,
            "Forbidden.RAM"
        );
        assert!(c.last_error_for("dave", false).is_none(), "nobody else's");
        assert_eq!(
            c.last_error_for("dave", true).unwrap().code,
            "ServiceUnavailable"
        );
        // A coalesced error is the waiter's to see, but not a call it made.
        assert_eq!((c.calls, c.coalesced), (2, 1));
        assert_eq!(c.errors.values().sum::<u64>(), 2);
        // Only the most recent owners are kept.
        for i in 0..(MAX_OWNERS + 5) {
            std::thread::sleep(Duration::from_millis(2));
            store.record(&format!("o{i}"), &[api("cn-beijing", 1, 1, Some("X"))]);
        }
        let stats = store.load();
        let c = &stats["cn-beijing"]["DescribeTrails"];
        assert_eq!(c.last_errors.len(), MAX_OWNERS);
        assert!(c
            .last_error_for(&format!("o{}", MAX_OWNERS + 4), false)
            .is_some());
    }
}
