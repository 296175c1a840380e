//! The built `alicloud-export` binary against an in-process mock API (its own multi-thread
//! runtime): every output format read back and compared with the rows the table layer makes of
//! the mock's fixture, pushdown proven by the mock's call log, the partial-failure policy, the
//! exit codes, Ctrl-C, the cache, and no secret in anything the binary prints.

use alicloud_api::CredentialChain;
use alicloud_mock_api::{self as mock, Fault, MockConfig, MockServer};
use alicloud_tables::connect::{connect_with, FrontEnd};
use alicloud_tables::plan::ScanPlan;
use alicloud_tables::scan::{Fetch, Next, ScanReport};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::{ColumnType, TableDef};
use alicloud_tables::tables;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_alicloud-export");
const REGIONS: &str = "cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen";
const TABLE: &str = "alicloud_action_trail";
/// Secrets some test hands the binary; none may ever appear in what it prints.
const WRONG_SECRET: &str = "wrong-secret-0123456789";
const FLAG_SECRET: &str = "hunter2-secret-on-the-command-line";
const SECRETS: [&str; 5] = [
    mock::DEFAULT_ACCESS_KEY_SECRET,
    mock::SECOND_ACCESS_KEY_SECRET,
    mock::NO_PERMISSION_ACCESS_KEY_SECRET,
    WRONG_SECRET,
    FLAG_SECRET,
];

/// The (name, region) rows of the default fixture over the four regions.
const ROWS: [(&str, &str); 11] = [
    ("test-4", "cn-hangzhou"),
    ("hangzhou-fresh", "cn-hangzhou"),
    ("beijing-all-read", "cn-hangzhou"),
    ("test-4", "cn-shanghai"),
    ("org-audit-shanghai", "cn-shanghai"),
    ("beijing-all-read", "cn-shanghai"),
    ("test-4", "cn-beijing"),
    ("beijing-disabled", "cn-beijing"),
    ("beijing-all-read", "cn-beijing"),
    ("test-4", "cn-shenzhen"),
    ("beijing-all-read", "cn-shenzhen"),
];

fn table() -> &'static TableDef {
    tables::table(TABLE).expect("the table exists")
}

fn start() -> MockServer {
    MockServer::start_blocking(MockConfig::default()).expect("the mock starts")
}

/// What one run of the binary did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(out: Output) -> Run {
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for s in SECRETS {
            assert!(
                !run.stdout.contains(s) && !run.stderr.contains(s),
                "a secret was printed:\nstdout: {}\nstderr: {}",
                run.stdout,
                run.stderr
            );
        }
        run
    }

    fn ok(self) -> Run {
        assert_eq!(self.code, Some(0), "stderr: {}", self.stderr);
        self
    }
}

/// A clean environment: a home without a profile file, a private cache directory, and the
/// given variables only.
struct Env {
    home: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn empty() -> Env {
        Env {
            home: tempfile::tempdir().expect("a temp dir"),
            vars: Vec::new(),
        }
    }

    /// The default key of the mock in the environment variables.
    fn with_keys() -> Env {
        Env::empty()
            .var("ALIBABA_CLOUD_ACCESS_KEY_ID", mock::DEFAULT_ACCESS_KEY_ID)
            .var(
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                mock::DEFAULT_ACCESS_KEY_SECRET,
            )
    }

    fn var(mut self, k: &str, v: &str) -> Env {
        self.vars.push((k.to_string(), v.to_string()));
        self
    }

    fn cache_dir(&self) -> std::path::PathBuf {
        self.home.path().join("cache")
    }

    fn command(&self, args: &[String]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.cache_dir())
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[String]) -> Run {
        Run::of(self.command(args).output().expect("the binary runs"))
    }
}

