//! A server with member accounts (`member_accounts`, `member_role_name`) against the mock API:
//! each member reached by assuming its role with the server's keys, every member's rows named by
//! account and connection, the members chosen by conditions before any call, role sessions kept
//! between scans, and the failure policy. The mock's default fixture has members 1111…, 2222…
//! and 3333… whose role `ActionTrailAudit` trusts the default account, and 4444… whose role does
//! not.

use alicloud_api::CredentialChain;
use alicloud_mock_api as mock;
use alicloud_mock_api::{MockConfig, MockServer};
use alicloud_tables::cache::Cache;
use alicloud_tables::connect::{connect_with, Connection, FrontEnd, ServerMember};
use alicloud_tables::plan::{Constraint, ScanPlan};
use alicloud_tables::scan::{Fetch, Next, ScanData, ScanError, ScanReport};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::TableDef;
use alicloud_tables::tables::table;
use std::collections::BTreeMap;
use std::time::Duration;

const TRUSTING: &str = "1111111111111111,2222222222222222,3333333333333333";
const UNTRUSTING: &str = "4444444444444444";

fn trails() -> &'static TableDef {
    table("alicloud_action_trail").unwrap()
}

/// A connection called `name` with `options` (the mock's default key needs giving), and `extra`
/// over them.
fn connect(name: &str, options: Vec<(&str, String)>, extra: &[(&str, &str)]) -> Connection {
    let mut options: BTreeMap<String, String> = options
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for (k, v) in extra {
        options.insert(k.to_string(), v.to_string());
    }
    let front_end = FrontEnd {
        name: "members-test",
        version: "0",
    };
    connect_with(
        &options,
        CredentialChain::with_env(Default::default(), None),
        front_end,
        name,
    )
    .expect("connects")
    .named(name)
}

fn connection(server: &MockServer, extra: &[(&str, &str)]) -> Connection {
    let options = vec![
        ("regions", "cn-hangzhou,cn-beijing".to_string()),
        ("endpoint", server.endpoint_template()),
        ("sts_endpoint", server.url()),
        ("resourcemanager_endpoint", server.url()),
        ("retry_base_delay_ms", "10".to_string()),
        ("access_key_id", mock::DEFAULT_ACCESS_KEY_ID.to_string()),
        (
            "access_key_secret",
            mock::DEFAULT_ACCESS_KEY_SECRET.to_string(),
        ),
        ("member_role_name", "ActionTrailAudit".to_string()),
    ];
    connect("org", options, extra)
}

async fn scan(
    conn: &Connection,
    constraints: &[Constraint],
) -> (Result<ScanData, ScanError>, ScanReport) {
    let mut report = ScanReport::default();
    let snapshot = Snapshot::new();
    let fetch = Fetch {
        connection: conn,
        snapshot: &snapshot,
        cache: None,
        progress: None,
    };
    let plan = ScanPlan::new(trails(), constraints);
    let data = fetch.start(trails(), &plan, true, &mut report).await;
    (data, report)
}

/// Every row as `sp_connection_name account_id region/name`, sorted.
fn rows(data: &mut ScanData) -> Vec<String> {
    let column = |n: &str| trails().column(n).unwrap();
    let mut out = Vec::new();
    loop {
        match data.next_row() {
            Next::Row(row) => {
                let o = row.object();
                let v = |n: &str| row.value(&o, column(n)).to_text().into_owned();
                out.push(format!(
                    "{} {} {}/{} {}",
                    v("sp_connection_name"),
                    v("account_id"),
                    v("region"),
                    v("name"),
                    v("_ctx")
                ));
            }
            Next::End => break,
            Next::More | Next::OutOfOrder { .. } => panic!("one page per region"),
        }
    }
    out.sort();
    out
}

fn calls(server: &MockServer, action: &str) -> usize {
    server.calls().iter().filter(|c| c.action == action).count()
}

fn equal(column: &str, values: &[&str]) -> Constraint {
    let c = trails().column_index(column).unwrap();
    Constraint::equal(c, values.iter().map(|s| s.to_string()))
}

