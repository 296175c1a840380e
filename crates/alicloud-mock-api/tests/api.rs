//! The wire protocol, the checks and the actions.

mod common;

use alicloud_mock_api::*;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn assert_error_shape(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["Code"], code, "{}", reply.body);
    for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        assert!(v[field].is_string(), "{field} missing: {}", reply.body);
    }
    let id = v["RequestId"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id, id.to_uppercase());
}

#[tokio::test]
async fn describe_trails_in_hangzhou_serves_the_seed_trail_as_stored() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let reply = describe_trails(&server, "cn-hangzhou", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(reply.trail_names(), ["hangzhou-fresh", "test-4"]);
    let v = reply.json();
    assert!(v["RequestId"].is_string());
    let test4 = v["TrailList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "test-4")
        .unwrap();
    // Exactly the sample of the DescribeTrails API reference (JSON format; see docs/api-notes.md).
    let seed = json!({
        "Status" : "Enable",
        "MnsTopicArn" : "acs:mns:cn-hangzhou:1111:/topics/your-topic-name",
        "HomeRegion" : "cn-hangzhou",
        "StartLoggingTime" : 1619407012000u64,
        "CreateTime" : 1614580048000u64,
        "StopLoggingTime" : 1617674944000u64,
        "SlsWriteRoleArn" : "acs:ram::159498693826****:role/aliyunserviceroleforactiontrail",
        "TrailRegion" : "All",
        "Name" : "test-4",
        "IsOrganizationTrail" : false,
        "SlsProjectArn" : "acs:log:cn-hangzhou:159498693826****:project/alice-audit-log",
        "RoleName" : "aliyunactiontraildefaultrole",
        "EventRW" : "Write",
        "UpdateTime" : 1619407012000u64,
        "OssKeyPrefix" : "trail1",
        "OssBucketName" : "secloud"
    });
    assert_eq!(*test4, seed);
    // The Fresh trail keeps its odd formats.
    let fresh = v["TrailList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "hangzhou-fresh")
        .unwrap();
    assert_eq!(fresh["IsOrganizationTrail"], "false");
    assert_eq!(fresh["CreateTime"], "Wed Dec 02 15:41:06 CST 2015");
    assert_eq!(fresh["Status"], "Fresh");
}

#[tokio::test]
async fn shadow_trails_appear_only_when_asked() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let plain = describe_trails(&server, "cn-beijing", &[("IncludeShadowTrails", "false")]).await;
    assert_eq!(
        plain.trail_names(),
        ["beijing-all-read", "beijing-disabled"]
    );
    let v = plain.json();
    assert!(v["TrailList"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("IsShadowTrail").is_none()));

    let shadow = describe_trails(&server, "cn-beijing", &[("IncludeShadowTrails", "true")]).await;
    assert_eq!(
        shadow.trail_names(),
        ["beijing-all-read", "beijing-disabled", "test-4"]
    );
    let v = shadow.json();
    let test4 = v["TrailList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "test-4")
        .unwrap();
    assert_eq!(test4["IsShadowTrail"], 1);
    assert_eq!(test4["HomeRegion"], "cn-hangzhou");
    assert_eq!(test4["TrailRegion"], "All");

    // A region far away sees only the two all-region trails, as shadows.
    let far = describe_trails(&server, "eu-west-1", &[("IncludeShadowTrails", "true")]).await;
    assert_eq!(far.trail_names(), ["beijing-all-read", "test-4"]);
    let far = describe_trails(&server, "eu-west-1", &[]).await;
    assert!(far.trail_names().is_empty());
    // A syntactically valid region unknown to the fixture answers too.
    let new = describe_trails(
        &server,
        "xx-newregion-9",
        &[("IncludeShadowTrails", "true")],
    )
    .await;
    assert_eq!(new.trail_names(), ["beijing-all-read", "test-4"]);
}

#[tokio::test]
async fn name_list_and_organization_trails() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let r = describe_trails(
        &server,
        "cn-hangzhou",
        &[("NameList", "test-4, nope,beijing-all-read")],
    )
    .await;
    assert_eq!(r.trail_names(), ["test-4"]);
    let r = describe_trails(
        &server,
        "cn-hangzhou",
        &[
            ("NameList", "test-4,beijing-all-read"),
            ("IncludeShadowTrails", "true"),
        ],
    )
    .await;
    assert_eq!(r.trail_names(), ["beijing-all-read", "test-4"]);

    let without = describe_trails(&server, "cn-shanghai", &[]).await;
    assert!(without.trail_names().is_empty());
    let with = describe_trails(
        &server,
        "cn-shanghai",
        &[("IncludeOrganizationTrail", "true")],
    )
    .await;
    assert_eq!(with.trail_names(), ["org-audit-shanghai"]);
    assert_eq!(with.json()["TrailList"][0]["IsOrganizationTrail"], true);
    let both = describe_trails(
        &server,
        "cn-shanghai",
        &[
            ("IncludeOrganizationTrail", "true"),
            ("IncludeShadowTrails", "true"),
        ],
    )
    .await;
    assert_eq!(
        both.trail_names(),
        ["beijing-all-read", "org-audit-shanghai", "test-4"]
    );

    let bad = describe_trails(&server, "cn-shanghai", &[("IncludeShadowTrails", "yes")]).await;
    assert_error_shape(&bad, 400, "InvalidQueryParameter");
}

#[tokio::test]
async fn only_the_calling_accounts_trails() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let key = (SECOND_ACCESS_KEY_ID, SECOND_ACCESS_KEY_SECRET);
    let r = call(
        &server,
        "cn-beijing",
        "DescribeTrails",
        &[
            ("IncludeShadowTrails", "true"),
            ("IncludeOrganizationTrail", "true"),
        ],
        key,
    )
    .await;
    assert_eq!(r.trail_names(), ["other-account-trail"]);
    let r = describe_trails(&server, "cn-hangzhou", &[("IncludeShadowTrails", "true")]).await;
    assert!(!r.trail_names().contains(&"other-account-trail".to_string()));
}

