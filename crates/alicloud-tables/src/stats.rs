//! Call statistics shared across sessions and processes: per region and action, the calls made,
//! errors by code, retries, throttling, cache hits and misses, rows, bytes, latency and the last
//! error. Kept as one small JSON file per directory (the front end picks it, e.g. one per
//! PostgreSQL server), updated under a file lock after each scan.

use crate::cache::{create_private_dir, private_file};
use crate::scan::{CallRecord, Source};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

const STATS_FILE: &str = "stats.json";
const LOCK_FILE: &str = "stats.lock";

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

impl Counters {
    fn add(&mut self, r: &CallRecord) {
        match r.source {
            Source::Snapshot => return,
            Source::Cache => self.cache_hits += 1,
            Source::Api { cache_missed } => {
                self.calls += 1;
                self.cache_misses += u64::from(cache_missed);
                self.retries += u64::from(r.report.attempts.saturating_sub(1));
                self.throttles += u64::from(r.report.throttled);
                self.bytes += r.report.bytes;
                let ms = r.report.elapsed.as_secs_f64() * 1000.0;
                self.total_ms += ms;
                self.max_ms = self.max_ms.max(ms);
            }
        }
        self.rows += r.rows;
        if let Some(e) = &r.error {
            *self.errors.entry(e.code.clone()).or_default() += 1;
            self.last_error = Some(LastError {
                at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                code: e.code.clone(),
                message: e.message.clone(),
                request_id: e.request_id.clone(),
            });
        }
    }
}

/// A statistics file in a directory.
#[derive(Debug, Clone)]
pub struct StatsStore {
    dir: PathBuf,
}

impl StatsStore {
    /// Statistics kept in `dir` (made on first write).
    pub fn new(dir: PathBuf) -> StatsStore {
        StatsStore { dir }
    }

    /// Adds the records of a scan. Best effort: statistics that cannot be written are lost, the
    /// scan is not failed for them.
    pub fn record(&self, records: &[CallRecord]) {
        if records.iter().all(|r| r.source == Source::Snapshot) {
            return;
        }
        let _ = self.update(|stats| {
            for r in records {
                stats
                    .entry(r.region.clone())
                    .or_default()
                    .entry(r.action.to_string())
                    .or_default()
                    .add(r);
            }
        });
    }

    /// The statistics so far.
    pub fn load(&self) -> Stats {
        fs::read_to_string(self.dir.join(STATS_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Starts the statistics afresh.
    pub fn reset(&self) {
        let _ = self.update(|stats| stats.clear());
    }

    fn update(&self, change: impl FnOnce(&mut Stats)) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK_FILE))?;
        lock.lock()?;
        let mut stats = self.load();
        change(&mut stats);
        let tmp = self
            .dir
            .join(format!(".{STATS_FILE}.{}", std::process::id()));
        let mut f = private_file(&tmp)?;
        f.write_all(serde_json::to_string(&stats).unwrap_or_default().as_bytes())?;
        drop(f);
        fs::rename(&tmp, self.dir.join(STATS_FILE))
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
