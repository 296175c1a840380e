//! What a table lists with: one API operation, the requests a scan's constraints make of it in
//! one region, its pages, and which answers already held answer another request. Each table's
//! module implements it for its operation; the scan (snapshot, cache, API, fan-out, paging) is
//! generic over it.

use crate::pace::Pace;
use crate::plan::{Constraint, Op};
use crate::table::{ColumnDef, TableDef};
use alicloud_api::{Client, Items, OpenedAhead, Outcome};
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;

/// One request of a listing, as its variable parameters (a `NameList`, a time window, lookup
/// attributes): what the cache and the snapshot key answers by. The listing adds its constant
/// parameters when it calls.
pub type Params = BTreeMap<String, String>;

/// A condition on a key column whose value is known only when the scan starts (a parameter,
/// `now()`), as EXPLAIN shows it.
#[derive(Debug, Clone)]
pub struct Deferred<'a> {
    /// The column.
    pub column: &'a ColumnDef,
    /// The comparison.
    pub op: Op,
    /// The SQL of the value's expression.
    pub sql: String,
}

impl Deferred<'_> {
    /// `column op expression`, e.g. `event_time > (now() - '1 day'::interval)`.
    pub fn condition(&self) -> String {
        format!("{} {} {}", self.column.name, self.op.symbol(), self.sql)
    }
}

/// One page of a listing's answer.
#[derive(Debug, Clone)]
pub struct Page {
    /// The objects it lists.
    pub items: Items,
    /// The token of the next page; `None` when this is the last one.
    pub next: Option<String>,
}

/// A table's API operation.
pub trait Listing: Sync + Send {
    /// The API action, e.g. `DescribeTrails`, for records, statistics and messages.
    fn action(&self) -> &'static str;

    /// What a scan calls, for EXPLAIN: "ActionTrail DescribeTrails, once per region".
    fn calls(&self) -> &'static str;

    /// The requests a scan makes in each region it calls, for `constraints` on the table's own
    /// key columns (the scan handles `region`): one, or several when the API cannot take every
    /// value at once. `None`: the constraints contradict each other, nothing can match.
    fn requests(&self, table: &TableDef, constraints: &[Constraint]) -> Option<Vec<Params>>;

    /// Fetches one page of `request` in `region` (`token`: the page after the one that gave it),
    /// each call taking its turn of `pace` when the API has a documented rate.
    fn page<'a>(
        &'a self,
        client: &'a Client,
        pace: &'a Pace,
        region: &'a str,
        request: &'a Params,
        token: Option<&'a str>,
    ) -> BoxFuture<'a, Outcome<Page>>;

    /// Opens connections in the background for calls about to be made at once, one region per
    /// call, kept while the guard is (see [`Client::open_actiontrail_ahead`]). By default nothing
    /// is opened ahead: an operation with a documented rate (`LookupEvents`, 2 calls a second)
    /// makes its calls a turn at a time, and would leave such connections unused.
    fn open_ahead(&self, _client: &Client, _calls: &[&str]) -> Option<OpenedAhead> {
        None
    }

    /// The answer to `wanted`, from a complete answer `held` got for another request of the same
    /// region, when it holds it (filtered exactly as the API would filter). By default only an
    /// answer to the same request answers it.
    fn narrow(&self, held: &Params, wanted: &Params, pages: &[Items]) -> Option<Vec<Items>> {
        (held == wanted).then(|| pages.to_vec())
    }

    /// The request to make instead of `wanted` when the statement already holds an answer to a
    /// different request of the same region: a wider one that will answer later requests too
    /// (a second `NameList` asks for the full listing). By default `wanted` itself.
    fn widen(&self, wanted: &Params) -> Params {
        wanted.clone()
    }

    /// EXPLAIN's lines about the requests (label, value), from the constant constraints'
    /// `requests` and the conditions on key columns whose values are known only when the scan
    /// starts.
    fn explain(&self, requests: &[Params], deferred: &[Deferred]) -> Vec<(&'static str, String)>;
}
