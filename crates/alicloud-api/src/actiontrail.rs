//! ActionTrail (API version 2020-07-06): `DescribeTrails` and `DescribeRegions`, typed, and the
//! client's operations for them.
//!
//! A `DescribeTrails` answer is kept as the text that arrived ([`TrailList`]): each trail is read
//! from its own slice of that text only when a row needs it ([`Trail`]), so a scan holds the answer
//! once, never a tree of it.

use crate::client::{Client, Outcome, Service};
use crate::endpoint::validate_region_id;
use crate::error::{Call, Error};
use crate::fields::{parse_bool, parse_text, parse_time, parse_time_str};
use chrono::{DateTime, Utc};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The API version these operations speak.
pub const VERSION: &str = "2020-07-06";

/// The parameters of a `DescribeTrails` call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DescribeTrailsRequest {
    /// Also list trails of other home regions that deliver events of this region (`TrailRegion=All`).
    pub include_shadow_trails: bool,
    /// Also list multi-account (organization) trails.
    pub include_organization_trail: bool,
    /// Only these trails (sent as the comma list `NameList`); empty means all.
    pub name_list: Vec<String>,
}

impl DescribeTrailsRequest {
    /// The operation's own query parameters.
    pub fn params(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        p.insert(
            "IncludeShadowTrails".to_string(),
            self.include_shadow_trails.to_string(),
        );
        p.insert(
            "IncludeOrganizationTrail".to_string(),
            self.include_organization_trail.to_string(),
        );
        if !self.name_list.is_empty() {
            p.insert("NameList".to_string(), self.name_list.join(","));
        }
        p
    }
}

/// One region's `DescribeTrails` answer, as received: the body text and where each trail object
/// lies in it. Cheap to clone (the text is shared).
#[derive(Clone)]
pub struct TrailList {
    body: Arc<String>,
    /// Byte ranges of the trail objects in `body`.
    spans: Arc<[(u32, u32)]>,
    request_id: Option<String>,
}

impl fmt::Debug for TrailList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrailList")
            .field("trails", &self.spans.len())
            .field("bytes", &self.body.len())
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// Where an answer's trails lie (byte ranges of its text), and its request id.
type Layout = (Vec<(u32, u32)>, Option<String>);

#[derive(Deserialize)]
struct AnswerShape<'a> {
    #[serde(rename = "RequestId", default, borrow)]
    request_id: Option<&'a RawValue>,
    #[serde(rename = "TrailList", default, borrow)]
    trail_list: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WrappedList<'a> {
    #[serde(rename = "Trail", default, borrow)]
    trail: Option<&'a RawValue>,
}

impl TrailList {
    /// Reads an answer body. `TrailList` may be missing (no trails), an array, or the XML-to-JSON
    /// shape `{"TrailList": {"Trail": [...]}}` some Alibaba APIs use. Every entry must be an object;
    /// what is inside it is read leniently, later.
    pub fn from_text(body: String) -> Result<TrailList, String> {
        let (spans, request_id) = TrailList::read(&body)?;
        Ok(TrailList {
            body: Arc::new(body),
            spans: spans.into(),
            request_id,
        })
    }

    /// Where the trails of `body` lie, and its request id (see [`TrailList::from_text`]).
    fn read(body: &str) -> Result<Layout, String> {
        if !body.trim_start().starts_with('{') {
            return Err("expected a JSON object".to_string());
        }
        let shape: AnswerShape = match serde_json::from_str(body) {
            Ok(s) => s,
            Err(e) if e.is_data() => return Err("expected a JSON object".to_string()),
            Err(e) => return Err(format!("invalid JSON: {e}")),
        };
        let items = list_items(shape.trail_list)?;
        let base = body.as_ptr() as usize;
        let mut spans = Vec::with_capacity(items.len());
        for item in items {
            let text = item.get();
            if !text.starts_with('{') {
                return Err(format!("a TrailList entry is {}", kind_of(text)));
            }
            let start = text.as_ptr() as usize - base;
            let end = start + text.len();
            let span = u32::try_from(start).and_then(|s| Ok((s, u32::try_from(end)?)));
            spans.push(span.map_err(|_| "the answer is larger than 4 GiB".to_string())?);
        }
        let request_id = shape
            .request_id
            .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
            .and_then(|v| parse_text(Some(&v)));
        Ok((spans, request_id))
    }