/// The table, the mock's endpoints, its four regions, the cache off, and `extra`.
fn args(server: &MockServer, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        TABLE.into(),
        "--regions".into(),
        REGIONS.into(),
        "--endpoint".into(),
        server.endpoint_template(),
        "--sts-endpoint".into(),
        server.url(),
        "--retry-base-delay-ms".into(),
        "10".into(),
        "--cache-ttl".into(),
        "0".into(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn export(server: &MockServer, extra: &[&str]) -> Run {
    Env::with_keys().run(&args(server, extra))
}

type Row = BTreeMap<String, Json>;
/// Which rows a condition keeps, written in Rust.
type Keep = Box<dyn Fn(&Row) -> bool>;

/// The rows the table layer makes of the mock's answers, every column as `Value::to_json` gives
/// it: what each output format must reproduce.
fn reference(server: &MockServer) -> Vec<Row> {
    let options: BTreeMap<String, String> = [
        ("regions", REGIONS.to_string()),
        ("endpoint", server.endpoint_template()),
        ("sts_endpoint", server.url()),
        ("access_key_id", mock::DEFAULT_ACCESS_KEY_ID.to_string()),
        (
            "access_key_secret",
            mock::DEFAULT_ACCESS_KEY_SECRET.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let front_end = FrontEnd {
        name: "reference",
        version: "0",
    };
    let chain = CredentialChain::with_env(HashMap::new(), None);
    let connection = connect_with(&options, chain, front_end, "reference").expect("connects");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let snapshot = Snapshot::new();
    let fetch = Fetch {
        connection: &connection,
        snapshot: &snapshot,
        cache: None,
        progress: None,
    };
    let mut data = runtime
        .block_on(fetch.start(
            table(),
            &ScanPlan::new(table(), &[]),
            true,
            &mut ScanReport::default(),
        ))
        .expect("the reference scan");
    let mut rows = Vec::new();
    while let Next::Row(row) = data.next_row() {
        let object = row.object();
        rows.push(
            table()
                .columns
                .iter()
                .map(|c| (c.name.to_string(), row.value(&object, c).to_json()))
                .collect(),
        );
    }
    // The mock's own call log starts after this.
    server.clear_calls();
    rows
}

/// `rows` with only `columns`, sorted (the outputs are compared as multisets).
fn project(rows: &[Row], columns: &[&str]) -> Vec<Row> {
    let mut out: Vec<Row> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| (c.to_string(), r[*c].clone()))
                .collect()
        })
        .collect();
    out.sort_by_key(|r| serde_json::to_string(r).unwrap_or_default());
    out
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by_key(|r| serde_json::to_string(r).unwrap_or_default());
    rows
}

fn all_columns() -> Vec<&'static str> {
    table().columns.iter().map(|c| c.name).collect()
}

/// A text cell (csv, table) read back as the JSON value of its column: empty is null.
fn from_text(column: &str, cell: &str) -> Json {
    if cell.is_empty() {
        return Json::Null;
    }
    let ty = table().column(column).expect("a column").ty;
    match ty {
        ColumnType::Boolean => match cell {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            other => panic!("{column}: not a boolean: {other}"),
        },
        ColumnType::Json => serde_json::from_str(cell).expect("JSON text"),
        ColumnType::Text | ColumnType::Timestamp => Json::String(cell.to_string()),
    }
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a record");
            assert_eq!(r.len(), header.len());
            header
                .iter()
                .zip(r.iter())
                .map(|(h, cell)| (h.clone(), from_text(h, cell)))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A JSON object's members in document order (serde_json's map would sort them).
struct Ordered(Vec<(String, Json)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Ordered, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Json>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn object(o: Ordered, columns: &[&str]) -> Row {
    let keys: Vec<&str> = o.0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, columns, "keys in select order");
    o.0.into_iter().collect()
}

fn calls_of(server: &MockServer, action: &str) -> Vec<mock::Call> {
    server
        .calls()
        .into_iter()
        .filter(|c| c.action == action)
        .collect()
}

fn regions_called(server: &MockServer) -> Vec<String> {
    let mut r: Vec<String> = calls_of(server, "DescribeTrails")
        .into_iter()
        .map(|c| c.region)
        .collect();
    r.sort();
    r
}