#[tokio::test]
async fn every_member_is_scanned_with_its_role_and_named() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(&server, &[("member_accounts", TRUSTING)]);
    let (data, report) = scan(&conn, &[]).await;
    let got = rows(&mut data.unwrap());
    let ctx = |a: &str| format!(r#"{{"connection_name":"org.{a}"}}"#);
    assert_eq!(
        got,
        [
            format!(
                "org.1111111111111111 1111111111111111 cn-beijing/acme-prod-trail {}",
                ctx("1111111111111111")
            ),
            format!(
                "org.1111111111111111 1111111111111111 cn-hangzhou/acme-prod-trail {}",
                ctx("1111111111111111")
            ),
            format!(
                "org.2222222222222222 2222222222222222 cn-beijing/acme-dev-trail {}",
                ctx("2222222222222222")
            ),
            format!(
                "org.3333333333333333 3333333333333333 cn-beijing/acme-audit-trail {}",
                ctx("3333333333333333")
            ),
            format!(
                "org.3333333333333333 3333333333333333 cn-hangzhou/acme-audit-trail {}",
                ctx("3333333333333333")
            ),
        ]
    );
    assert!(report.skipped.is_empty());
    // One role session per member, one listing per member and region, and no GetCallerIdentity:
    // a member's account id is known.
    assert_eq!(calls(&server, "AssumeRole"), 3);
    assert_eq!(calls(&server, "DescribeTrails"), 6);
    assert_eq!(calls(&server, "GetCallerIdentity"), 0);
    // The role sessions are kept: a second scan assumes nothing.
    let (again, _) = scan(&conn, &[]).await;
    assert_eq!(rows(&mut again.unwrap()).len(), 5);
    assert_eq!(calls(&server, "AssumeRole"), 3);
    assert_eq!(calls(&server, "DescribeTrails"), 12);
}

#[tokio::test]
async fn progress_counts_every_member_together() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(&server, &[("member_accounts", TRUSTING)]);
    let heard = std::cell::RefCell::new(Vec::new());
    let progress = |done: usize, total: usize| heard.borrow_mut().push((done, total));
    let snapshot = Snapshot::new();
    let fetch = Fetch {
        connection: &conn,
        snapshot: &snapshot,
        cache: None,
        progress: Some(&progress),
    };
    let plan = ScanPlan::new(trails(), &[]);
    let mut report = ScanReport::default();
    fetch
        .start(trails(), &plan, true, &mut report)
        .await
        .unwrap();
    let heard = heard.into_inner();
    // 3 members x 2 regions: one count over all of them, which never goes back (a progress bar
    // that restarted at each member would).
    assert_eq!(heard.len(), 6, "{heard:?}");
    assert_eq!(heard.last(), Some(&(6, 6)), "{heard:?}");
    assert!(
        heard
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "{heard:?}"
    );
}

#[tokio::test]
async fn a_role_assumed_again_in_the_middle_of_a_scan_takes_a_turn_of_the_rate() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(&server, &[("member_accounts", TRUSTING)]);
    // A cache that keeps no answer (TTL 0): only its directory is used, for the turns.
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::ZERO, 1 << 20);
    let scan = || async {
        let snapshot = Snapshot::new();
        let fetch = Fetch {
            connection: &conn,
            snapshot: &snapshot,
            cache: Some(&cache),
            progress: None,
        };
        let plan = ScanPlan::new(trails(), &[]);
        let mut report = ScanReport::default();
        let data = fetch.start(trails(), &plan, true, &mut report).await;
        assert_eq!(rows(&mut data.unwrap()).len(), 5);
    };
    // The next free turn of the caller's AssumeRole rate, as the turn file holds it.
    let next_turn = || -> u64 {
        let pace = dir.path().join("pace");
        let file = std::fs::read_dir(&pace)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("AssumeRole-")
            })
            .expect("a turn file");
        std::fs::read_to_string(file)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    scan().await;
    assert_eq!(calls(&server, "AssumeRole"), 3);
    let before = next_turn();
    // The sessions end before their time: each member's listing fails as expired, the role is
    // assumed again, and that AssumeRole too takes a turn (the file's time moves on).
    server.expire_temporary_keys();
    scan().await;
    assert_eq!(calls(&server, "AssumeRole"), 6);
    assert!(next_turn() > before, "{} <= {before}", next_turn());
}