    /// A list from its parts as [`TrailList::spans`] gave them (a cache reads back what it stored,
    /// without parsing the body again). Each span must lie within the body, on character
    /// boundaries, after the one before it, and hold an object's braces; what is inside is read
    /// leniently, later.
    pub fn from_parts(
        body: String,
        spans: Vec<(u32, u32)>,
        request_id: Option<String>,
    ) -> Result<TrailList, String> {
        let mut previous_end = 0;
        for &(start, end) in &spans {
            let (s, e) = (start as usize, end as usize);
            let fits = s < e
                && s >= previous_end
                && e <= body.len()
                && body.is_char_boundary(s)
                && body.is_char_boundary(e)
                && body[s..].starts_with('{')
                && body[..e].ends_with('}');
            if !fits {
                return Err(format!(
                    "the span {start}..{end} is not an object of the body"
                ));
            }
            previous_end = e;
        }
        Ok(TrailList {
            body: Arc::new(body),
            spans: spans.into(),
            request_id,
        })
    }

    /// Where each trail object lies in [`TrailList::body`], as byte ranges.
    pub fn spans(&self) -> &[(u32, u32)] {
        &self.spans
    }

    /// [`TrailList::from_text`] of a body that must first be UTF-8. On failure: why, and the
    /// body given back (for an excerpt), so that reading an answer never copies it.
    pub fn from_body(body: Vec<u8>) -> Result<TrailList, (String, Vec<u8>)> {
        let text = String::from_utf8(body).map_err(|e| {
            let why = format!("the answer is not UTF-8: {}", e.utf8_error());
            (why, e.into_bytes())
        })?;
        match TrailList::read(&text) {
            Ok((spans, request_id)) => Ok(TrailList {
                body: Arc::new(text),
                spans: spans.into(),
                request_id,
            }),
            Err(why) => Err((why, text.into_bytes())),
        }
    }

    /// The answer's `RequestId`.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The body text as it arrived.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// How many trails the answer lists.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the answer lists no trail.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`th trail's JSON text.
    pub fn raw(&self, i: usize) -> &str {
        let (start, end) = self.spans[i];
        &self.body[start as usize..end as usize]
    }

    /// The `i`th trail, read from its text. An object that cannot be read as one (which the parse
    /// in [`TrailList::from_text`] already ruled out) reads as a trail without fields.
    pub fn trail(&self, i: usize) -> Trail<'_> {
        Trail::parse(self.raw(i))
    }

    /// The trails in answer order.
    pub fn trails(&self) -> impl Iterator<Item = Trail<'_>> + '_ {
        (0..self.len()).map(|i| self.trail(i))
    }

    /// The same answer restricted to the trails whose `Name` is one of `names`: what the API
    /// answers when `names` is sent as `NameList` (exact, case-sensitive matches).
    pub fn only_names(&self, names: &[String]) -> TrailList {
        let spans: Vec<(u32, u32)> = (0..self.len())
            .filter(|&i| {
                self.trail(i)
                    .text(field::NAME)
                    .is_some_and(|n| names.iter().any(|m| *m == n))
            })
            .map(|i| self.spans[i])
            .collect();
        TrailList {
            body: self.body.clone(),
            spans: spans.into(),
            request_id: self.request_id.clone(),
        }
    }
}

fn list_items(list: Option<&RawValue>) -> Result<Vec<&RawValue>, String> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let text = list.get();
    match text.as_bytes().first() {
        Some(b'n') => Ok(Vec::new()),
        Some(b'[') => serde_json::from_str(text).map_err(|e| e.to_string()),
        Some(b'{') => {
            let wrapped: WrappedList = serde_json::from_str(text).map_err(|e| e.to_string())?;
            match wrapped.trail {
                Some(t) if t.get().starts_with('[') => {
                    serde_json::from_str(t.get()).map_err(|e| e.to_string())
                }
                Some(t) if t.get().starts_with('{') => Ok(vec![t]),
                _ => Err("TrailList is an object without a Trail array".to_string()),
            }
        }
        _ => Err(format!("TrailList is {}", kind_of(text))),
    }
}

