//! `jsonb` datums from JSON text. The JSON is split with serde (a listed object's members are split
//! already, for its typed columns) and written straight in jsonb's binary format (documented in
//! PostgreSQL's `utils/jsonb.h`, unchanged on disk since 9.4), laid out as PostgreSQL lays it out,
//! so the datum equals `jsonb_in`'s to the byte (a test compares them) without lexing the text
//! again or building a tree of it. Numbers go through PostgreSQL's `numeric_in`, as in `jsonb_in`,
//! except integers of up to 18 digits, whose `numeric` (the short format) is written here as
//! numeric_in makes it (a test compares the bytes). A lone scalar, very deep nesting and very long
//! strings go through `jsonb_in`.

use alicloud_tables::table::JsonObject;
use pgrx::pg_sys;
use pgrx::pg_sys::{
    JB_FARRAY, JB_FOBJECT, JB_OFFSET_STRIDE, JENTRY_HAS_OFF, JENTRY_ISBOOL_FALSE,
    JENTRY_ISBOOL_TRUE, JENTRY_ISCONTAINER, JENTRY_ISNULL, JENTRY_ISNUMERIC, JENTRY_ISSTRING,
    JENTRY_OFFLENMASK, JENTRY_TYPEMASK,
};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// JSON with a `\u0000` escape, which PostgreSQL jsonb cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NulInJson;

/// Strings longer than this take the `jsonb_in` path, which reports PostgreSQL's own error for a
/// string over jsonb's limit (`JENTRY_OFFLENMASK`, 256 MiB); no listed object comes near it.
const LONGEST_WRITTEN_STRING: usize = 1 << 20;
/// Containers nested deeper than this take the `jsonb_in` path (with its own stack check).
const DEEPEST_WRITTEN: usize = 32;

/// A value written, or why not: `Ok(Some(jentry))` (its type, and its length including any
/// leading padding); `Ok(None)`: left to `jsonb_in` (too deep, too long, past a size limit, not
/// JSON after all); `Err`: a NUL character, which jsonb cannot hold.
type Written = Result<Option<u32>, NulInJson>;

/// `text`, valid JSON, as a `jsonb` datum in the current memory context. `parsed` is the same text
/// already split into members, when the caller has it (the object of the `raw` column).
///
/// # Safety
/// Must run on the backend's thread, inside a callback that PostgreSQL errors may unwind.
pub unsafe fn jsonb(text: &str, parsed: Option<&JsonObject>) -> Result<pg_sys::Datum, NulInJson> {
    // SAFETY: the caller's (writing palloc's memory, calling numeric_in).
    if let Some(d) = unsafe { written(text, parsed) }? {
        return Ok(d);
    }
    if has_escaped_nul(text) {
        return Err(NulInJson);
    }
    let c = std::ffi::CString::new(text).map_err(|_| NulInJson)?;
    // SAFETY: the caller's; jsonb_in reads the NUL-terminated text, which outlives the call.
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_in,
            &[Some(pg_sys::Datum::from(c.as_ptr()))],
        )
    }
    .ok_or(NulInJson)
}

/// The object or array `text` is, written as a datum; `Ok(None)` for what is left to `jsonb_in`.
///
/// # Safety
/// As [`jsonb`].
unsafe fn written(
    text: &str,
    parsed: Option<&JsonObject>,
) -> Result<Option<pg_sys::Datum>, NulInJson> {
    let mut w = Writer {
        buf: Vec::with_capacity(text.len() + text.len() / 4 + 64),
    };
    w.buf.extend_from_slice(&[0; 4]); // the varlena header, set at the end
                                      // SAFETY: the caller's.
    let root = unsafe {
        match parsed {
            Some(object) => w.object(object, text, 0),
            None if text.starts_with(['{', '[']) => w.value(text, 0),
            None => return Ok(None),
        }
    }?;
    let Some(len) = root.and_then(|_| i32::try_from(w.buf.len()).ok()) else {
        return Ok(None);
    };
    // SAFETY: palloc'd memory of the buffer's length, in the current memory context, filled with
    // the buffer, whose first 4 bytes become its varlena header.
    unsafe {
        let p = pg_sys::palloc(w.buf.len()) as *mut u8;
        std::ptr::copy_nonoverlapping(w.buf.as_ptr(), p, w.buf.len());
        pgrx::varlena::set_varsize_4b(p as *mut pg_sys::varlena, len);
        Ok(Some(pg_sys::Datum::from(p)))
    }
}

