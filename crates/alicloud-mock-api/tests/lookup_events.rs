//! `LookupEvents` as the mock plays it: the window, paging with opaque tokens bound to their
//! request, attributes and pairs, global events, the rate limit, and each switchable rule.

mod common;

use alicloud_mock_api::*;
use common::*;
use serde_json::Value;

/// A fixture without the rate limit, for tests that are not about it.
fn unlimited() -> MockConfig {
    let mut config = MockConfig::default();
    config.fixture.lookup_rules.rate_per_second = 0;
    config
}

fn window_of(server: &MockServer, days_back: i64) -> (String, String) {
    let anchor = server.events_anchor();
    let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    (
        f(anchor - chrono::TimeDelta::days(days_back)),
        f(anchor + chrono::TimeDelta::minutes(1)),
    )
}

async fn lookup(server: &MockServer, region: &str, extra: &[(&str, &str)]) -> Reply {
    call(server, region, "LookupEvents", extra, DEFAULT_KEY).await
}

fn events(reply: &Reply) -> Vec<Value> {
    reply.json()["Events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn names(reply: &Reply) -> Vec<String> {
    events(reply)
        .iter()
        .map(|e| e["eventName"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn pages_run_newest_first_and_tokens_bind_to_their_request() {
    let server = MockServer::start(unlimited()).await.unwrap();
    let (start, end) = window_of(&server, 90);
    let base = [
        ("StartTime", start.as_str()),
        ("EndTime", end.as_str()),
        ("MaxResults", "50"),
    ];
    let mut times = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = base.to_vec();
        if let Some(t) = &token {
            params.push(("NextToken", t.as_str()));
        }
        let reply = lookup(&server, "cn-hangzhou", &params).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        pages += 1;
        for e in events(&reply) {
            times.push(e["eventTime"].as_str().unwrap().to_string());
        }
        let v = reply.json();
        assert_eq!(v["StartTime"], start.as_str());
        match v.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    // 120 generated events and the trail operations of cn-hangzhou, 50 a page.
    assert_eq!(times.len(), 123);
    assert_eq!(pages, 3);
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    // A token with other parameters, or made up, is refused.
    let first = lookup(&server, "cn-hangzhou", &base).await;
    let token = first.json()["NextToken"].as_str().unwrap().to_string();
    for (params, why) in [
        (
            vec![("MaxResults", "49"), ("NextToken", token.as_str())],
            "other parameters",
        ),
        (vec![("NextToken", "00000000000000000000000a")], "made up"),
    ] {
        let mut p = base.to_vec();
        p.retain(|(k, _)| !params.iter().any(|(k2, _)| k2 == k));
        p.extend(params);
        let reply = lookup(&server, "cn-hangzhou", &p).await;
        assert_eq!(
            reply.code(),
            "InvalidQueryParameter",
            "{why}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn the_window_rules() {
    let server = MockServer::start(unlimited()).await.unwrap();
    let (start, end) = window_of(&server, 10);
    for (params, code) in [
        (
            vec![("StartTime", start.as_str())],
            "InvalidParameterEndTime",
        ),
        (vec![("EndTime", end.as_str())], "InvalidParameterStartTime"),
        (
            vec![("StartTime", end.as_str()), ("EndTime", start.as_str())],
            "InvalidParameterCombination",
        ),
        (
            vec![("StartTime", "yesterday"), ("EndTime", end.as_str())],
            "InvalidParameterStartTime",
        ),
        (vec![("MaxResults", "51")], "InvalidQueryParameter"),
        (vec![("Direction", "SIDEWAYS")], "InvalidQueryParameter"),
    ] {
        let reply = lookup(&server, "cn-hangzhou", &params).await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.code(), code, "{params:?}");
    }
    // Neither end: the last 7 days.
    let week = lookup(&server, "cn-hangzhou", &[("MaxResults", "50")]).await;
    assert_eq!(week.status, 200);
    assert!(events(&week).len() < 20, "{}", events(&week).len());

    // The 30-day cap of the older documentation, when switched on.
    let (long_start, _) = window_of(&server, 60);
    let long = [
        ("StartTime", long_start.as_str()),
        ("EndTime", end.as_str()),
    ];
    assert_eq!(lookup(&server, "cn-hangzhou", &long).await.status, 200);
    let mut rules = LookupRules {
        window_cap_days: Some(30),
        ..LookupRules::default()
    };
    rules.rate_per_second = 0;
    server.set_lookup_rules(rules);
    let capped = lookup(&server, "cn-hangzhou", &long).await;
    assert_eq!(
        capped.code(),
        "InvalidParameterCombination",
        "{}",
        capped.body
    );
}

#[tokio::test]
async fn attributes_pairs_and_global_events() {
    let server = MockServer::start(unlimited()).await.unwrap();
    let (start, end) = window_of(&server, 90);
    let window = [("StartTime", start.as_str()), ("EndTime", end.as_str())];
    let with = |attrs: &[(&'static str, &'static str)]| {
        let mut p = window.to_vec();
        for (i, (k, v)) in attrs.iter().enumerate() {
            p.push((
                Box::leak(format!("LookupAttribute.{}.Key", i + 1).into_boxed_str()),
                k,
            ));
            p.push((
                Box::leak(format!("LookupAttribute.{}.Value", i + 1).into_boxed_str()),
                v,
            ));
        }
        p
    };
    let stop = lookup(
        &server,
        "cn-beijing",
        &with(&[("EventName", "StopLogging")]),
    )
    .await;
    assert_eq!(names(&stop), ["StopLogging", "StopLogging"]);
    // A documented pair is ANDed.
    let pair = with(&[("ServiceName", "Actiontrail"), ("EventName", "StopLogging")]);
    assert_eq!(names(&lookup(&server, "cn-beijing", &pair).await).len(), 2);
    // The same key twice: the second one applies.
    let twice = with(&[("EventName", "StopLogging"), ("EventName", "UpdateTrail")]);
    assert!(names(&lookup(&server, "cn-beijing", &twice).await).is_empty());
    // An undocumented pair: refused, or as the rules say.
    let odd = with(&[("EventName", "StopLogging"), ("User", "bob")]);
    let refused = lookup(&server, "cn-beijing", &odd).await;
    assert_eq!(refused.code(), "InvalidQueryParameter");
    for (rule, want) in [(PairRule::First, 2), (PairRule::Both, 1)] {
        server.set_lookup_rules(LookupRules {
            unsupported_pair: rule,
            rate_per_second: 0,
            ..LookupRules::default()
        });
        assert_eq!(
            names(&lookup(&server, "cn-beijing", &odd).await).len(),
            want,
            "{rule:?}"
        );
    }
    // One attribute only, as older texts say.
    server.set_lookup_rules(LookupRules {
        max_attributes: 1,
        rate_per_second: 0,
        ..LookupRules::default()
    });
    assert_eq!(
        lookup(&server, "cn-beijing", &pair).await.code(),
        "InvalidQueryParameter"
    );
    let unknown = lookup(&server, "cn-beijing", &with(&[("Colour", "red")])).await;
    assert_eq!(unknown.code(), "InvalidQueryParameter");

    // Global events are kept in ap-southeast-1 only, unless every region serves them.
    let global = with(&[("EventName", "ConsoleSignin")]);
    server.set_lookup_rules(LookupRules {
        rate_per_second: 0,
        ..LookupRules::default()
    });
    assert_eq!(
        names(&lookup(&server, "ap-southeast-1", &global).await),
        ["ConsoleSignin"]
    );
    assert!(names(&lookup(&server, "cn-hangzhou", &global).await).is_empty());
    server.set_lookup_rules(LookupRules {
        global_event_regions: vec!["*".into()],
        rate_per_second: 0,
        ..LookupRules::default()
    });
    assert_eq!(
        names(&lookup(&server, "cn-hangzhou", &global).await),
        ["ConsoleSignin"]
    );
}

#[tokio::test]
async fn the_rate_limit_counts_per_account_or_per_region() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let codes = |replies: Vec<Reply>| -> Vec<String> {
        replies
            .iter()
            .map(|r| {
                if r.status == 200 {
                    "ok".to_string()
                } else {
                    r.code()
                }
            })
            .collect()
    };
    let mut replies = Vec::new();
    for region in ["cn-hangzhou", "cn-beijing", "cn-shanghai"] {
        replies.push(lookup(&server, region, &[]).await);
    }
    assert_eq!(codes(replies), ["ok", "ok", "Throttling.User"]);
    server.set_lookup_rules(LookupRules {
        rate_scope: RateScope::Region,
        ..LookupRules::default()
    });
    let mut replies = Vec::new();
    for region in ["cn-shenzhen", "cn-qingdao", "cn-qingdao", "cn-qingdao"] {
        replies.push(lookup(&server, region, &[]).await);
    }
    assert_eq!(codes(replies), ["ok", "ok", "ok", "Throttling.User"]);
}

#[tokio::test]
async fn the_last_page_ends_as_the_rules_say_and_the_admin_endpoint_dumps_events() {
    let server = MockServer::start(unlimited()).await.unwrap();
    for (rule, check) in [
        (
            LastToken::Absent,
            (|v: &Value| v.get("NextToken").is_none()) as fn(&Value) -> bool,
        ),
        (LastToken::Null, |v: &Value| {
            v["NextToken"].is_null() && v.get("NextToken").is_some()
        }),
        (LastToken::Empty, |v: &Value| v["NextToken"] == ""),
    ] {
        server.set_lookup_rules(LookupRules {
            last_token: rule,
            rate_per_second: 0,
            ..LookupRules::default()
        });
        let reply = lookup(&server, "cn-shenzhen", &[]).await;
        assert!(check(&reply.json()), "{rule:?}: {}", reply.body);
    }
    let dump = server.events_text(DEFAULT_ACCOUNT_ID);
    let lines: Vec<Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // 240 generated, 7 trail operations, 4 global events.
    assert_eq!(lines.len(), 251);
    assert_eq!(lines.iter().filter(|l| l["store"] == "global").count(), 4);
}
