//! The scan: from a [`ScanPlan`] to the trails of every region it calls, through the statement's
//! [`Snapshot`], then the shared [`Cache`], then the API (all regions at once, up to the
//! configured cap), with the partial-failure policy (`ignore_error_codes`) and the account id.
//! Every front end runs exactly this; it only blocks on the future in its own way.

use crate::cache::{Cache, Claim, Finished, ScopeBuilder, ScopeId};
use crate::options::{Regions, Settings};
use crate::plan::ScanPlan;
use crate::snapshot::Snapshot;
#[cfg(doc)]
use alicloud_api::Trail;
use alicloud_api::{
    Call, CallReport, Client, CredentialSource, Credentials, DescribeTrailsRequest, Error, Outcome,
    TrailList,
};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a session waiting for another session's fetch of the same answer looks again.
const CLAIM_POLL: Duration = Duration::from_millis(10);
/// How long a connection keeps the region list of `regions '*'` (`DescribeRegions`): region
/// lists change a few times a year, so this is metadata of the connection, not an answer with
/// the cache's TTL.
pub const REGION_LIST_LIFETIME: Duration = Duration::from_secs(3600);

/// An API client with its settings and the scope its answers belong to.
#[derive(Clone)]
pub struct Connection {
    /// The client, with its credentials.
    pub client: Client,
    /// The settings it was made with.
    pub settings: Settings,
    /// Who may be served its answers.
    pub scope: ScopeId,
    /// The secret values it was made from (options, and the keys the credential chain found),
    /// to scrub from anything shown or kept; temporary credentials are added by
    /// [`Connection::secrets`].
    pub secrets: Vec<String>,
    /// The region list of `regions '*'`, with when it was fetched.
    regions: Arc<Mutex<Option<RegionList>>>,
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
        secrets: Vec<String>,
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
            secrets,
            regions: Arc::default(),
        }
    }

    /// Every secret in use: those it was made from, and those of the temporary credentials the
    /// client holds now.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = self.secrets.clone();
        for s in self.client.secrets() {
            if !all.contains(&s) {
                all.push(s);
            }
        }
        all
    }

    fn remembered_regions(&self) -> Option<Vec<String>> {
        let held = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref()
            .filter(|(at, _)| at.elapsed() < REGION_LIST_LIFETIME)
            .map(|(_, r)| r.clone())
    }

    fn remember_regions(&self, regions: &[String]) {
        *self.regions.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), regions.to_vec()));
    }
}

