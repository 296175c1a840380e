//! The scan, for any table: from a [`ScanPlan`] to the rows of every region it calls. Each part
//! (a region and one of the listing's requests there) is answered by the statement's
//! [`Snapshot`], else the shared [`Cache`], else the API; every part's first page at once (up to
//! the configured cap), later pages when the rows reach them ([`Fetch::more`]). The partial-
//! failure policy (`ignore_error_codes`) and the account id are applied here. Every front end runs
//! exactly this; it only blocks on the futures in its own way ([`crate::wait`]).

mod data;
mod report;

/// How a call fails (the client's error, which a [`ScanError`] holds), with its parts.
pub use alicloud_api::{ApiError, Call, Error};
pub use data::{Next, Pending, Row, ScanData, HELD_LIMIT};
pub use report::{
    AccountOutcome, CallRecord, Directory, ErrorRecord, ScanError, ScanReport, Skipped, Source,
};

use crate::cache::{Cache, Claim, Finished, ScopeId};
use crate::connect::ConnectError;
use crate::connect::{Connection, ServerMember, DEFAULT_MEMBER_CONCURRENCY};
use crate::listing::{Listing, Page, Params};
use crate::options::{is_account_id, MemberFailure, Members, Regions, Settings};
use crate::pace::{AssumeRolePace, Pace};
use crate::plan::ScanPlan;
use crate::snapshot::Snapshot;
use crate::table::TableDef;
use alicloud_api::{CallReport, Items, OpenedAhead, Outcome};
use data::Part;
use futures_util::stream::{self, StreamExt};
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a session waiting for another session's fetch of the same answer looks again.
const CLAIM_POLL: Duration = Duration::from_millis(10);
/// The most pages one listing may have: more means a listing that does not end.
pub const MAX_PAGES: usize = 100_000;
/// The cache entry of the region list.
const REGIONS_ENTRY: &str = "DescribeRegions";
/// The cache entry of the account id.
const IDENTITY_ENTRY: &str = "GetCallerIdentity";
/// The cache entry of the resource directory's accounts (`<id>\t<status>` lines).
const DIRECTORY_ENTRY: &str = "ListAccounts.status";
/// The action a member's last outcome is recorded under (no API action: a member's part of a
/// scan).
pub const MEMBER_SCAN: &str = "member scan";
/// A reserved `AssumeRole` turn is given up after waiting this long for the cap on calls at once.
const STALE_TURN: Duration = Duration::from_millis(100);

/// What one member's part of a scan came to.
struct MemberOutcome {
    /// Its rows' `sp_connection_name`.
    name: String,
    /// Its account id (`None`: it could not be learned, and the member failed).
    account: Option<String>,
    /// How messages name it: `org.1111 (account 1111)`.
    label: String,
    /// Its scan.
    result: Result<ScanData, ScanError>,
    /// Its calls.
    report: ScanReport,
    /// The member scanned in its place after it failed (one reaching the same account).
    replaced_by: Option<String>,
}

/// A member's connection that could not be made, as a call's error (its secrets are the
/// server's, which front ends scrub from every message anyway).
fn member_connect_error(e: ConnectError) -> Error {
    match *e.kind {
        crate::connect::ConnectErrorKind::Api(a) => a,
        crate::connect::ConnectErrorKind::Option(o) => Error::Credentials {
            message: o.to_string(),
        },
    }
}

/// The progress of every member's part of a scan together: each member tells its own
/// `(done, total)`, and the front end hears the sums, which only grow (its progress bar would
/// restart at every member otherwise).
#[derive(Default)]
struct Tally {
    done: std::cell::Cell<usize>,
    total: std::cell::Cell<usize>,
}

impl Tally {
    /// The progress callback of one member's part, telling `outer` the sums.
    fn part<'b>(&'b self, outer: &'b dyn Fn(usize, usize)) -> impl Fn(usize, usize) + 'b {
        let last = std::cell::Cell::new((0, 0));
        move |done, total| {
            let (was_done, was_total) = last.replace((done, total));
            self.done
                .set((self.done.get() + done).saturating_sub(was_done));
            self.total
                .set((self.total.get() + total).saturating_sub(was_total));
            outer(self.done.get(), self.total.get());
        }
    }
}

/// Runs `futures` at once and gives their outputs in their order. Unlike `join_all` below its
/// threshold (30 futures), which polls every future on each wake-up, only the futures woken are
/// polled: a member's answers, hundreds at once, each wake the scan.
async fn in_order<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    futures
        .into_iter()
        .collect::<stream::FuturesOrdered<F>>()
        .collect()
        .await
}

/// The regions that an unconstrained scan calls, as the front end can tell before any call:
/// the configured list, or `None` for `*` (known only once `DescribeRegions` answers).
pub fn configured_regions(settings: &Settings) -> Option<&[String]> {
    match &settings.regions {
        Regions::List(l) => Some(l),
        Regions::All => None,
    }
}

/// The cache entry of `action`'s answer to `request` in `region`.
fn listing_entry(action: &str, region: &str, request: &Params) -> String {
    let mut entry = format!("{action}\n{region}\n");
    for (k, v) in request {
        entry.push_str(k);
        entry.push('=');
        entry.push_str(v);
        entry.push('\n');
    }
    entry
}

