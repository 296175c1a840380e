//! Answers kept as the text that arrived: [`Items`] is one answer's body with the byte ranges of
//! the objects its list holds (a `DescribeTrails` answer's trails, a `LookupEvents` page's events),
//! and [`JsonObject`] reads one of those objects' members only when a row needs them. A scan so
//! holds each answer once, never a tree of it.

use crate::fields::{parse_bool, parse_text, parse_time, parse_time_str};
use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Where an answer's list is: its member name, and the name of the inner member some Alibaba APIs
/// wrap it in when they translate XML to JSON (`{"TrailList": {"Trail": [...]}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListShape {
    /// The member holding the list, e.g. `TrailList`.
    pub field: &'static str,
    /// The inner member of the wrapped shape, e.g. `Trail`.
    pub wrapper: &'static str,
}

/// One answer, as received: the body text and where each object of its list lies in it. Cheap to
/// clone (the text is shared).
#[derive(Clone)]
pub struct Items {
    body: Arc<String>,
    /// Byte ranges of the objects in `body`, in order.
    spans: Arc<[(u32, u32)]>,
    request_id: Option<String>,
}

impl fmt::Debug for Items {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("items", &self.spans.len())
            .field("bytes", &self.body.len())
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// Where an answer's objects lie (byte ranges of its text), and its request id.
type Layout = (Vec<(u32, u32)>, Option<String>);

impl Items {
    /// Reads an answer body whose list is at `shape`. The list may be missing (no objects), an
    /// array, or the wrapped shape; every entry must be an object, whose members are read
    /// leniently, later.
    pub fn from_text(body: String, shape: ListShape) -> Result<Items, String> {
        let (spans, request_id) = Items::read(&body, shape)?;
        Ok(Items {
            body: Arc::new(body),
            spans: spans.into(),
            request_id,
        })
    }

    /// [`Items::from_text`] of a body that must first be UTF-8. On failure: why, and the body
    /// given back (for an excerpt), so that reading an answer never copies it.
    pub fn from_body(body: Vec<u8>, shape: ListShape) -> Result<Items, (String, Vec<u8>)> {
        let text = String::from_utf8(body).map_err(|e| {
            let why = format!("the answer is not UTF-8: {}", e.utf8_error());
            (why, e.into_bytes())
        })?;
        match Items::read(&text, shape) {
            Ok((spans, request_id)) => Ok(Items {
                body: Arc::new(text),
                spans: spans.into(),
                request_id,
            }),
            Err(why) => Err((why, text.into_bytes())),
        }
    }

    /// Where the objects of `body` lie, and its request id: one pass over the text, which
    /// records each entry of the list where it lies without reading the list's text twice.
    fn read(body: &str, shape: ListShape) -> Result<Layout, String> {
        if !body.trim_start().starts_with('{') {
            return Err("expected a JSON object".to_string());
        }
        let mut de = serde_json::Deserializer::from_str(body);
        let top = match (Answer { shape }).deserialize(&mut de).and_then(|a| {
            de.end()?;
            Ok(a)
        }) {
            Ok(a) => a,
            Err(e) if e.is_data() => return Err("expected a JSON object".to_string()),
            Err(e) => return Err(format!("invalid JSON: {e}")),
        };
        let items = top.list?;
        let base = body.as_ptr() as usize;
        let mut spans = Vec::with_capacity(items.len());
        for text in items {
            let start = text.as_ptr() as usize - base;
            let end = start + text.len();
            let span = u32::try_from(start).and_then(|s| Ok((s, u32::try_from(end)?)));
            spans.push(span.map_err(|_| "the answer is larger than 4 GiB".to_string())?);
        }
        let request_id = top
            .request_id
            .and_then(|raw| text_of(raw.get()))
            .map(Cow::into_owned);
        Ok((spans, request_id))
    }

    /// An answer from its parts as [`Items::spans`] gave them (a cache reads back what it stored,
    /// without parsing the body again). Each span must lie within the body, on character
    /// boundaries, after the one before it, and hold an object's braces; what is inside is read
    /// leniently, later.
    pub fn from_parts(
        body: String,
        spans: Vec<(u32, u32)>,
        request_id: Option<String>,
    ) -> Result<Items, String> {
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
        Ok(Items {
            body: Arc::new(body),
            spans: spans.into(),
            request_id,
        })
    }

    /// Where each object lies in [`Items::body`], as byte ranges.
    pub fn spans(&self) -> &[(u32, u32)] {
        &self.spans
    }