/// A region list and when it was fetched.
type RegionList = (Instant, Vec<String>);

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
        let scope = self.scope();
        if let Some(list) = self.snapshot.trails(scope, &region, names) {
            let rows = list.len() as u64;
            let record = self.record("DescribeTrails", &region, Source::Snapshot, rows);
            return (Ok(list), record);
        }
        // A second, different NameList in one statement: ask for the full listing once, which
        // then answers every later name too.
        let ask = names.filter(|_| !self.snapshot.has_partial(scope, &region));
        let request = DescribeTrailsRequest {
            include_shadow_trails: true,
            include_organization_trail: true,
            name_list: ask.map(<[String]>::to_vec).unwrap_or_default(),
        };
        let entry = trails_entry(&region, ask);
        let got = self
            .through_cache(
                Call::new("DescribeTrails", &region),
                &entry,
                |cache| self.cached_trails(cache, &region, names),
                || self.connection.client.describe_trails(&region, &request),
                trails_payload,
            )
            .await;
        let (source, result, report) = got;
        let result = result.map(|list| match source {
            Source::Api { .. } => {
                let asked = ask.map(<[String]>::to_vec);
                self.snapshot
                    .keep_trails(scope, &region, asked, list.clone());
                match (ask, names) {
                    (None, Some(wanted)) => list.only_names(wanted),
                    _ => list,
                }
            }
            _ => list,
        });
        let rows = result.as_ref().map_or(0, |l| l.len() as u64);
        let mut record = self.record("DescribeTrails", &region, source, rows);
        record.report = report;
        record.error = result.as_ref().err().map(|e| self.error_record(e));
        (result, record)
    }

    fn record(&self, action: &'static str, region: &str, source: Source, rows: u64) -> CallRecord {
        CallRecord {
            action,
            region: region.to_string(),
            source,
            report: CallReport::default(),
            rows,
            error: None,
        }
    }

    fn error_record(&self, e: &Error) -> ErrorRecord {
        ErrorRecord::new(e, &self.connection.secrets())
    }

    /// One answer through the shared cache: read from it (`read`); else fetched once for every
    /// session that misses it at the same time: the first one claims it, calls the API (`fetch`)
    /// and stores the answer (as `payload` writes it), the others wait and take its outcome,
    /// the answer or the error. No session waits longer than its own call could take (its
    /// `deadline_ms`, else its attempts and backoffs). Without a cache, just `fetch`.
    async fn through_cache<T, F, Fut>(
        &self,
        call: Call,
        entry: &str,
        read: impl Fn(&Cache) -> Option<T>,
        fetch: F,
        payload: impl Fn(&T) -> String,
    ) -> (Source, Result<T, Error>, CallReport)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let Some(cache) = self.cache() else {
            let outcome = fetch().await;
            let source = Source::Api {
                cache_missed: false,
            };
            return (source, outcome.result, outcome.report);
        };
        if let Some(hit) = read(cache) {
            return (Source::Cache, Ok(hit), CallReport::default());
        }
        let scope = self.scope();
        let limits = &self.connection.settings.client;
        let budget = limits.call_limit();
        let started = Instant::now();
        let out_of_time = || {
            let what = if limits.deadline.is_some() {
                "the overall deadline"
            } else {
                "waiting for another session's call of the same request"
            };
            let e = Error::Timeout {
                call: call.clone(),
                what: what.into(),
                after: budget,
            };
            (Source::Coalesced, Err(e), CallReport::default())
        };
        loop {
            match cache.claim(scope, entry) {
                Claim::Busy(mut waiting) => loop {
                    if let Some(hit) = read(cache) {
                        return (Source::Coalesced, Ok(hit), CallReport::default());
                    }
                    match waiting.poll() {
                        None => {}
                        Some(Finished::Failed(e)) => {
                            return (Source::Coalesced, Err(*e), CallReport::default())
                        }
                        // Stored but not there (trimmed at once, or too large): claim again.
                        Some(Finished::Stored | Finished::Abandoned) => break,
                    }
                    if started.elapsed() >= budget {
                        return out_of_time();
                    }
                    tokio::time::sleep(CLAIM_POLL).await;
                },
                claim => {
                    // The holder before us may have just stored it.
                    if let Some(hit) = read(cache) {
                        return (Source::Cache, Ok(hit), CallReport::default());
                    }
                    let left = budget.saturating_sub(started.elapsed());
                    let Ok(outcome) = tokio::time::timeout(left, fetch()).await else {
                        return out_of_time();
                    };
                    let source = Source::Api { cache_missed: true };
                    if let Ok(answer) = &outcome.result {
                        let _ =
                            cache.put(scope, entry, &payload(answer), &self.connection.secrets());
                    }
                    if let Claim::Held(held) = claim {
                        held.finish(outcome.result.as_ref().err());
                    }
                    return (source, outcome.result, outcome.report);
                }
            }
            if started.elapsed() >= budget {
                return out_of_time();
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
        let exact = cache
            .get(scope, &trails_entry(region, names))
            .and_then(|hit| trails_from_payload(hit.payload));
        let (asked, list) = match exact {
            Some(list) => (names.map(<[String]>::to_vec), list),
            None if names.is_some() => {
                let hit = cache.get(scope, &trails_entry(region, None))?;
                (None, trails_from_payload(hit.payload)?)
            }
            None => return None,
        };
        self.snapshot.keep_trails(scope, region, asked, list);
        self.snapshot.trails(scope, region, names)
    }

    /// Every region ActionTrail serves (for `regions '*'`): the connection's region list while it
    /// is younger than [`REGION_LIST_LIFETIME`], else the cache, else `DescribeRegions`.
    async fn all_regions(&self, report: &mut ScanReport) -> Result<Vec<String>, Error> {
        if let Some(r) = self.connection.remembered_regions() {
            return Ok(r);
        }
        let global = self.connection.settings.client.global_region.clone();
        let read = |cache: &Cache| {
            cache
                .get(self.scope(), REGIONS_ENTRY)
                .and_then(|h| serde_json::from_str::<Vec<String>>(&h.payload).ok())
                .filter(|r| {
                    !r.is_empty()
                        && r.iter()
                            .all(|id| alicloud_api::validate_region_id(id).is_ok())
                })
        };
        let fetch = || async {
            let outcome = self.connection.client.describe_regions().await;
            Outcome {
                result: outcome
                    .result
                    .map(|l| l.into_iter().map(|r| r.region_id).collect::<Vec<_>>()),
                report: outcome.report,
            }
        };
        let (source, result, call_report) = self
            .through_cache(
                Call::new("DescribeRegions", &global),
                REGIONS_ENTRY,
                read,
                fetch,
                |regions| serde_json::to_string(regions).unwrap_or_default(),
            )
            .await;
        let mut record = self.record("DescribeRegions", &global, source, 0);
        record.report = call_report;
        record.error = result.as_ref().err().map(|e| self.error_record(e));
        report.records.push(record);
        if let Ok(regions) = &result {
            self.connection.remember_regions(regions);
        }
        result
    }

    /// The account id of the credentials: snapshot, cache, `GetCallerIdentity`. The record is
    /// `None` when the snapshot answered.
    async fn account_id(&self) -> (Result<String, Error>, Option<CallRecord>) {
        let scope = self.scope();
        if let Some(id) = self.snapshot.account_id(scope) {
            return (Ok(id), None);
        }
        let global = self.connection.settings.client.global_region.clone();
        let read = |cache: &Cache| {
            cache
                .get(scope, IDENTITY_ENTRY)
                .map(|h| h.payload)
                .filter(|id| is_account_id(id))
        };
        let fetch = || async {
            let outcome = self.connection.client.caller_identity().await;
            Outcome {
                result: outcome.result.map(|identity| identity.account_id),
                report: outcome.report,
            }
        };
        let (source, result, call_report) = self
            .through_cache(
                Call::new("GetCallerIdentity", &global),
                IDENTITY_ENTRY,
                read,
                fetch,
                |id| id.clone(),
            )
            .await;
        if let Ok(id) = &result {
            self.snapshot.keep_account_id(scope, id.clone());
        }
        let mut record = self.record("GetCallerIdentity", &global, source, 0);
        record.report = call_report;
        record.error = result.as_ref().err().map(|e| self.error_record(e));
        (result, Some(record))
    }
}

/// Whether `id` has the form of an Alibaba Cloud account id (digits only), as a cached one must.
fn is_account_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
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