/// A complete listing as a cache entry: per page its request id, the spans of its objects and
/// its body (by length), so that reading it back needs no parse.
fn pages_payload(pages: &[Items]) -> String {
    let mut out = format!("{}\n", pages.len());
    for p in pages {
        let spans: Vec<String> = p.spans().iter().map(|(s, e)| format!("{s}-{e}")).collect();
        out.push_str(&format!(
            "{}\n{}\n{}\n",
            p.request_id().unwrap_or(""),
            spans.join(","),
            p.body().len()
        ));
        out.push_str(p.body());
    }
    out
}

/// Reads back [`pages_payload`].
fn pages_from_payload(payload: &str) -> Option<Vec<Items>> {
    let (count, mut rest) = payload.split_once('\n')?;
    let count: usize = count.parse().ok()?;
    let mut pages = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let (request_id, r) = rest.split_once('\n')?;
        let (spans, r) = r.split_once('\n')?;
        let (len, r) = r.split_once('\n')?;
        let len: usize = len.parse().ok()?;
        let body = r.get(..len)?;
        rest = &r[len..];
        let spans = spans
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (a, b) = s.split_once('-')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect::<Option<Vec<(u32, u32)>>>()?;
        let request_id = (!request_id.is_empty()).then(|| request_id.to_string());
        pages.push(Items::from_parts(body.to_string(), spans, request_id).ok()?);
    }
    rest.is_empty().then_some(pages)
}

/// What one part's first answer was: the whole listing (from the snapshot or the cache), or its
/// first page (from the API).
#[derive(Clone)]
enum First {
    Whole(Vec<Items>),
    Page(Page),
}

/// One scan's view of the world: the connection, the statement's snapshot, the shared cache
/// (`None` when it is off), and who wants to hear of progress.
pub struct Fetch<'a> {
    /// The connection.
    pub connection: &'a Connection,
    /// The statement's snapshot.
    pub snapshot: &'a Snapshot,
    /// The shared cache, when it is on.
    pub cache: Option<&'a Cache>,
    /// Told `(parts done, parts in all)` each time a part's first answer is in (a progress bar).
    pub progress: Option<&'a dyn Fn(usize, usize)>,
}

