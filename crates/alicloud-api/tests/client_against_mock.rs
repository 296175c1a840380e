//! The client against the mock API over real HTTP, with real signature checks: every error kind,
//! retries and their limits (counted in the calls the mock saw), time limits, temporary credentials,
//! and the region fan-out.

use alicloud_api::{
    Client, ClientConfig, Connections, CredentialSource, Credentials, DescribeTrailsRequest,
    Endpoint, Error, Items, RetryPolicy,
};
use alicloud_mock_api as mock;
use alicloud_mock_api::{Fault, MockConfig, MockServer};
use std::future::Future;
use std::time::{Duration, Instant};

fn default_creds() -> Credentials {
    Credentials::new(mock::DEFAULT_ACCESS_KEY_ID, mock::DEFAULT_ACCESS_KEY_SECRET)
}

fn config(server: &MockServer) -> ClientConfig {
    ClientConfig {
        actiontrail_endpoint: Endpoint::parse(&server.endpoint_template()).unwrap(),
        sts_endpoint: Endpoint::parse(&server.url()).unwrap(),
        ecs_metadata_base: server.url(),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
        },
        ..ClientConfig::default()
    }
}

fn client(server: &MockServer, source: CredentialSource) -> Client {
    Client::new(config(server), source).unwrap()
}

fn all_trails() -> DescribeTrailsRequest {
    DescribeTrailsRequest {
        include_shadow_trails: true,
        include_organization_trail: true,
        name_list: vec![],
    }
}

/// DescribeTrails in every region, results in region order.
/// Every region's answer, all asked at once, in the order of `regions`.
async fn in_regions(c: &Client, regions: &[String]) -> Vec<(String, Result<Items, Error>)> {
    let asks = regions.iter().map(|region| async move {
        let answer = c.describe_trails(region, &all_trails()).await.result;
        (region.clone(), answer)
    });
    futures_util::future::join_all(asks).await
}

fn calls_to(server: &MockServer, region: &str, action: &str) -> usize {
    server
        .calls()
        .iter()
        .filter(|c| c.region == region && c.action == action)
        .count()
}

/// Every secret a test may have used; none may ever be printed.
const SECRETS: &[&str] = &[
    mock::DEFAULT_ACCESS_KEY_SECRET,
    mock::NO_PERMISSION_ACCESS_KEY_SECRET,
    "wrong-secret-for-the-test",
];

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "a secret leaked into: {text}");
    }
}

fn assert_error_is_clean(e: &Error) {
    assert_no_secret(&e.to_string());
    assert_no_secret(&format!("{e:?}"));
    assert_no_secret(&e.detail().unwrap_or_default());
    assert_no_secret(e.remedy().map_or("", |r| r.neutral()));
}

#[tokio::test]
async fn describe_trails_in_one_region() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));
    let answer = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    let names: Vec<_> = answer.items().filter_map(|t| t.text("Name")).collect();
    assert!(names.iter().any(|n| n == "test-4"), "{names:?}");
    assert!(answer.request_id().is_some());
    let sent = &server.calls()[0];
    assert_eq!(sent.params["IncludeShadowTrails"], "true");
    assert_eq!(sent.params["IncludeOrganizationTrail"], "true");
    assert_eq!(sent.outcome, "ok");
}

#[tokio::test]
async fn fan_out_keeps_region_order_and_errors_apart() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("cn-beijing", Fault::error("Forbidden.RAM"));
    let c = client(&server, CredentialSource::Static(default_creds()));
    let regions: Vec<String> = ["cn-shanghai", "cn-beijing", "cn-hangzhou", "us-east-1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let results = in_regions(&c, &regions).await;
    let order: Vec<_> = results.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        order,
        ["cn-shanghai", "cn-beijing", "cn-hangzhou", "us-east-1"]
    );
    assert!(results[0].1.is_ok() && results[2].1.is_ok() && results[3].1.is_ok());
    let e = results[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), Some("Forbidden.RAM"));
    assert_eq!(e.region(), Some("cn-beijing"));
    assert!(e.request_id().is_some());
    assert!(e
        .remedy()
        .unwrap()
        .neutral()
        .contains("AliyunActionTrailReadOnlyAccess"));
    // Not retried: permissions do not change between attempts.
    assert_eq!(calls_to(&server, "cn-beijing", "DescribeTrails"), 1);
    let total: usize = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|a| a.len())
        .sum();
    assert_eq!(total, 3 + 3 + 2);
}