#[tokio::test]
async fn default_fixture_row_counts_over_all_regions() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let regions = call(&server, "cn-hangzhou", "DescribeRegions", &[], DEFAULT_KEY).await;
    assert_eq!(regions.status, 200, "{}", regions.body);
    let v = regions.json();
    let list = v["Regions"]["Region"].as_array().unwrap();
    assert_eq!(list.len(), DEFAULT_FIXTURE_REGION_COUNT);
    let hz = list
        .iter()
        .find(|r| r["RegionId"] == "cn-hangzhou")
        .unwrap();
    assert_eq!(hz["RegionEndpoint"], "actiontrail.cn-hangzhou.aliyuncs.com");
    assert_eq!(hz["LocalName"], "China (Hangzhou)");
    let ids: Vec<String> = list
        .iter()
        .map(|r| r["RegionId"].as_str().unwrap().to_string())
        .collect();

    let mut totals = [0usize; 3];
    for id in &ids {
        let both = describe_trails(
            &server,
            id,
            &[
                ("IncludeShadowTrails", "true"),
                ("IncludeOrganizationTrail", "true"),
            ],
        )
        .await
        .trail_names()
        .len();
        let expected = match id.as_str() {
            "cn-hangzhou" | "cn-beijing" | "cn-shanghai" => 3,
            _ => 2,
        };
        assert_eq!(both, expected, "{id}");
        totals[0] += both;
        totals[1] += describe_trails(&server, id, &[("IncludeShadowTrails", "true")])
            .await
            .trail_names()
            .len();
        totals[2] += describe_trails(&server, id, &[]).await.trail_names().len();
    }
    assert_eq!(
        totals,
        [
            DEFAULT_FIXTURE_ROWS_SHADOW_ORG,
            DEFAULT_FIXTURE_ROWS_SHADOW,
            DEFAULT_FIXTURE_ROWS_PLAIN
        ]
    );
    // The library's own computation agrees.
    let f = Fixture::default_fixture();
    let index = TrailIndex::new(&f);
    let q = TrailQuery {
        include_shadow_trails: true,
        include_organization_trail: true,
        name_list: None,
    };
    let n: usize = f
        .region_ids()
        .iter()
        .map(|r| index.describe_trails(DEFAULT_ACCOUNT_ID, r, &q).len())
        .sum();
    assert_eq!(n, DEFAULT_FIXTURE_ROWS_SHADOW_ORG);
}