impl Fetch<'_> {
    fn scope(&self) -> &ScopeId {
        &self.connection.scope
    }

    /// What the scan of `table` obtained: `parts`, and the connection's name.
    fn data(&self, table: &'static TableDef, parts: Vec<data::Part>) -> ScanData {
        let mut data = ScanData::new(table, parts);
        data.connection_name.clone_from(&self.connection.name);
        data
    }

    fn cache(&self) -> Option<&Cache> {
        self.cache.filter(|c| c.enabled())
    }

    /// The turns of `listing`'s calls with this connection's credentials.
    fn pace(&self, listing: &dyn Listing) -> Pace {
        Pace::new(
            listing.action(),
            &self.connection.credentials,
            self.cache.map(Cache::dir),
        )
    }

    /// Starts the scan of `table` for `plan`: the first answer of every part, and the account id
    /// when `needs_account_id`. Every answer obtained is recorded in `report`, failures and
    /// skipped regions included.
    pub async fn start(
        &self,
        table: &'static TableDef,
        plan: &ScanPlan,
        needs_account_id: bool,
        report: &mut ScanReport,
    ) -> Result<ScanData, ScanError> {
        if plan.is_empty() {
            return Ok(self.data(table, Vec::new()));
        }
        if let Some(servers) = &self.connection.settings.member_servers {
            return self
                .start_servers(servers.failure, table, plan, report)
                .await;
        }
        if let Some(members) = &self.connection.settings.members {
            return self.start_members(members, table, plan, report).await;
        }
        if !plan.admits(&self.connection.name, None) {
            return Ok(self.data(table, Vec::new()));
        }
        let configured = match &self.connection.settings.regions {
            Regions::List(l) => l.clone(),
            Regions::All => self.all_regions(report).await?,
        };
        let regions = plan.regions(&configured);
        let units: Vec<(String, Params)> = regions
            .iter()
            .flat_map(|r| plan.requests().iter().map(move |q| (r.clone(), q.clone())))
            .collect();
        if units.is_empty() {
            return Ok(self.data(table, Vec::new()));
        }
        let listing = table.listing;
        let done = std::cell::Cell::new(0);
        let total = units.len();
        let cap = self
            .connection
            .settings
            .client
            .max_concurrency
            .unwrap_or(usize::MAX)
            .clamp(1, total);
        let firsts = stream::iter(units.into_iter().enumerate())
            .map(|(i, (region, request))| {
                let done = &done;
                async move {
                    // A member's calls share its server's cap with the other members'.
                    let turn = self.connection.call_turn().await;
                    let answer = self.first(listing, &region, &request).await;
                    drop(turn);
                    done.set(done.get() + 1);
                    if let Some(progress) = self.progress {
                        progress(done.get(), total);
                    }
                    (i, region, answer)
                }
            })
            .buffer_unordered(cap)
            .collect::<Vec<_>>();
        let (mut firsts, account) = if needs_account_id {
            let (f, a) = futures_util::future::join(firsts, self.account_id()).await;
            (f, Some(a))
        } else {
            (firsts.await, None)
        };
        firsts.sort_by_key(|(i, ..)| *i);

        let mut parts = Vec::new();
        let mut failures = Vec::new();
        for (_, region, (result, record)) in firsts {
            report.records.push(record);
            match result {
                Ok(part) => parts.push(part),
                Err(e) => match self.skipping(&e, &region) {
                    Some(skip) => report.skipped.push(skip),
                    None => failures.push(e),
                },
            }
        }
        let mut data = self.data(table, parts);
        if let Some((result, record)) = account {
            report.records.extend(record);
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

    /// Starts the scan of `table` in every member account at once, each through its own
    /// connection (its role assumed with this connection's credentials), and puts their parts
    /// together under the failure policy ([`Fetch::gather`]).
    async fn start_members(
        &self,
        members: &Members,
        table: &'static TableDef,
        plan: &ScanPlan,
        report: &mut ScanReport,
    ) -> Result<ScanData, ScanError> {
        let listed;
        let all = if members.directory {
            let (result, record) = self.directory_accounts().await;
            report.records.push(record);
            let directory = result?;
            listed = directory.joined().map(str::to_string).collect::<Vec<_>>();
            report.directory = Some(directory);
            &listed
        } else {
            &members.accounts
        };
        let accounts = plan.accounts(&self.connection.name, all);
        // Each member's connection, and whether its role must be assumed first (its session is
        // not held yet, or is due for renewal). Every AssumeRole of the caller's account counts
        // against one rate: their turns are taken together, in one reservation.
        let mut connections = Vec::with_capacity(accounts.len());
        for account in &accounts {
            let connection = self.connection.member(members, account);
            let due = match &connection {
                Ok(c) => !c.client.holds_fresh_credentials().await,
                Err(_) => false,
            };
            connections.push((connection, due));
        }
        let due = connections.iter().filter(|(_, due)| *due).count();
        // Kept until the members' parts are in: connections no listing took are closed then.
        let _opened_ahead = self.open_ahead(
            table,
            plan,
            connections
                .iter()
                .filter(|(_, due)| *due)
                .filter_map(|(c, _)| c.as_ref().ok()),
        );
        let mut turns =
            AssumeRolePace::new(&self.connection.credentials, self.cache.map(Cache::dir))
                .take_turns(due)
                .into_iter();
        let tally = Tally::default();
        let tally = &tally;
        let runs = accounts
            .iter()
            .zip(connections)
            .map(|(account, (connection, due))| {
                let turn = if due { turns.next() } else { None };
                async move {
                    let mut member_report = ScanReport::default();
                    let name = self.connection.member_name(account);
                    let mut label = format!("{name} (account {account})");
                    let result = match connection {
                        Err(e) => Err(ScanError::from(member_connect_error(e))),
                        // The role first: a member that cannot be reached is one failure, not
                        // one per region.
                        Ok(connection) => match self.role_session(&connection, turn).await {
                            Err(e) => {
                                label = format!(
                                    "{name} (account {account}, role {})",
                                    members.role_arn(account)
                                );
                                Err(ScanError::from(e))
                            }
                            Ok(_) => {
                                let fetch = self.with_connection(&connection);
                                self.member_part(fetch, tally, table, plan, &mut member_report)
                                    .await
                            }
                        },
                    };
                    MemberOutcome {
                        name,
                        account: Some(account.clone()),
                        label,
                        result,
                        report: member_report,
                        replaced_by: None,
                    }
                }
            });
        let outcomes = in_order(runs).await;
        self.gather(table, members.failure, "member account", outcomes, report)
    }

    /// Opens, in the background, the connections the listings of `members` will need as soon as
    /// their roles are assumed (a round trip from now): one per call the cache will not answer,
    /// within the cap on calls at once. Regions that are learned with a call are not known yet,
    /// and nothing is opened for them. The connections are kept while the guard is.
    fn open_ahead<'c>(
        &self,
        table: &'static TableDef,
        plan: &ScanPlan,
        members: impl Iterator<Item = &'c Connection>,
    ) -> Option<OpenedAhead> {
        let Regions::List(configured) = &self.connection.settings.regions else {
            return None;
        };
        let regions = plan.regions(configured);
        let listing = table.listing;
        let cap = self
            .connection
            .settings
            .client
            .max_concurrency
            .unwrap_or(DEFAULT_MEMBER_CONCURRENCY);
        let mut calls = Vec::new();
        'members: for member in members {
            for region in &regions {
                for request in plan.requests() {
                    if calls.len() >= cap {
                        break 'members;
                    }
                    let entry = listing_entry(listing.action(), region, request);
                    let cached = self.cache().is_some_and(|cache| {
                        cache
                            .get_decoded(&member.scope, &entry, pages_from_payload)
                            .is_some()
                    });
                    if !cached {
                        calls.push(region.as_str());
                    }
                }
            }
        }
        listing.open_ahead(&self.connection.client, &calls)
    }

    /// The credentials of member `connection`, its role assumed (when `turn` says it must be) no
    /// earlier than that turn of the caller's AssumeRole rate.
    async fn role_session(
        &self,
        connection: &Connection,
        turn: Option<std::time::Instant>,
    ) -> Result<(), Error> {
        let waited = std::time::Instant::now();
        let _turn = self.connection.call_turn().await;
        // A turn reserved before a long wait for the cap on calls at once is stale: calls that
        // waited together would go together. Such a member takes a turn of its own instead.
        let turn = turn.filter(|_| waited.elapsed() < STALE_TURN);
        // The member's client waits for the turn before it assumes the role (see
        // `Connection::member`). A turn left unused (the session was renewed meanwhile, or the
        // scan was dropped) is taken back, so that a later renewal takes a turn of its own.
        struct TakeBack<'c>(&'c Connection, Option<&'c std::path::Path>);
        impl Drop for TakeBack<'_> {
            fn drop(&mut self) {
                self.0.grant_assume_turn(None, self.1);
            }
        }
        let dir = self.cache.map(Cache::dir);
        connection.grant_assume_turn(turn, dir);
        let _take_back = TakeBack(connection, dir);
        connection.client.credentials().await.map(|_| ())
    }

    /// Starts the scan of `table` in every member server the front end resolved
    /// ([`Connection::servers`]), each through its own connection. Each member's account id
    /// comes first (known without a call after the first scan): conditions on `account_id`
    /// choose among them, and a member that reaches the same account as another (by name order)
    /// is left out with a warning instead of repeating its rows, and scanned only in that other
    /// member's place when it fails (the failure is then a warning). A member whose account id
    /// cannot be learned is never dropped: it fails, under the failure policy.
    async fn start_servers(
        &self,
        failure: MemberFailure,
        table: &'static TableDef,
        plan: &ScanPlan,
        report: &mut ScanReport,
    ) -> Result<ScanData, ScanError> {
        let named: Vec<&ServerMember> = self
            .connection
            .servers()
            .iter()
            .filter(|s| plan.admits(&s.name, None))
            .collect();
        let identities = named.iter().map(|member| async move {
            match &member.connection {
                Err(e) => (Err(ScanError::from(e.clone())), None),
                Ok(c) => match c.known_account() {
                    Some(id) => (Ok(id), None),
                    None => {
                        let (result, record) = self.member_fetch(c).account_id().await;
                        if let Ok(id) = &result {
                            c.remember_account(id);
                        }
                        (result.map_err(ScanError::from), record)
                    }
                },
            }
        });
        let identities = in_order(identities).await;
        // The members of each account, in name order: the first is scanned, and the others only
        // in its place when it fails.
        let mut accounts: Vec<(&str, Vec<&ServerMember>)> = Vec::new();
        let mut failed = Vec::new();
        for (member, (result, record)) in named.into_iter().zip(identities.iter()) {
            report.records.extend(record.clone().map(|mut r| {
                r.member = Some(member.name.clone());
                r
            }));
            match result {
                Err(e) => failed.push(MemberOutcome {
                    name: member.name.clone(),
                    account: None,
                    label: member.name.clone(),
                    result: Err(e.clone()),
                    report: ScanReport::default(),
                    replaced_by: None,
                }),
                Ok(account) => {
                    if let Some((_, same)) = accounts.iter_mut().find(|(a, _)| a == account) {
                        same.push(member);
                    } else if plan.admits(&member.name, Some(account)) {
                        accounts.push((account, vec![member]));
                    }
                }
            }
        }
        let tally = Tally::default();
        let tally = &tally;
        let runs = accounts.iter().map(|(account, members)| async move {
            let mut tried = Vec::new();
            for (i, member) in members.iter().enumerate() {
                let mut outcome = self
                    .server_member(member, account, table, plan, tally)
                    .await;
                let next = members.get(i + 1).filter(|_| outcome.result.is_err());
                outcome.replaced_by = next.map(|n| n.name.clone());
                tried.push(outcome);
                if next.is_none() {
                    break;
                }
            }
            tried
        });
        let mut outcomes = failed;
        for ((account, members), tried) in accounts.iter().zip(in_order(runs).await) {
            // The account's rows come from the last member tried; the others are not repeated.
            let used = members
                .get(tried.len().saturating_sub(1))
                .map_or("", |m| &m.name);
            for left_out in members.iter().skip(tried.len()) {
                report.notes.push(format!(
                    "member servers {used} and {} reach the same account {account}: the rows of {} are left out, not repeated",
                    left_out.name, left_out.name
                ));
            }
            outcomes.extend(tried);
        }
        self.gather(table, failure, "member server", outcomes, report)
    }

    /// The scan of `table` in one member server, which reaches `account`.
    async fn server_member(
        &self,
        member: &ServerMember,
        account: &str,
        table: &'static TableDef,
        plan: &ScanPlan,
        tally: &Tally,
    ) -> MemberOutcome {
        let mut member_report = ScanReport::default();
        let result = match &member.connection {
            Err(e) => Err(ScanError::from(e.clone())),
            Ok(c) => {
                let fetch = self.member_fetch(c);
                self.member_part(fetch, tally, table, plan, &mut member_report)
                    .await
            }
        };
        MemberOutcome {
            name: member.name.clone(),
            label: format!("{} (account {account})", member.name),
            account: Some(account.to_string()),
            result,
            report: member_report,
            replaced_by: None,
        }
    }

    /// A member's part of the scan of `table`, made by `fetch` (the member's), its progress
    /// counted with the other members' in `tally`.
    async fn member_part(
        &self,
        fetch: Fetch<'_>,
        tally: &Tally,
        table: &'static TableDef,
        plan: &ScanPlan,
        report: &mut ScanReport,
    ) -> Result<ScanData, ScanError> {
        let part = self.progress.map(|outer| tally.part(outer));
        let fetch = Fetch {
            progress: part.as_ref().map(|p| p as &dyn Fn(usize, usize)),
            ..fetch
        };
        Box::pin(fetch.start(table, plan, false, report)).await
    }

    /// Puts the members' parts together. A member that failed fails the scan, or under
    /// `member_failure 'skip'` is reported as skipped; when every member fails, the scan fails
    /// all the same (no rows would read as "nothing to report"). `kind` names a member in
    /// messages (`member account`).
    fn gather(
        &self,
        table: &'static TableDef,
        failure: MemberFailure,
        kind: &str,
        outcomes: Vec<MemberOutcome>,
        report: &mut ScanReport,
    ) -> Result<ScanData, ScanError> {
        // A member replaced by another of its account is not one of the members that failed.
        let total = outcomes.iter().filter(|o| o.replaced_by.is_none()).count();
        let mut data = self.data(table, Vec::new());
        let mut failures = Vec::new();
        for mut outcome in outcomes {
            // Each member's calls, and its outcome, are recorded under its name.
            let mut last = self.record(MEMBER_SCAN, "", Source::Member);
            last.member = Some(outcome.name.clone());
            if let Err(e) = &outcome.result {
                last.error = Some(self.error_record(&e.error));
            }
            // A member replaced by another of its account did not cover it: its failure is a
            // warning and its statistics' last outcome, not the account's outcome.
            if outcome.replaced_by.is_none() {
                report.accounts.push(AccountOutcome {
                    member: outcome.name.clone(),
                    account_id: outcome.account.clone(),
                    error: last.error.clone().map(|r| {
                        (
                            r,
                            outcome
                                .result
                                .as_ref()
                                .err()
                                .and_then(|e| e.error.region().map(str::to_string)),
                        )
                    }),
                    ignored_regions: outcome
                        .report
                        .skipped
                        .iter()
                        .map(|s| s.region.clone())
                        .collect(),
                });
            }
            for r in outcome.report.records.iter_mut() {
                r.member = Some(outcome.name.clone());
            }
            outcome.report.records.push(last);
            report.extend(outcome.report);
            match (outcome.result, outcome.account) {
                (Ok(member_data), Some(account_id)) => {
                    let index = data.members.len();
                    data.members.push(data::Member {
                        name: outcome.name,
                        account_id,
                    });
                    for mut part in member_data.parts {
                        part.member = Some(index);
                        data.parts.push(part);
                    }
                }
                (Ok(_), None) => {}
                (Err(e), _) => match outcome.replaced_by {
                    Some(other) => report.notes.push(format!(
                        "member server {} failed, and {other} (the same account) was scanned in its place: {} ({})",
                        outcome.label,
                        e.error,
                        report::request_words(e.error.request_id())
                    )),
                    None => failures.push((outcome.label, e)),
                },
            }
        }
        if failures.is_empty() {
            return Ok(data);
        }
        let all_failed = failures.len() == total;
        if failure == MemberFailure::Skip && !all_failed {
            for (member, e) in failures {
                let e = e.error;
                let region = e.region().unwrap_or("every region");
                let code = e.code().unwrap_or("no error code");
                report
                    .skipped
                    .push(Skipped::of(&e, region, code, Some(member)));
            }
            return Ok(data);
        }
        // The others by name, ten at the most.
        let mut also: Vec<String> = failures[1..]
            .iter()
            .take(10)
            .map(|(m, _)| m.clone())
            .collect();
        if failures.len() > 11 {
            also.push(format!("and {} more", failures.len() - 11));
        }
        let (member, first) = failures.swap_remove(0);
        let (failed, of) = (failures.len() + 1, total);
        let mut others = match (failed, of) {
            (1, 1) => format!("in member {member}, the only {kind}"),
            (1, _) => format!("in member {member}, 1 of {of} {kind}s"),
            _ if all_failed => format!(
                "in member {member}; every {kind} failed ({failed} of {of}), also: {}",
                also.join(", ")
            ),
            _ => format!(
                "in member {member}; {failed} of {of} {kind}s failed, also: {}",
                also.join(", ")
            ),
        };
        if let Some(more) = first.others {
            others = format!("{others}\n{more}");
        }
        Err(ScanError {
            error: first.error,
            others: Some(others),
        })
    }

    /// The region left out when `e`'s code is in `ignore_error_codes`.
    fn skipping(&self, e: &Error, region: &str) -> Option<Skipped> {
        let code = e.code()?;
        let ignore = &self.connection.settings.ignore_error_codes;
        ignore
            .iter()
            .any(|i| i == code)
            .then(|| Skipped::of(e, region, code, None))
    }

    /// Fetches the page the scan waits for ([`ScanData::pending`]) and adds it. When the listing
    /// is then complete and whole, it is kept for the statement and stored in the cache.
    pub async fn more(
        &self,
        data: &mut ScanData,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let Some(pending) = data.pending() else {
            return Ok(());
        };
        let page = self.page(data.table, &pending, report).await?;
        self.add(data, &pending, page)
    }

    /// This fetch with `connection` in place of its own.
    fn with_connection<'b>(&'b self, connection: &'b Connection) -> Fetch<'b> {
        Fetch {
            connection,
            snapshot: self.snapshot,
            cache: self.cache,
            progress: self.progress,
        }
    }

    /// This fetch as member `connection` makes it: with that connection, and a member server's
    /// own cache (a member account's is this fetch's).
    fn member_fetch<'b>(&'b self, connection: &'b Connection) -> Fetch<'b> {
        Fetch {
            cache: match self.connection.member_server(&connection.name) {
                Some(s) => s.cache.as_ref(),
                None => self.cache,
            },
            ..self.with_connection(connection)
        }
    }

    /// When `pending` continues a member's listing: that member's connection, and `pending` as
    /// a fetch with that connection sees it (`None`: this fetch's own listing).
    fn member_of(&self, pending: &Pending) -> Result<Option<(Connection, Pending)>, Error> {
        let Some(name) = &pending.member else {
            return Ok(None);
        };
        match self.connection.member_connection(name) {
            Some(c) => Ok(Some((
                c,
                Pending {
                    member: None,
                    ..pending.clone()
                },
            ))),
            None => Err(Error::Paging {
                call: Call::new("the listing", &pending.region),
                message: format!("the connection of member {name} is gone"),
            }),
        }
    }

    /// Adds a page got with [`Fetch::page`] (`None`: the rest of the listing is skipped).
    pub fn add(
        &self,
        data: &mut ScanData,
        pending: &Pending,
        page: Option<Page>,
    ) -> Result<(), ScanError> {
        if let Some((member, inner)) = self.member_of(pending)? {
            return self.member_fetch(&member).add(data, &inner, page);
        }
        let listing = data.table.listing;
        let call = || Call::new(listing.action(), &pending.region);
        let Some(part) = data.parts.get_mut(pending.part) else {
            return Ok(());
        };
        let page = match page {
            Some(page) => page,
            None => Page {
                items: Items::from_parts(String::new(), Vec::new(), None).map_err(|m| {
                    Error::Paging {
                        call: call(),
                        message: m,
                    }
                })?,
                next: None,
            },
        };
        if let Some(token) = &page.next {
            if !part.tokens.insert(token.clone()) {
                return Err(Error::Paging {
                    call: call(),
                    message: "the API sent a page token it had sent before, so the listing would never end"
                        .to_string(),
                }
                .into());
            }
            if part.pages.len() + 1 >= MAX_PAGES {
                return Err(Error::Paging {
                    call: call(),
                    message: format!("the listing has more than {MAX_PAGES} pages"),
                }
                .into());
            }
        }
        data.add(pending, page);
        let part = &data.parts[pending.part];
        if part.next.is_none() {
            if let Some(pages) = part.whole() {
                self.keep(listing, &part.region, &part.request, &pages);
            }
        }
        Ok(())
    }

    /// Fetches the page `pending` names (for a front end that reads rows on another thread).
    /// `None`: the listing failed with a code of `ignore_error_codes`, and its rest is skipped.
    pub async fn page(
        &self,
        table: &'static TableDef,
        pending: &Pending,
        report: &mut ScanReport,
    ) -> Result<Option<Page>, ScanError> {
        if let Some((member, inner)) = self.member_of(pending)? {
            let fetch = self.member_fetch(&member);
            return Box::pin(fetch.page(table, &inner, report)).await;
        }
        let listing = table.listing;
        let pace = self.pace(listing);
        let _turn = self.connection.call_turn().await;
        let outcome = listing
            .page(
                &self.connection.client,
                &pace,
                &pending.region,
                &pending.request,
                Some(&pending.token),
            )
            .await;
        let mut record = self.record(
            listing.action(),
            &pending.region,
            Source::Api {
                cache_missed: false,
            },
        );
        record.report = outcome.report;
        match outcome.result {
            Ok(page) => {
                record.rows = page.items.len() as u64;
                report.records.push(record);
                Ok(Some(page))
            }
            Err(e) => {
                record.error = Some(self.error_record(&e));
                report.records.push(record);
                match self.skipping(&e, &pending.region) {
                    Some(skip) => {
                        report.skipped.push(skip);
                        Ok(None)
                    }
                    None => Err(e.into()),
                }
            }
        }
    }

    /// Keeps a complete listing for the statement and in the cache, when it is not too large to
    /// hold whole.
    fn keep(&self, listing: &dyn Listing, region: &str, request: &Params, pages: &[Items]) {
        let bytes: usize = pages.iter().map(|p| p.body().len()).sum();
        if bytes > HELD_LIMIT && pages.len() > 1 {
            return;
        }
        let action = listing.action();
        self.keep_for_statement(action, region, request, pages);
        if pages.len() > 1 {
            if let Some(cache) = self.cache() {
                let entry = listing_entry(action, region, request);
                let _ = cache.put(
                    self.scope(),
                    &entry,
                    &pages_payload(pages),
                    &self.connection.secrets(),
                );
            }
        }
    }

    /// The first answer of one part: from the snapshot, else the cache, else the API.
    async fn first(
        &self,
        listing: &dyn Listing,
        region: &str,
        wanted: &Params,
    ) -> (Result<Part, Error>, CallRecord) {
        let scope = self.scope();
        let action = listing.action();
        let whole = |pages: Vec<Items>| Part::complete(region.to_string(), wanted.clone(), pages);
        let rows = |pages: &[Items]| pages.iter().map(|p| p.len() as u64).sum::<u64>();
        if let Some(pages) = self.snapshot.answer(scope, listing, region, wanted) {
            let record = CallRecord {
                rows: rows(&pages),
                ..self.record(action, region, Source::Snapshot)
            };
            return (Ok(whole(pages)), record);
        }
        // A second, different request in one statement: ask the wider one (for DescribeTrails,
        // the full listing), which then answers every later request too.
        let ask = if self.snapshot.holds_other(scope, action, region, wanted) {
            listing.widen(wanted)
        } else {
            wanted.clone()
        };
        let (source, result, call_report) = self
            .through_cache(
                Call::new(action, region),
                &listing_entry(action, region, &ask),
                |cache| {
                    self.cached(cache, listing, region, wanted, &ask)
                        .map(First::Whole)
                },
                || async {
                    let pace = self.pace(listing);
                    let outcome = listing
                        .page(&self.connection.client, &pace, region, &ask, None)
                        .await;
                    Outcome {
                        result: outcome.result.map(First::Page),
                        report: outcome.report,
                    }
                },
                |first| match first {
                    First::Page(p) if p.next.is_none() => {
                        Some(pages_payload(std::slice::from_ref(&p.items)))
                    }
                    _ => None,
                },
            )
            .await;
        let part = result.map(|first| match first {
            First::Whole(pages) => whole(pages),
            First::Page(page) if page.next.is_none() => {
                let pages = vec![page.items];
                self.keep_for_statement(action, region, &ask, &pages);
                match listing.narrow(&ask, wanted, &pages) {
                    Some(narrowed) if ask != *wanted => whole(narrowed),
                    _ => whole(pages),
                }
            }
            First::Page(page) => Part::new(region.to_string(), ask.clone(), page),
        });
        let mut record = self.record(action, region, source);
        record.report = call_report;
        match &part {
            Ok(p) => record.rows = rows(&p.pages.iter().flatten().cloned().collect::<Vec<_>>()),
            Err(e) => record.error = Some(self.error_record(e)),
        }
        (part, record)
    }

    fn keep_for_statement(
        &self,
        action: &'static str,
        region: &str,
        request: &Params,
        pages: &[Items],
    ) {
        self.snapshot.keep(
            self.scope(),
            action,
            region,
            request.clone(),
            pages.to_vec(),
        );
    }

    /// A complete listing answering `wanted` from the cache: its entry for `wanted` exactly, or
    /// the one for `ask` (the request it was widened to). What is found is kept in the snapshot.
    fn cached(
        &self,
        cache: &Cache,
        listing: &dyn Listing,
        region: &str,
        wanted: &Params,
        ask: &Params,
    ) -> Option<Vec<Items>> {
        let action = listing.action();
        let wider = listing.widen(wanted);
        for request in [wanted, ask, &wider] {
            let entry = listing_entry(action, region, request);
            let Some((pages, _age)) = cache.get_decoded(self.scope(), &entry, pages_from_payload)
            else {
                continue;
            };
            self.keep_for_statement(action, region, request, &pages);
            if let Some(answer) = listing.narrow(request, wanted, &pages) {
                return Some(answer);
            }
        }
        None
    }

    fn record(&self, action: &'static str, region: &str, source: Source) -> CallRecord {
        CallRecord {
            action,
            region: region.to_string(),
            source,
            report: CallReport::default(),
            rows: 0,
            error: None,
            member: None,
        }
    }

    /// The record of a call that answers with one value (the region list, the account id).
    fn global_record<T>(
        &self,
        action: &'static str,
        region: &str,
        source: Source,
        report: CallReport,
        result: &Result<T, Error>,
    ) -> CallRecord {
        CallRecord {
            report,
            error: result.as_ref().err().map(|e| self.error_record(e)),
            ..self.record(action, region, source)
        }
    }

    fn error_record(&self, e: &Error) -> ErrorRecord {
        ErrorRecord::new(e, &self.connection.secrets())
    }

    /// One answer through the shared cache: read from it (`read`); else fetched once for every
    /// session that misses it at the same time: the first one claims it, calls the API (`fetch`)
    /// and stores the answer (as `payload` writes it, when it is to be stored), the others wait
    /// and take its outcome, the answer or the error. No session waits longer than its own call
    /// could take (its `deadline_ms`, else its attempts and backoffs). Without a cache, just
    /// `fetch`.
    async fn through_cache<T, F, Fut>(
        &self,
        call: Call,
        entry: &str,
        read: impl Fn(&Cache) -> Option<T>,
        fetch: F,
        payload: impl Fn(&T) -> Option<String>,
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
                    if let Some(text) = outcome.result.as_ref().ok().and_then(&payload) {
                        let _ = cache.put(scope, entry, &text, &self.connection.secrets());
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

    /// Every region ActionTrail serves (for `regions '*'`): the connection's region list while it
    /// is younger than [`crate::connect::REGION_LIST_LIFETIME`], else the cache, else
    /// `DescribeRegions`.
    async fn all_regions(&self, report: &mut ScanReport) -> Result<Vec<String>, Error> {
        if let Some(r) = self.connection.remembered_regions() {
            return Ok(r);
        }
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
        let (result, record) = self
            .global_value("DescribeRegions", REGIONS_ENTRY, read, fetch, |regions| {
                serde_json::to_string(regions).ok()
            })
            .await;
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
        let (result, record) = self
            .global_value("GetCallerIdentity", IDENTITY_ENTRY, read, fetch, |id| {
                Some(id.clone())
            })
            .await;
        if let Ok(id) = &result {
            self.snapshot.keep_account_id(scope, id.clone());
        }
        (result, Some(record))
    }

    /// The accounts of the resource directory the credentials manage, each with its status
    /// (`ListAccounts`, every page), from the cache while it is fresh.
    async fn directory_accounts(&self) -> (Result<Directory, Error>, CallRecord) {
        let read = |cache: &Cache| {
            let held = cache.get(self.scope(), DIRECTORY_ENTRY)?.payload;
            let mut accounts = Vec::new();
            for line in held.lines() {
                let (id, status) = line.split_once('\t')?;
                if !is_account_id(id) || status.contains(['\t', '\n']) {
                    return None;
                }
                accounts.push((id.to_string(), status.to_string()));
            }
            Some(Directory { accounts })
        };
        let fetch = || async {
            let outcome = self.connection.client.directory_accounts().await;
            Outcome {
                result: outcome.result.map(|all| Directory {
                    accounts: all
                        .into_iter()
                        .map(|a| (a.account_id, a.status.unwrap_or_default()))
                        .collect(),
                }),
                report: outcome.report,
            }
        };
        let store = |d: &Directory| {
            // A status the cache's lines cannot hold is not stored (it is fetched again).
            d.accounts
                .iter()
                .all(|(_, s)| !s.contains(['\t', '\n']))
                .then(|| {
                    d.accounts
                        .iter()
                        .map(|(id, s)| format!("{id}\t{s}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
        };
        self.global_value("ListAccounts", DIRECTORY_ENTRY, read, fetch, store)
            .await
    }

    /// A value of the credentials' account, the same whatever the region (the region list, the
    /// account id): from the cache, else `fetch` in the global region; with its record.
    async fn global_value<T, F, Fut>(
        &self,
        action: &'static str,
        entry: &str,
        read: impl Fn(&Cache) -> Option<T>,
        fetch: F,
        payload: impl Fn(&T) -> Option<String>,
    ) -> (Result<T, Error>, CallRecord)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let global = self.connection.settings.client.global_region.clone();
        let turn = self.connection.call_turn().await;
        let (source, result, call_report) = self
            .through_cache(Call::new(action, &global), entry, read, fetch, payload)
            .await;
        drop(turn);
        let record = self.global_record(action, &global, source, call_report, &result);
        (result, record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_api::TRAIL_LIST;

    #[test]
    fn listings_round_trip_through_the_cache_payload() {
        let pages: Vec<Items> = [
            r#"{"RequestId":"r1","TrailList":[{"Name":"a"},{"Name":"b\nc"}]}"#,
            r#"{"TrailList":[]}"#,
        ]
        .iter()
        .map(|b| Items::from_text(b.to_string(), TRAIL_LIST).unwrap())
        .collect();
        let back = pages_from_payload(&pages_payload(&pages)).unwrap();
        assert_eq!(back.len(), 2);
        for (b, p) in back.iter().zip(&pages) {
            assert_eq!(b.body(), p.body());
            assert_eq!(b.spans(), p.spans());
            assert_eq!(b.request_id(), p.request_id());
        }
        for bad in [
            "1\nx\n0-999\n2\n{}",
            "garbage",
            "2\n\n\n2\n{}",
            "1\n\n0-1\n5\n{}",
        ] {
            assert!(pages_from_payload(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn entries_name_every_parameter() {
        let a = Params::from([("NameList".to_string(), "a".to_string())]);
        assert_ne!(
            listing_entry("DescribeTrails", "cn-beijing", &a),
            listing_entry("DescribeTrails", "cn-beijing", &Params::new())
        );
        assert_ne!(
            listing_entry("DescribeTrails", "cn-beijing", &a),
            listing_entry("DescribeTrails", "cn-hangzhou", &a)
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any text in a listing entry's place gives pages whose spans hold, or nothing.
            #[test]
            fn any_cached_listing_is_read_or_refused(
                text in "([0-9]{1,3}\n([A-Z0-9-]{0,8}\n[0-9,-]{0,24}\n[0-9]{1,3}\n[{}\\[\\]a-z\":,]{0,40}){0,3}|.{0,200})"
            ) {
                if let Some(pages) = pages_from_payload(&text) {
                    for p in pages {
                        for i in 0..p.len() {
                            let raw = p.raw(i);
                            let braces = raw.starts_with('{') && raw.ends_with('}');
                            prop_assert!(braces, "{}", raw);
                        }
                    }
                }
            }
        }
    }
}