#[tokio::test]
async fn throttling_is_retried_until_success() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-hangzhou",
        Fault {
            throttle: Some(2),
            retry_after_ms: Some(30),
            ..Fault::default()
        },
    );
    let c = client(&server, CredentialSource::Static(default_creds()));
    let start = Instant::now();
    c.describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    assert_eq!(calls_to(&server, "cn-hangzhou", "DescribeTrails"), 3);
    // The server's x-acs-retry-after (30 ms) is a floor for each of the two waits.
    assert!(start.elapsed() >= Duration::from_millis(60));
    // Every attempt was freshly signed: the mock rejects reused nonces.
    assert!(server
        .calls()
        .iter()
        .all(|c| c.outcome != "SignatureNonceUsed"));
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("cn-hangzhou", Fault::throttle(10));
    let c = client(&server, CredentialSource::Static(default_creds()));
    let e = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    assert_eq!(e.code(), Some("Throttling.User"));
    assert_eq!(calls_to(&server, "cn-hangzhou", "DescribeTrails"), 3);
    assert_error_is_clean(&e);
}

#[tokio::test]
async fn server_errors_are_retried_html_is_decoded_malformed_json_is_not_retried() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));

    server.set_fault(
        "cn-hangzhou",
        Fault {
            server_error: Some(1),
            ..Fault::default()
        },
    );
    c.describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    assert_eq!(calls_to(&server, "cn-hangzhou", "DescribeTrails"), 2);

    server.clear_calls();
    server.set_fault(
        "cn-hangzhou",
        Fault {
            html_error: Some(true),
            ..Fault::default()
        },
    );
    let e = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    match &e {
        Error::Decode {
            status, excerpt, ..
        } => {
            assert_eq!(*status, 502);
            assert!(excerpt.contains("502 Bad Gateway"), "{excerpt}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(
        calls_to(&server, "cn-hangzhou", "DescribeTrails"),
        3,
        "502 is retryable"
    );

    server.clear_calls();
    server.set_fault(
        "cn-hangzhou",
        Fault {
            malformed_json: Some(true),
            ..Fault::default()
        },
    );
    let e = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    assert!(matches!(e, Error::Decode { status: 200, .. }), "{e:?}");
    assert!(e.to_string().contains("invalid JSON"), "{e}");
    assert_eq!(calls_to(&server, "cn-hangzhou", "DescribeTrails"), 1);
}

#[tokio::test]
async fn a_trickling_body_arrives_whole() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault(
        "cn-hangzhou",
        Fault {
            trickle_ms: Some(2),
            ..Fault::default()
        },
    );
    let c = client(&server, CredentialSource::Static(default_creds()));
    let a = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    assert_eq!(a.len(), 3);
}

#[tokio::test]
async fn a_hanging_region_times_out_per_attempt_and_by_deadline() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("cn-hangzhou", Fault::hang());
    let mut cfg = config(&server);
    cfg.attempt_timeout = Duration::from_millis(150);
    cfg.retry.max_attempts = 2;
    let c = Client::new(cfg.clone(), CredentialSource::Static(default_creds())).unwrap();
    let start = Instant::now();
    let e = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { what, .. } if what == "waiting for the response"),
        "{e:?}"
    );
    assert_eq!(calls_to(&server, "cn-hangzhou", "DescribeTrails"), 2);
    assert!(start.elapsed() < Duration::from_secs(2));

    cfg.attempt_timeout = Duration::from_secs(10);
    cfg.retry.max_attempts = 5;
    cfg.deadline = Some(Duration::from_millis(250));
    let c = Client::new(cfg, CredentialSource::Static(default_creds())).unwrap();
    let start = Instant::now();
    let e = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { what, .. } if what == "the overall deadline"),
        "{e:?}"
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(240) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

/// The client's connections to the mock (every region's endpoint is one origin there).
fn connections(c: &Client) -> Connections {
    c.actiontrail_connections("cn-hangzhou").unwrap()
}