#[tokio::test]
async fn conditions_on_account_and_connection_choose_the_members_before_any_call() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let conn = connection(&server, &[("member_accounts", TRUSTING)]);
    let (data, _) = scan(&conn, &[equal("account_id", &["2222222222222222", "9"])]).await;
    assert_eq!(rows(&mut data.unwrap()).len(), 1);
    assert_eq!(
        (
            calls(&server, "AssumeRole"),
            calls(&server, "DescribeTrails")
        ),
        (1, 2)
    );
    server.clear_calls();
    let names = ["org.3333333333333333", "other.1111111111111111"];
    let (data, _) = scan(&conn, &[equal("sp_connection_name", &names)]).await;
    let got = rows(&mut data.unwrap());
    assert!(
        got.iter().all(|r| r.starts_with("org.3333333333333333 ")),
        "{got:?}"
    );
    assert_eq!(
        (
            calls(&server, "AssumeRole"),
            calls(&server, "DescribeTrails")
        ),
        (1, 2)
    );
    server.clear_calls();
    let (data, _) = scan(&conn, &[equal("account_id", &["5555555555555555"])]).await;
    assert!(rows(&mut data.unwrap()).is_empty());
    assert!(server.calls().is_empty());
}

#[tokio::test]
async fn a_failing_member_fails_the_scan_or_is_skipped_by_name() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let members = format!("{TRUSTING},{UNTRUSTING}");
    let conn = connection(&server, &[("member_accounts", &members)]);
    let Err(e) = scan(&conn, &[]).await.0 else {
        panic!("member 4444 cannot be assumed");
    };
    assert_eq!(e.error.code(), Some("NoPermission"));
    assert_eq!(e.error.remedy(), Some(alicloud_api::Remedy::CheckRole));
    let others = e.others.unwrap_or_default();
    assert!(
        others
            == "in member org.4444444444444444 (account 4444444444444444, role acs:ram::4444444444444444:role/ActionTrailAudit), 1 of 4 member accounts",
        "{others}"
    );

    let conn = connection(
        &server,
        &[("member_accounts", &members), ("member_failure", "skip")],
    );
    let (data, report) = scan(&conn, &[]).await;
    assert_eq!(rows(&mut data.unwrap()).len(), 5);
    let [skipped] = report.skipped.as_slice() else {
        panic!("one member skipped: {:?}", report.skipped);
    };
    let warning = skipped.to_string();
    assert!(
        warning.starts_with("skipping member org.4444444444444444 (account 4444444444444444, role acs:ram::4444444444444444:role/ActionTrailAudit): AssumeRole failed in ")
            && warning.contains(" with NoPermission (request id ")
            && warning.ends_with("), as member_failure 'skip' asks"),
        "{warning}"
    );

    // Every member failing is an error even under skip: no rows would read as compliant.
    let conn = connection(
        &server,
        &[("member_accounts", UNTRUSTING), ("member_failure", "skip")],
    );
    let Err(e) = scan(&conn, &[]).await.0 else {
        panic!("the only member fails");
    };
    assert_eq!(e.error.code(), Some("NoPermission"));
}