fn names_and_regions(rows: &[Row]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("region"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_format_reads_back_as_the_fixture() {
    let server = start();
    let want = reference(&server);
    // The fixture, independently of the table layer: the eleven (name, region) rows, and a few
    // values whose conversion matters.
    let mut expected: Vec<(String, String)> = ROWS
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    expected.sort();
    assert_eq!(names_and_regions(&want), expected);
    let find = |name: &str, region: &str| {
        want.iter()
            .find(|r| r["name"] == name && r["region"] == region)
            .cloned()
            .expect("the row")
    };
    let t4 = find("test-4", "cn-beijing");
    assert_eq!(t4["create_time"], "2021-03-01T06:27:28Z");
    assert_eq!(t4["is_shadow_trail"], true);
    assert_eq!(t4["is_organization_trail"], false);
    assert_eq!(
        t4["akas"],
        serde_json::json!(["acs:actiontrail:cn-hangzhou:1234567890123456:actiontrail/test-4"])
    );
    assert_eq!(
        find("org-audit-shanghai", "cn-shanghai")["is_organization_trail"],
        true
    );
    assert_eq!(
        find("hangzhou-fresh", "cn-hangzhou")["create_time"],
        "2015-12-02T07:41:06Z"
    );
    assert_eq!(
        find("hangzhou-fresh", "cn-hangzhou")["stop_logging_time"],
        Json::Null
    );
    assert_eq!(
        find("beijing-all-read", "cn-beijing")["raw"]["FutureField"],
        serde_json::json!({"x": 1})
    );
    server.clear_calls();

    let columns = all_columns();
    let want_all = project(&want, &columns);

    let csv = export(&server, &["--output", "csv"]).ok();
    let (header, rows) = parse_csv(&csv.stdout);
    assert_eq!(header, columns);
    assert_eq!(sorted(rows), want_all);

    let json = export(&server, &["--output", "json"]).ok();
    let objects: Vec<Ordered> = serde_json::from_str(&json.stdout).expect("a JSON array");
    let rows: Vec<Row> = objects.into_iter().map(|o| object(o, &columns)).collect();
    assert_eq!(sorted(rows), want_all);

    let jsonl = export(&server, &["--output", "jsonl"]).ok();
    let rows: Vec<Row> = jsonl
        .stdout
        .lines()
        .map(|l| {
            object(
                serde_json::from_str(l).expect("one object per line"),
                &columns,
            )
        })
        .collect();
    assert_eq!(sorted(rows), want_all);

    // A chosen order of some columns, in every format.
    let some = [
        "region",
        "create_time",
        "name",
        "is_organization_trail",
        "akas",
    ];
    let select = some.join(",");
    let want_some = project(&want, &some);
    let csv = export(&server, &["-o", "csv", "--select", &select]).ok();
    let (header, rows) = parse_csv(&csv.stdout);
    assert_eq!(header, some);
    assert_eq!(sorted(rows), want_some);
    let jsonl = export(&server, &["-o", "jsonl", "--select", &select]).ok();
    let rows: Vec<Row> = jsonl
        .stdout
        .lines()
        .map(|l| object(serde_json::from_str(l).expect("an object"), &some))
        .collect();
    assert_eq!(sorted(rows), want_some);

    let table = export(&server, &["--output", "table", "--select", &select]).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    let cells =
        |line: &str| -> Vec<String> { line.split(" | ").map(|c| c.trim().to_string()).collect() };
    assert_eq!(cells(lines[0]), some);
    assert!(
        lines[1].chars().all(|c| c == '-' || c == '+'),
        "{}",
        lines[1]
    );
    assert_eq!(lines.last().copied(), Some("(11 rows)"));
    let rows: Vec<Row> = lines[2..lines.len() - 1]
        .iter()
        .map(|l| {
            some.iter()
                .zip(cells(l))
                .map(|(c, v)| (c.to_string(), from_text(c, &v)))
                .collect()
        })
        .collect();
    assert_eq!(sorted(rows), want_some);
    // The separators line up: every row is as wide as the header.
    let width = |l: &str| l.trim_end().chars().count();
    let columns_at = |l: &str| -> Vec<usize> { l.match_indices(" | ").map(|(i, _)| i).collect() };
    for l in &lines[2..lines.len() - 1] {
        assert_eq!(columns_at(l), columns_at(lines[0]), "{l}");
    }
    assert!(width(lines[1]) >= width(lines[2]));
}

#[test]
fn csv_quotes_awkward_values() {
    let server = start();
    let awkward = "a, \"quoted\"\nname 杭州";
    server.set_fault(
        "cn-hangzhou",
        Fault {
            append_item: Some(serde_json::json!({
                "Name": awkward, "HomeRegion": "cn-hangzhou", "Status": "Enable",
                "IsOrganizationTrail": true, "CreateTime": "2024-01-02T03:04:05Z"
            })),
            ..Fault::default()
        },
    );
    let csv = export(
        &server,
        &[
            "-o",
            "csv",
            "--where",
            "region = 'cn-hangzhou' AND is_organization_trail",
            "--select",
            "name,create_time,is_shadow_trail",
        ],
    )
    .ok();
    let (_, rows) = parse_csv(&csv.stdout);
    assert_eq!(rows.len(), 1, "{}", csv.stdout);
    assert_eq!(rows[0]["name"], awkward);
    assert_eq!(rows[0]["create_time"], "2024-01-02T03:04:05Z");
    assert_eq!(rows[0]["is_shadow_trail"], false);
    let table = export(
        &server,
        &["--where", "name LIKE 'a,%'", "--select", "name,region"],
    )
    .ok();
    assert!(
        table
            .stdout
            .contains(" a, \"quoted\"\\nname 杭州 | cn-hangzhou\n"),
        "{}",
        table.stdout
    );
}

#[test]
fn region_equality_is_pushed_down() {
    let server = start();
    for condition in [
        "region = 'cn-beijing'",
        "'cn-beijing' = region AND status IS NOT NULL",
        "(region IN ('cn-beijing', 'eu-central-1')) AND name LIKE '%'",
    ] {
        server.clear_calls();
        let out = export(
            &server,
            &[
                "-o",
                "jsonl",
                "--select",
                "name,region",
                "--where",
                condition,
            ],
        )
        .ok();
        assert_eq!(regions_called(&server), ["cn-beijing"], "{condition}");
        let rows: Vec<Row> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(
            names_and_regions(&rows),
            [
                ("beijing-all-read".to_string(), "cn-beijing".to_string()),
                ("beijing-disabled".to_string(), "cn-beijing".to_string()),
                ("test-4".to_string(), "cn-beijing".to_string()),
            ],
            "{condition}"
        );
    }
    // Not a top-level AND term: every region is called, and the filter still holds.
    server.clear_calls();
    let out = export(
        &server,
        &[
            "-o",
            "csv",
            "--select",
            "name,region",
            "--where",
            "region = 'cn-beijing' OR name = 'org-audit-shanghai'",
        ],
    )
    .ok();
    assert_eq!(regions_called(&server).len(), 4);
    assert_eq!(parse_csv(&out.stdout).1.len(), 4);
}

#[test]
fn name_in_is_sent_as_name_list() {
    let server = start();
    let out = export(
        &server,
        &[
            "-o",
            "jsonl",
            "--select",
            "name,region",
            "--where",
            "name IN ('test-4', 'beijing-disabled')",
        ],
    )
    .ok();
    let calls = calls_of(&server, "DescribeTrails");
    assert_eq!(calls.len(), 4);
    for c in &calls {
        assert_eq!(
            c.params.get("NameList").map(String::as_str),
            Some("test-4,beijing-disabled"),
            "{c:?}"
        );
    }
    let rows: Vec<Row> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(rows.len(), 5);
    assert!(rows
        .iter()
        .all(|r| r["name"] == "test-4" || r["name"] == "beijing-disabled"));

    server.clear_calls();
    let out = export(
        &server,
        &[
            "-o",
            "csv",
            "--select",
            "name,region",
            "--where",
            "name = 'test-4' AND region IN ('cn-shenzhen', 'cn-beijing')",
        ],
    )
    .ok();
    assert_eq!(regions_called(&server), ["cn-beijing", "cn-shenzhen"]);
    assert!(calls_of(&server, "DescribeTrails").iter().all(|c| c
        .params
        .get("NameList")
        .map(String::as_str)
        == Some("test-4")));
    assert_eq!(parse_csv(&out.stdout).1.len(), 2);
}

#[test]
fn other_conditions_filter_the_rows_fetched() {
    let server = start();
    let want = reference(&server);
    let t = |r: &Row, k: &str| r[k].as_str().map(str::to_string);
    let cases: Vec<(&str, Keep)> = vec![
        (
            "status = 'Enable' AND is_organization_trail",
            Box::new(|r: &Row| r["status"] == "Enable" && r["is_organization_trail"] == true),
        ),
        (
            "stop_logging_time > '2000-01-01'",
            Box::new(|r: &Row| !r["stop_logging_time"].is_null()),
        ),
        // NULL > x is unknown, and so is its negation: neither keeps the row.
        (
            "NOT (stop_logging_time > '2000-01-01')",
            Box::new(|_: &Row| false),
        ),
        (
            "stop_logging_time IS NULL",
            Box::new(|r: &Row| r["stop_logging_time"].is_null()),
        ),
        (
            "name LIKE 'beijing%' AND region <> home_region",
            Box::new(move |r: &Row| {
                t(r, "name").is_some_and(|n| n.starts_with("beijing"))
                    && t(r, "region") != t(r, "home_region")
            }),
        ),
        (
            "create_time >= '2022-01-01' OR event_rw = 'All'",
            Box::new(move |r: &Row| {
                t(r, "create_time").is_some_and(|c| c.as_str() >= "2022-01-01")
                    || r["event_rw"] == "All"
            }),
        ),
        (
            "is_shadow_trail IS NOT TRUE AND trail_region NOT IN ('All')",
            Box::new(|r: &Row| r["is_shadow_trail"] != true && r["trail_region"] != "All"),
        ),
        (
            "oss_bucket_location IS NOT NULL AND oss_bucket_location <> ''",
            Box::new(|r: &Row| !r["oss_bucket_location"].is_null()),
        ),
    ];
    for (condition, keep) in cases {
        server.clear_calls();
        let out = export(&server, &["-o", "json", "--where", condition]).ok();
        let got: Vec<Row> = serde_json::from_str(&out.stdout).expect("a JSON array");
        let expected: Vec<Row> = want.iter().filter(|r| keep(r)).cloned().collect();
        assert_eq!(sorted(got), sorted(expected), "{condition}");
        let calls = calls_of(&server, "DescribeTrails");
        assert_eq!(calls.len(), 4, "{condition}");
        assert!(calls.iter().all(|c| !c.params.contains_key("NameList")));
    }
    // Hand-counted, so the reference cannot be wrong in the same way as the binary.
    let count = |condition: &str| {
        let out = export(
            &server,
            &["-o", "jsonl", "--select", "name", "--where", condition],
        )
        .ok();
        out.stdout.lines().count()
    };
    assert_eq!(count("status = 'Enable' AND is_organization_trail"), 1);
    assert_eq!(count("stop_logging_time > '2000-01-01'"), 5);
    assert_eq!(count("NOT (stop_logging_time > '2000-01-01')"), 0);
    assert_eq!(count("is_shadow_trail"), 6);
    assert_eq!(count("NOT is_shadow_trail"), 5);
}

#[test]
fn limit_counts_rows_after_the_filter() {
    let server = start();
    let out = export(
        &server,
        &[
            "-o",
            "csv",
            "--select",
            "name,region",
            "--where",
            "name <> 'test-4'",
            "--limit",
            "3",
        ],
    )
    .ok();
    let rows = parse_csv(&out.stdout).1;
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["name"] != "test-4"));
    let out = export(&server, &["-o", "csv", "--limit", "0", "--select", "name"]).ok();
    assert_eq!(out.stdout, "name\n");
    let out = export(&server, &["-o", "json", "--limit", "0"]).ok();
    assert_eq!(out.stdout, "[]\n");
}

