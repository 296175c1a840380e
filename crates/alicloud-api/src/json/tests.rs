use super::*;
use crate::actiontrail::TRAIL_LIST;
use serde_json::json;

/// The JSON sample of the DescribeTrails API reference (see docs/api-notes.md).
fn seed_sample() -> Value {
    json!({
      "RequestId" : "10313D41-C40A-4D53-ACA0-0190334DF81C",
      "TrailList" : [ {
        "Status" : "Enable",
        "MnsTopicArn" : "acs:mns:cn-hangzhou:1111:/topics/your-topic-name",
        "HomeRegion" : "cn-hangzhou",
        "StartLoggingTime" : 1619407012000i64,
        "CreateTime" : 1614580048000i64,
        "StopLoggingTime" : 1617674944000i64,
        "SlsWriteRoleArn" : "acs:ram::159498693826****:role/aliyunserviceroleforactiontrail",
        "TrailRegion" : "All",
        "Name" : "test-4",
        "IsOrganizationTrail" : false,
        "SlsProjectArn" : "acs:log:cn-hangzhou:159498693826****:project/alice-audit-log",
        "RoleName" : "aliyunactiontraildefaultrole",
        "EventRW" : "Write",
        "UpdateTime" : 1619407012000i64,
        "OssKeyPrefix" : "trail1",
        "OssBucketName" : "secloud"
      } ]
    })
}

fn list(v: Value) -> Result<Items, String> {
    Items::from_text(v.to_string(), TRAIL_LIST)
}

#[test]
fn parses_the_seed_sample() {
    let r = list(seed_sample()).unwrap();
    assert_eq!(r.request_id(), Some("10313D41-C40A-4D53-ACA0-0190334DF81C"));
    assert_eq!(r.len(), 1);
    let t = r.item(0);
    assert_eq!(t.text("Name").as_deref(), Some("test-4"));
    assert_eq!(t.text("HomeRegion").as_deref(), Some("cn-hangzhou"));
    assert_eq!(t.text("TrailRegion").as_deref(), Some("All"));
    assert_eq!(t.text("Status").as_deref(), Some("Enable"));
    assert_eq!(t.text("EventRW").as_deref(), Some("Write"));
    assert_eq!(t.boolean("IsOrganizationTrail"), Some(false));
    assert_eq!(t.boolean("IsShadowTrail"), None);
    assert_eq!(
        t.time("CreateTime").unwrap().to_rfc3339(),
        "2021-03-01T06:27:28+00:00"
    );
    assert_eq!(t.text("OssBucketName").as_deref(), Some("secloud"));
    let raw: Value = serde_json::from_str(t.raw()).unwrap();
    assert_eq!(raw.as_object().unwrap().len(), 16);
    assert_eq!(raw, seed_sample()["TrailList"][0]);
}