#[tokio::test]
async fn the_directory_lists_the_joined_accounts_page_by_page() {
    // The default fixture's directory: 1111..., 2222..., 3333... joined, 5555... still being
    // promoted; 150 more joined accounts without the role make the listing two pages of 100.
    let mut fixture = mock::Fixture::default_fixture();
    let template = fixture.directory[0].clone();
    for i in 0..150 {
        let mut a = template.clone();
        a.account_id = format!("77770000000{i:05}");
        a.display_name = format!("generated-{i}");
        fixture.directory.push(a);
    }
    let server = MockServer::start(MockConfig {
        fixture,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let conn = connection(
        &server,
        &[("member_accounts", "directory"), ("member_failure", "skip")],
    );
    let (data, report) = scan(&conn, &[]).await;
    let got = rows(&mut data.unwrap());
    assert_eq!(got.len(), 5, "{got:?}");
    let lists: Vec<String> = server
        .calls()
        .iter()
        .filter(|c| c.action == "ListAccounts")
        .map(|c| format!("{} {}", c.params["PageNumber"], c.params["PageSize"]))
        .collect();
    assert_eq!(lists, ["1 100", "2 100"]);
    // Every joined account was tried (153), 5555... never: it has not joined.
    assert_eq!(calls(&server, "AssumeRole"), 153);
    assert_eq!(report.skipped.len(), 150);
    assert!(report
        .skipped
        .iter()
        .all(|s| s.code == "EntityNotExist.Role" && !s.to_string().contains("5555555555555555")));
    // Under the default policy the query fails, naming the first failed member and ten more.
    let strict = connection(&server, &[("member_accounts", "directory")]);
    let Err(e) = scan(&strict, &[]).await.0 else {
        panic!("150 members cannot be assumed");
    };
    let others = e.others.unwrap_or_default();
    assert!(
        others.contains("; 150 of 153 member accounts failed, also: ")
            && others.ends_with(", and 139 more")
            && others.matches("(account 7777").count() == 11,
        "{others}"
    );
    // account_id narrows the listed accounts: only 2222... is assumed (the listing is asked
    // again: the cache is off here).
    server.clear_calls();
    let (data, _) = scan(&conn, &[equal("account_id", &["2222222222222222"])]).await;
    assert_eq!(rows(&mut data.unwrap()).len(), 1);
    assert_eq!(calls(&server, "ListAccounts"), 2);
    assert_eq!(calls(&server, "AssumeRole"), 0, "its session is kept");
}

#[tokio::test]
async fn a_caller_without_a_directory_is_told_so() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut conn_options = vec![("member_accounts", "directory")];
    conn_options.push(("access_key_id", mock::SECOND_ACCESS_KEY_ID));
    conn_options.push(("access_key_secret", mock::SECOND_ACCESS_KEY_SECRET));
    let conn = connection(&server, &conn_options);
    let Err(e) = scan(&conn, &[]).await.0 else {
        panic!("the second account manages no directory");
    };
    assert_eq!(e.error.code(), Some("EntityNotExists.ResourceDirectory"));
    assert_eq!(calls(&server, "AssumeRole"), 0);
}

#[test]
fn member_options_go_together() {
    use alicloud_tables::options::Settings;
    let opts = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let err = |pairs: &[(&str, &str)]| {
        Settings::from_options(&opts(pairs), || None)
            .unwrap_err()
            .to_string()
    };
    assert!(err(&[("member_accounts", "1111")]).contains("member_role_name"));
    assert!(err(&[("member_role_name", "r")]).contains("member_accounts"));
    assert!(
        err(&[("member_accounts", "11a1"), ("member_role_name", "r")])
            .contains("\"11a1\" is not an account id")
    );
    assert!(err(&[
        ("member_accounts", "1111"),
        ("member_role_name", "r"),
        ("member_failure", "maybe")
    ])
    .contains("member_failure"));
    let s = Settings::from_options(
        &opts(&[
            ("member_accounts", "1111, 2222,1111"),
            ("member_role_name", "r"),
        ]),
        || None,
    )
    .unwrap();
    let m = s.members.unwrap();
    assert_eq!(m.accounts, ["1111", "2222"]);
    assert_eq!(m.role_arn("1111"), "acs:ram::1111:role/r");
}

/// A plain connection (no members) with `key`, called `name`, for a member server.
fn plain(server: &MockServer, name: &str, key: (&str, &str)) -> Connection {
    let options = vec![
        ("regions", "cn-hangzhou".to_string()),
        ("endpoint", server.endpoint_template()),
        ("sts_endpoint", server.url()),
        ("retry_base_delay_ms", "10".to_string()),
        ("access_key_id", key.0.to_string()),
        ("access_key_secret", key.1.to_string()),
    ];
    connect(name, options, &[])
}

/// A server with member servers, as the PostgreSQL extension makes it: no credentials of its
/// own, and the members it resolved for the scan.
fn fleet(members: Vec<ServerMember>, extra: &[(&str, &str)]) -> Connection {
    // No credentials: a server with member servers needs none.
    connect(
        "fleet",
        vec![("member_servers", "acct_*".to_string())],
        extra,
    )
    .with_servers(members)
}

#[tokio::test]
async fn member_servers_scan_with_their_own_connections_once_per_account() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let main = (mock::DEFAULT_ACCESS_KEY_ID, mock::DEFAULT_ACCESS_KEY_SECRET);
    let second = (mock::SECOND_ACCESS_KEY_ID, mock::SECOND_ACCESS_KEY_SECRET);
    let same_account = (
        mock::NO_PERMISSION_ACCESS_KEY_ID,
        mock::NO_PERMISSION_ACCESS_KEY_SECRET,
    );
    let member = |name: &str, key| ServerMember {
        name: name.to_string(),
        connection: Ok(plain(&server, name, key)),
        cache: None,
    };
    let refused = ServerMember {
        name: "acct_refused".to_string(),
        connection: Err(alicloud_api::Error::Config {
            message: "permission denied for foreign server acct_refused".to_string(),
        }),
        cache: None,
    };
    let members = vec![
        member("acct_main", main),
        member("acct_second", second),
        member("acct_twin", same_account),
    ];
    let conn = fleet(members.clone(), &[]);
    let (data, report) = scan(&conn, &[]).await;
    let got: Vec<String> = rows(&mut data.unwrap())
        .into_iter()
        .map(|r| r.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(got.contains(&format!("acct_main {}", mock::DEFAULT_ACCOUNT_ID)));
    assert!(got.contains(&format!("acct_second {}", mock::SECOND_ACCOUNT_ID)));
    // The twin reaches acct_main's account: a note, and none of its rows (its key may not even
    // list trails, and is never asked to).
    assert!(!got.iter().any(|r| r.starts_with("acct_twin")), "{got:?}");
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(report.notes[0].contains("acct_main and acct_twin"));
    assert_eq!(calls(&server, "GetCallerIdentity"), 3);
    // The account ids are kept: the next scan lists, and chooses by account id before that.
    server.clear_calls();
    let (data, _) = scan(&conn, &[equal("account_id", &[mock::SECOND_ACCOUNT_ID])]).await;
    let got = rows(&mut data.unwrap());
    assert!(got.iter().all(|r| r.starts_with("acct_second ")), "{got:?}");
    assert_eq!(calls(&server, "GetCallerIdentity"), 0);
    assert_eq!(calls(&server, "DescribeTrails"), 1);

    // A twin first by name, whose key may not list trails: acct_main is scanned in its place,
    // and the twin's failure is a warning, not the scan's error (nor a skipped member).
    let twin_first = fleet(
        vec![
            member("acct_a_twin", same_account),
            member("acct_main", main),
            member("acct_second", second),
        ],
        &[],
    );
    server.clear_calls();
    let (data, report) = scan(&twin_first, &[]).await;
    let got: Vec<String> = rows(&mut data.unwrap())
        .into_iter()
        .map(|r| r.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        got.contains(&format!("acct_main {}", mock::DEFAULT_ACCOUNT_ID)),
        "{got:?}"
    );
    assert!(got.contains(&format!("acct_second {}", mock::SECOND_ACCOUNT_ID)));
    assert!(!got.iter().any(|r| r.starts_with("acct_a_twin")), "{got:?}");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(
        report.notes[0].starts_with(&format!(
            "member server acct_a_twin (account {}) failed, and acct_main (the same account) was scanned in its place",
            mock::DEFAULT_ACCOUNT_ID
        )),
        "{:?}",
        report.notes
    );
    assert!(
        report.notes[0].contains("(request id "),
        "{:?}",
        report.notes
    );
    // The account is covered by acct_main; the twin is no account's outcome.
    let covered: Vec<&str> = report.accounts.iter().map(|a| a.member.as_str()).collect();
    assert_eq!(covered, ["acct_main", "acct_second"]);
    // The twin's one listing, then acct_main's and acct_second's.
    assert_eq!(calls(&server, "DescribeTrails"), 3);
    // When the account's last member fails too, that is the member failure.
    server.set_key_revoked(mock::DEFAULT_ACCESS_KEY_ID, true);
    let (e, _) = scan(&twin_first, &[]).await;
    server.set_key_revoked(mock::DEFAULT_ACCESS_KEY_ID, false);
    let e = e.unwrap_err();
    assert!(
        e.others
            .as_deref()
            .unwrap_or("")
            .contains("in member acct_main (account"),
        "{e:?}"
    );

    // A member that cannot be used fails the scan, named; under skip it is left out, and when
    // every member fails the scan fails all the same.
    let with_refused = |failure: &str| {
        let mut m = members[..2].to_vec();
        m.push(refused.clone());
        fleet(m, &[("member_failure", failure)])
    };
    let (e, _) = scan(&with_refused("error"), &[]).await;
    let e = e.unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    assert!(
        e.others
            .as_deref()
            .unwrap_or("")
            .contains("in member acct_refused, 1 of 3 member servers"),
        "{e:?}"
    );
    let (data, report) = scan(&with_refused("skip"), &[]).await;
    assert!(!rows(&mut data.unwrap()).is_empty());
    assert_eq!(report.skipped.len(), 1);
    let warning = report.skipped[0].to_string();
    assert!(
        warning.starts_with("skipping member acct_refused: permission denied"),
        "{warning}"
    );
    let (e, _) = scan(
        &fleet(vec![refused.clone()], &[("member_failure", "skip")]),
        &[],
    )
    .await;
    assert!(e.is_err());
}

#[tokio::test]
async fn max_concurrency_caps_the_calls_of_all_members_together() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "*",
        mock::Fault {
            latency_ms: Some(100),
            actions: Some(vec!["DescribeTrails".to_string()]),
            ..Default::default()
        },
    );
    // 3 members × 2 regions, one call at a time over all of them: six listings one after
    // another, where each member alone would be allowed one at a time and take 200 ms.
    let conn = connection(
        &server,
        &[("member_accounts", TRUSTING), ("max_concurrency", "1")],
    );
    let started = std::time::Instant::now();
    let (data, _) = scan(&conn, &[]).await;
    assert_eq!(rows(&mut data.unwrap()).len(), 5);
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(580),
        "six 100 ms calls under a cap of one took {took:?}"
    );
    assert_eq!(calls(&server, "DescribeTrails"), 6);
}