/// Whether JSON text is an object without members.
fn is_empty_object(json: &str) -> bool {
    json.strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|inside| inside.trim_matches([' ', '\t', '\n', '\r']).is_empty())
}

/// `Err` for a string PostgreSQL cannot hold (a NUL character, from a `\u0000` escape).
fn checked(s: &str) -> Result<(), NulInJson> {
    if s.contains('\0') {
        Err(NulInJson)
    } else {
        Ok(())
    }
}

/// The members' places in jsonb's key order (shorter names first, then bytewise): a stable sort
/// keeps repeated names in text order, and of each run of one name the last place is kept.
fn key_order(members: &JsonObject) -> Vec<u32> {
    let name = |i: &u32| members.member(*i as usize).0;
    let mut order: Vec<u32> = (0..members.len() as u32).collect();
    order.sort_by(|a, b| {
        let (a, b) = (name(a), name(b));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    });
    let mut kept = 0;
    for i in 0..order.len() {
        if kept > 0 && name(&order[kept - 1]) == name(&order[i]) {
            order[kept - 1] = order[i];
        } else {
            order[kept] = order[i];
            kept += 1;
        }
    }
    order.truncate(kept);
    order
}

/// How many shapes of top-level objects [`key_order_of_rows`] keeps.
const SHAPES_KEPT: usize = 8;

/// The names of a top-level object, in text order, and their [`key_order`].
type Shape = (Vec<String>, Vec<u32>);

thread_local! {
    /// The shapes of top-level objects written, the most recently added last.
    static SHAPES: std::cell::RefCell<Vec<Shape>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`key_order`] of a listed object: the rows of an answer name the same members in the same
/// order, or one of a few sets of members (an API leaves out the fields a resource does not
/// have), so the order of a recent row with the same names is taken again.
fn key_order_of_rows(members: &JsonObject) -> Vec<u32> {
    let same = |names: &[String]| {
        names.len() == members.len()
            && names
                .iter()
                .enumerate()
                .all(|(i, n)| n == members.member(i).0)
    };
    SHAPES.with_borrow_mut(|shapes| {
        if let Some((_, order)) = shapes.iter().rev().find(|(names, _)| same(names)) {
            return order.clone();
        }
        let order = key_order(members);
        if shapes.len() == SHAPES_KEPT {
            shapes.remove(0);
        }
        let names = (0..members.len()).map(|i| members.member(i).0.to_string());
        shapes.push((names.collect(), order.clone()));
        order
    })
}

/// A jsonb datum being written: a 4-byte varlena header, then the root container.
struct Writer {
    buf: Vec<u8>,
}

