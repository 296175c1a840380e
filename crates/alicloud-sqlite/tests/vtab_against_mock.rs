//! The built extension loaded into the `sqlite3` shell, against an in-process mock API: pushdown
//! proven by the mock's call log, one snapshot per statement, a failing region's error, the
//! partial-failure policy, keys from the environment, configure errors, and SIGINT stopping a
//! query that waits on a hanging region. (tests/frontends/sqlite.sh keeps what needs PostgreSQL
//! beside it, a second process's cache hit, and Python's module.)
//!
//! The extension is the cdylib `cargo test` builds beside this test's binary. The secret reaches
//! the shell through a private script file written here, never its command line.

use alicloud_mock_api::{self as mock, Fault, MockConfig, MockServer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The extension this crate builds, beside the test binary (`target/<profile>/deps/`).
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let lib = exe
        .parent()
        .expect("the deps directory")
        .join("libalicloud_sqlite.so");
    assert!(lib.exists(), "{} is missing", lib.display());
    lib
}

/// A private directory for one test: the configure scripts, the cache.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        Work {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A script that loads the extension and configures it for `server` (four regions, the
    /// default key, no cache) with `extra` JSON members on top.
    fn configure(&self, server: &MockServer, extra: serde_json::Value) -> PathBuf {
        let mut options = serde_json::json!({
            "regions": "cn-hangzhou,cn-shanghai,cn-beijing,cn-shenzhen",
            "endpoint": server.endpoint_template(),
            "sts_endpoint": server.url(),
            "retry_base_delay_ms": 20,
            "access_key_id": mock::DEFAULT_ACCESS_KEY_ID,
            "access_key_secret": mock::DEFAULT_ACCESS_KEY_SECRET,
            "cache_ttl": 0,
        });
        for (k, v) in extra.as_object().expect("an object") {
            options[k] = v.clone();
        }
        let lib = library();
        let lib = lib.to_str().expect("a UTF-8 path");
        let text = options.to_string().replace('\'', "''");
        let script = format!(
            ".output /dev/null\n.load {}\nselect alicloud_configure('{text}');\n.output stdout\n",
            lib.trim_end_matches(".so")
        );
        static SCRIPTS: AtomicUsize = AtomicUsize::new(0);
        let n = SCRIPTS.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("configure-{n}.sql"));
        std::fs::write(&path, script).expect("the script");
        path
    }

    fn cache_home(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
}