/// Waits (a few seconds at most) for `c` to have `n` connections opened ahead and waiting.
async fn opened_ahead_reach(c: &Client, n: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let waiting = connections(c).opened_ahead;
        if waiting == n || Instant::now() > until {
            return waiting;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn connections_opened_ahead_are_the_ones_the_calls_use_and_go_with_their_guard() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));
    assert_eq!(connections(&c), Connections::default());
    // Four calls about to be made at once.
    let regions = ["cn-hangzhou", "cn-beijing", "cn-hangzhou", "cn-shanghai"];
    let ahead = c.open_actiontrail_ahead(regions).expect("four to open");
    // Counted from the start: asked again at once for as many calls, nothing more is opened.
    assert_eq!(connections(&c).open, 4);
    assert!(c.open_actiontrail_ahead(regions).is_none());
    assert_eq!(opened_ahead_reach(&c, 4).await, 4);
    // The four calls at once take the four connections: none is opened for them. (The calls of
    // this test are slow enough to be in flight together: the transport's threads could
    // otherwise finish one and hand its pooled connection to the next.)
    server.set_fault("*", Fault::latency(300));
    let regions: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
    for (region, answer) in in_regions(&c, &regions).await {
        assert!(answer.is_ok(), "{region}: {answer:?}");
    }
    let pooled = Connections {
        open: 4,
        opened_ahead: 0,
    };
    assert_eq!(connections(&c), pooled);
    assert_eq!(server.connections(), 4);
    drop(ahead);
    assert_eq!(connections(&c), pooled);
    // Connections opened for calls that are not made close with their guard; the pool's stay.
    let ahead = c
        .open_actiontrail_ahead(["cn-hangzhou"; 6])
        .expect("two more to open");
    assert_eq!(opened_ahead_reach(&c, 2).await, 2);
    drop(ahead);
    assert_eq!(connections(&c), pooled);
    // Two guards for one origin: dropping one closes its own connections, not the other's.
    let first = c
        .open_actiontrail_ahead(["cn-hangzhou"; 5])
        .expect("one more to open");
    let second = c
        .open_actiontrail_ahead(["cn-hangzhou"; 7])
        .expect("two more to open");
    assert_eq!(opened_ahead_reach(&c, 3).await, 3);
    drop(first);
    assert_eq!(connections(&c).opened_ahead, 2);
    drop(second);
    assert_eq!(connections(&c), pooled);
    // Without connections opened ahead, calls at once open one each.
    let fresh = client(&server, CredentialSource::Static(default_creds()));
    in_regions(&fresh, &regions[..2]).await;
    assert_eq!(connections(&fresh).open, 2);
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error_naming_the_endpoint_only() {
    let cfg = ClientConfig {
        actiontrail_endpoint: Endpoint::parse("http://127.0.0.1:1/{region}").unwrap(),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5),
        },
        ..ClientConfig::default()
    };
    let c = Client::new(cfg, CredentialSource::Static(default_creds())).unwrap();
    let e = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    match &e {
        Error::Transport {
            endpoint, message, ..
        } => {
            assert_eq!(endpoint, "http://127.0.0.1:1/cn-hangzhou");
            assert!(message.contains("Connection refused"), "{message}");
            assert!(!message.contains("Signature"), "{message}");
            assert!(!message.contains("AccessKeyId"), "{message}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_error_is_clean(&e);
}

#[tokio::test]
async fn auth_errors_are_not_retried_and_leak_nothing() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    for (creds, code) in [
        (
            Credentials::new(mock::DEFAULT_ACCESS_KEY_ID, "wrong-secret-for-the-test"),
            "SignatureDoesNotMatch",
        ),
        (
            Credentials::new("LTAI5tNoSuchKey00000001", "wrong-secret-for-the-test"),
            "InvalidAccessKeyId.NotFound",
        ),
        (
            Credentials::new(
                mock::NO_PERMISSION_ACCESS_KEY_ID,
                mock::NO_PERMISSION_ACCESS_KEY_SECRET,
            ),
            "Forbidden.RAM",
        ),
    ] {
        server.clear_calls();
        let c = client(&server, CredentialSource::Static(creds));
        let e = c
            .describe_trails("cn-hangzhou", &all_trails())
            .await
            .result
            .unwrap_err();
        assert_eq!(e.code(), Some(code), "{e}");
        assert_eq!(server.calls().len(), 1, "{code} must not be retried");
        assert!(e.remedy().is_some(), "{code} deserves a remedy");
        assert_error_is_clean(&e);
    }
}

#[tokio::test]
async fn a_security_token_echoed_in_string_to_sign_is_redacted() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));
    let temp = c
        .assume_role(&default_creds(), mock::AUDITOR_ROLE_ARN, "test", 900, None)
        .await
        .unwrap();
    let token = temp.security_token.clone().unwrap();
    // Sign with the temporary key but a wrong secret: SignatureDoesNotMatch quotes the StringToSign,
    // which holds the (doubly percent-encoded) token.
    let mut bad = temp.clone();
    bad.access_key_secret = alicloud_api::Secret::new("wrong-secret-for-the-test");
    let c2 = client(&server, CredentialSource::Static(bad));
    let e = c2
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    let shown = format!("{e} {e:?}");
    let once = alicloud_api::signer::percent_encode(token.expose());
    let twice = alicloud_api::signer::percent_encode(&once);
    for form in [token.expose(), once.as_str(), twice.as_str()] {
        assert!(!shown.contains(form), "the token leaked: {shown}");
    }
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[tokio::test]
async fn an_external_id_is_sent_when_the_role_asks_for_one() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));
    let arn = format!(
        "acs:ram::2222222222222222:role/{}",
        mock::EXTERNAL_ROLE_NAME
    );
    for wrong in [None, Some("not-the-one")] {
        let e = c
            .assume_role(&default_creds(), &arn, "test", 900, wrong)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("NoPermission"), "{wrong:?}");
    }
    let temp = c
        .assume_role(&default_creds(), &arn, "test", 900, Some(mock::EXTERNAL_ID))
        .await
        .unwrap();
    assert!(temp.security_token.is_some());
    let sent = server.calls();
    let last = sent.last().unwrap();
    assert_eq!(
        last.params.get("ExternalId").map(String::as_str),
        Some(mock::EXTERNAL_ID)
    );
    // A role that asks for none takes one all the same.
    c.assume_role(
        &default_creds(),
        mock::AUDITOR_ROLE_ARN,
        "test",
        900,
        Some("xy"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn credentials_expired_before_their_time_are_renewed_once_and_the_call_made_again() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let source = CredentialSource::RamRoleArn {
        base: default_creds(),
        role_arn: mock::AUDITOR_ROLE_ARN.into(),
        session_name: "test".into(),
        duration_seconds: 3600,
        external_id: None,
    };
    let c = client(&server, source);
    c.describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    // The session ends an hour early: every region's call finds it expired at once, and one
    // new session serves them all.
    assert_eq!(server.expire_temporary_keys(), 1);
    let regions = ["cn-hangzhou", "cn-beijing", "cn-shanghai"];
    let request = all_trails();
    let calls = regions.map(|r| c.describe_trails(r, &request));
    for outcome in futures_util::future::join_all(calls).await {
        outcome.result.unwrap();
        assert!(outcome.report.attempts >= 2, "{:?}", outcome.report);
    }
    let count = |action: &str| server.calls().iter().filter(|c| c.action == action).count();
    assert_eq!(count("AssumeRole"), 2);
    // Expired again right away: renewed once more, not in a loop.
    server.expire_temporary_keys();
    let c2 = c.clone();
    server.clear_calls();
    c2.describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    assert_eq!(count("AssumeRole"), 1);
    assert_eq!(count("DescribeTrails"), 2);
    // Static keys are never renewed: the error is the caller's.
    let temp = c.credentials().await.unwrap();
    server.expire_temporary_keys();
    server.clear_calls();
    let fixed = client(&server, CredentialSource::Static(temp));
    let e = fixed
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidSecurityToken.Expired"));
    assert_eq!(count("AssumeRole"), 0);
}

#[tokio::test]
async fn ram_role_credentials_are_assumed_once_and_refreshed_before_expiry() {
    let mut mc = MockConfig::default();
    // Credentials that live 170 s: inside the 3-minute refresh margin, so every use refreshes.
    mc.fixture.sts_credential_lifetime_seconds = 170;
    let server = MockServer::start(mc).await.unwrap();
    let source = CredentialSource::RamRoleArn {
        base: default_creds(),
        role_arn: mock::AUDITOR_ROLE_ARN.into(),
        session_name: "test".into(),
        duration_seconds: 900,
        external_id: None,
    };
    let c = client(&server, source.clone());
    c.describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    c.describe_trails("cn-beijing", &all_trails())
        .await
        .result
        .unwrap();
    let assumed = server
        .calls()
        .iter()
        .filter(|c| c.action == "AssumeRole")
        .count();
    assert_eq!(assumed, 2, "near-expiry credentials must be renewed");
    let trail_keys: Vec<_> = server
        .calls()
        .iter()
        .filter(|c| c.action == "DescribeTrails")
        .map(|c| c.access_key_id.clone())
        .collect();
    assert!(
        trail_keys.iter().all(|k| k.starts_with("STS.")),
        "{trail_keys:?}"
    );

    // With the normal lifetime, one AssumeRole serves many calls.
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, source);
    let regions: Vec<String> = ["cn-hangzhou", "cn-beijing", "cn-shanghai"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (_, r) in in_regions(&c, &regions).await {
        r.unwrap();
    }
    c.describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    assert_eq!(
        server
            .calls()
            .iter()
            .filter(|c| c.action == "AssumeRole")
            .count(),
        1
    );
    let id = c.caller_identity().await.result.unwrap();
    assert_eq!(id.account_id, mock::DEFAULT_ACCOUNT_ID);
    assert_eq!(id.identity_type.as_deref(), Some("AssumedRoleUser"));
}

#[tokio::test]
async fn ecs_instance_role_credentials() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::EcsRamRole { role_name: None });
    let a = c
        .describe_trails("cn-hangzhou", &all_trails())
        .await
        .result
        .unwrap();
    assert_eq!(a.len(), 3);
    assert!(server.calls()[0].access_key_id.starts_with("STS."));
}

