//! The scan: from a [`ScanPlan`] to the trails of every region it calls, through the statement's
//! [`Snapshot`], then the shared [`Cache`], then the API (all regions at once, up to the
//! configured cap), with the partial-failure policy (`ignore_error_codes`) and the account id.
//! Every front end runs exactly this; it only blocks on the future in its own way.

use crate::cache::{Cache, Claim, ScopeBuilder, ScopeId};
use crate::options::{Regions, Settings};
use crate::plan::ScanPlan;
use crate::snapshot::Snapshot;
#[cfg(doc)]
use alicloud_api::Trail;
use alicloud_api::{
    CallReport, Client, CredentialSource, Credentials, DescribeTrailsRequest, Error, TrailList,
};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// How often a session waiting for another session's fetch of the same answer looks again.
const CLAIM_POLL: Duration = Duration::from_millis(10);

/// An API client with its settings and the scope its answers belong to.
#[derive(Clone)]
pub struct Connection {
    /// The client, with its credentials.
    pub client: Client,
    /// The settings it was made with.
    pub settings: Settings,
    /// Who may be served its answers.
    pub scope: ScopeId,
}

impl Connection {
    /// A connection whose scope covers `partition` (the front end's name for where the settings
    /// come from, e.g. a database and server), the client's resolved credentials (secrets
    /// included: a wrong secret is another scope), its endpoints, and every option given.
    pub fn new(
        client: Client,
        settings: Settings,
        partition: &str,
        options: &BTreeMap<String, String>,
    ) -> Connection {
        let keys = |b: ScopeBuilder, c: &Credentials| {
            b.part(c.access_key_id.as_bytes())
                .part(c.access_key_secret.expose().as_bytes())
                .part(
                    c.security_token
                        .as_ref()
                        .map_or(&b""[..], |t| t.expose().as_bytes()),
                )
        };
        let mut b = ScopeBuilder::default().part(partition.as_bytes());
        b = match client.source() {
            CredentialSource::Static(c) => keys(b.part(b"static"), c),
            CredentialSource::RamRoleArn {
                base,
                role_arn,
                session_name,
                duration_seconds,
            } => keys(b.part(b"role"), base)
                .part(role_arn.as_bytes())
                .part(session_name.as_bytes())
                .part(&duration_seconds.to_le_bytes()),
            CredentialSource::EcsRamRole { role_name } => b
                .part(b"ecs")
                .part(role_name.as_deref().unwrap_or("").as_bytes())
                .part(settings.client.ecs_metadata_base.as_bytes()),
        };
        b = b
            .part(format!("{:?}", settings.client.actiontrail_endpoint).as_bytes())
            .part(format!("{:?}", settings.client.sts_endpoint).as_bytes());
        for (k, v) in options {
            b = b.part(k.as_bytes()).part(v.as_bytes());
        }
        Connection {
            client,
            settings,
            scope: b.finish(),
        }
    }
}

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
    /// The statement's snapshot.
    Snapshot,
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
    /// Rows the answer gave (trails; zero for other actions).
    pub rows: u64,
    /// The failure, when there was one.
    pub error: Option<ErrorRecord>,
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

impl From<&Error> for ErrorRecord {
    fn from(e: &Error) -> Self {
        ErrorRecord {
            code: e.label().to_string(),
            message: e.to_string(),
            request_id: e.request_id().map(str::to_string),
        }
    }
}

/// Everything a scan obtained, for EXPLAIN ANALYZE, statistics and warnings (also when the scan
/// failed).
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// One record per answer, in the order they completed.
    pub records: Vec<CallRecord>,
    /// Regions skipped by `ignore_error_codes`.
    pub skipped: Vec<Skipped>,
}

impl ScanReport {
    /// API calls made (attempts not counted separately).
    pub fn api_calls(&self) -> usize {
        self.records
            .iter()
            .filter(|r| matches!(r.source, Source::Api { .. }))
            .count()
    }

    /// Answers served by the shared cache.
    pub fn cache_hits(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.source == Source::Cache)
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
    }
}

/// A region left out because its error code is in `ignore_error_codes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The region.
    pub region: String,
    /// The failed action.
    pub action: String,
    /// Its API error code.
    pub code: String,
    /// Its request id.
    pub request_id: Option<String>,
}

impl Skipped {
    /// The warning, naming the option as the front end calls it (`ignore_error_codes`,
    /// `--ignore-error-codes`).
    pub fn warning(&self, option: &str) -> String {
        format!(
            "skipping region {}: {} failed with {} ({}), which {option} lists",
            self.region,
            self.action,
            self.code,
            match &self.request_id {
                Some(r) => format!("request id {r}"),
                None => "no request id".to_string(),
            }
        )
    }
}

/// The warning with the option's own name, as the extension and the configure function call it.
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

