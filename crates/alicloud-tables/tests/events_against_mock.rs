//! `alicloud_action_trail_event` against the mock's `LookupEvents`, scanned as every front end
//! scans: the window and attributes sent, paging newest first across regions, one row per event,
//! the pace of 2 calls a second, and each unsettled rule of the API played by the mock.

use alicloud_api::{Client, CredentialSource, Credentials};
use alicloud_mock_api::{self as mock, LookupRules, MockConfig, MockServer, PairRule};
use alicloud_tables::cache::Cache;
use alicloud_tables::connect::{runtime, Connection};
use alicloud_tables::options::Settings;
use alicloud_tables::plan::{Constraint, Op, Operand, ScanPlan};
use alicloud_tables::scan::{Fetch, Next, ScanData, ScanError, ScanReport};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::TableDef;
use alicloud_tables::tables::table;
use alicloud_tables::wait::{self, OnInterrupt};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

fn events() -> &'static TableDef {
    table("alicloud_action_trail_event").unwrap()
}

fn connection(server: &MockServer, regions: &str) -> Connection {
    let options: BTreeMap<String, String> = [
        ("regions", regions.to_string()),
        ("endpoint", server.endpoint_template()),
        ("sts_endpoint", server.url()),
        ("retry_base_delay_ms", "20".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_options(&options, || None).unwrap();
    let creds = Credentials::new(mock::DEFAULT_ACCESS_KEY_ID, mock::DEFAULT_ACCESS_KEY_SECRET);
    let client = Client::new(settings.client.clone(), CredentialSource::Static(creds)).unwrap();
    // A partition of each test's own: the pace is per credentials, and the tests run at once.
    Connection::new(client, settings, "events-test", &options, Vec::new())
}

fn block<F: std::future::Future>(rt: &Runtime, fut: F) -> F::Output {
    wait::block_on(rt, || false, OnInterrupt::Fail, fut).unwrap()
}

/// Every row's (region, event_id, event_time, event_name), read in the table's order.
fn scan(
    rt: &Runtime,
    conn: &Connection,
    constraints: &[Constraint],
) -> Result<Vec<(String, String, String, String)>, ScanError> {
    scan_with(rt, conn, None, constraints)
}

/// [`scan`] with a shared cache.
fn scan_with(
    rt: &Runtime,
    conn: &Connection,
    cache: Option<&Cache>,
    constraints: &[Constraint],
) -> Result<Vec<(String, String, String, String)>, ScanError> {
    let t = events();
    let snapshot = Snapshot::new();
    let fetch = Fetch {
        connection: conn,
        snapshot: &snapshot,
        cache,
        progress: None,
    };
    let mut report = ScanReport::default();
    let plan = ScanPlan::new(t, constraints);
    let mut data: ScanData = block(rt, fetch.start(t, &plan, false, &mut report))?;
    data.set_ordered(true);
    let col = |name: &str| t.column(name).unwrap();
    let mut rows = Vec::new();
    loop {
        match data.next_row() {
            Next::Row(row) => {
                let o = row.object();
                let v = |name: &str| row.value(&o, col(name)).to_text().into_owned();
                rows.push((
                    row.region.to_string(),
                    v("event_id"),
                    v("event_time"),
                    v("event_name"),
                ));
            }
            Next::More => block(rt, fetch.more(&mut data, &mut report))?,
            Next::End => return Ok(rows),
            Next::OutOfOrder { region } => panic!("out of order in {region}"),
        }
    }
}

fn lookups(server: &MockServer) -> Vec<mock::Call> {
    server
        .calls()
        .into_iter()
        .filter(|c| c.action == "LookupEvents")
        .collect()
}

fn time(op: Op, t: DateTime<Utc>) -> Constraint {
    Constraint {
        column: events().column_index("event_time").unwrap(),
        op,
        values: vec![Operand::Time(t)],
    }
}

fn equal(column: &str, values: &[&str]) -> Constraint {
    Constraint::equal(
        events().column_index(column).unwrap(),
        values.iter().map(|s| s.to_string()),
    )
}

#[test]
fn every_event_once_newest_first_paced_to_the_rate() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou,cn-beijing");
    let started = Instant::now();
    let rows = scan(&rt, &conn, &[]).unwrap();
    let took = started.elapsed();
    // 123 in cn-hangzhou, 62 in cn-beijing, merged newest first.
    assert_eq!(rows.len(), 185);
    let times: Vec<&String> = rows.iter().map(|r| &r.2).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    // 3 + 2 pages at 2 calls a second: the mock never throttled, and the pace held.
    let calls = lookups(&server);
    assert_eq!(calls.len(), 5);
    assert!(calls.iter().all(|c| c.outcome == "ok"), "{calls:?}");
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    // The window: the whole retention, whole seconds, the same on every page.
    let windows: std::collections::BTreeSet<(String, String)> = calls
        .iter()
        .map(|c| (c.params["StartTime"].clone(), c.params["EndTime"].clone()))
        .collect();
    assert_eq!(windows.len(), 1);
    let (start, end) = windows.into_iter().next().unwrap();
    let start: DateTime<Utc> = start.parse().unwrap();
    let end: DateTime<Utc> = end.parse().unwrap();
    assert_eq!(end - start, TimeDelta::days(90));
    assert!(calls.iter().all(|c| c.params["MaxResults"] == "50"));
}

#[test]
fn time_and_attributes_are_sent_and_global_events_come_once() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou,cn-beijing,ap-southeast-1");
    let anchor = server.events_anchor();
    let rows = scan(
        &rt,
        &conn,
        &[
            time(Op::Gt, anchor - TimeDelta::days(30)),
            equal("event_name", &["StopLogging", "DeleteTrail"]),
        ],
    )
    .unwrap();
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.3.as_str())).collect();
    assert_eq!(
        names,
        [
            ("cn-beijing", "StopLogging"),
            ("cn-beijing", "StopLogging"),
            ("cn-hangzhou", "DeleteTrail")
        ]
    );
    // One listing per value in each region, each with its one attribute and the 30-day window.
    let calls = lookups(&server);
    assert_eq!(calls.len(), 6);
    for c in &calls {
        assert_eq!(c.params["LookupAttribute.1.Key"], "EventName");
        assert!(!c.params.contains_key("LookupAttribute.2.Key"));
        let start: DateTime<Utc> = c.params["StartTime"].parse().unwrap();
        assert_eq!(start, anchor - TimeDelta::days(30) - TimeDelta::seconds(1));
    }

    // Every region returning global events: each event is still one row.
    server.clear_calls();
    server.set_lookup_rules(LookupRules {
        global_event_regions: vec!["*".into()],
        ..LookupRules::default()
    });
    let rows = scan(&rt, &conn, &[equal("event_name", &["ConsoleSignin"])]).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(lookups(&server).len(), 3);
}