/// `?` for the `Option` inside a [`Written`]: returns `Ok(None)`.
macro_rules! or_left {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

impl Writer {
    /// Zero bytes up to the next 4-byte boundary of the datum; how many.
    fn pad_to_int(&mut self) -> u32 {
        let pad = (4 - self.buf.len() % 4) % 4;
        self.buf.resize(self.buf.len() + pad, 0);
        pad as u32
    }

    /// Writes the value of some JSON text, nested `depth` containers deep.
    ///
    /// # Safety
    /// As [`jsonb`] (numbers are read by `numeric_in`).
    unsafe fn value(&mut self, json: &str, depth: usize) -> Written {
        let first = or_left!(json.as_bytes().first());
        Ok(Some(match first {
            b'{' | b'[' if depth >= DEEPEST_WRITTEN => return Ok(None),
            // SAFETY: the caller's.
            b'{' => return unsafe { self.object(&JsonObject::parse(json), json, depth) },
            b'[' => {
                let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(json) else {
                    return Ok(None);
                };
                let start = self.buf.len();
                let (jentries, data) =
                    self.begin_container(items.len() as u32 | JB_FARRAY, items.len());
                for (i, item) in items.iter().enumerate() {
                    // SAFETY: the caller's.
                    let entry = or_left!(unsafe { self.value(item.get(), depth + 1) }?);
                    or_left!(self.set_jentry(jentries, data, i, entry));
                }
                or_left!(self.container_entry(start))
            }
            b'"' if json.len() > LONGEST_WRITTEN_STRING => return Ok(None),
            b'"' => {
                let s = match json.get(1..json.len() - 1) {
                    // Valid JSON holds no raw NUL: only an unescaped string can have one.
                    Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
                    _ => {
                        let s = or_left!(serde_json::from_str::<String>(json).ok());
                        checked(&s)?;
                        Cow::Owned(s)
                    }
                };
                self.buf.extend_from_slice(s.as_bytes());
                JENTRY_ISSTRING | s.len() as u32
            }
            b'-' | b'0'..=b'9' => {
                let pad = self.pad_to_int();
                let start = self.buf.len();
                match plain_integer(json) {
                    Some(n) => integer_numeric(n, &mut self.buf),
                    None => {
                        // SAFETY: the caller's.
                        let numeric = or_left!(unsafe { numeric_in(json) });
                        self.buf.extend_from_slice(numeric);
                    }
                }
                JENTRY_ISNUMERIC | (pad + (self.buf.len() - start) as u32)
            }
            b't' => JENTRY_ISBOOL_TRUE,
            b'f' => JENTRY_ISBOOL_FALSE,
            b'n' => JENTRY_ISNULL,
            _ => return Ok(None),
        }))
    }

    /// Writes the object `json`, split into `members`: every key first, then every value, in
    /// jsonb's key order (shorter first, then bytewise); of a repeated name the last one counts,
    /// as in `jsonb_in`.
    ///
    /// # Safety
    /// As [`Writer::value`].
    unsafe fn object(&mut self, members: &JsonObject, json: &str, depth: usize) -> Written {
        let name = |i: &u32| members.member(*i as usize).0;
        for i in 0..members.len() as u32 {
            if name(&i).len() > LONGEST_WRITTEN_STRING {
                return Ok(None);
            }
            checked(name(&i))?;
        }
        if members.is_empty() && !is_empty_object(json) {
            return Ok(None); // not an object after all
        }
        let order = if depth == 0 {
            key_order_of_rows(members)
        } else {
            key_order(members)
        };
        let n = order.len();
        let start = self.buf.len();
        let (jentries, data) = self.begin_container(n as u32 | JB_FOBJECT, 2 * n);
        for (i, m) in order.iter().enumerate() {
            let key = name(m);
            self.buf.extend_from_slice(key.as_bytes());
            or_left!(self.set_jentry(jentries, data, i, JENTRY_ISSTRING | key.len() as u32));
        }
        for (i, m) in order.iter().enumerate() {
            // SAFETY: the caller's.
            let entry = or_left!(unsafe { self.value(members.member(*m as usize).1, depth + 1) }?);
            or_left!(self.set_jentry(jentries, data, n + i, entry));
        }
        Ok(self.container_entry(start))
    }

    /// A container's header and room for its `n` JEntries, after padding; where the JEntries go
    /// and where the children's data starts.
    fn begin_container(&mut self, header: u32, n: usize) -> (usize, usize) {
        self.pad_to_int();
        self.buf.extend_from_slice(&header.to_ne_bytes());
        let jentries = self.buf.len();
        self.buf.resize(jentries + 4 * n, 0);
        (jentries, self.buf.len())
    }

    /// The JEntry of a container that began (padding included) at `start`.
    fn container_entry(&self, start: usize) -> Option<u32> {
        let len = u32::try_from(self.buf.len() - start).ok()?;
        (len <= JENTRY_OFFLENMASK).then_some(JENTRY_ISCONTAINER | len)
    }

    /// Sets the JEntry of child `i`, whose data ends where the buffer ends: every
    /// `JB_OFFSET_STRIDE`th child holds its end offset instead of its length, at the children
    /// PostgreSQL picks. `None` past jsonb's size limit.
    fn set_jentry(&mut self, jentries: usize, data: usize, i: usize, entry: u32) -> Option<()> {
        let end = u32::try_from(self.buf.len() - data).ok()?;
        if end > JENTRY_OFFLENMASK {
            return None;
        }
        let entry = if i.is_multiple_of(JB_OFFSET_STRIDE as usize) {
            (entry & JENTRY_TYPEMASK) | end | JENTRY_HAS_OFF
        } else {
            entry
        };
        self.buf[jentries + 4 * i..jentries + 4 * i + 4].copy_from_slice(&entry.to_ne_bytes());
        Some(())
    }
}

/// The integer a JSON number is, when `numeric_in` reads it as one: at most 18 digits, no
/// fraction or exponent, no leading zero, not `-0` (which numeric_in keeps apart from `0`).
fn plain_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    plain.then(|| text.parse().ok()).flatten()
}