/// What a scan obtained: each region's trails in region order, and the account id when asked.
#[derive(Debug, Default, Clone)]
pub struct ScanData {
    /// Region and its trails, in the order the regions were called.
    pub regions: Vec<(String, TrailList)>,
    /// The account id of the credentials, when a column needs it.
    pub account_id: Option<String>,
}

impl ScanData {
    /// Rows in all.
    pub fn row_count(&self) -> usize {
        self.regions.iter().map(|(_, l)| l.len()).sum()
    }
}

/// A position in a [`ScanData`]: front ends keep one per scan and read rows one at a time, so that
/// only the current row is ever converted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    region: usize,
    item: usize,
}

impl Cursor {
    /// The next row's region and its trail's JSON text (read it with [`Trail::parse`] when a
    /// column needs it), moving past it.
    pub fn next<'d>(&mut self, data: &'d ScanData) -> Option<(&'d str, &'d str)> {
        loop {
            let (region, list) = data.regions.get(self.region)?;
            if self.item < list.len() {
                self.item += 1;
                return Some((region, list.raw(self.item - 1)));
            }
            self.region += 1;
            self.item = 0;
        }
    }

    /// Back to the first row.
    pub fn rewind(&mut self) {
        *self = Cursor::default();
    }
}

/// The regions that an unconstrained scan calls, as the front end can tell before any call:
/// the configured list, or `None` for `*` (known only once `DescribeRegions` answers).
pub fn configured_regions(settings: &Settings) -> Option<&[String]> {
    match &settings.regions {
        Regions::List(l) => Some(l),
        Regions::All => None,
    }
}

/// A region's trails as a cache entry: the request id, the spans of the trails, then the body as
/// received, so that reading it back needs no parse.
fn trails_payload(list: &TrailList) -> String {
    let spans: Vec<String> = list
        .spans()
        .iter()
        .map(|(s, e)| format!("{s}-{e}"))
        .collect();
    format!(
        "{}\n{}\n{}",
        list.request_id().unwrap_or(""),
        spans.join(","),
        list.body()
    )
}

/// Reads back [`trails_payload`].
fn trails_from_payload(payload: String) -> Option<TrailList> {
    let mut parts = payload.splitn(3, '\n');
    let request_id = parts.next()?.to_string();
    let spans = parts
        .next()?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (a, b) = s.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect::<Option<Vec<(u32, u32)>>>()?;
    let body = parts.next()?.to_string();
    let request_id = (!request_id.is_empty()).then_some(request_id);
    TrailList::from_parts(body, spans, request_id).ok()
}

/// The cache entry name of a region's trails for `names`.
fn trails_entry(region: &str, names: Option<&[String]>) -> String {
    match names {
        None => format!("DescribeTrails\n{region}\n*"),
        Some(n) => format!("DescribeTrails\n{region}\n{}", n.join("\n")),
    }
}

const REGIONS_ENTRY: &str = "DescribeRegions";

const IDENTITY_ENTRY: &str = "GetCallerIdentity";

/// One scan's view of the world: the connection, the statement's snapshot, the shared cache
/// (`None` when it is off), and who wants to hear of progress.
pub struct Fetch<'a> {
    /// The connection.
    pub connection: &'a Connection,
    /// The statement's snapshot.
    pub snapshot: &'a Snapshot,
    /// The shared cache, when it is on.
    pub cache: Option<&'a Cache>,
    /// Told `(regions done, regions in all)` each time a region's answer is in (a progress bar).
    pub progress: Option<&'a dyn Fn(usize, usize)>,
}