#[test]
fn a_window_too_long_is_read_in_slices_and_a_refused_pair_as_one_attribute() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou");
    let all = scan(&rt, &conn, &[]).unwrap();
    server.set_lookup_rules(LookupRules {
        window_cap_days: Some(30),
        max_attributes: 1,
        ..LookupRules::default()
    });
    server.clear_calls();
    let sliced = scan(&rt, &conn, &[]).unwrap();
    assert_eq!(sliced, all, "the same rows, in the same order");
    let outcomes: Vec<String> = lookups(&server).iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(outcomes[0], "InvalidParameterCombination");
    assert!(outcomes[1..].iter().all(|o| o == "ok"), "{outcomes:?}");

    // A documented pair the API refuses is sent as its first attribute, in every slice.
    server.clear_calls();
    let pair = [
        equal("service_name", &["Actiontrail"]),
        equal("event_name", &["UpdateTrail"]),
    ];
    let rows = scan(&rt, &conn, &pair).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let calls = lookups(&server);
    assert_eq!(calls[0].outcome, "InvalidParameterCombination");
    assert_eq!(calls[1].outcome, "InvalidQueryParameter");
    assert!(calls[2..].iter().all(|c| c.outcome == "ok"
        && c.params.contains_key("LookupAttribute.1.Key")
        && !c.params.contains_key("LookupAttribute.2.Key")));

    // An undocumented pair is never sent: the first key alone, the other filtered locally.
    server.set_lookup_rules(LookupRules {
        unsupported_pair: PairRule::Error,
        ..LookupRules::default()
    });
    server.clear_calls();
    scan(
        &rt,
        &conn,
        &[
            equal("event_name", &["UpdateTrail"]),
            equal("user_name", &["alice"]),
        ],
    )
    .unwrap();
    let calls = lookups(&server);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].params["LookupAttribute.1.Value"], "UpdateTrail");
}

#[test]
fn errors_name_the_code_and_request_id() {
    let mut config = MockConfig::default();
    config.faults.push((
        "cn-hangzhou".into(),
        mock::Fault {
            error_code: Some("InvalidParameterStartTime".into()),
            request_id: Some("REQ-EVENTS-1".into()),
            ..mock::Fault::default()
        },
    ));
    let server = MockServer::start_blocking(config).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou");
    let e = scan(&rt, &conn, &[equal("event_name", &["X"])]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("LookupEvents in region cn-hangzhou failed: InvalidParameterStartTime"),
        "{text}"
    );
    assert_eq!(e.error.request_id(), Some("REQ-EVENTS-1"));
}

#[test]
fn the_shared_cache_serves_the_same_window_and_attributes_only() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = runtime().unwrap();
    let conn = connection(&server, "cn-hangzhou,cn-beijing");
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(300), 1 << 24);
    let anchor = server.events_anchor();
    let window = [
        time(Op::Ge, anchor - TimeDelta::days(10)),
        time(Op::Lt, anchor - TimeDelta::days(1)),
    ];
    let first = scan_with(&rt, &conn, Some(&cache), &window).unwrap();
    assert_eq!(lookups(&server).len(), 2);
    // Another statement with the same window: every listing from the cache, the same rows.
    server.clear_calls();
    assert_eq!(scan_with(&rt, &conn, Some(&cache), &window).unwrap(), first);
    assert!(lookups(&server).is_empty());
    // Another window is another listing.
    let other = [time(Op::Ge, anchor - TimeDelta::days(9))];
    scan_with(&rt, &conn, Some(&cache), &other).unwrap();
    assert_eq!(lookups(&server).len(), 2);
    // The turns of the calls are kept beside the cache.
    assert!(dir.path().join("pace").read_dir().unwrap().count() >= 1);
}