#[test]
fn a_failing_region_exits_1_and_says_where_and_why() {
    let server = start();
    server.set_fault(
        "cn-beijing",
        Fault {
            error_code: Some("Forbidden.RAM".into()),
            request_id: Some("5A1E2B3C-0000-4000-8000-00000000BEEF".into()),
            ..Fault::default()
        },
    );
    let out = export(&server, &["-o", "csv"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    for part in [
        "cn-beijing",
        "Forbidden.RAM",
        "request id: 5A1E2B3C-0000-4000-8000-00000000BEEF",
        "hint:",
        "--ignore-error-codes",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part} missing from: {}",
            out.stderr
        );
    }
    // The same code, listed in --ignore-error-codes: the region is skipped with one warning line.
    let out = export(
        &server,
        &[
            "-o",
            "csv",
            "--select",
            "name,region",
            "--ignore-error-codes",
            "NoPermission,Forbidden.RAM",
        ],
    )
    .ok();
    let rows = parse_csv(&out.stdout).1;
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r["region"] != "cn-beijing"));
    let warnings: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("warning: skipping region cn-beijing")
            && warnings[0].contains("Forbidden.RAM"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_wrong_secret_exits_1_without_showing_it() {
    let server = start();
    let env = Env::empty()
        .var("ALIBABA_CLOUD_ACCESS_KEY_ID", mock::DEFAULT_ACCESS_KEY_ID)
        .var("ALIBABA_CLOUD_ACCESS_KEY_SECRET", WRONG_SECRET);
    let out = env.run(&args(&server, &["-o", "csv"]));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("SignatureDoesNotMatch"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "{}",
        out.stderr
    );
    // On the command line (discouraged, but it works) the flag's value is never shown either.
    let out = Env::empty().run(&args(
        &server,
        &[
            "--access-key-id",
            mock::DEFAULT_ACCESS_KEY_ID,
            "--access-key-secret",
            FLAG_SECRET,
        ],
    ));
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("--access-key-secret"), "{}", out.stderr);
    let out = Env::empty().run(&args(
        &server,
        &[
            "--access-key-id",
            mock::DEFAULT_ACCESS_KEY_ID,
            &format!("--access-key-secret={}", mock::DEFAULT_ACCESS_KEY_SECRET),
            "-o",
            "csv",
        ],
    ));
    assert_eq!(parse_csv(&out.ok().stdout).1.len(), 11);
}

