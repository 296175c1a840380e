//! The per-table seam, proven by a table that exists only here: a declaration and a listing over
//! a mock operation (each trail name of a fixed list is one page of `DescribeTrails` with that
//! `NameList`, the next page's token being the next name), scanned through exactly what the front
//! ends run: the plan, `Fetch::start` and `Fetch::more` blocked on with `wait::block_on`, rows read
//! one at a time with `ScanData::next_row`. Paging, a repeated token, de-duplication across
//! regions and the merge in the table's order are the table layer's, for any table.

use alicloud_api::{Client, CredentialSource, Credentials, DescribeTrailsRequest, Outcome};
use alicloud_mock_api::{self as mock, MockConfig, MockServer};
use alicloud_tables::cache::Cache;
use alicloud_tables::connect::{runtime, Connection};
use alicloud_tables::listing::{Deferred, Listing, Page, Params};
use alicloud_tables::options::Settings;
use alicloud_tables::pace::Pace;
use alicloud_tables::plan::{Constraint, ScanPlan};
use alicloud_tables::scan::{Fetch, Next, ScanData, ScanError, ScanReport};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::{ColumnDef, ColumnType, Order, TableDef, Value};
use alicloud_tables::wait::{self, OnInterrupt};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::runtime::Runtime;

/// The names the listing pages through, in order.
const NAMES: [&str; 5] = [
    "beijing-all-read",
    "beijing-disabled",
    "hangzhou-fresh",
    "org-audit-shanghai",
    "test-4",
];

/// One name per page; `loop_at`: the page whose token repeats an earlier one.
struct NamePages {
    loop_at: Option<usize>,
}

impl Listing for NamePages {
    fn action(&self) -> &'static str {
        "DescribeTrails"
    }

    fn calls(&self) -> &'static str {
        "DescribeTrails, one name per page"
    }

    fn requests(&self, _table: &TableDef, _constraints: &[Constraint]) -> Option<Vec<Params>> {
        Some(vec![Params::new()])
    }

    fn page<'a>(
        &'a self,
        client: &'a Client,
        _pace: &'a Pace,
        region: &'a str,
        _request: &'a Params,
        token: Option<&'a str>,
    ) -> BoxFuture<'a, Outcome<Page>> {
        async move {
            let i: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
            let request = DescribeTrailsRequest {
                include_shadow_trails: true,
                include_organization_trail: true,
                name_list: vec![NAMES[i].to_string()],
            };
            let outcome = client.describe_trails(region, &request).await;
            let next = match self.loop_at {
                Some(at) if i == at => Some("1".to_string()),
                _ => (i + 1 < NAMES.len()).then(|| (i + 1).to_string()),
            };
            Outcome {
                result: outcome.result.map(|items| Page { items, next }),
                report: outcome.report,
            }
        }
        .boxed()
    }

    fn explain(&self, _: &[Params], _: &[Deferred]) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

static COLUMNS: &[ColumnDef] = &[
    ColumnDef::new("name", ColumnType::Text, "The name.", |r| {
        Value::text(r.item.text("Name"))
    }),
    ColumnDef::region("The region that listed it."),
    ColumnDef::account_id("The account."),
    ColumnDef::raw("As listed."),
];

const fn table(listing: &'static NamePages, unique: bool, ordered: bool) -> TableDef {
    TableDef {
        name: "test_name_pages",
        description: "A table of the tests only.",
        columns: COLUMNS,
        listing,
        unique: if unique { Some(0) } else { None },
        order: if ordered {
            Some(Order {
                column: 0,
                descending: false,
            })
        } else {
            None
        },
        rows_per_region: 1.0,
    }
}

static PAGES: NamePages = NamePages { loop_at: None };
static LOOPING: NamePages = NamePages { loop_at: Some(3) };
static PLAIN: TableDef = table(&PAGES, false, false);
static UNIQUE: TableDef = table(&PAGES, true, false);
static ORDERED: TableDef = table(&PAGES, false, true);
static LOOPS: TableDef = table(&LOOPING, false, false);