    /// A top-level member of the answer as text (e.g. a page's `NextToken`): absent, null or empty
    /// is `None`.
    pub fn member_text(&self, name: &str) -> Option<String> {
        JsonObject::try_parse(&self.body)
            .ok()?
            .text(name)
            .map(Cow::into_owned)
    }

    /// The answer's `RequestId`.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The body text as it arrived.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// How many objects the answer lists.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the answer lists none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`th object's JSON text.
    pub fn raw(&self, i: usize) -> &str {
        let (start, end) = self.spans[i];
        &self.body[start as usize..end as usize]
    }

    /// The `i`th object, read from its text.
    pub fn item(&self, i: usize) -> JsonObject<'_> {
        JsonObject::parse(self.raw(i))
    }

    /// The objects in answer order.
    pub fn items(&self) -> impl Iterator<Item = JsonObject<'_>> + '_ {
        (0..self.len()).map(|i| self.item(i))
    }

    /// The same answer restricted to the objects `keep` accepts (sharing the text).
    pub fn only(&self, mut keep: impl FnMut(&JsonObject) -> bool) -> Items {
        let spans: Vec<(u32, u32)> = (0..self.len())
            .filter(|&i| keep(&self.item(i)))
            .map(|i| self.spans[i])
            .collect();
        Items {
            body: self.body.clone(),
            spans: spans.into(),
            request_id: self.request_id.clone(),
        }
    }
}

/// The member of an answer that holds its request id.
const REQUEST_ID: &str = "RequestId";

/// What [`Items::read`] takes from an answer: its list's entries (each an object's text), or why
/// the list is not one, and the raw `RequestId`. Of a repeated member the last one counts, as in
/// [`JsonObject::field`].
struct Read<'a> {
    list: Result<Vec<&'a str>, String>,
    request_id: Option<&'a RawValue>,
}

/// Reads an answer object whose list is at `shape`, in one pass.
struct Answer {
    shape: ListShape,
}

impl<'de> DeserializeSeed<'de> for Answer {
    type Value = Read<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Read<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Answer {
    type Value = Read<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Read<'de>, M::Error> {
        let mut read = Read {
            list: Ok(Vec::new()),
            request_id: None,
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.shape.field {
                read.list = map.next_value_seed(List { shape: self.shape })?;
            } else if key == REQUEST_ID {
                read.request_id = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(read)
    }
}

/// Reads an answer's list member: `null` is empty; an array of objects; or the wrapped shape
/// (an object whose `wrapper` member is that array, or one object). Anything else is the reason
/// it is not a list, given as `Ok(Err(_))` (a later member of the same name may still replace
/// it); `Err` is for text that is not JSON.
struct List {
    shape: ListShape,
}

impl<'de> DeserializeSeed<'de> for List {
    type Value = Result<Vec<&'de str>, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl List {
    /// The list is a JSON value of another kind.
    fn is(&self, kind: &str) -> Result<Vec<&'static str>, String> {
        Err(format!("{} is {kind}", self.shape.field))
    }
}

impl<'de> Visitor<'de> for List {
    type Value = Result<Vec<&'de str>, String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the {} list", self.shape.field)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Ok(Vec::new()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.is("a boolean").map(|_| Vec::new()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.is("a number").map(|_| Vec::new()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.is("a number").map(|_| Vec::new()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.is("a number").map(|_| Vec::new()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.is("a string").map(|_| Vec::new()))
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(16));
        let mut wrong = None;
        while let Some(entry) = seq.next_element::<&'de RawValue>()? {
            let text = entry.get();
            if wrong.is_none() && !text.starts_with('{') {
                wrong = Some(format!("a {} entry is {}", self.shape.field, kind_of(text)));
            }
            entries.push(text);
        }
        Ok(wrong.map_or(Ok(entries), Err))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        // The wrapped shape, rare enough to read its array's text a second time.
        let mut inner: Option<&'de RawValue> = None;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == self.shape.wrapper {
                inner = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let missing = || {
            Err(format!(
                "{} is an object without a {} array",
                self.shape.field, self.shape.wrapper
            ))
        };
        Ok(match inner.map(RawValue::get) {
            Some(t) if t.starts_with('[') => {
                let mut de = serde_json::Deserializer::from_str(t);
                List { shape: self.shape }
                    .deserialize(&mut de)
                    .map_err(serde::de::Error::custom)?
            }
            Some(t) if t.starts_with('{') => Ok(vec![t]),
            _ => missing(),
        })
    }
}