#[test]
fn unknown_fields_and_odd_shapes() {
    let r = list(json!({
        "RequestId": "x",
        "TrailList": {"Trail": [{"Name": "a", "Future": {"deep": [1, 2]}, "IsShadowTrail": 1,
                                  "CreateTime": "", "IsOrganizationTrail": "true"}]}
    }))
    .unwrap();
    let t = r.item(0);
    assert_eq!(t.text("Name").as_deref(), Some("a"));
    assert_eq!(t.boolean("IsShadowTrail"), Some(true));
    assert_eq!(t.boolean("IsOrganizationTrail"), Some(true));
    assert_eq!(t.time("CreateTime"), None);
    assert_eq!(t.value("Future"), Some(json!({"deep": [1, 2]})));
    // A member name with an escape is read too.
    let r = Items::from_text(
        r#"{"TrailList": [{"Esc\u0061ped": "yes"}]}"#.to_string(),
        TRAIL_LIST,
    );
    assert_eq!(r.unwrap().item(0).text("Escaped").as_deref(), Some("yes"));
    // One object instead of an array, and a repeated name (the last one counts).
    let r = Items::from_text(
        r#"{"TrailList": {"Trail": {"Name": "one", "Name": "two"}}}"#.to_string(),
        TRAIL_LIST,
    )
    .unwrap();
    assert_eq!(r.item(0).text("Name").as_deref(), Some("two"));
    // Text without escapes is borrowed from the answer; with escapes, unescaped.
    let t = JsonObject::parse(r#"{"Plain": "a-b", "Escaped": "a\"b\u00e9", "Number": 5}"#);
    assert!(matches!(t.text("Plain"), Some(Cow::Borrowed("a-b"))));
    assert_eq!(t.text("Escaped").as_deref(), Some("a\"b\u{e9}"));
    assert_eq!(t.text("Number").as_deref(), Some("5"));
    let members: Vec<_> = t.members().collect();
    assert_eq!(members[1], ("Escaped".into(), r#""a\"b\u00e9""#));

    for empty in [json!({"RequestId": "x"}), json!({"TrailList": null})] {
        assert!(list(empty).unwrap().is_empty());
    }
    assert_eq!(
        list(json!({"TrailList": "nope"})).unwrap_err(),
        "TrailList is a string"
    );
    assert_eq!(
        list(json!({"TrailList": [1]})).unwrap_err(),
        "a TrailList entry is a number"
    );
    assert_eq!(list(json!([])).unwrap_err(), "expected a JSON object");
    assert!(
        Items::from_text("{\"TrailList\": [".to_string(), TRAIL_LIST)
            .unwrap_err()
            .starts_with("invalid JSON")
    );
    assert!(Items::from_body(vec![0xff, 0xfe], TRAIL_LIST).is_err());
}

#[test]
fn one_pass_reads_the_list_as_the_members_say() {
    // Of a repeated list member the last counts, whatever the earlier one was.
    let r = Items::from_text(
        r#"{"TrailList": "no", "RequestId": 7, "TrailList": [ {"Name": "a"} ,{"Name":"b"}]}"#
            .to_string(),
        TRAIL_LIST,
    )
    .unwrap();
    assert_eq!(
        (r.raw(0), r.raw(1)),
        (r#"{"Name": "a"}"#, r#"{"Name":"b"}"#)
    );
    assert_eq!(r.request_id(), Some("7"));
    let r = Items::from_text(
        r#"{"TrailList": [{}], "TrailList": 1}"#.to_string(),
        TRAIL_LIST,
    );
    assert_eq!(r.unwrap_err(), "TrailList is a number");
    // The wrapped shape: its array, one object, or neither.
    let r = Items::from_text(
        r#"{"TrailList": {"Other": [1], "Trail": [{"Name": "w"}]}}"#.to_string(),
        TRAIL_LIST,
    );
    assert_eq!(r.unwrap().item(0).text("Name").as_deref(), Some("w"));
    let r = Items::from_text(r#"{"TrailList": {"Trail": [2]}}"#.to_string(), TRAIL_LIST);
    assert_eq!(r.unwrap_err(), "a TrailList entry is a number");
    let r = Items::from_text(r#"{"TrailList": {"Trail": "x"}}"#.to_string(), TRAIL_LIST);
    assert_eq!(
        r.unwrap_err(),
        "TrailList is an object without a Trail array"
    );
    // Text after the object, or a broken entry, is not JSON.
    for broken in [r#"{"TrailList": []} x"#, r#"{"TrailList": [{"Name": }]}"#] {
        let e = Items::from_text(broken.to_string(), TRAIL_LIST).unwrap_err();
        assert!(e.starts_with("invalid JSON"), "{e}");
    }
}

fn body_of(r: &Items) -> String {
    r.body().to_string()
}

#[test]
fn parts_round_trip_and_are_checked() {
    let r = list(json!({"RequestId": "r", "TrailList": [{"Name": "a"}, {"Name": "é"}]})).unwrap();
    let again = Items::from_parts(
        r.body().to_string(),
        r.spans().to_vec(),
        r.request_id().map(str::to_string),
    )
    .unwrap();
    assert_eq!(again.item(1).text("Name").as_deref(), Some("é"));
    assert_eq!(again.request_id(), Some("r"));
    let body = r.body().to_string();
    let spans = r.spans().to_vec();
    for reordered in [
        vec![spans[1], spans[0]],
        vec![spans[0], spans[0]],
        vec![spans[0], spans[1], spans[1]],
    ] {
        assert!(Items::from_parts(body_of(&r), reordered, None).is_err());
    }
    for bad in [(0, 1), (5, 4), (0, 10_000), (1, 3)] {
        assert!(
            Items::from_parts(body.clone(), vec![bad], None).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn a_filtered_answer_shares_the_text() {
    let r = list(json!({"TrailList": [{"Name": "a"}, {"Name": "b"}, {"Name": "A"}, {}]})).unwrap();
    let only = r.only(|t| t.text("Name").is_some_and(|n| n.eq_ignore_ascii_case("a")));
    let names: Vec<_> = only.items().map(|t| t.text("Name").unwrap()).collect();
    assert_eq!(names, ["a", "A"]);
    assert_eq!(only.body(), r.body());
    assert!(r.only(|_| false).is_empty());
}

#[test]
fn nested_objects_and_their_members() {
    let o = JsonObject::parse(
        r#"{"userIdentity": {"accessKeyId": "LTAI", "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}}, "n": 1}"#,
    );
    let who = o.object("userIdentity");
    assert_eq!(who.text("accessKeyId").as_deref(), Some("LTAI"));
    let mfa = who
        .object("sessionContext")
        .object("attributes")
        .boolean("mfaAuthenticated");
    assert_eq!(mfa, Some(false));
    assert_eq!(o.object("n").members().count(), 0);
    assert_eq!(o.object("absent").raw(), "{}");
}