/// "a string", "a number", ... for the first character of a JSON value.
fn kind_of(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// The wire names of a trail's fields.
pub mod field {
    /// `Name`.
    pub const NAME: &str = "Name";
    /// `HomeRegion`.
    pub const HOME_REGION: &str = "HomeRegion";
    /// `IsShadowTrail` (sent by some regions for shadow copies).
    pub const IS_SHADOW_TRAIL: &str = "IsShadowTrail";
}

/// One trail of a [`TrailList`]: its fields, each read from the raw JSON only when asked. Every
/// field is optional and read leniently (see [`crate::fields`]), since the live API's formats are
/// only partly documented; [`Trail::raw`] is the object exactly as received, unknown fields and all.
pub struct Trail<'a> {
    raw: &'a str,
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Trail<'a> {
    /// Reads a trail object's fields (not their values); never fails: what is not an object has
    /// no fields.
    pub fn parse(raw: &'a str) -> Trail<'a> {
        let fields = serde_json::from_str::<Fields<'a>>(raw)
            .map(|f| f.0)
            .unwrap_or_default();
        Trail { raw, fields }
    }

    /// The object's JSON text, exactly as received.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The object's members in the order of the text, repeated names included: each name
    /// (unescaped: borrowed from the text unless it has escapes) and its value's JSON text.
    /// [`Trail::parse`] splits any JSON object this way, nested ones included.
    pub fn members(&self) -> impl Iterator<Item = (Cow<'a, str>, &'a str)> + '_ {
        self.fields.iter().map(|(k, v)| (k.clone(), v.get()))
    }

    /// A field's value (the last one, if the name is repeated).
    pub fn value(&self, name: &str) -> Option<Value> {
        serde_json::from_str(self.field(name)?).ok()
    }

    /// A field's JSON text (the last one, if the name is repeated).
    fn field(&self, name: &str) -> Option<&'a str> {
        let (_, raw) = self.fields.iter().rev().find(|(k, _)| k == name)?;
        Some(raw.get())
    }

    /// A field that is a JSON string, read without building a JSON tree first, and borrowed from
    /// the text when it has no escapes (the common case).
    fn string(&self, name: &str) -> Option<Option<Cow<'a, str>>> {
        let raw = self.field(name)?;
        raw.starts_with('"')
            .then(|| match raw.get(1..raw.len() - 1) {
                Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
                _ => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
            })
    }

    /// A text field: strings as they are, numbers and booleans as text; absent, null or empty is
    /// `None`.
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        match self.string(name) {
            Some(s) => s.filter(|s| !s.is_empty()),
            None => parse_text(self.value(name).as_ref()).map(Cow::Owned),
        }
    }

    /// A time field in any of the formats seen (epoch seconds or milliseconds, ISO-8601, Java
    /// dates); absent, empty, zero or unreadable is `None`.
    pub fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        match self.string(name) {
            Some(s) => parse_time_str(&s?),
            None => parse_time(self.value(name).as_ref()),
        }
    }

    /// A boolean field (`true`/`false` as JSON or text, or 0/1).
    pub fn boolean(&self, name: &str) -> Option<bool> {
        parse_bool(self.value(name).as_ref())
    }
}

/// A JSON object's members as (name, raw value), names borrowed where they have no escapes.
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'de>, M::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    fields.push((key.0, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// A member name, borrowed from the text unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl Client {
    /// ActionTrail `DescribeTrails` in one region.
    pub async fn describe_trails(
        &self,
        region: &str,
        request: &DescribeTrailsRequest,
    ) -> Outcome<TrailList> {
        let call = Call::new("DescribeTrails", region);
        self.call_with_own_credentials(
            Service::ActionTrail,
            &call.action,
            region,
            request.params(),
            |body| {
                TrailList::from_body(body)
                    .map_err(|(why, body)| Error::decode(&call, 200, why, &body))
            },
        )
        .await
    }

    /// ActionTrail `DescribeRegions`, asked of the global region's endpoint: every region id
    /// ActionTrail serves (checked for the form of a region id, since it goes into URLs).
    pub async fn describe_regions(&self) -> Outcome<Vec<RegionInfo>> {
        let params = BTreeMap::from([("AcceptLanguage".to_string(), "en-US".to_string())]);
        self.global_call(
            Service::ActionTrail,
            "DescribeRegions",
            params,
            parse_regions,
        )
        .await
    }
}

/// One entry of `DescribeRegions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region id, e.g. `cn-hangzhou`.
    pub region_id: String,
    /// The region's ActionTrail endpoint host, as the API names it.
    pub endpoint: Option<String>,
    /// The region's display name.
    pub local_name: Option<String>,
}

