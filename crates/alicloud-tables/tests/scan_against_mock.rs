//! The scan against the mock API over real HTTP: the statement snapshot, the shared cache and its
//! scoping, the partial-failure policy and the account id, counted in the calls the mock saw. No
//! database engine is involved: this is what every front end runs.

use alicloud_api::{Client, CredentialSource, Credentials};
use alicloud_mock_api as mock;
use alicloud_mock_api::{Fault, MockConfig, MockServer};
use alicloud_tables::cache::Cache;
use alicloud_tables::connect::Connection;
use alicloud_tables::options::Settings;
use alicloud_tables::plan::{Constraint, ScanPlan};
use alicloud_tables::scan::{Fetch, Next, ScanData, ScanReport, Source};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::TableDef;
use alicloud_tables::tables::table;
use std::collections::BTreeMap;
use std::time::Duration;

fn trails() -> &'static TableDef {
    table("alicloud_action_trail").unwrap()
}

fn options(server: &MockServer, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut o: BTreeMap<String, String> = [
        (
            "regions",
            "cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen".to_string(),
        ),
        ("endpoint", server.endpoint_template()),
        ("sts_endpoint", server.url()),
        ("retry_base_delay_ms", "10".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        o.insert(k.to_string(), v.to_string());
    }
    o
}

fn connection(server: &MockServer, extra: &[(&str, &str)], secret: &str) -> Connection {
    let options = options(server, extra);
    let settings = Settings::from_options(&options, || None).unwrap();
    let creds = Credentials::new(mock::DEFAULT_ACCESS_KEY_ID, secret);
    let client = Client::new(settings.client.clone(), CredentialSource::Static(creds)).unwrap();
    Connection::new(client, settings, "test", &options, vec![secret.to_string()])
}

fn calls(server: &MockServer, action: &str) -> usize {
    server.calls().iter().filter(|c| c.action == action).count()
}

/// Every row's `region/name`, read as a front end reads them (the trail listing has one page
/// per region, so no page is ever pending).
fn names(data: &mut ScanData) -> Vec<String> {
    let name = trails().column("name").unwrap();
    assert!(data.rewind());
    let mut out = Vec::new();
    loop {
        match data.next_row() {
            Next::Row(row) => {
                let object = row.object();
                out.push(format!(
                    "{}/{}",
                    row.region,
                    row.value(&object, name).to_text()
                ));
            }
            Next::End => return out,
            Next::More | Next::OutOfOrder { .. } => panic!("one page per region"),
        }
    }
}

fn name_is(values: &[&str]) -> Constraint {
    let c = trails().column_index("name").unwrap();
    Constraint::equal(c, values.iter().map(|s| s.to_string()))
}

fn plan(constraints: &[Constraint]) -> ScanPlan {
    ScanPlan::new(trails(), constraints)
}

async fn run(
    conn: &Connection,
    snapshot: &Snapshot,
    cache: Option<&Cache>,
    plan: &ScanPlan,
    account: bool,
) -> (
    Result<ScanData, alicloud_tables::scan::ScanError>,
    ScanReport,
) {
    let mut report = ScanReport::default();
    let fetch = Fetch {
        connection: conn,
        snapshot,
        cache,
        progress: None,
    };
    (
        fetch.start(trails(), plan, account, &mut report).await,
        report,
    )
}

#[tokio::test]
async fn one_statement_asks_each_region_once() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(&server, &[], mock::DEFAULT_ACCESS_KEY_SECRET);
    let snapshot = Snapshot::new();
    let all = plan(&[]);
    let (first, report) = run(&conn, &snapshot, None, &all, true).await;
    let mut first = first.unwrap();
    assert_eq!(first.row_count(), 11);
    assert_eq!(first.account_id.as_deref(), Some(mock::DEFAULT_ACCOUNT_ID));
    assert_eq!(report.api_calls(), 5);
    // Three more scans of the same statement: the same rows, no call; a name filter is answered
    // from the full listings, exactly as the API would filter.
    for _ in 0..2 {
        let (again, report) = run(&conn, &snapshot, None, &all, true).await;
        assert_eq!(names(&mut again.unwrap()), names(&mut first));
        assert_eq!((report.api_calls(), report.snapshot_hits()), (0, 4));
    }
    let (named, _) = run(
        &conn,
        &snapshot,
        None,
        &plan(&[name_is(&["test-4"])]),
        false,
    )
    .await;
    assert_eq!(names(&mut named.unwrap()).len(), 4);
    assert_eq!(calls(&server, "DescribeTrails"), 4);
    assert_eq!(calls(&server, "GetCallerIdentity"), 1);
}