#[test]
fn usage_errors_exit_2_before_any_call() {
    let server = start();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--where", "nope = 'x'"], "unknown column \"nope\""),
        (vec!["--where", "nope = 'x'"], "home_region, region"),
        (vec!["--where", "name = "], "cannot parse --where"),
        (vec!["--where", "lower(name) = 'x'"], "is not supported"),
        (
            vec!["--where", "status = 1"],
            "cannot compare text with number",
        ),
        (
            vec!["--where", "create_time > 'soon'"],
            "not a valid timestamp",
        ),
        (vec!["--where", "status"], "must be a condition"),
        (vec!["--select", "name,nope"], "unknown column \"nope\""),
        (vec!["--select", "name,nope"], "home_region, region"),
        (vec!["--select", "name,,region"], "empty column name"),
        (vec!["--timeout-ms", "0"], "--timeout-ms"),
        (vec!["--max-attempts", "99"], "--max-attempts"),
        (vec!["--regions", "cn_hangzhou"], "--regions"),
        (vec!["--endpoint", "ftp://x"], "--endpoint"),
        (vec!["--endpoint-type", "intranet"], "--endpoint-type"),
        (
            vec!["--ignore-error-codes", "not a code"],
            "--ignore-error-codes",
        ),
        (vec!["--access-key-id", "x"], "--access-key-secret"),
        (vec!["--security-token", FLAG_SECRET], "--security-token"),
        (vec!["--output", "xml"], "xml"),
        (vec!["--limit", "ten"], "--limit"),
        (vec!["--regionz", "x"], "--regions"),
    ];
    for (extra, says) in cases {
        let out = export(&server, &extra);
        assert_eq!(out.code, Some(2), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{extra:?}");
        assert!(
            out.stderr.contains(says),
            "{extra:?}: {says} missing from: {}",
            out.stderr
        );
    }
    let out = Env::with_keys().run(&["alicloud_trails".to_string()]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("alicloud_action_trail"),
        "{}",
        out.stderr
    );
    assert_eq!(Env::with_keys().run(&[]).code, Some(2));
    assert!(server.calls().is_empty(), "{:?}", server.calls());
}