impl Fetch<'_> {
    fn scope(&self) -> &ScopeId {
        &self.connection.scope
    }

    fn cache(&self) -> Option<&Cache> {
        self.cache.filter(|c| c.enabled())
    }

    /// Runs the scan for `plan`; `needs_account_id` when a selected column needs it. Every answer
    /// obtained is recorded in `report`, failures and skipped regions included.
    pub async fn run(
        &self,
        plan: &ScanPlan,
        needs_account_id: bool,
        report: &mut ScanReport,
    ) -> Result<ScanData, ScanError> {
        if plan.is_empty() {
            return Ok(ScanData::default());
        }
        let configured = match &self.connection.settings.regions {
            Regions::List(l) => l.clone(),
            Regions::All => self.all_regions(report).await?,
        };
        let regions = plan.regions(&configured);
        if regions.is_empty() {
            return Ok(ScanData::default());
        }
        let names = plan.names();
        let done = std::cell::Cell::new(0);
        let total = regions.len();
        let trails = self
            .connection
            .client
            .for_each_region(&regions, |_, region| {
                let done = &done;
                async move {
                    let answer = self.region_trails(region, names).await;
                    done.set(done.get() + 1);
                    if let Some(progress) = self.progress {
                        progress(done.get(), total);
                    }
                    answer
                }
            });
        let (results, account) = if needs_account_id {
            let (t, a) = futures_util::future::join(trails, self.account_id()).await;
            (t, Some(a))
        } else {
            (trails.await, None)
        };

        let mut data = ScanData::default();
        let mut failures = Vec::new();
        let ignore = &self.connection.settings.ignore_error_codes;
        for (region, (result, record)) in results {
            report.records.push(record);
            match result {
                Ok(list) => data.regions.push((region, list)),
                Err(e) if e.code().is_some_and(|c| ignore.iter().any(|i| i == c)) => {
                    report.skipped.push(Skipped {
                        region,
                        action: e
                            .call()
                            .map_or("the call", |c| c.action.as_str())
                            .to_string(),
                        code: e.code().unwrap_or_default().to_string(),
                        request_id: e.request_id().map(str::to_string),
                    })
                }
                Err(e) => failures.push(e),
            }
        }
        if let Some((result, record)) = account {
            if let Some(r) = record {
                report.records.push(r);
            }
            match result {
                Ok(id) => data.account_id = Some(id),
                Err(e) if failures.is_empty() => failures.push(e),
                Err(_) => {}
            }
        }
        if failures.is_empty() {
            return Ok(data);
        }
        let others = (failures.len() > 1).then(|| {
            let also: Vec<String> = failures[1..]
                .iter()
                .map(|e| format!("{}: {}", e.region().unwrap_or("?"), e.label()))
                .collect();
            format!(
                "{} of {} regions failed; also: {}",
                failures.len(),
                regions.len(),
                also.join("; ")
            )
        });
        Err(ScanError {
            error: Box::new(failures.swap_remove(0)),
            others,
        })
    }

    /// The trails of `region` for `names`: from the snapshot, else the cache, else the API.
    async fn region_trails(
        &self,
        region: String,
        names: Option<&[String]>,
    ) -> (Result<TrailList, Error>, CallRecord) {
        let record = |source, report, rows, error| CallRecord {
            action: "DescribeTrails",
            region: region.clone(),
            source,
            report,
            rows,
            error,
        };
        let found = |list: TrailList, source| {
            let rows = list.len() as u64;
            (Ok(list), record(source, CallReport::default(), rows, None))
        };
        let scope = self.scope();
        if let Some(list) = self.snapshot.trails(scope, &region, names) {
            return found(list, Source::Snapshot);
        }
        // A second, different NameList in one statement: ask for the full listing once, which
        // then answers every later name too.
        let ask = names.filter(|_| !self.snapshot.has_partial(scope, &region));
        let mut _claim = None;
        if let Some(cache) = self.cache() {
            if let Some(list) = self.cached_trails(cache, &region, names) {
                return found(list, Source::Cache);
            }
            // Sessions that miss the same entry at once wait for one of them to fetch it.
            let entry = trails_entry(&region, ask);
            let waited = Instant::now();
            loop {
                match cache.try_claim(scope, &entry) {
                    Claim::Held(held) => {
                        _claim = Some(held);
                        break;
                    }
                    Claim::Unavailable => break,
                    Claim::Busy
                        if waited.elapsed() >= self.connection.settings.client.attempt_timeout =>
                    {
                        break
                    }
                    Claim::Busy => tokio::time::sleep(CLAIM_POLL).await,
                }
                if let Some(list) = self.cached_trails(cache, &region, names) {
                    return found(list, Source::Cache);
                }
            }
            // The holder before us may have just stored it.
            if let Some(list) = self.cached_trails(cache, &region, names) {
                return found(list, Source::Cache);
            }
        }
        let request = DescribeTrailsRequest {
            include_shadow_trails: true,
            include_organization_trail: true,
            name_list: ask.map(<[String]>::to_vec).unwrap_or_default(),
        };
        let outcome = self
            .connection
            .client
            .describe_trails(&region, &request)
            .await;
        let source = Source::Api {
            cache_missed: self.cache().is_some(),
        };
        match outcome.result {
            Ok(list) => {
                if let Some(cache) = self.cache() {
                    cache.put(scope, &trails_entry(&region, ask), &trails_payload(&list));
                }
                let asked = ask.map(<[String]>::to_vec);
                self.snapshot
                    .keep_trails(scope, &region, asked, list.clone());
                let list = match (ask, names) {
                    (None, Some(wanted)) => list.only_names(wanted),
                    _ => list,
                };
                let rows = list.len() as u64;
                (Ok(list), record(source, outcome.report, rows, None))
            }
            Err(e) => {
                let error = Some(ErrorRecord::from(&e));
                (Err(e), record(source, outcome.report, 0, error))
            }
        }
    }

    /// The trails of `region` for `names` from the cache: its entry for exactly these names, or
    /// the full listing (filtered). What is found is kept in the snapshot.
    fn cached_trails(
        &self,
        cache: &Cache,
        region: &str,
        names: Option<&[String]>,
    ) -> Option<TrailList> {
        let scope = self.scope();
        let (asked, hit) = match cache.get(scope, &trails_entry(region, names)) {
            Some(hit) => (names.map(<[String]>::to_vec), hit),
            None if names.is_some() => (None, cache.get(scope, &trails_entry(region, None))?),
            None => return None,
        };
        let list = trails_from_payload(hit.payload)?;
        self.snapshot.keep_trails(scope, region, asked, list);
        self.snapshot.trails(scope, region, names)
    }

    /// Every region ActionTrail serves (for `regions '*'`): snapshot, cache, `DescribeRegions`.
    async fn all_regions(&self, report: &mut ScanReport) -> Result<Vec<String>, Error> {
        let scope = self.scope();
        if let Some(r) = self.snapshot.regions(scope) {
            return Ok(r);
        }
        let global = self.connection.settings.client.global_region.clone();
        let record = |source, report, error| CallRecord {
            action: "DescribeRegions",
            region: global.clone(),
            source,
            report,
            rows: 0,
            error,
        };
        if let Some(cache) = self.cache() {
            let cached = cache
                .get(scope, REGIONS_ENTRY)
                .and_then(|h| serde_json::from_str::<Vec<String>>(&h.payload).ok())
                .filter(|r| {
                    r.iter()
                        .all(|id| alicloud_api::validate_region_id(id).is_ok())
                });
            if let Some(regions) = cached {
                self.snapshot.keep_regions(scope, regions.clone());
                report
                    .records
                    .push(record(Source::Cache, CallReport::default(), None));
                return Ok(regions);
            }
        }
        let outcome = self.connection.client.describe_regions().await;
        let source = Source::Api {
            cache_missed: self.cache().is_some(),
        };
        match outcome.result {
            Ok(list) => {
                let regions: Vec<String> = list.into_iter().map(|r| r.region_id).collect();
                if let (Some(cache), Ok(text)) = (self.cache(), serde_json::to_string(&regions)) {
                    cache.put(scope, REGIONS_ENTRY, &text);
                }
                self.snapshot.keep_regions(scope, regions.clone());
                report.records.push(record(source, outcome.report, None));
                Ok(regions)
            }
            Err(e) => {
                report
                    .records
                    .push(record(source, outcome.report, Some(ErrorRecord::from(&e))));
                Err(e)
            }
        }
    }

    /// The account id of the credentials: snapshot, cache, `GetCallerIdentity`. The record is
    /// `None` when the snapshot answered.
    async fn account_id(&self) -> (Result<String, Error>, Option<CallRecord>) {
        let scope = self.scope();
        if let Some(id) = self.snapshot.account_id(scope) {
            return (Ok(id), None);
        }
        let global = self.connection.settings.client.global_region.clone();
        let record = |source, report, error| CallRecord {
            action: "GetCallerIdentity",
            region: global.clone(),
            source,
            report,
            rows: 0,
            error,
        };
        if let Some(hit) = self.cache().and_then(|c| c.get(scope, IDENTITY_ENTRY)) {
            self.snapshot.keep_account_id(scope, hit.payload.clone());
            return (
                Ok(hit.payload),
                Some(record(Source::Cache, CallReport::default(), None)),
            );
        }
        let outcome = self.connection.client.caller_identity().await;
        let source = Source::Api {
            cache_missed: self.cache().is_some(),
        };
        match outcome.result {
            Ok(identity) => {
                if let Some(cache) = self.cache() {
                    cache.put(scope, IDENTITY_ENTRY, &identity.account_id);
                }
                self.snapshot
                    .keep_account_id(scope, identity.account_id.clone());
                (
                    Ok(identity.account_id),
                    Some(record(source, outcome.report, None)),
                )
            }
            Err(e) => {
                let error = Some(ErrorRecord::from(&e));
                (Err(e), Some(record(source, outcome.report, error)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trails_round_trip_through_the_cache_payload() {
        for body in [
            r#"{"RequestId":"r1","TrailList":[{"Name":"a"},{"Name":"b\nc"}]}"#,
            r#"{"TrailList":[]}"#,
        ] {
            let list = TrailList::from_text(body.to_string()).unwrap();
            let back = trails_from_payload(trails_payload(&list)).unwrap();
            assert_eq!(back.body(), list.body());
            assert_eq!(back.spans(), list.spans());
            assert_eq!(back.request_id(), list.request_id());
        }
        assert!(trails_from_payload("x\n0-999\n{}".to_string()).is_none());
        assert!(trails_from_payload("garbage".to_string()).is_none());
    }
}