#[tokio::test]
async fn region_from_path_regionid_or_default_and_get_or_form_post() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    // No path region: RegionId decides.
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.insert("RegionId".into(), "cn-beijing".into());
    let p = signed("GET", p, DEFAULT_ACCESS_KEY_SECRET);
    let r = send(&server, "GET", None, &p).await;
    assert_eq!(r.trail_names(), ["beijing-all-read", "beijing-disabled"]);
    // Neither: cn-hangzhou.
    let p = signed(
        "GET",
        common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
        DEFAULT_ACCESS_KEY_SECRET,
    );
    let r = send(&server, "GET", None, &p).await;
    assert_eq!(r.trail_names(), ["hangzhou-fresh", "test-4"]);
    // Trailing slash in the path.
    let p = signed(
        "GET",
        common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
        DEFAULT_ACCESS_KEY_SECRET,
    );
    let url = format!("{}/cn-beijing/?{}", server.url(), query_string(&p));
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A form-encoded POST body.
    let p = signed(
        "POST",
        common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
        DEFAULT_ACCESS_KEY_SECRET,
    );
    let r = http()
        .post(format!("{}/cn-beijing", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query_string(&p))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Signed for GET, sent as POST: the method is part of the signature.
    let p = signed(
        "GET",
        common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
        DEFAULT_ACCESS_KEY_SECRET,
    );
    let r = send(&server, "POST", Some("cn-hangzhou"), &p).await;
    assert_error_shape(&r, 400, "SignatureDoesNotMatch");
    // Format missing: JSON anyway.
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.remove("Format");
    let p = signed("POST", p, DEFAULT_ACCESS_KEY_SECRET);
    let r = send(&server, "POST", Some("cn-hangzhou"), &p).await;
    assert_eq!(r.trail_names().len(), 2);
    // Invalid region id.
    let r = describe_trails(&server, "Hangzhou", &[]).await;
    assert_error_shape(&r, 400, "InvalidRegionId");
}

#[tokio::test]
async fn signature_errors() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    // Wrong secret.
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[],
        (DEFAULT_ACCESS_KEY_ID, "not-the-secret"),
    )
    .await;
    assert_error_shape(&r, 400, "SignatureDoesNotMatch");
    let msg = r.json()["Message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tMockAccessKey0001"),
        "{msg}"
    );
    assert!(!r.body.contains(DEFAULT_ACCESS_KEY_SECRET));
    assert_eq!(r.json()["HostId"], "actiontrail.cn-hangzhou.aliyuncs.com");

    // A reused nonce.
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.insert("SignatureNonce".into(), "fixed-nonce-1".into());
    let p = signed("POST", p, DEFAULT_ACCESS_KEY_SECRET);
    assert_eq!(
        send(&server, "POST", Some("cn-hangzhou"), &p).await.status,
        200
    );
    let again = send(&server, "POST", Some("cn-hangzhou"), &p).await;
    assert_error_shape(&again, 400, "SignatureNonceUsed");

    // Timestamp 20 minutes old, and malformed.
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    let old = chrono::Utc::now() - chrono::TimeDelta::minutes(20);
    p.insert(
        "Timestamp".into(),
        old.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    let r = post_signed(&server, p).await;
    assert_error_shape(&r, 400, "InvalidTimeStamp.Expired");
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.insert("Timestamp".into(), "2024-05-01T08:30:00.123Z".into());
    let r = post_signed(&server, p).await;
    assert_error_shape(&r, 400, "InvalidTimeStamp.Format");

    // Signature method and version.
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.insert("SignatureMethod".into(), "HMAC-SHA256".into());
    let r = post_signed(&server, p).await;
    assert_error_shape(&r, 400, "InvalidSignatureMethod");
    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.insert("SignatureVersion".into(), "2.0".into());
    let r = post_signed(&server, p).await;
    assert_error_shape(&r, 400, "IncompleteSignature");

    // Unknown key.
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[],
        ("LTAI5tNobody", "x"),
    )
    .await;
    assert_error_shape(&r, 404, "InvalidAccessKeyId.NotFound");
}