#[tokio::test]
async fn caller_identity_and_regions() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));
    let identity = c.caller_identity().await;
    assert_eq!(
        identity.result.unwrap().account_id,
        mock::DEFAULT_ACCOUNT_ID
    );
    assert_eq!(identity.report.attempts, 1);
    assert!(identity.report.bytes > 0);
    let regions = c.describe_regions().await.result.unwrap();
    assert_eq!(regions.len(), mock::DEFAULT_FIXTURE_REGION_COUNT);
    // The client remembers nothing: what may be reused is the caller's decision.
    c.caller_identity().await.result.unwrap();
    assert_eq!(calls_to(&server, "cn-hangzhou", "GetCallerIdentity"), 2);
    assert_eq!(calls_to(&server, "cn-hangzhou", "DescribeRegions"), 1);
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let target = format!("{}/cn-shanghai", server.url());
    for (status, location) in [
        (302, target.as_str()),
        (307, "http://collector.invalid:8080/x?SecurityToken=t"),
    ] {
        server.clear_calls();
        server.set_fault(
            "cn-beijing",
            Fault {
                redirect_to: Some(location.to_string()),
                redirect_status: Some(status),
                ..Fault::default()
            },
        );
        let creds = default_creds().with_security_token("wrong-secret-for-the-test");
        let c = client(&server, CredentialSource::Static(creds));
        let e = c
            .describe_trails("cn-beijing", &all_trails())
            .await
            .result
            .unwrap_err();
        assert!(
            matches!(e, Error::Redirect { status: s, .. } if s == status),
            "{e}"
        );
        assert!(!e.to_string().contains("SecurityToken"), "{e}");
        assert_error_is_clean(&e);
        // One call, to cn-beijing: the target was never asked, and a redirect is not retried.
        let calls = server.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].region, "cn-beijing");
    }
}