/// What one run of the shell printed.
struct Shell {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `sql` in `sqlite3` after the `configure` script, with `env` set.
fn sqlite(work: &Work, configure: &Path, sql: &str, env: &[(&str, &str)]) -> Shell {
    let mut script = std::fs::read_to_string(configure).expect("the configure script");
    script.push_str(sql);
    script.push('\n');
    let mut cmd = Command::new("sqlite3");
    cmd.args(["-batch", "-bail", "-list", ":memory:"])
        .env("XDG_CACHE_HOME", work.cache_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .expect("the sqlite3 shell (scripts/bootstrap.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("the script reaches the shell");
    let out = child.wait_with_output().expect("the shell ends");
    let shell = Shell {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for text in [&shell.stdout, &shell.stderr] {
        assert!(!text.contains(mock::DEFAULT_ACCESS_KEY_SECRET), "{text}");
    }
    shell
}

fn start() -> MockServer {
    MockServer::start_blocking(MockConfig::default()).expect("the mock starts")
}

/// The calls the mock received, as `region action` with the `NameList` when one was sent.
fn calls(server: &MockServer) -> Vec<String> {
    let mut out: Vec<String> = server
        .calls()
        .iter()
        .map(|c| match c.params.get("NameList") {
            Some(n) => format!("{} {} NameList={n}", c.region, c.action),
            None => format!("{} {}", c.region, c.action),
        })
        .collect();
    out.sort();
    out
}

#[test]
fn equality_and_in_on_key_columns_narrow_the_calls() {
    let server = start();
    let work = Work::new();
    let conf = work.configure(&server, serde_json::json!({}));
    let out = sqlite(
        &work,
        &conf,
        "select count(*) from alicloud_action_trail where region = 'cn-beijing';",
        &[],
    );
    assert_eq!(out.stdout.trim(), "3", "{}", out.stderr);
    assert_eq!(calls(&server), ["cn-beijing DescribeTrails"]);

    // The connection columns: no profile option, so the connection is called alicloud.
    let out = sqlite(
        &work,
        &conf,
        "select distinct sp_connection_name, _ctx ->> 'connection_name', sp_ctx from alicloud_action_trail where region = 'cn-beijing';",
        &[],
    );
    assert_eq!(
        out.stdout.trim(),
        r#"alicloud|alicloud|{"connection_name":"alicloud"}"#,
        "{}",
        out.stderr
    );

    server.clear_calls();
    let out = sqlite(
        &work,
        &conf,
        "select count(*) from alicloud_action_trail where region in ('cn-beijing', 'cn-shenzhen');",
        &[],
    );
    assert_eq!(out.stdout.trim(), "5", "{}", out.stderr);
    assert_eq!(
        calls(&server),
        ["cn-beijing DescribeTrails", "cn-shenzhen DescribeTrails"]
    );

    server.clear_calls();
    let out = sqlite(
        &work,
        &conf,
        "select count(*) from alicloud_action_trail where name in ('test-4', 'beijing-disabled');",
        &[],
    );
    assert_eq!(out.stdout.trim(), "5", "{}", out.stderr);
    let sent = calls(&server);
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(
        sent.iter()
            .all(|c| c.ends_with("DescribeTrails NameList=beijing-disabled,test-4")),
        "{sent:?}"
    );
}

#[test]
fn each_statement_has_one_snapshot() {
    let server = start();
    let work = Work::new();
    let conf = work.configure(&server, serde_json::json!({}));
    let self_join = "select count(*) from alicloud_action_trail a join alicloud_action_trail b on a.name = b.name and a.region = b.region;";
    let out = sqlite(&work, &conf, self_join, &[]);
    assert_eq!(out.stdout.trim(), "11", "{}", out.stderr);
    assert_eq!(calls(&server).len(), 4, "each region once");
    server.clear_calls();
    let out = sqlite(&work, &conf, &format!("{self_join}\n{self_join}"), &[]);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(calls(&server).len(), 8, "two statements: each region twice");
}

#[test]
fn a_failing_region_is_named_with_code_and_request_id_or_skipped() {
    let server = start();
    let work = Work::new();
    server.set_fault(
        "cn-beijing",
        Fault {
            error_code: Some("Forbidden.RAM".into()),
            request_id: Some("REQ-SQLITE-1".into()),
            ..Fault::default()
        },
    );
    let conf = work.configure(&server, serde_json::json!({}));
    let out = sqlite(
        &work,
        &conf,
        "select count(*) from alicloud_action_trail;",
        &[],
    );
    assert!(!out.ok);
    for want in [
        "region cn-beijing",
        "Forbidden.RAM",
        "request id: REQ-SQLITE-1",
    ] {
        assert!(out.stderr.contains(want), "{want}: {}", out.stderr);
    }

    let skipping = work.configure(
        &server,
        serde_json::json!({"ignore_error_codes": "Forbidden.RAM"}),
    );
    let out = sqlite(
        &work,
        &skipping,
        "select count(*) from alicloud_action_trail;",
        &[],
    );
    assert_eq!(out.stdout.trim(), "8", "{}", out.stderr);
    assert!(out.stderr.is_empty(), "nothing printed: {}", out.stderr);
    let out = sqlite(
        &work,
        &skipping,
        ".log stderr\nselect count(*) from alicloud_action_trail;",
        &[],
    );
    assert!(
        out.stderr.contains(
            "(28) alicloud_action_trail: skipping region cn-beijing: DescribeTrails failed with Forbidden.RAM (request id REQ-SQLITE-1)"
        ),
        "a SQLITE_WARNING in sqlite3_log: {}",
        out.stderr
    );
}

#[test]
fn keys_come_from_the_environment_when_the_configuration_has_none() {
    let server = start();
    let work = Work::new();
    let conf = work.configure(
        &server,
        serde_json::json!({"access_key_id": null, "access_key_secret": null}),
    );
    assert!(!std::fs::read_to_string(&conf)
        .unwrap()
        .contains(mock::DEFAULT_ACCESS_KEY_SECRET));
    let out = sqlite(
        &work,
        &conf,
        "select count(*) from alicloud_action_trail;",
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", mock::DEFAULT_ACCESS_KEY_ID),
            (
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                mock::DEFAULT_ACCESS_KEY_SECRET,
            ),
        ],
    );
    assert_eq!(out.stdout.trim(), "11", "{}", out.stderr);
    let home = work.dir.path().join("home");
    let out = sqlite(
        &work,
        &conf,
        "select count(*) from alicloud_action_trail;",
        &[("HOME", home.to_str().unwrap())],
    );
    assert!(!out.ok);
    assert!(
        out.stderr.contains("no Alibaba Cloud credentials found")
            && out
                .stderr
                .contains("Hint: Give access_key_id and access_key_secret in alicloud_configure"),
        "{}",
        out.stderr
    );
    let out = sqlite(
        &work,
        &conf,
        "select alicloud_configure('{\"regoins\": \"cn-beijing\"}');",
        &[],
    );
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("unknown key \"regoins\"; the valid keys are: regions, "),
        "{}",
        out.stderr
    );
}

#[test]
fn sigint_stops_a_query_waiting_on_a_hanging_region() {
    let server = start();
    let work = Work::new();
    server.set_fault("cn-beijing", Fault::hang());
    // An hour per attempt and one attempt: only the interrupt can end the query.
    let conf = work.configure(
        &server,
        serde_json::json!({"timeout_ms": "3600000", "max_attempts": "1"}),
    );
    let mut script = std::fs::read_to_string(&conf).unwrap();
    script.push_str("select count(*) from alicloud_action_trail;\n");
    let mut child = Command::new("sqlite3")
        .args(["-batch", ":memory:"])
        .env("XDG_CACHE_HOME", work.cache_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sqlite3 shell");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let waited = Instant::now();
    while !server.calls().iter().any(|c| c.region == "cn-beijing") {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the hanging region was never called"
        );
        assert!(child.try_wait().unwrap().is_none(), "the shell ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: SIGINT to our own child process, which is still running.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn member_accounts_are_scanned_in_one_query() {
    let server = start();
    let work = Work::new();
    let conf = work.configure(
        &server,
        serde_json::json!({
            "member_accounts": "1111111111111111,2222222222222222,4444444444444444",
            "member_role_name": "ActionTrailAudit",
            "member_failure": "skip",
        }),
    );
    let out = sqlite(
        &work,
        &conf,
        ".log stderr\nselect sp_connection_name, account_id, name from alicloud_action_trail where region = 'cn-beijing' order by 2;",
        &[],
    );
    assert_eq!(
        out.stdout.trim(),
        "alicloud.1111111111111111|1111111111111111|acme-prod-trail\n\
         alicloud.2222222222222222|2222222222222222|acme-dev-trail",
        "{}",
        out.stderr
    );
    // The member whose role does not trust the caller is a warning in sqlite3_log.
    assert!(
        out.stderr.contains(
            "(28) alicloud_action_trail: skipping member alicloud.4444444444444444 (account 4444444444444444, role acs:ram::4444444444444444:role/ActionTrailAudit): AssumeRole failed in "
        ) && out.stderr.contains("with NoPermission"),
        "{}",
        out.stderr
    );
}

#[test]
fn like_on_the_connection_name_chooses_the_members_before_any_call() {
    let server = start();
    let work = Work::new();
    let conf = work.configure(
        &server,
        serde_json::json!({
            "member_accounts": "1111111111111111,2222222222222222,3333333333333333",
            "member_role_name": "ActionTrailAudit",
        }),
    );
    // SQLite's LIKE folds ASCII letters: the upper-case pattern matches, as it does on the rows.
    let out = sqlite(
        &work,
        &conf,
        "select sp_connection_name, name from alicloud_action_trail where sp_connection_name like 'ALICLOUD.1111%' and region = 'cn-beijing';",
        &[],
    );
    assert_eq!(
        out.stdout.trim(),
        "alicloud.1111111111111111|acme-prod-trail",
        "{}",
        out.stderr
    );
    // Only the member the pattern names was reached: its role, then its region.
    let calls = calls(&server);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls.contains(&"cn-beijing DescribeTrails".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.ends_with(" AssumeRole")),
        "{calls:?}"
    );
}