/// Reads a `DescribeRegions` answer: `{"Regions":{"Region":[{"RegionId",...}]}}` (a bare array under
/// `Regions` is accepted too).
pub fn parse_regions(body: &Value) -> Result<Vec<RegionInfo>, String> {
    let regions = body
        .get("Regions")
        .ok_or_else(|| "no Regions field".to_string())?;
    let list = match regions {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("Region") {
            Some(Value::Array(a)) => a,
            _ => return Err("Regions has no Region array".to_string()),
        },
        other => return Err(format!("Regions is {}", kind_of(&other.to_string()))),
    };
    list.iter()
        .map(|r| {
            let region_id = parse_text(r.get("RegionId"))
                .ok_or_else(|| "a region without RegionId".to_string())?;
            validate_region_id(&region_id).map_err(|_| {
                format!(
                    "the region id {:?} is not of the form cn-hangzhou",
                    crate::error::truncate(&region_id, 64)
                )
            })?;
            Ok(RegionInfo {
                region_id,
                endpoint: parse_text(r.get("RegionEndpoint")),
                local_name: parse_text(r.get("LocalName")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn list(v: Value) -> Result<TrailList, String> {
        TrailList::from_text(v.to_string())
    }

    #[test]
    fn parses_the_seed_sample() {
        let r = list(seed_sample()).unwrap();
        assert_eq!(r.request_id(), Some("10313D41-C40A-4D53-ACA0-0190334DF81C"));
        assert_eq!(r.len(), 1);
        let t = r.trail(0);
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
        let t = r.trail(0);
        assert_eq!(t.text("Name").as_deref(), Some("a"));
        assert_eq!(t.boolean("IsShadowTrail"), Some(true));
        assert_eq!(t.boolean("IsOrganizationTrail"), Some(true));
        assert_eq!(t.time("CreateTime"), None);
        assert_eq!(t.value("Future"), Some(json!({"deep": [1, 2]})));
        // A member name with an escape is read too.
        let r = TrailList::from_text(r#"{"TrailList": [{"Esc\u0061ped": "yes"}]}"#.to_string());
        assert_eq!(r.unwrap().trail(0).text("Escaped").as_deref(), Some("yes"));
        // One object instead of an array, and a repeated name (the last one counts).
        let r = TrailList::from_text(
            r#"{"TrailList": {"Trail": {"Name": "one", "Name": "two"}}}"#.to_string(),
        )
        .unwrap();
        assert_eq!(r.trail(0).text("Name").as_deref(), Some("two"));
        // Text without escapes is borrowed from the answer; with escapes, unescaped.
        let t = Trail::parse(r#"{"Plain": "a-b", "Escaped": "a\"b\u00e9", "Number": 5}"#);
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
        assert!(TrailList::from_text("{\"TrailList\": [".to_string())
            .unwrap_err()
            .starts_with("invalid JSON"));
        assert!(TrailList::from_body(vec![0xff, 0xfe]).is_err());
    }

    fn body_of(r: &TrailList) -> String {
        r.body().to_string()
    }

    #[test]
    fn parts_round_trip_and_are_checked() {
        let r =
            list(json!({"RequestId": "r", "TrailList": [{"Name": "a"}, {"Name": "é"}]})).unwrap();
        let again = TrailList::from_parts(
            r.body().to_string(),
            r.spans().to_vec(),
            r.request_id().map(str::to_string),
        )
        .unwrap();
        assert_eq!(again.trail(1).text("Name").as_deref(), Some("é"));
        assert_eq!(again.request_id(), Some("r"));
        let body = r.body().to_string();
        let spans = r.spans().to_vec();
        for reordered in [
            vec![spans[1], spans[0]],
            vec![spans[0], spans[0]],
            vec![spans[0], spans[1], spans[1]],
        ] {
            assert!(TrailList::from_parts(body_of(&r), reordered, None).is_err());
        }
        for bad in [(0, 1), (5, 4), (0, 10_000), (1, 3)] {
            assert!(
                TrailList::from_parts(body.clone(), vec![bad], None).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn name_filter_matches_what_the_api_answers() {
        let r =
            list(json!({"TrailList": [{"Name": "a"}, {"Name": "b"}, {"Name": "A"}, {}]})).unwrap();
        let only = r.only_names(&["a".to_string(), "A".to_string(), "zz".to_string()]);
        let names: Vec<_> = only.trails().map(|t| t.text("Name").unwrap()).collect();
        assert_eq!(names, ["a", "A"]);
        assert!(r.only_names(&[]).is_empty());
    }

    #[test]
    fn request_params() {
        let p = DescribeTrailsRequest {
            include_shadow_trails: true,
            include_organization_trail: false,
            name_list: vec!["a".into(), "b".into()],
        }
        .params();
        assert_eq!(p["IncludeShadowTrails"], "true");
        assert_eq!(p["IncludeOrganizationTrail"], "false");
        assert_eq!(p["NameList"], "a,b");
        assert!(!DescribeTrailsRequest::default()
            .params()
            .contains_key("NameList"));
    }

    #[test]
    fn regions() {
        let r = parse_regions(&json!({"RequestId": "x", "Regions": {"Region": [
            {"RegionId": "cn-hangzhou", "RegionEndpoint": "actiontrail.cn-hangzhou.aliyuncs.com", "LocalName": "China (Hangzhou)"}
        ]}}))
        .unwrap();
        assert_eq!(r[0].region_id, "cn-hangzhou");
        assert_eq!(r[0].local_name.as_deref(), Some("China (Hangzhou)"));
        assert!(parse_regions(&json!({"Regions": {"Region": [{"LocalName": "x"}]}})).is_err());
        assert!(parse_regions(&json!({})).is_err());
        // Region ids go into URLs: anything but the form of a region id is refused.
        for bad in [
            "xa-q?Injected=1#frag",
            "../../x",
            "cn-hangzhou/x",
            "evil.example:80",
        ] {
            let e =
                parse_regions(&json!({"Regions": {"Region": [{"RegionId": bad}]}})).unwrap_err();
            assert!(e.contains("not of the form"), "{bad}: {e}");
        }
    }
}
