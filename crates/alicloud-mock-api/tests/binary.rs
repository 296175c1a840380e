//! The `alicloud-mock-api` binary: flags, the listening line, the port file, signals.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_alicloud-mock-api");

#[test]
fn help_prints_usage() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["--bind", "--port", "--fixture", "--fault", "--port-file"] {
        assert!(text.contains(flag), "{flag}");
    }
}

#[test]
fn bad_flags_are_refused() {
    for args in [
        &["--fault", "cn-beijing:nonsense=1"][..],
        &["--port", "x"],
        &["--frobnicate"],
        &["--fixture", "/nonexistent/fixture.json"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn serves_until_sigterm() {
    let dir = std::env::temp_dir().join(format!("mock-api-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port_file = dir.join("port");
    let mut child = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--fault",
            "cn-beijing:throttle=1,retry_after_ms=5",
            "--port-file",
        ])
        .arg(&port_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"));
    let port: u16 = std::fs::read_to_string(&port_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(url.ends_with(&format!(":{port}")));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let health = c
            .get(format!("{url}/_admin/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(health, "ok");
        let faults: serde_json::Value = c
            .get(format!("{url}/_admin/faults"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(faults["cn-beijing"]["throttle"], 1);
        assert_eq!(faults["cn-beijing"]["retry_after_ms"], 5);
        // An unsigned request: logged to stderr with its region, action, status and outcome.
        let r = c
            .post(format!(
                "{url}/cn-qingdao?Action=DescribeTrails&Version=2020-07-06"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    });

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = Duration::ZERO;
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(waited < Duration::from_secs(10), "did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.is_empty(), "exactly one line on stdout, then {rest:?}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("POST cn-qingdao DescribeTrails 400 MissingParameter"),
        "{log}"
    );
    assert!(
        !log.contains("/_admin"),
        "admin requests are not logged: {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