/// "a string", "a number", ... for the first character of a JSON value.
pub(crate) fn kind_of(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// One JSON object, its members split but their values read only when asked. Every member is
/// optional and read leniently (see [`crate::fields`]), since the live API's formats are only
/// partly documented; [`JsonObject::raw`] is the object exactly as received.
pub struct JsonObject<'a> {
    raw: &'a str,
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> JsonObject<'a> {
    /// Splits an object's members (not their values); never fails: what is not an object has no
    /// members.
    pub fn parse(raw: &'a str) -> JsonObject<'a> {
        JsonObject::try_parse(raw).unwrap_or(JsonObject {
            raw,
            members: Vec::new(),
        })
    }

    /// Splits an object's members, or says why `raw` is not a JSON object.
    pub fn try_parse(raw: &'a str) -> Result<JsonObject<'a>, serde_json::Error> {
        let Members(members) = serde_json::from_str(raw)?;
        Ok(JsonObject { raw, members })
    }

    /// The object's JSON text, exactly as received.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The object's members in the order of the text, repeated names included: each name
    /// (unescaped: borrowed from the text unless it has escapes) and its value's JSON text.
    pub fn members(&self) -> impl Iterator<Item = (Cow<'a, str>, &'a str)> + '_ {
        self.members.iter().map(|(k, v)| (k.clone(), v.get()))
    }

    /// How many members the object has, repeated names counted.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The `i`th member in the order of the text: its name (unescaped) and its value's JSON text.
    /// Panics if `i` is not below [`JsonObject::len`].
    pub fn member(&self, i: usize) -> (&str, &'a str) {
        let (name, value) = &self.members[i];
        (name, value.get())
    }

    /// A member's value (the last one, if the name is repeated).
    pub fn value(&self, name: &str) -> Option<Value> {
        value_of(self.field(name)?)
    }

    /// A member's JSON text (the last one, if the name is repeated).
    pub fn field(&self, name: &str) -> Option<&'a str> {
        let (_, raw) = self.members.iter().rev().find(|(k, _)| k == name)?;
        Some(raw.get())
    }

    /// A text member: strings as they are, numbers and booleans as text; absent, null or empty
    /// is `None`.
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        text_of(self.field(name)?)
    }

    /// A time member in any of the formats seen (epoch seconds or milliseconds, ISO-8601, Java
    /// dates); absent, empty, zero or unreadable is `None`.
    pub fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        let raw = self.field(name)?;
        match string_of(raw) {
            Some(s) => parse_time_str(&s?),
            // A plain integer (epoch seconds or milliseconds, the common case) as the text is.
            None if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) => {
                parse_time_str(raw)
            }
            None => parse_time(value_of(raw).as_ref()),
        }
    }

    /// A boolean member (`true`/`false` as JSON or text, or 0/1).
    pub fn boolean(&self, name: &str) -> Option<bool> {
        match self.field(name)? {
            "true" => Some(true),
            "false" => Some(false),
            raw => parse_bool(value_of(raw).as_ref()),
        }
    }

    /// The member `name`, when it is an object, as an object of its own to read from
    /// (`userIdentity`, then its `accessKeyId`); otherwise an object without members.
    pub fn object(&self, name: &str) -> JsonObject<'a> {
        match self.field(name) {
            Some(t) if t.starts_with('{') => JsonObject::parse(t),
            _ => JsonObject {
                raw: "{}",
                members: Vec::new(),
            },
        }
    }
}

/// A member's JSON text as a value (`None` if it is not JSON).
fn value_of(raw: &str) -> Option<Value> {
    serde_json::from_str(raw).ok()
}

/// A member's JSON text as [`JsonObject::text`] reads it.
fn text_of(raw: &str) -> Option<Cow<'_, str>> {
    match string_of(raw) {
        Some(s) => s.filter(|s| !s.is_empty()),
        None => parse_text(value_of(raw).as_ref()).map(Cow::Owned),
    }
}

/// A member's JSON text when it is a string (`None` otherwise), read without building a JSON tree
/// first, and borrowed from the text when it has no escapes (the common case); `Some(None)`: a
/// string whose escapes do not read.
fn string_of(raw: &str) -> Option<Option<Cow<'_, str>>> {
    raw.starts_with('"')
        .then(|| match raw.get(1..raw.len() - 1) {
            Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
            _ => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
        })
}

/// A JSON object's members as (name, raw value), names borrowed where they have no escapes.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'de>, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    members.push((key.0, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
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

#[cfg(test)]
mod tests;