/// Appends the `numeric` datum of an integer, as `int64_to_numeric` and `numeric_in` make it
/// (the tests compare the bytes): PostgreSQL's short format (`utils/adt/numeric.c`), that is a
/// 4-byte varlena header, a 16-bit header (`NUMERIC_SHORT`, the sign, display scale 0, the
/// weight), then the base-10000 digits from the most significant, without zero digits at the
/// end. The common number of a listed object (epoch times, counts) so costs no call.
fn integer_numeric(n: i64, out: &mut Vec<u8>) {
    const NUMERIC_SHORT: u16 = 0x8000;
    const NUMERIC_SHORT_SIGN_MASK: u16 = 0x2000;
    const NUMERIC_SHORT_WEIGHT_MASK: u16 = 0x003F;
    // Base-10000 digits, least significant first (an i64 has at most 5).
    let mut digits = [0u16; 5];
    let mut count = 0;
    let mut rest = n.unsigned_abs();
    while rest > 0 {
        digits[count] = (rest % 10_000) as u16;
        rest /= 10_000;
        count += 1;
    }
    let weight = count.saturating_sub(1) as u16;
    let zeros_at_end = digits[..count].iter().take_while(|&&d| d == 0).count();
    let kept = &digits[zeros_at_end..count];
    let size = 4 + 2 + 2 * kept.len();
    // SET_VARSIZE_4B of postgres.h.
    #[cfg(target_endian = "little")]
    let varlena_header = (size as u32) << 2;
    #[cfg(target_endian = "big")]
    let varlena_header = (size as u32) & 0x3FFF_FFFF;
    let sign = if n < 0 { NUMERIC_SHORT_SIGN_MASK } else { 0 };
    out.extend_from_slice(&varlena_header.to_ne_bytes());
    out.extend_from_slice(
        &(NUMERIC_SHORT | sign | (weight & NUMERIC_SHORT_WEIGHT_MASK)).to_ne_bytes(),
    );
    for d in kept.iter().rev() {
        out.extend_from_slice(&(*d as i16).to_ne_bytes());
    }
}

/// A number's `numeric` datum bytes (a 4-byte varlena header, as `numeric_in` makes it), in the
/// current memory context; `numeric_in` reports what is not a number.
///
/// # Safety
/// As [`jsonb`]; the bytes live as long as the current memory context.
unsafe fn numeric_in<'m>(text: &str) -> Option<&'m [u8]> {
    let c = std::ffi::CString::new(text).ok()?;
    // SAFETY: the caller's; numeric_in reads the NUL-terminated text, which outlives the call,
    // and returns a varlena in the current memory context, read here within its size.
    unsafe {
        let d = pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::numeric_in,
            &[
                Some(pg_sys::Datum::from(c.as_ptr())),
                Some(pg_sys::Datum::from(pg_sys::InvalidOid)),
                Some(pg_sys::Datum::from(-1i32)),
            ],
        )?;
        let p = d.cast_mut_ptr::<pg_sys::varlena>();
        Some(std::slice::from_raw_parts(
            p as *const u8,
            pgrx::varlena::varsize_any(p),
        ))
    }
}