#[tokio::test]
async fn parameter_and_action_errors() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    for missing in [
        "Action",
        "Version",
        "AccessKeyId",
        "Signature",
        "SignatureNonce",
        "Timestamp",
    ] {
        let mut p = signed(
            "POST",
            common("DescribeTrails", DEFAULT_ACCESS_KEY_ID),
            DEFAULT_ACCESS_KEY_SECRET,
        );
        p.remove(missing);
        let r = send(&server, "POST", Some("cn-hangzhou"), &p).await;
        assert_error_shape(&r, 400, "MissingParameter");
        assert!(
            r.json()["Message"].as_str().unwrap().contains(missing),
            "{}",
            r.body
        );
    }
    let r = call(&server, "cn-hangzhou", "DescribeNothing", &[], DEFAULT_KEY).await;
    assert_error_shape(&r, 404, "InvalidAction.NotFound");

    let mut p = common("DescribeTrails", DEFAULT_ACCESS_KEY_ID);
    p.insert("Version".into(), "2017-12-04".into());
    let r = post_signed(&server, p).await;
    assert_error_shape(&r, 400, "InvalidVersion");
    let mut p = common("GetCallerIdentity", DEFAULT_ACCESS_KEY_ID);
    p.insert("Version".into(), ACTIONTRAIL_VERSION.into());
    let r = post_signed(&server, p).await;
    assert_error_shape(&r, 400, "InvalidVersion");
    assert_eq!(r.json()["HostId"], "sts.aliyuncs.com");
}

#[tokio::test]
async fn ram_user_without_permission() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let key = (NO_PERMISSION_ACCESS_KEY_ID, NO_PERMISSION_ACCESS_KEY_SECRET);
    let r = call(&server, "cn-hangzhou", "DescribeTrails", &[], key).await;
    assert_error_shape(&r, 403, "Forbidden.RAM");
    let r = call(&server, "cn-hangzhou", "GetCallerIdentity", &[], key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["IdentityType"], "RAMUser");
    assert_eq!(v["AccountId"], DEFAULT_ACCOUNT_ID);
    assert_eq!(v["Arn"], "acs:ram::1234567890123456:user/no-permission");
}

#[tokio::test]
async fn caller_identity_of_the_default_key() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let r = call(
        &server,
        "cn-hangzhou",
        "GetCallerIdentity",
        &[],
        DEFAULT_KEY,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["AccountId"], DEFAULT_ACCOUNT_ID);
    assert_eq!(v["IdentityType"], "Account");
    assert_eq!(v["Arn"], "acs:ram::1234567890123456:root");
    for f in ["RequestId", "PrincipalId", "UserId"] {
        assert!(v[f].is_string(), "{f}");
    }
}

async fn assume(server: &MockServer, extra: &[(&str, &str)], key: (&str, &str)) -> Reply {
    let mut params = vec![
        ("RoleArn", AUDITOR_ROLE_ARN),
        ("RoleSessionName", "fdw-test"),
    ];
    params.extend_from_slice(extra);
    call(server, "cn-hangzhou", "AssumeRole", &params, key).await
}