#[tokio::test]
async fn the_listings_connections_open_while_roles_are_assumed_for_the_calls_to_be_made() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    // AssumeRole slow enough for the connections to open while it is in flight, and the listings
    // slow enough to be in flight together (the transport's threads could otherwise finish one
    // and hand its pooled connection to the next).
    server.set_fault(
        "*",
        mock::Fault {
            latency_ms: Some(200),
            actions: Some(vec!["AssumeRole".to_string(), "DescribeTrails".to_string()]),
            ..Default::default()
        },
    );
    // STS at another origin of the same mock: the listings' connections are never taken by
    // `AssumeRole`, and the count of ActionTrail's connections holds only theirs.
    let sts = server.url().replace("127.0.0.1", "localhost");
    let listings_open = |conn: &Connection| {
        conn.client
            .actiontrail_connections("cn-hangzhou")
            .map(|c| c.open)
    };
    // A member whose role is refused: its two listings are never called, but their connections
    // were opened while its AssumeRole was in flight (one more for STS), and closed with the scan.
    let conn = connection(
        &server,
        &[("member_accounts", UNTRUSTING), ("sts_endpoint", &sts)],
    );
    let (data, _) = scan(&conn, &[]).await;
    assert!(data.is_err());
    assert_eq!(calls(&server, "AssumeRole"), 1);
    assert_eq!(calls(&server, "DescribeTrails"), 0);
    assert_eq!(server.connections(), 3);
    assert_eq!(listings_open(&conn), Some(0));

    // With the cache holding a member's answers, no connection is opened for them.
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf(), Duration::from_secs(300), 1 << 20);
    let scan_cached = |conn: &Connection| {
        let conn = conn.clone();
        let cache = &cache;
        async move {
            let snapshot = Snapshot::new();
            let fetch = Fetch {
                connection: &conn,
                snapshot: &snapshot,
                cache: Some(cache),
                progress: None,
            };
            let plan = ScanPlan::new(trails(), &[]);
            let mut report = ScanReport::default();
            fetch.start(trails(), &plan, true, &mut report).await
        }
    };
    let extra = [
        ("member_accounts", "1111111111111111"),
        ("sts_endpoint", &sts),
    ];
    let warm = connection(&server, &extra);
    assert!(scan_cached(&warm).await.is_ok());
    assert_eq!(calls(&server, "DescribeTrails"), 2);
    // Its two listings went out on the two connections opened ahead (one more for STS).
    assert_eq!(server.connections(), 3 + 3);
    // A new connection must assume both roles again; 1111's listings come from the cache, so
    // only 4444's two connections are opened ahead (and two for STS).
    let both = format!("1111111111111111,{UNTRUSTING}");
    let cold = connection(
        &server,
        &[("member_accounts", &both), ("sts_endpoint", &sts)],
    );
    let _ = scan_cached(&cold).await;
    assert_eq!(calls(&server, "AssumeRole"), 4);
    assert_eq!(calls(&server, "DescribeTrails"), 2);
    assert_eq!(server.connections(), 6 + 4);

    // Members whose sessions are held need no connections ahead: their listings go out at once,
    // on the connections the pool kept from the last scan.
    let mixed = connection(
        &server,
        &[("member_accounts", &both), ("sts_endpoint", &sts)],
    );
    let _ = scan(&mixed, &[]).await;
    let before = server.connections();
    let _ = scan(&mixed, &[]).await;
    assert_eq!(calls(&server, "AssumeRole"), 4 + 2 + 1);
    assert_eq!(server.connections(), before);
}
