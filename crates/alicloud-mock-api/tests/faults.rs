//! Faults, the admin endpoint and the ECS metadata service.

mod common;

use alicloud_mock_api::*;
use common::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn throttle_n_then_success() {
    let server = MockServer::start(MockConfig {
        faults: vec![(
            "cn-beijing".into(),
            Fault {
                throttle: Some(2),
                retry_after_ms: Some(50),
                ..Fault::default()
            },
        )],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let r = describe_trails(&server, "cn-beijing", &[]).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.code(), "Throttling.User");
        assert_eq!(r.headers["x-acs-retry-after"], "50");
    }
    // Other regions and STS are not throttled.
    assert_eq!(
        describe_trails(&server, "cn-hangzhou", &[]).await.status,
        200
    );
    let r = call(&server, "cn-beijing", "GetCallerIdentity", &[], DEFAULT_KEY).await;
    assert_eq!(r.status, 200);
    let r = describe_trails(&server, "cn-beijing", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let outcomes: Vec<(String, String)> = server
        .calls()
        .into_iter()
        .map(|c| (c.region, c.outcome))
        .collect();
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        outcomes,
        [
            s("cn-beijing", "Throttling.User"),
            s("cn-beijing", "Throttling.User"),
            s("cn-hangzhou", "ok"),
            s("cn-beijing", "ok"),
            s("cn-beijing", "ok"),
        ]
    );
    assert_eq!(server.faults()["cn-beijing"].throttle, Some(0));
}

#[tokio::test]
async fn server_errors_count_down_and_pick_a_status() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "*",
        Fault {
            server_error: Some(1),
            ..Fault::default()
        },
    );
    let r = describe_trails(&server, "cn-qingdao", &[]).await;
    assert_eq!((r.status, r.code().as_str()), (503, "ServiceUnavailable"));
    assert_eq!(
        describe_trails(&server, "cn-qingdao", &[]).await.status,
        200
    );
    server.set_fault(
        "cn-qingdao",
        Fault {
            server_error: Some(1),
            server_error_status: Some(500),
            ..Fault::default()
        },
    );
    let r = describe_trails(&server, "cn-qingdao", &[]).await;
    assert_eq!((r.status, r.code().as_str()), (500, "InternalError"));
    server.clear_faults();
    assert_eq!(
        describe_trails(&server, "cn-qingdao", &[]).await.status,
        200
    );
}

#[tokio::test]
async fn permanent_error_code_in_one_region() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-beijing",
        Fault {
            error_code: Some("Forbidden.RAM".into()),
            error_status: Some(403),
            ..Fault::default()
        },
    );
    for _ in 0..3 {
        let r = describe_trails(&server, "cn-beijing", &[]).await;
        assert_eq!((r.status, r.code().as_str()), (403, "Forbidden.RAM"));
        assert!(r.json()["HostId"].as_str().unwrap().contains("cn-beijing"));
    }
    assert_eq!(
        describe_trails(&server, "cn-shanghai", &[]).await.status,
        200
    );
    // The actions list widens (or narrows) what a fault hits.
    server.set_fault(
        "cn-beijing",
        Fault {
            error_code: Some("NoPermission".into()),
            actions: Some(vec!["GetCallerIdentity".into()]),
            ..Fault::default()
        },
    );
    let r = call(&server, "cn-beijing", "GetCallerIdentity", &[], DEFAULT_KEY).await;
    assert_eq!((r.status, r.code().as_str()), (403, "NoPermission"));
    assert_eq!(
        describe_trails(&server, "cn-beijing", &[]).await.status,
        200
    );
}

#[tokio::test]
async fn html_and_malformed_answers() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-beijing",
        Fault {
            html_error: Some(true),
            ..Fault::default()
        },
    );
    server.set_fault(
        "cn-shanghai",
        Fault {
            malformed_json: Some(true),
            ..Fault::default()
        },
    );
    let r = describe_trails(&server, "cn-beijing", &[]).await;
    assert_eq!(r.status, 502);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.body.contains("<html>"));
    let r = describe_trails(&server, "cn-shanghai", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with('{'));
    assert!(serde_json::from_str::<serde_json::Value>(&r.body).is_err());
    let outcomes: Vec<String> = server.calls().into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["html_error", "malformed_json"]);
}

#[tokio::test]
async fn hang_does_not_block_other_regions() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("cn-beijing", Fault::hang());
    let p = signed(
        "POST",
        common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
        DEFAULT_ACCESS_KEY_SECRET,
    );
    let url = format!("{}/cn-beijing?{}", server.url(), query_string(&p));
    let hung = tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(800))
            .build()
            .unwrap();
        let started = Instant::now();
        let r = client.post(url).send().await;
        (r.is_err_and(|e| e.is_timeout()), started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let r = describe_trails(&server, "cn-hangzhou", &[]).await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_millis(500));
    let (timed_out, elapsed) = hung.await.unwrap();
    assert!(timed_out);
    assert!(elapsed >= Duration::from_millis(800));
    assert_eq!(server.calls()[0].outcome, "hang");
}

