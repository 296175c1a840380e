//! Call statistics shared across sessions and processes: per region and action, the calls made,
//! errors by code, retries, throttling, cache hits and misses, rows, bytes, latency and the last
//! error. A directory per front end's unit (e.g. one per PostgreSQL server) holds an append-only
//! log, one short line per answer a scan obtained (cheap enough for every scan), and the folded
//! totals, which a reader brings up to date under a file lock.

use crate::cache::{lock_file, private_file};
use crate::scan::{CallRecord, Source};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, Write};
use std::path::PathBuf;

const TOTALS_FILE: &str = "stats.json";
const LOG_FILE: &str = "stats.log";
const LOCK_FILE: &str = "stats.lock";
/// A writer that finds the log longer than this folds it into the totals.
const FOLD_AT_BYTES: u64 = 256 * 1024;

/// The counters of one region and action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Calls made to the API.
    pub calls: u64,
    /// Failed calls, by API error code (or kind of failure).
    pub errors: BTreeMap<String, u64>,
    /// Attempts beyond the first.
    pub retries: u64,
    /// Attempts answered with a throttling code.
    pub throttles: u64,
    /// Answers served by the shared cache.
    pub cache_hits: u64,
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
    /// The last failure.
    pub last_error: Option<LastError>,
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

/// Counters by region, then action.
pub type Stats = BTreeMap<String, BTreeMap<String, Counters>>;

/// One line of the log: what one answer cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    region: String,
    action: String,
    /// From the cache (else from the API).
    cached: bool,
    cache_missed: bool,
    attempts: u32,
    throttled: u32,
    micros: u64,
    bytes: u64,
    rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<LastError>,
}

impl Line {
    fn of(r: &CallRecord) -> Option<Line> {
        let (cached, cache_missed) = match r.source {
            Source::Snapshot => return None,
            Source::Cache => (true, false),
            Source::Api { cache_missed } => (false, cache_missed),
        };
        Some(Line {
            region: r.region.clone(),
            action: r.action.to_string(),
            cached,
            cache_missed,
            attempts: r.report.attempts,
            throttled: r.report.throttled,
            micros: r.report.elapsed.as_micros() as u64,
            bytes: r.report.bytes,
            rows: r.rows,
            error: r.error.as_ref().map(|e| LastError {
                at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                code: e.code.clone(),
                message: e.message.clone(),
                request_id: e.request_id.clone(),
            }),
        })
    }
}

impl Counters {
    fn add(&mut self, l: Line) {
        if l.cached {
            self.cache_hits += 1;
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
            *self.errors.entry(e.code.clone()).or_default() += 1;
            self.last_error = Some(e);
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
        lock_file(&self.dir, LOCK_FILE)
    }

    /// Adds the records of a scan: one appended line per answer. Best effort: statistics that
    /// cannot be written are lost, the scan is not failed for them.
    pub fn record(&self, records: &[CallRecord]) {
        let mut text = Vec::new();
        for line in records.iter().filter_map(Line::of) {
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
            let mut options = fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut log = options.open(self.dir.join(LOG_FILE))?;
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
        fs::read_to_string(self.dir.join(TOTALS_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Under the exclusive lock: the totals plus the log, then `change`, written back; the log
    /// emptied.
    fn fold(&self, change: impl FnOnce(&mut Stats)) -> std::io::Result<Stats> {
        let lock = self.lock()?;
        lock.lock()?;
        let mut stats = self.totals();
        let log_path = self.dir.join(LOG_FILE);
        if let Ok(log) = fs::File::open(&log_path) {
            for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
                if let Ok(l) = serde_json::from_str::<Line>(&line) {
                    stats
                        .entry(l.region.clone())
                        .or_default()
                        .entry(l.action.clone())
                        .or_default()
                        .add(l);
                }
            }
        }
        change(&mut stats);
        let tmp = self
            .dir
            .join(format!(".{TOTALS_FILE}.{}", std::process::id()));
        let mut f = private_file(&tmp)?;
        f.write_all(serde_json::to_string(&stats).unwrap_or_default().as_bytes())?;
        drop(f);
        fs::rename(&tmp, self.dir.join(TOTALS_FILE))?;
        if log_path.exists() {
            fs::OpenOptions::new()
                .write(true)
                .open(&log_path)?
                .set_len(0)?;
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
        }
    }

    #[test]
    fn records_add_up_across_scans() {
        let dir = tempfile::tempdir().unwrap();
        let store = StatsStore::new(dir.path().join("s"));
        assert!(store.load().is_empty());
        store.record(&[
            api("cn-beijing", 10, 1, None),
            api("cn-hangzhou", 30, 3, Some("Throttling.User")),
        ]);
        let mut cached = api("cn-beijing", 0, 1, None);
        cached.source = Source::Cache;
        store.record(&[api("cn-beijing", 20, 2, None), cached]);
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
            h.last_error.as_ref().unwrap().request_id.as_deref(),
            Some("REQ")
        );
        store.reset();
        assert!(store.load().is_empty());
    }
}