fn connection(server: &MockServer, regions: &str) -> Connection {
    let options: BTreeMap<String, String> = [
        ("regions", regions.to_string()),
        ("endpoint", server.endpoint_template()),
        ("sts_endpoint", server.url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_options(&options, || None).unwrap();
    let creds = Credentials::new(mock::DEFAULT_ACCESS_KEY_ID, mock::DEFAULT_ACCESS_KEY_SECRET);
    let client = Client::new(settings.client.clone(), CredentialSource::Static(creds)).unwrap();
    Connection::new(client, settings, "test", &options, Vec::new())
}

/// Blocks on `fut` as a front end does (nothing interrupts it here).
fn block<F: std::future::Future>(rt: &Runtime, fut: F) -> F::Output {
    wait::block_on(rt, || false, OnInterrupt::Fail, fut).unwrap()
}

/// Scans `table` as a front end does, and gives every row's `region/name`.
fn scan(
    rt: &Runtime,
    conn: &Connection,
    cache: Option<&Cache>,
    table: &'static TableDef,
    ordered: bool,
) -> Result<(Vec<String>, ScanReport), ScanError> {
    let snapshot = Snapshot::new();
    let fetch = Fetch {
        connection: conn,
        snapshot: &snapshot,
        cache,
        progress: None,
    };
    let mut report = ScanReport::default();
    let plan = ScanPlan::new(table, &[]);
    let mut data: ScanData = block(rt, fetch.start(table, &plan, true, &mut report))?;
    data.set_ordered(ordered);
    let mut rows = Vec::new();
    loop {
        match data.next_row() {
            Next::Row(row) => {
                let object = row.object();
                let name = row.value(&object, &table.columns[0]).to_text().into_owned();
                assert_eq!(row.account_id, Some(mock::DEFAULT_ACCOUNT_ID));
                rows.push(format!("{}/{name}", row.region));
            }
            Next::More => block(rt, fetch.more(&mut data, &mut report))?,
            Next::End => return Ok((rows, report)),
            Next::OutOfOrder { region } => panic!("out of order in {region}"),
        }
    }
}

fn calls(server: &MockServer) -> usize {
    server
        .calls()
        .iter()
        .filter(|c| c.action == "DescribeTrails")
        .count()
}

#[test]
fn a_table_of_the_tests_pages_through_the_same_scan_as_every_front_end() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou,cn-beijing");
    let (rows, report) = scan(&rt, &conn, None, &PLAIN, false).unwrap();
    // Region by region, page by page: every listed trail of every name.
    assert_eq!(
        rows,
        [
            "cn-hangzhou/beijing-all-read",
            "cn-hangzhou/hangzhou-fresh",
            "cn-hangzhou/test-4",
            "cn-beijing/beijing-all-read",
            "cn-beijing/beijing-disabled",
            "cn-beijing/test-4",
        ]
    );
    assert_eq!(calls(&server), 10, "five pages in each region");
    assert_eq!(report.api_calls(), 11, "ten pages and the account id");
    // Within the same statement's snapshot or the cache, a whole listing is not asked again.
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    scan(&rt, &conn, Some(&cache), &PLAIN, false).unwrap();
    server.clear_calls();
    let (again, report) = scan(&rt, &conn, Some(&cache), &PLAIN, false).unwrap();
    assert_eq!(again, rows);
    assert_eq!((calls(&server), report.cache_hits()), (0, 3));
}

#[test]
fn a_unique_column_shows_each_object_once_and_an_order_merges_the_regions() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou,cn-beijing");
    let (rows, _) = scan(&rt, &conn, None, &UNIQUE, false).unwrap();
    assert_eq!(
        rows,
        [
            "cn-hangzhou/beijing-all-read",
            "cn-hangzhou/hangzhou-fresh",
            "cn-hangzhou/test-4",
            "cn-beijing/beijing-disabled",
        ]
    );
    let (rows, _) = scan(&rt, &conn, None, &ORDERED, true).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.split('/').nth(1).unwrap()).collect();
    assert_eq!(
        names,
        [
            "beijing-all-read",
            "beijing-all-read",
            "beijing-disabled",
            "hangzhou-fresh",
            "test-4",
            "test-4",
        ]
    );
}

#[test]
fn a_repeated_page_token_is_an_error_not_a_loop() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-beijing");
    let e = scan(&rt, &conn, None, &LOOPS, false).unwrap_err();
    assert_eq!(e.error.label(), "paging");
    assert!(
        e.to_string().contains("page token it had sent before"),
        "{e}"
    );
    assert_eq!(
        calls(&server),
        4,
        "pages 0 to 3, then the token of page 1 again"
    );
}