#[tokio::test]
async fn latency_and_most_specific_fault() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("*", Fault::latency(300));
    server.set_fault("cn-hangzhou", Fault::default());
    let t = Instant::now();
    assert_eq!(
        describe_trails(&server, "cn-beijing", &[]).await.status,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(
        describe_trails(&server, "cn-hangzhou", &[]).await.status,
        200
    );
    assert!(t.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn trickled_body_is_complete_but_slow() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-beijing",
        Fault {
            trickle_ms: Some(5),
            ..Fault::default()
        },
    );
    let p = signed(
        "POST",
        common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
        DEFAULT_ACCESS_KEY_SECRET,
    );
    let url = format!("{}/cn-beijing?{}", server.url(), query_string(&p));
    let t = Instant::now();
    let mut resp = http().post(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers_after = t.elapsed();
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["TrailList"].as_array().unwrap().len(), 2);
    assert!(chunks > 10, "{chunks} chunks");
    let expected = Duration::from_millis(5 * (body.len() / 16) as u64);
    assert!(t.elapsed() >= expected, "{:?} < {expected:?}", t.elapsed());
    assert!(headers_after < expected);
}

#[tokio::test]
async fn admin_endpoint() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = http();
    let base = server.url();
    let health = c.get(format!("{base}/_admin/health")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");

    let r = c
        .put(format!("{base}/_admin/faults/cn-beijing"))
        .body(r#"{"throttle":1,"retry_after_ms":20}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .put(format!("{base}/_admin/faults/*"))
        .body(r#"{"latency_ms":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .put(format!("{base}/_admin/faults/cn-beijing"))
        .body(r#"{"trottle":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "unknown fields are refused");
    let r = c
        .put(format!("{base}/_admin/faults/Beijing"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let faults: serde_json::Value = c
        .get(format!("{base}/_admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["cn-beijing"]["throttle"], 1);
    assert_eq!(faults["*"]["latency_ms"], 1);
    assert_eq!(
        describe_trails(&server, "cn-beijing", &[]).await.code(),
        "Throttling.User"
    );

    let r = c
        .delete(format!("{base}/_admin/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(server.faults().is_empty());

    server.clear_calls();
    describe_trails(
        &server,
        "cn-shanghai",
        &[("NameList", "b,a"), ("IncludeShadowTrails", "true")],
    )
    .await;
    describe_trails(&server, "cn-beijing", &[]).await;
    call(&server, "cn-hangzhou", "DescribeRegions", &[], DEFAULT_KEY).await;
    let text = c
        .get(format!("{base}/_admin/calls?format=text"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        text,
        "cn-beijing DescribeTrails\ncn-hangzhou DescribeRegions\ncn-shanghai DescribeTrails IncludeShadowTrails=true NameList=b,a\n"
    );
    assert_eq!(text, server.calls_text());
    let json: Vec<Call> = c
        .get(format!("{base}/_admin/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json, server.calls());
    assert!(!serde_json::to_string(&json)
        .unwrap()
        .contains(DEFAULT_ACCESS_KEY_SECRET));
    c.delete(format!("{base}/_admin/calls"))
        .send()
        .await
        .unwrap();
    assert!(server.calls().is_empty());
    // Admin requests are not calls.
    c.get(format!("{base}/_admin/health")).send().await.unwrap();
    assert!(server.calls().is_empty());
}

#[tokio::test]
async fn ecs_metadata_flow() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = http();
    let base = server.url();
    let token = c
        .put(format!("{base}/latest/api/token"))
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "60")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(token.len() > 20);
    let roles = c
        .get(format!("{base}/latest/meta-data/ram/security-credentials/"))
        .header("X-aliyun-ecs-metadata-token", &token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(roles, ECS_ROLE_NAME);
    let r = c
        .get(format!(
            "{base}/latest/meta-data/ram/security-credentials/{ECS_ROLE_NAME}"
        ))
        .header("X-aliyun-ecs-metadata-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["Code"], "Success");
    for f in [
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
        "LastUpdated",
    ] {
        assert!(v[f].is_string(), "{f}");
    }
    // A bad token is refused; no token is fine unless the fixture requires one.
    let r = c
        .get(format!(
            "{base}/latest/meta-data/ram/security-credentials/{ECS_ROLE_NAME}"
        ))
        .header("X-aliyun-ecs-metadata-token", "forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!(
            "{base}/latest/meta-data/ram/security-credentials/nope"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The credentials work, as the default account.
    let (id, secret, tok) = (
        v["AccessKeyId"].as_str().unwrap(),
        v["AccessKeySecret"].as_str().unwrap(),
        v["SecurityToken"].as_str().unwrap(),
    );
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[("SecurityToken", tok)],
        (id, secret),
    )
    .await;
    assert_eq!(r.trail_names(), ["hangzhou-fresh", "test-4"]);
    let r = call(
        &server,
        "cn-hangzhou",
        "GetCallerIdentity",
        &[("SecurityToken", tok)],
        (id, secret),
    )
    .await;
    assert_eq!(r.json()["AccountId"], DEFAULT_ACCOUNT_ID);
    assert_eq!(r.json()["IdentityType"], "AssumedRoleUser");
    // Metadata requests are not API calls.
    assert_eq!(server.calls().len(), 2);
    assert_eq!(server.metadata_requests().len(), 5);

    let mut fixture = Fixture::default_fixture();
    fixture.ecs_metadata_require_token = true;
    let strict = MockServer::start(MockConfig {
        fixture,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let r = c
        .get(format!(
            "{}/latest/meta-data/ram/security-credentials/{ECS_ROLE_NAME}",
            strict.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn start_blocking_serves_without_a_runtime() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(describe_trails(&server, "cn-hangzhou", &[]));
    assert_eq!(r.status, 200);
    let addr = server.addr();
    server.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err(), "stopped");
}
