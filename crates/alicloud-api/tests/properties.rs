//! Property tests of the client's parsers of outside input: answers (`Items`) and the objects in
//! them (`JsonObject`, with its lenient text, time and boolean reads). Random and hostile inputs
//! give a value or an error, never a panic or a hang. `PROPTEST_CASES` sets how many cases each
//! property tries (scripts/test.sh: the default 256; scripts/fuzz.sh: many more).

use alicloud_api::{Items, JsonObject, TRAIL_LIST};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any JSON object.
fn any_object() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    prop::collection::btree_map(".{0,12}", any_json(), 0..12).prop_map(|m| m.into_iter().collect())
}

/// Text that looks like JSON, broken here and there.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        any_json().prop_map(|v| v.to_string()),
        (any_json(), 0usize..64).prop_map(|(v, cut)| {
            let t = v.to_string();
            let cut = cut.min(t.len());
            t.char_indices()
                .map(|(i, _)| i)
                .take_while(|&i| i <= cut)
                .last()
                .map_or(String::new(), |i| t[..i].to_string())
        }),
        "[{}\\[\\]\":,0-9a-zA-Z\\\\ ]{0,64}",
        ".*",
    ]
}

/// Reads every member of `o` every way, nested objects too, and a member it does not have.
fn read_every_member(o: &JsonObject) {
    let names: Vec<String> = o.members().map(|(n, _)| n.into_owned()).collect();
    for n in names.iter().chain([&"absent".to_string()]) {
        let _ = (o.text(n), o.time(n), o.boolean(n), o.value(n));
    }
    for n in &names {
        read_every_member(&o.object(n));
    }
}

proptest! {
    #[test]
    fn any_text_is_an_answer_or_an_error(body in jsonish()) {
        if let Ok(items) = Items::from_text(body.clone(), TRAIL_LIST) {
            let mut last = 0;
            for (i, &(start, end)) in items.spans().iter().enumerate() {
                prop_assert!(start as usize >= last && end > start);
                last = end as usize;
                let raw = items.raw(i);
                let braces = raw.starts_with('{') && raw.ends_with('}');
                prop_assert!(braces, "an object's span: {}", raw);
                read_every_member(&items.item(i));
            }
        }
        read_every_member(&JsonObject::parse(&body));
        // Bytes that are not UTF-8 are an error too.
        let mut bytes = body.into_bytes();
        bytes.push(0xff);
        prop_assert!(Items::from_body(bytes, TRAIL_LIST).is_err());
    }

    #[test]
    fn every_listed_object_is_found_as_sent(
        objects in prop::collection::vec(any_object(), 0..16),
        wrapped in any::<bool>(),
        request_id in ".{0,40}",
    ) {
        let list = Value::from(objects.iter().cloned().map(Value::Object).collect::<Vec<_>>());
        let answer = if wrapped {
            json!({"RequestId": request_id, "TrailList": {"Trail": list}})
        } else {
            json!({"RequestId": request_id, "TrailList": list})
        };
        let items = Items::from_text(answer.to_string(), TRAIL_LIST).unwrap();
        prop_assert_eq!(items.len(), objects.len());
        prop_assert_eq!(items.request_id(), (!request_id.is_empty()).then_some(request_id.as_str()));
        for (i, o) in objects.iter().enumerate() {
            // The object's own text, as it was sent (floats are compared as text: serde_json
            // reads them back to the nearest, not always the same, double).
            prop_assert_eq!(items.raw(i), Value::Object(o.clone()).to_string());
            let read = items.item(i);
            for (name, value) in o {
                match value {
                    Value::String(s) if !s.is_empty() => {
                        let text = read.text(name);
                        prop_assert_eq!(text.as_deref(), Some(s.as_str()))
                    }
                    Value::Bool(b) => prop_assert_eq!(read.boolean(name), Some(*b)),
                    _ => {}
                }
            }
        }
        // Read back from its parts, as a cache does: the same objects.
        let again = Items::from_parts(items.body().to_string(), items.spans().to_vec(), None).unwrap();
        prop_assert_eq!(again.len(), items.len());
    }

    #[test]
    fn instants_are_read_in_every_form_the_api_has_used(millis in 1_000_000_000_000i64..4_000_000_000_000) {
        let t: DateTime<Utc> = DateTime::from_timestamp_millis(millis).unwrap();
        let seconds = DateTime::from_timestamp(millis / 1000, 0).unwrap();
        let forms = [
            (json!(millis), t),
            (json!(millis.to_string()), t),
            (json!(millis / 1000), seconds),
            (json!(seconds.format("%Y-%m-%dT%H:%M:%SZ").to_string()), seconds),
            (json!(seconds.format("%Y-%m-%d %H:%M:%S").to_string()), seconds),
        ];
        for (value, want) in forms {
            let text = json!({"t": value}).to_string();
            prop_assert_eq!(JsonObject::parse(&text).time("t"), Some(want), "{}", text);
        }
    }

    #[test]
    fn hostile_members_are_read_without_panic(name in ".*", value in ".*") {
        let text = json!({ name.clone(): value.clone() }).to_string();
        let o = JsonObject::parse(&text);
        let _ = (o.time(&name), o.boolean(&name), o.text(&name));
        let raw = format!("{{\"t\": {value}}}");
        read_every_member(&JsonObject::parse(&raw));
    }
}
