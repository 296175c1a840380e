//! Answers kept as the text that arrived: [`Items`] is one answer's body with the byte ranges of
//! the objects its list holds (a `DescribeTrails` answer's trails, a `LookupEvents` page's events),
//! and [`JsonObject`] reads one of those objects' members only when a row needs them. A scan so
//! holds each answer once, never a tree of it.

use crate::fields::{parse_bool, parse_text, parse_time, parse_time_str};
use chrono::{DateTime, Utc};
use serde::de::{Deserializer, MapAccess, Visitor};
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

    /// Where the objects of `body` lie, and its request id.
    fn read(body: &str, shape: ListShape) -> Result<Layout, String> {
        if !body.trim_start().starts_with('{') {
            return Err("expected a JSON object".to_string());
        }
        let top = match JsonObject::try_parse(body) {
            Ok(o) => o,
            Err(e) if e.is_data() => return Err("expected a JSON object".to_string()),
            Err(e) => return Err(format!("invalid JSON: {e}")),
        };
        let list = top.field(shape.field);
        let items = list_items(list, shape)?;
        let base = body.as_ptr() as usize;
        let mut spans = Vec::with_capacity(items.len());
        for text in items {
            if !text.starts_with('{') {
                return Err(format!("a {} entry is {}", shape.field, kind_of(text)));
            }
            let start = text.as_ptr() as usize - base;
            let end = start + text.len();
            let span = u32::try_from(start).and_then(|s| Ok((s, u32::try_from(end)?)));
            spans.push(span.map_err(|_| "the answer is larger than 4 GiB".to_string())?);
        }
        let request_id = top.text("RequestId").map(Cow::into_owned);
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

/// The texts of a list's entries: `null` or missing is empty; an array; or the wrapped shape.
fn list_items<'a>(list: Option<&'a str>, shape: ListShape) -> Result<Vec<&'a str>, String> {
    let Some(text) = list else {
        return Ok(Vec::new());
    };
    let array = |t: &'a str| {
        serde_json::from_str::<Vec<&RawValue>>(t)
            .map(|v| v.into_iter().map(RawValue::get).collect())
            .map_err(|e| e.to_string())
    };
    match text.as_bytes().first() {
        Some(b'n') => Ok(Vec::new()),
        Some(b'[') => array(text),
        Some(b'{') => {
            let wrapped = JsonObject::parse(text);
            match wrapped.field(shape.wrapper) {
                Some(t) if t.starts_with('[') => array(t),
                Some(t) if t.starts_with('{') => Ok(vec![t]),
                _ => Err(format!(
                    "{} is an object without a {} array",
                    shape.field, shape.wrapper
                )),
            }
        }
        _ => Err(format!("{} is {}", shape.field, kind_of(text))),
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

    /// A member's value (the last one, if the name is repeated).
    pub fn value(&self, name: &str) -> Option<Value> {
        serde_json::from_str(self.field(name)?).ok()
    }

    /// A member's JSON text (the last one, if the name is repeated).
    pub fn field(&self, name: &str) -> Option<&'a str> {
        let (_, raw) = self.members.iter().rev().find(|(k, _)| k == name)?;
        Some(raw.get())
    }

    /// A member that is a JSON string, read without building a JSON tree first, and borrowed from
    /// the text when it has no escapes (the common case).
    fn string(&self, name: &str) -> Option<Option<Cow<'a, str>>> {
        let raw = self.field(name)?;
        raw.starts_with('"')
            .then(|| match raw.get(1..raw.len() - 1) {
                Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
                _ => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
            })
    }

    /// A text member: strings as they are, numbers and booleans as text; absent, null or empty
    /// is `None`.
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        match self.string(name) {
            Some(s) => s.filter(|s| !s.is_empty()),
            None => parse_text(self.value(name).as_ref()).map(Cow::Owned),
        }
    }

    /// A time member in any of the formats seen (epoch seconds or milliseconds, ISO-8601, Java
    /// dates); absent, empty, zero or unreadable is `None`.
    pub fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        match self.string(name) {
            Some(s) => parse_time_str(&s?),
            // A plain integer (epoch seconds or milliseconds, the common case) as the text is.
            None => match self.field(name) {
                Some(raw) if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) => {
                    parse_time_str(raw)
                }
                _ => parse_time(self.value(name).as_ref()),
            },
        }
    }

    /// A boolean member (`true`/`false` as JSON or text, or 0/1).
    pub fn boolean(&self, name: &str) -> Option<bool> {
        match self.field(name)? {
            "true" => Some(true),
            "false" => Some(false),
            _ => parse_bool(self.value(name).as_ref()),
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