#[tokio::test]
async fn rescans_with_new_names_ask_the_full_listing_once() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(
        &server,
        &[("regions", "cn-beijing")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    let snapshot = Snapshot::new();
    for name in ["test-4", "beijing-disabled", "no-such-trail", "test-4"] {
        let (data, _) = run(&conn, &snapshot, None, &plan(&[name_is(&[name])]), false).await;
        let rows = names(&mut data.unwrap());
        assert!(rows.iter().all(|r| r.ends_with(name)), "{rows:?}");
    }
    let sent: Vec<Option<String>> = server
        .calls()
        .iter()
        .map(|c| c.params.get("NameList").cloned())
        .collect();
    assert_eq!(sent, [Some("test-4".to_string()), None]);
}

#[tokio::test]
async fn the_cache_serves_other_statements_in_its_scope_only() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let conn = connection(&server, &[], mock::DEFAULT_ACCESS_KEY_SECRET);
    let all = plan(&[]);
    let (first, _) = run(&conn, &Snapshot::new(), Some(&cache), &all, false).await;
    let (second, report) = run(&conn, &Snapshot::new(), Some(&cache), &all, false).await;
    assert_eq!(names(&mut second.unwrap()), names(&mut first.unwrap()));
    assert_eq!((report.api_calls(), report.cache_hits()), (0, 4));
    assert_eq!(calls(&server, "DescribeTrails"), 4);
    // The same key id with a wrong secret is another scope: it is not served, it calls, and fails.
    let wrong = connection(&server, &[], "wrong-secret-for-the-test");
    let (e, report) = run(&wrong, &Snapshot::new(), Some(&cache), &all, false).await;
    assert_eq!(e.unwrap_err().error.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(report.cache_hits(), 0);
    // Other options are another scope too.
    let other = connection(
        &server,
        &[("timeout_ms", "9000")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    let (_, report) = run(&other, &Snapshot::new(), Some(&cache), &all, false).await;
    assert_eq!(report.api_calls(), 4);
}

#[tokio::test]
async fn failures_are_not_cached_and_ignored_codes_skip_regions() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let conn = connection(&server, &[], mock::DEFAULT_ACCESS_KEY_SECRET);
    let all = plan(&[]);
    let forbidden = |code: &str| Fault {
        error_code: Some(code.into()),
        ..Fault::default()
    };
    server.set_fault("cn-beijing", forbidden("Forbidden.RAM"));
    server.set_fault("cn-shenzhen", forbidden("NoPermission"));
    let (e, report) = run(&conn, &Snapshot::new(), Some(&cache), &all, false).await;
    let e = e.unwrap_err();
    assert_eq!(e.error.region(), Some("cn-beijing"));
    assert_eq!(
        e.others.as_deref(),
        Some("2 of 4 regions failed; also: cn-shenzhen: NoPermission")
    );
    assert_eq!(
        report.records.iter().filter(|r| r.error.is_some()).count(),
        2
    );
    server.clear_faults();
    let (ok, report) = run(&conn, &Snapshot::new(), Some(&cache), &all, false).await;
    assert_eq!(ok.unwrap().row_count(), 11);
    let from_api: Vec<&str> = report
        .records
        .iter()
        .filter(|r| matches!(r.source, Source::Api { .. }))
        .map(|r| r.region.as_str())
        .collect();
    assert_eq!(from_api, ["cn-beijing", "cn-shenzhen"]);

    let skipping = connection(
        &server,
        &[("ignore_error_codes", "Forbidden.RAM")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    server.set_fault("cn-beijing", forbidden("Forbidden.RAM"));
    let (data, report) = run(&skipping, &Snapshot::new(), None, &all, false).await;
    assert_eq!(data.unwrap().row_count(), 8);
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].to_string().starts_with(
        "skipping region cn-beijing: DescribeTrails failed with Forbidden.RAM (request id "
    ));
}

#[tokio::test]
async fn every_region_is_listed_once_and_contradictions_call_nothing() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(
        &server,
        &[("regions", "*")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    let snapshot = Snapshot::new();
    let (data, _) = run(&conn, &snapshot, None, &plan(&[]), false).await;
    assert_eq!(
        data.unwrap().row_count(),
        mock::DEFAULT_FIXTURE_ROWS_SHADOW_ORG
    );
    let region = trails().column_index("region").unwrap();
    let one = Constraint::equal(region, ["eu-central-1".to_string()]);
    run(&conn, &snapshot, None, &plan(&[one]), false)
        .await
        .0
        .unwrap();
    assert_eq!(calls(&server, "DescribeRegions"), 1);
    server.clear_calls();
    let nothing = plan(&[name_is(&["a"]), name_is(&["b"])]);
    let (data, _) = run(&conn, &Snapshot::new(), None, &nothing, true).await;
    assert_eq!(data.unwrap().row_count(), 0);
    assert!(server.calls().is_empty());
}

#[tokio::test]
async fn sessions_missing_the_same_answer_at_once_make_one_fetch() {
    let mut config = MockConfig::default();
    let slow = Fault::latency(100);
    config.faults.push(("*".to_string(), slow));
    let server = MockServer::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let conn = connection(&server, &[], mock::DEFAULT_ACCESS_KEY_SECRET);
    let all = plan(&[]);
    let (s1, s2, s3) = (Snapshot::new(), Snapshot::new(), Snapshot::new());
    let ((a, _), (b, rb), (c, rc)) = tokio::join!(
        run(&conn, &s1, Some(&cache), &all, false),
        run(&conn, &s2, Some(&cache), &all, false),
        run(&conn, &s3, Some(&cache), &all, false),
    );
    assert_eq!(names(&mut a.unwrap()), names(&mut b.unwrap()));
    assert_eq!(c.unwrap().row_count(), 11);
    assert_eq!(
        calls(&server, "DescribeTrails"),
        4,
        "one fetch per region in all"
    );
    assert_eq!(rb.cache_hits() + rc.cache_hits(), 8);
}

#[tokio::test]
async fn a_failed_call_is_shared_with_the_sessions_that_waited_and_no_later_one() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-beijing",
        Fault {
            server_error: Some(1000),
            latency_ms: Some(100),
            ..Fault::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let conn = connection(
        &server,
        &[("regions", "cn-beijing")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    let all = plan(&[]);
    let (s1, s2, s3) = (Snapshot::new(), Snapshot::new(), Snapshot::new());
    let started = std::time::Instant::now();
    let ((a, _), (b, rb), (c, _)) = tokio::join!(
        run(&conn, &s1, Some(&cache), &all, false),
        run(&conn, &s2, Some(&cache), &all, false),
        run(&conn, &s3, Some(&cache), &all, false),
    );
    let took = started.elapsed();
    let ids: Vec<String> = [a, b, c]
        .into_iter()
        .map(|r| {
            let e = r.unwrap_err().error;
            assert_eq!(e.code(), Some("ServiceUnavailable"));
            e.request_id().unwrap().to_string()
        })
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one call's error: {ids:?}"
    );
    assert_eq!(calls(&server, "DescribeTrails"), 3, "three attempts, once");
    assert!(rb.records.iter().any(|r| r.source == Source::Coalesced));
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A session that comes afterwards calls again: the error was not kept.
    let (later, _) = run(&conn, &Snapshot::new(), Some(&cache), &all, false).await;
    assert_ne!(later.unwrap_err().error.request_id(), Some(ids[0].as_str()));
    assert_eq!(calls(&server, "DescribeTrails"), 6);
    assert_eq!(
        alicloud_tables::cache::file_count(dir.path()),
        usize::from(dir.path().join("id").is_file()),
        "no claim file is left (the directory's id may be there)"
    );
}

#[tokio::test]
async fn a_waiting_session_ends_within_its_own_deadline() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("cn-beijing", Fault::hang());
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let conn = connection(
        &server,
        &[("regions", "cn-beijing"), ("deadline_ms", "400")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    let all = plan(&[]);
    let (s1, s2) = (Snapshot::new(), Snapshot::new());
    let timed = |snapshot| {
        let (conn, cache, all) = (&conn, &cache, &all);
        async move {
            let started = std::time::Instant::now();
            let (r, _) = run(conn, snapshot, Some(cache), all, false).await;
            (r, started.elapsed())
        }
    };
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        timed(&s2).await
    };
    let ((a, ta), (b, tb)) = tokio::join!(timed(&s1), second);
    for (r, took) in [(a, ta), (b, tb)] {
        let e = r.unwrap_err().error;
        assert!(e.to_string().contains("the overall deadline"), "{e}");
        assert!(took < Duration::from_millis(700), "{took:?}");
    }
}

#[tokio::test]
async fn damaged_cache_entries_are_fetched_again() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let conn = connection(&server, &[], mock::DEFAULT_ACCESS_KEY_SECRET);
    let all = plan(&[]);
    let (first, _) = run(&conn, &Snapshot::new(), Some(&cache), &all, true).await;
    let mut first = first.unwrap();
    // Every entry cut to its header and 5 bytes: "12345" would be an account id.
    let mut damaged = 0;
    for shard in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if !shard.path().is_dir() {
            continue;
        }
        for e in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let bytes = std::fs::read(e.path()).unwrap();
            let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
            let mut cut = bytes[..=nl].to_vec();
            cut.extend_from_slice(b"12345");
            std::fs::write(e.path(), cut).unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 5, "four regions and the identity");
    server.clear_calls();
    let (again, report) = run(&conn, &Snapshot::new(), Some(&cache), &all, true).await;
    let mut again = again.unwrap();
    assert_eq!(again.account_id.as_deref(), Some(mock::DEFAULT_ACCOUNT_ID));
    assert_eq!(names(&mut again), names(&mut first));
    assert_eq!((report.cache_hits(), report.api_calls()), (0, 5));
}

#[tokio::test]
async fn answers_that_echo_the_token_never_reach_the_disk() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-beijing",
        Fault {
            echo_in_answer: Some(true),
            ..Fault::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(60), 1 << 20);
    let options = options(&server, &[]);
    let settings = Settings::from_options(&options, || None).unwrap();
    let role = CredentialSource::RamRoleArn {
        base: Credentials::new(mock::DEFAULT_ACCESS_KEY_ID, mock::DEFAULT_ACCESS_KEY_SECRET),
        role_arn: mock::AUDITOR_ROLE_ARN.to_string(),
        session_name: "test".to_string(),
        duration_seconds: 3600,
        external_id: None,
    };
    let client = Client::new(settings.client.clone(), role).unwrap();
    let conn = Connection::new(client, settings, "test", &options, Vec::new());
    let (data, _) = run(&conn, &Snapshot::new(), Some(&cache), &plan(&[]), false).await;
    assert_eq!(data.unwrap().row_count(), 11, "the rows are right");
    let mut stored = Vec::new();
    for shard in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if shard.path().is_dir() {
            for e in std::fs::read_dir(shard.path()).unwrap().flatten() {
                stored.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    assert_eq!(
        stored.len(),
        3,
        "cn-beijing's answer echoed the token: not stored"
    );
    assert!(stored.iter().all(|t| !t.contains("SecurityToken")));
}

#[tokio::test]
async fn the_fan_out_respects_the_concurrency_cap() {
    let mut mc = MockConfig::default();
    mc.faults.push(("*".into(), Fault::latency(100)));
    let server = MockServer::start(mc).await.unwrap();
    let regions = server.fixture().region_ids()[..8].join(",");
    let elapsed = |cap: &'static str| {
        let conn = connection(
            &server,
            &[("regions", regions.as_str()), ("max_concurrency", cap)],
            mock::DEFAULT_ACCESS_KEY_SECRET,
        );
        async move {
            let start = std::time::Instant::now();
            let (data, _) = run(&conn, &Snapshot::default(), None, &plan(&[]), false).await;
            assert!(data.is_ok());
            start.elapsed()
        }
    };
    // 8 regions, 2 at a time, 100 ms each: at least 4 rounds.
    let capped = elapsed("2").await;
    assert!(capped >= Duration::from_millis(390), "took {capped:?}");
    let all = elapsed("8").await;
    assert!(
        all < Duration::from_millis(390),
        "uncapped fan-out took {all:?}"
    );
}

#[tokio::test]
async fn the_region_list_is_kept_by_the_connection() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(
        &server,
        &[("regions", "*")],
        mock::DEFAULT_ACCESS_KEY_SECRET,
    );
    for _ in 0..3 {
        // A new statement each time, and no shared cache (cache_ttl 0).
        let (data, _) = run(&conn, &Snapshot::new(), None, &plan(&[]), false).await;
        assert_eq!(
            data.unwrap().row_count(),
            mock::DEFAULT_FIXTURE_ROWS_SHADOW_ORG
        );
    }
    assert_eq!(calls(&server, "DescribeRegions"), 1);
}