#[test]
fn no_credentials_exit_3() {
    let server = start();
    let out = Env::empty().run(&args(&server, &[]));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("no Alibaba Cloud credentials found"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        "{}",
        out.stderr
    );
    let out = Env::with_keys().run(&args(&server, &["--profile", "nope"]));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("\"nope\""), "{}", out.stderr);
    assert!(server.calls().is_empty());
}

fn write_profile(home: &Path, region: &str) {
    let dir = home.join(".aliyun");
    std::fs::create_dir_all(&dir).expect("a directory");
    let profile = serde_json::json!({
        "current": "main",
        "profiles": [{
            "name": "main", "mode": "AK",
            "access_key_id": mock::DEFAULT_ACCESS_KEY_ID,
            "access_key_secret": mock::DEFAULT_ACCESS_KEY_SECRET,
            "region_id": region
        }]
    });
    std::fs::write(dir.join("config.json"), profile.to_string()).expect("the profile file");
}

#[test]
fn the_profile_file_gives_keys_and_the_region() {
    let server = start();
    let env = Env::empty();
    write_profile(env.home.path(), "cn-shanghai");
    let out = env
        .run(&[
            TABLE.to_string(),
            "--endpoint".into(),
            server.endpoint_template(),
            "--cache-ttl".into(),
            "0".into(),
            "-o".into(),
            "csv".into(),
            "--select".into(),
            "name,region,sp_connection_name,_ctx".into(),
        ])
        .ok();
    assert_eq!(regions_called(&server), ["cn-shanghai"]);
    let (_, rows) = parse_csv(&out.stdout);
    assert_eq!(rows.len(), 3);
    // A connection no profile option names is called alicloud; --profile names it.
    let names = |rows: &[Row], want: &str| {
        rows.iter().all(|r| {
            r["sp_connection_name"] == want
                && r["_ctx"] == serde_json::json!({"connection_name": want})
        })
    };
    assert!(names(&rows, "alicloud"), "{rows:?}");
    let out = env
        .run(&[
            TABLE.to_string(),
            "--endpoint".into(),
            server.endpoint_template(),
            "--cache-ttl".into(),
            "0".into(),
            "--profile".into(),
            "main".into(),
            "-o".into(),
            "csv".into(),
            "--select".into(),
            "name,sp_connection_name,_ctx".into(),
        ])
        .ok();
    let (_, rows) = parse_csv(&out.stdout);
    assert!(rows.len() == 3 && names(&rows, "main"), "{rows:?}");
    // The environment's region wins over the profile's.
    server.clear_calls();
    let env = env.var("ALIBABA_CLOUD_REGION_ID", "cn-shenzhen");
    env.run(&[
        TABLE.to_string(),
        "--endpoint".into(),
        server.endpoint_template(),
        "--cache-ttl".into(),
        "0".into(),
        "--select".into(),
        "name,region".into(),
    ])
    .ok();
    assert_eq!(regions_called(&server), ["cn-shenzhen"]);
}