#[tokio::test]
async fn assume_role_and_use_the_temporary_key() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let r = assume(&server, &[("DurationSeconds", "900")], DEFAULT_KEY).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let c = &v["Credentials"];
    let id = c["AccessKeyId"].as_str().unwrap().to_string();
    let secret = c["AccessKeySecret"].as_str().unwrap().to_string();
    let token = c["SecurityToken"].as_str().unwrap().to_string();
    assert!(id.starts_with("STS."));
    let exp = c["Expiration"].as_str().unwrap();
    let exp = chrono::NaiveDateTime::parse_from_str(exp, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap()
        .and_utc();
    let left = exp - chrono::Utc::now();
    assert!(left > chrono::TimeDelta::seconds(880) && left <= chrono::TimeDelta::seconds(900));
    assert_eq!(
        v["AssumedRoleUser"]["Arn"],
        "acs:ram::1234567890123456:role/auditor/fdw-test"
    );
    assert!(v["AssumedRoleUser"]["AssumedRoleId"].is_string());

    // With the token: acts as the role's account.
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[("SecurityToken", &token)],
        (&id, &secret),
    )
    .await;
    assert_eq!(r.trail_names(), ["hangzhou-fresh", "test-4"]);
    let r = call(
        &server,
        "cn-hangzhou",
        "GetCallerIdentity",
        &[("SecurityToken", &token)],
        (&id, &secret),
    )
    .await;
    assert_eq!(r.json()["IdentityType"], "AssumedRoleUser");
    assert_eq!(r.json()["AccountId"], DEFAULT_ACCOUNT_ID);
    // Without it, or with another one.
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[],
        (&id, &secret),
    )
    .await;
    assert_error_shape(&r, 400, "InvalidSecurityToken.MismatchWithAccessKey");
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[("SecurityToken", "CAISother")],
        (&id, &secret),
    )
    .await;
    assert_error_shape(&r, 400, "InvalidSecurityToken.MismatchWithAccessKey");
    // The calls never show the token or a secret.
    let calls = serde_json::to_string(&server.calls()).unwrap();
    assert!(!calls.contains(&token));
    assert!(!calls.contains(&secret));
    assert!(!calls.contains(DEFAULT_ACCESS_KEY_SECRET));
}

#[tokio::test]
async fn assume_role_errors() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let r = assume(&server, &[("DurationSeconds", "899")], DEFAULT_KEY).await;
    assert_error_shape(&r, 400, "InvalidParameter.DurationSeconds");
    let r = call(
        &server,
        "cn-hangzhou",
        "AssumeRole",
        &[
            ("RoleArn", "acs:ram::1234567890123456:role/nope"),
            ("RoleSessionName", "s1"),
        ],
        DEFAULT_KEY,
    )
    .await;
    assert_error_shape(&r, 403, "EntityNotExist.Role");
    let r = assume(
        &server,
        &[],
        (SECOND_ACCESS_KEY_ID, SECOND_ACCESS_KEY_SECRET),
    )
    .await;
    assert_error_shape(&r, 403, "NoPermission");
    let r = call(
        &server,
        "cn-hangzhou",
        "AssumeRole",
        &[("RoleArn", AUDITOR_ROLE_ARN)],
        DEFAULT_KEY,
    )
    .await;
    assert_error_shape(&r, 400, "MissingParameter");
}

#[tokio::test]
async fn temporary_keys_expire() {
    let mut fixture = Fixture::default_fixture();
    fixture.sts_credential_lifetime_seconds = 1;
    let server = MockServer::start(MockConfig {
        fixture,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let v = assume(&server, &[], DEFAULT_KEY).await.json();
    let c = &v["Credentials"];
    let (id, secret, token) = (
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str().unwrap(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[("SecurityToken", token)],
        (id, secret),
    )
    .await;
    assert_error_shape(&r, 400, "InvalidSecurityToken.Expired");
}

#[tokio::test]
async fn calls_are_recorded_with_operation_params_only() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    describe_trails(
        &server,
        "cn-beijing",
        &[("IncludeShadowTrails", "true"), ("NameList", "test-4")],
    )
    .await;
    call(
        &server,
        "cn-hangzhou",
        "DescribeTrails",
        &[],
        (DEFAULT_ACCESS_KEY_ID, "bad"),
    )
    .await;
    let calls = server.calls();
    assert_eq!(calls.len(), 2);
    let mut want = BTreeMap::new();
    want.insert("IncludeShadowTrails".to_string(), "true".to_string());
    want.insert("NameList".to_string(), "test-4".to_string());
    assert_eq!(
        calls[0],
        Call {
            region: "cn-beijing".into(),
            action: "DescribeTrails".into(),
            params: want,
            access_key_id: DEFAULT_ACCESS_KEY_ID.into(),
            outcome: "ok".into(),
        }
    );
    assert_eq!(calls[1].outcome, "SignatureDoesNotMatch");
    assert!(calls[1].params.is_empty());
    server.clear_calls();
    assert!(server.calls().is_empty());
    let _: Value = serde_json::to_value(&calls).unwrap();
}