/// Whether JSON text holds the escape `\u0000` (a backslash that is itself escaped does not count).
fn has_escaped_nul(json: &str) -> bool {
    let bytes = json.as_bytes();
    json.match_indices("u0000").any(|(i, _)| {
        let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
        backslashes % 2 == 1
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::{jsonb, NulInJson};
    use alicloud_tables::table::JsonObject;
    use pgrx::prelude::*;

    /// `jsonb_in`'s datum bytes for `text`.
    fn jsonb_in(text: &str) -> Vec<u8> {
        let c = std::ffi::CString::new(text).unwrap();
        // SAFETY: in a test backend; jsonb_in reads the NUL-terminated text.
        let d = unsafe {
            pgrx::fcinfo::direct_function_call_as_datum(
                pg_sys::jsonb_in,
                &[Some(pg_sys::Datum::from(c.as_ptr()))],
            )
        }
        .unwrap();
        bytes(d)
    }

    /// The bytes of a jsonb datum made in this test's memory context.
    fn bytes(d: pg_sys::Datum) -> Vec<u8> {
        let p = d.cast_mut_ptr::<pg_sys::varlena>();
        // SAFETY: a varlena of this test's, read within its size.
        unsafe { std::slice::from_raw_parts(p as *const u8, pgrx::varlena::varsize_any(p)) }
            .to_vec()
    }

    /// Objects and arrays, made up: key lengths across jsonb's offset stride, numbers after
    /// strings of every length (so after every padding), repeated names, escapes, containers
    /// nested in both.
    fn generated() -> Vec<String> {
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let values = [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "7",
            "1614580048000",
            "-12.50",
            "3.1e-5",
            "99999999999999999999",
            r#""""#,
            r#""x""#,
            r#""héllo""#,
            r#""a\"b""#,
            r#""\u00e9\n""#,
            "{}",
            "[]",
            r#"{"b":1,"a":"xyz","b":[2, "c", {"d": 3.0}]}"#,
            r#"[1, "ab", {"k": null, "kk": [true]}, [], 12.5]"#,
        ];
        let mut out = Vec::new();
        for round in 0..200 {
            let n = 1 + next(80) as usize;
            let items: Vec<String> = (0..n)
                .map(|_| {
                    let value = values[next(values.len() as u64) as usize];
                    if round % 4 == 3 {
                        value.to_string()
                    } else {
                        let key = "k".repeat(next(9) as usize) + &next(40).to_string();
                        format!(r#""{key}":{value}"#)
                    }
                })
                .collect();
            out.push(if round % 4 == 3 {
                format!("[{}]", items.join(","))
            } else {
                format!("{{{}}}", items.join(","))
            });
        }
        out
    }

    /// Written (with and without the members split beforehand) is `jsonb_in`, to the byte; and
    /// objects and arrays are written, not left to `jsonb_in`.
    #[pg_test]
    fn written_jsonb_is_jsonb_in_to_the_byte() {
        let deep = "[".repeat(40) + &"]".repeat(40);
        let written = [
            r#"{"Name":"t","HomeRegion":"cn-hangzhou","CreateTime":1614580048000,"IsOrganizationTrail":false,"x":null,"y":true}"#,
            r#"{"Name":"a\"b\\c\n\t\/ é \u00e9 \ud83d\ude00 😀","k\u00e9y":"v"}"#,
            r#"{"a":1,"b":2,"a":3,"bb":4,"b":"last"}"#,
            r#"{"z":-0,"y":0.0,"x":1.50,"w":1e3,"v":1E-7,"u":-12.5e+2,"t":123456789012345678901234567890.123}"#,
            r#"{"":"","  ":" ","longer key":"", "a" : "spaced" }"#,
            r#"["acs:actiontrail:cn-hangzhou:123:actiontrail/t"]"#,
            r#"[1,"a",true,false,null,2.50,"a\u0041"]"#,
            r#"[]"#,
            r#"{}"#,
            r#"{ }"#,
            r#"{"n":[0],"m":1}"#,
            r#"{"nested":{"b":1,"a":[1,{"c":null}]},"x":"y"}"#,
            r#"[[1],{"a":2},"s",{}]"#,
        ];
        let left_to_jsonb_in = [r#""scalar""#, "42", "null", deep.as_str()];
        let generated = generated();
        let written = written
            .iter()
            .copied()
            .chain(generated.iter().map(String::as_str));
        for (text, is_written) in written
            .map(|t| (t, true))
            .chain(left_to_jsonb_in.iter().map(|t| (*t, false)))
        {
            let object = JsonObject::parse(text);
            // SAFETY: in a test backend, in its memory context.
            let root = unsafe { super::written(text, None) }.unwrap();
            assert_eq!(root.is_some(), is_written, "{text}");
            let expected = jsonb_in(text);
            // SAFETY: in a test backend, in its memory context.
            let (whole, from_members) = unsafe { (jsonb(text, None), jsonb(text, Some(&object))) };
            assert_eq!(bytes(whole.unwrap()), expected, "{text}");
            assert_eq!(
                bytes(from_members.unwrap()),
                expected,
                "{text} (members split beforehand)"
            );
        }
    }

    /// Random JSON documents (objects and arrays, nested, with repeated and escaped names, every
    /// kind of number and string) written from their text and from their members are
    /// `jsonb_in`'s datum to the byte. `PROPTEST_CASES` (the server's environment) sets the cases;
    /// scripts/fuzz.sh raises it.
    #[pg_test]
    fn random_documents_are_jsonb_in_to_the_byte() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let number = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            (any::<i32>(), 0u32..6, any::<bool>()).prop_map(|(m, e, neg)| {
                format!(
                    "{m}.{:0>3}e{}{e}",
                    m.unsigned_abs() % 1000,
                    if neg { "-" } else { "" }
                )
            }),
            "-?(0|[1-9][0-9]{0,29})(\\.[0-9]{1,20})?",
        ];
        let string = prop_oneof![
            // No NUL: jsonb cannot hold one (a test of its own checks that it is refused).
            "[^\\x00]{0,20}".prop_map(|s| serde_json::Value::from(s).to_string()),
            "[a-z\"\\\\/]{0,8}".prop_map(|s| serde_json::Value::from(s).to_string()),
            Just(r#""\u00e9\n\t\ud83d\ude00""#.to_string()),
        ];
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            number,
            string.clone(),
        ];
        let document = leaf.prop_recursive(5, 200, 40, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..40)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((string.clone(), inner), 0..40).prop_map(|v| {
                    let members: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        });
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(300);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(
                &document.prop_filter("a container", |d| d.starts_with(['{', '['])),
                |text| {
                    let object = JsonObject::parse(&text);
                    let expected = jsonb_in(&text);
                    // SAFETY: in a test backend, in its memory context.
                    let (whole, members) =
                        unsafe { (jsonb(&text, None), jsonb(&text, Some(&object))) };
                    prop_assert_eq!(bytes(whole.unwrap()), expected.clone(), "{}", text);
                    if text.starts_with('{') {
                        prop_assert_eq!(
                            bytes(members.unwrap()),
                            expected,
                            "{} (members split)",
                            text
                        );
                    }
                    Ok(())
                },
            )
            .unwrap();
    }

    /// Integers are written as `numeric_in` makes them, to the byte: zero, signs, zero digits
    /// at either end of the base-10000 digits, the most digits taken without numeric_in.
    #[pg_test]
    fn integers_are_numeric_in_to_the_byte() {
        for n in [
            0i64,
            1,
            -1,
            9999,
            10_000,
            -10_000,
            10_001,
            12_340_000,
            1_614_580_048_000,
            100_000_000_000_000_000,
            999_999_999_999_999_999,
            -999_999_999_999_999_999,
        ] {
            let text = n.to_string();
            assert_eq!(super::plain_integer(&text), Some(n));
            let mut written = Vec::new();
            super::integer_numeric(n, &mut written);
            let c = std::ffi::CString::new(text.as_str()).unwrap();
            // SAFETY: in a test backend; numeric_in reads the NUL-terminated text.
            let d = unsafe {
                pgrx::fcinfo::direct_function_call_as_datum(
                    pg_sys::numeric_in,
                    &[
                        Some(pg_sys::Datum::from(c.as_ptr())),
                        Some(pg_sys::Datum::from(pg_sys::InvalidOid)),
                        Some(pg_sys::Datum::from(-1i32)),
                    ],
                )
            }
            .unwrap();
            assert_eq!(written, bytes(d), "{n}");
        }
        // Not plain integers: numeric_in reads them.
        for text in ["-0", "01", "1.0", "1e3", "1234567890123456789"] {
            assert_eq!(super::plain_integer(text), None, "{text}");
        }
    }

    /// A `\u0000` escape anywhere is refused, never cut: in a value, a name, an element, nested.
    #[pg_test]
    fn escaped_nul_is_refused() {
        for text in [
            r#"{"a":"x\u0000y"}"#,
            r#"{"a\u0000":"x"}"#,
            r#"["\u0000"]"#,
            r#"{"a":{"b":"\u0000"}}"#,
        ] {
            // SAFETY: in a test backend, in its memory context.
            let result = unsafe { jsonb(text, None) };
            assert!(matches!(result, Err(NulInJson)), "{text}");
        }
    }

    #[test]
    fn escaped_nul_is_found_and_escaped_backslashes_are_not() {
        use super::has_escaped_nul;
        assert!(has_escaped_nul(r#"{"a":"x\u0000y"}"#));
        assert!(has_escaped_nul(r#"{"a":"\\\u0000"}"#));
        assert!(!has_escaped_nul(r#"{"a":"\\u0000"}"#));
        assert!(!has_escaped_nul(r#"{"a":"u0000"}"#));
        assert!(!has_escaped_nul(r#"{"a":"\u0001"}"#));
    }
}