#[test]
fn the_cache_answers_a_second_run() {
    let server = start();
    let env = Env::with_keys();
    let mut a = args(&server, &["-o", "csv", "--select", "name,region"]);
    let ttl = a.iter().position(|x| x == "--cache-ttl").expect("the flag") + 1;
    a[ttl] = "0".into();
    let first = env.run(&a).ok();
    let second = env.run(&a).ok();
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(
        calls_of(&server, "DescribeTrails").len(),
        8,
        "TTL 0: no cache"
    );
    assert!(!env.cache_dir().exists(), "TTL 0 writes nothing");
    server.clear_calls();
    a[ttl] = "300".into();
    let first = env.run(&a).ok();
    assert_eq!(calls_of(&server, "DescribeTrails").len(), 4);
    let second = env.run(&a).ok();
    assert_eq!(
        calls_of(&server, "DescribeTrails").len(),
        4,
        "the second run is answered by the cache"
    );
    assert_eq!(first.stdout, second.stdout);
    assert!(env.cache_dir().join("alicloud-tables").is_dir());
}

#[test]
fn ctrl_c_while_a_region_hangs_exits_130() {
    let server = start();
    server.set_fault(
        "cn-shenzhen",
        Fault {
            hang: Some(true),
            ..Fault::default()
        },
    );
    let env = Env::with_keys();
    // Without the interrupt, the hanging call would be waited for an hour.
    let mut child = env
        .command(&args(
            &server,
            &[
                "--timeout-ms",
                "3600000",
                "--max-attempts",
                "1",
                "-o",
                "csv",
            ],
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Wait until the call that hangs has reached the mock (the binary is then in the scan).
    let seen = Instant::now();
    while !server
        .calls()
        .iter()
        .any(|c| c.region == "cn-shenzhen" && c.outcome == "hang")
    {
        assert!(
            seen.elapsed() < Duration::from_secs(60),
            "the hanging call never arrived"
        );
        assert!(
            child.try_wait().expect("a status").is_none(),
            "the binary ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The watchdog in interrupt() is far beyond "promptly": the hanging call would last an hour.
    let out = interrupt(child);
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

/// Sends SIGINT to `child` and waits (a watchdog only) for it to end.
fn interrupt(mut child: std::process::Child) -> Run {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let waited = Instant::now();
    while child.try_wait().expect("a status").is_none() {
        if waited.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("SIGINT did not end the export");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run::of(child.wait_with_output().expect("the output"))
}

#[test]
fn ctrl_c_while_the_reader_stalls_exits_130() {
    let server = start();
    // Answers of about 100 kB per region: far more than a pipe holds, so the writing blocks on a
    // reader that never reads.
    server.set_fault(
        "*",
        Fault {
            append_item: Some(serde_json::json!({
                "Name": "big", "HomeRegion": "cn-beijing", "OssKeyPrefix": "x".repeat(100_000)
            })),
            ..Fault::default()
        },
    );
    let mut child = Env::with_keys()
        .command(&args(&server, &["-o", "csv"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take();
    let seen = Instant::now();
    while calls_of(&server, "DescribeTrails").len() < 4 {
        assert!(
            seen.elapsed() < Duration::from_secs(60),
            "the calls never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = interrupt(child);
    drop(stdout);
    assert_eq!(out.code, Some(130), "{}", out.stderr);
}

#[test]
fn help_lists_every_option_and_the_exit_codes() {
    let out = Env::empty().run(&["--help".to_string()]).ok();
    for def in alicloud_tables::options::portable() {
        let flag = format!("--{}", def.name.replace('_', "-"));
        assert!(out.stdout.contains(&flag), "{flag} missing from --help");
        assert!(out.stdout.contains(def.help), "the help of {flag} missing");
    }
    for part in [
        "Exit codes:",
        "130",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ps",
    ] {
        assert!(out.stdout.contains(part), "{part} missing from --help");
    }
    let out = Env::empty().run(&["--list-tables".to_string()]).ok();
    assert!(out.stdout.starts_with("alicloud_action_trail\t"));
    let out = Env::empty()
        .run(&[TABLE.to_string(), "--list-columns".to_string()])
        .ok();
    assert_eq!(out.stdout.lines().count(), table().columns.len());
    // A reader that goes away (`| head`) is no error.
    let mut child = Env::empty()
        .command(&[TABLE.to_string(), "--list-columns".to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    drop(child.stdout.take());
    let out = Run::of(child.wait_with_output().expect("the output"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

#[test]
fn member_accounts_are_scanned_in_one_run() {
    let server = start();
    let out = export(
        &server,
        &[
            "--member-accounts",
            "1111111111111111,3333333333333333",
            "--member-role-name",
            "ActionTrailAudit",
            "--where",
            "account_id = '3333333333333333'",
            "-o",
            "csv",
            "--select",
            "sp_connection_name,account_id,region,name",
        ],
    )
    .ok();
    let (_, rows) = parse_csv(&out.stdout);
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["sp_connection_name"], r["account_id"], r["region"], r["name"]
            )
        })
        .collect();
    // acme-audit-trail in each of the four regions, and the directory's multi-account trail,
    // which a member lists in its home region (cn-shanghai).
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(
        got.iter()
            .all(|r| r.starts_with(r#""alicloud.3333333333333333" "3333333333333333""#)),
        "{got:?}"
    );
    assert_eq!(
        got.iter()
            .filter(|r| r.ends_with(r#""org-audit-shanghai""#))
            .count(),
        1,
        "{got:?}"
    );
    // account_id chose the member before any call: one role session, 3333's only.
    assert_eq!(calls_of(&server, "AssumeRole").len(), 1);
}