#[tokio::test]
async fn answers_over_the_size_limit_stop_at_the_limit() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut cfg = config(&server);
    cfg.max_response_bytes = 64 * 1024;
    let c = Client::new(cfg, CredentialSource::Static(default_creds())).unwrap();
    let oversized = Fault {
        pad_bytes: Some(200_000),
        ..Fault::default()
    };
    let endless = Fault {
        endless: Some(true),
        ..Fault::default()
    };
    for fault in [oversized, endless] {
        server.set_fault("cn-beijing", fault);
        let started = Instant::now();
        let outcome = c.describe_trails("cn-beijing", &all_trails()).await;
        let e = outcome.result.unwrap_err();
        assert!(matches!(e, Error::TooLarge { limit: 65536, .. }), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stopped at the limit, not by a timeout"
        );
        assert!(
            outcome.report.bytes < 256 * 1024,
            "{}",
            outcome.report.bytes
        );
        assert_eq!(outcome.report.attempts, 1, "not retried");
    }
    let small = Fault {
        pad_bytes: Some(30_000),
        ..Fault::default()
    };
    server.set_fault("cn-beijing", small);
    let ok = c.describe_trails("cn-beijing", &all_trails()).await;
    assert_eq!(ok.result.unwrap().len(), 3);
}

#[test]
fn credentials_never_show_secrets() {
    let creds = default_creds().with_security_token("wrong-secret-for-the-test");
    for shown in [
        format!("{creds}"),
        format!("{creds:?}"),
        format!("{creds:#?}"),
        format!("{:?}", CredentialSource::Static(creds.clone())),
        format!(
            "{:?}",
            CredentialSource::RamRoleArn {
                base: creds.clone(),
                role_arn: "r".into(),
                session_name: "s".into(),
                duration_seconds: 900,
                external_id: None
            }
        ),
    ] {
        assert_no_secret(&shown);
    }
}

/// A call is signed, sent and read on the transport's threads: once started, it goes on while
/// the thread that waits for it does not run at all (a PostgreSQL backend's, busy or blocked),
/// and those threads block the signals the host handles on its own thread.
#[test]
fn calls_go_on_while_their_caller_is_blocked_on_threads_that_block_signals() {
    let server = MockServer::start_blocking(MockConfig::default()).unwrap();
    // The mock records the call when it arrives and answers 300 ms later: the first poll below
    // cannot find the answer there already, however the threads are scheduled.
    server.set_fault("cn-hangzhou", Fault::latency(300));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = client(&server, CredentialSource::Static(default_creds()));
    let request = all_trails();
    let mut call = std::pin::pin!(c.describe_trails("cn-hangzhou", &request));
    // Polled once, then never again while this thread sleeps.
    {
        let _in_runtime = rt.enter();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending());
    }
    let asked = Instant::now();
    while calls_to(&server, "cn-hangzhou", "DescribeTrails") == 0 {
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "the call was not made while its caller slept"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let answer = rt.block_on(call).result;
    assert_eq!(answer.unwrap().len(), 3);

    // SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGURG:
    // every signal PostgreSQL handles or ignores in a backend.
    let handled: u64 = [1, 2, 3, 10, 12, 13, 14, 15, 17, 23]
        .iter()
        .map(|n| 1 << (n - 1))
        .sum();
    let mut threads = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if name.trim() != "alicloud-api" {
            continue;
        }
        threads += 1;
        let status = std::fs::read_to_string(dir.join("status")).unwrap();
        let blocked = status
            .lines()
            .find_map(|l| l.strip_prefix("SigBlk:"))
            .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
            .unwrap();
        assert_eq!(blocked & handled, handled, "{dir:?} blocks {blocked:x}");
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    assert!(threads >= workers, "{threads} transport threads");
}

/// A call dropped while it waits for its answer (a cancelled query, a timeout) stops on the
/// transport's threads at once: its connection is closed, not kept until the answer comes.
#[tokio::test]
async fn a_dropped_call_closes_its_connection_at_once() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    server.set_fault("cn-hangzhou", Fault::latency(30_000));
    let c = Client::new(
        ClientConfig {
            attempt_timeout: Duration::from_secs(60),
            ..config(&server)
        },
        CredentialSource::Static(default_creds()),
    )
    .unwrap();
    let request = all_trails();
    let mut call = Box::pin(c.describe_trails("cn-hangzhou", &request));
    tokio::select! {
        _ = &mut call => panic!("answered despite the latency"),
        () = async {
            while calls_to(&server, "cn-hangzhou", "DescribeTrails") == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } => {}
    }
    let open = || {
        c.actiontrail_connections("cn-hangzhou")
            .map_or(0, |n| n.open)
    };
    assert_eq!(open(), 1);
    drop(call);
    let dropped = Instant::now();
    while open() > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "the dropped call's connection stayed open"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
