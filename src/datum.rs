//! Row mapping: a trail's row into a tuple slot, each neutral [`Value`] as a PostgreSQL datum of
//! the column's type. Datums are made in the current memory context, which during a scan is the
//! executor's per-tuple context: only the current row's datums exist at any time.

use crate::planner::{table, Retrieved};
use alicloud_api::Trail;
use alicloud_tables::table::{RowSource, Value};
use pgrx::{pg_sys, IntoDatum};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
/// PostgreSQL's timestamp range, in its own microseconds (`MIN_TIMESTAMP`, `END_TIMESTAMP`).
const PG_TIMESTAMP_RANGE: std::ops::Range<i64> =
    -211_813_488_000_000_000..9_223_371_331_200_000_000;

/// The most bytes of converted `jsonb` values a backend keeps (see [`JsonbMemo`]).
const JSONB_MEMO_BYTES: usize = 8 * 1024 * 1024;

/// Converted `jsonb` values by their JSON text. Parsing JSON into `jsonb` is most of what a row of
/// `raw` costs, and the same trails come back scan after scan (from the cache, or the API): a
/// repeated text is copied, not parsed again. When it outgrows its budget it starts afresh.
#[derive(Default)]
struct JsonbMemo {
    by_hash: HashMap<u64, Vec<Converted>>,
    bytes: usize,
}

/// A JSON text and its `jsonb` datum's bytes.
type Converted = (Box<str>, Box<[u8]>);

thread_local! {
    static JSONB_MEMO: RefCell<JsonbMemo> = RefCell::new(JsonbMemo::default());
}

/// `text` as a `jsonb` datum in the current memory context.
unsafe fn jsonb(text: &str) -> Result<Option<pg_sys::Datum>, Unstorable> {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    let hash = h.finish();
    let copy = |bytes: &[u8]| {
        let p = pg_sys::palloc(bytes.len()) as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        pg_sys::Datum::from(p)
    };
    let known = JSONB_MEMO.with(|m| {
        m.borrow()
            .by_hash
            .get(&hash)
            .and_then(|entries| entries.iter().find(|(t, _)| **t == *text))
            .map(|(_, bytes)| copy(bytes))
    });
    if let Some(d) = known {
        return Ok(Some(d));
    }
    let c = std::ffi::CString::new(text).map_err(|_| Unstorable::NulInJson)?;
    let Some(d) = pgrx::fcinfo::direct_function_call_as_datum(
        pg_sys::jsonb_in,
        &[Some(pg_sys::Datum::from(c.as_ptr()))],
    ) else {
        return Ok(None);
    };
    let ptr = d.cast_mut_ptr::<pg_sys::varlena>();
    let bytes = std::slice::from_raw_parts(ptr as *const u8, pgrx::varlena::varsize_any(ptr));
    JSONB_MEMO.with(|m| {
        let mut m = m.borrow_mut();
        let size = text.len() + bytes.len();
        if m.bytes + size > JSONB_MEMO_BYTES {
            *m = JsonbMemo::default();
        }
        if size <= JSONB_MEMO_BYTES {
            m.bytes += size;
            m.by_hash
                .entry(hash)
                .or_default()
                .push((text.into(), bytes.into()));
        }
    });
    Ok(Some(d))
}

/// One row to store: a trail's JSON text, the region that listed it, the account id.
pub struct Row<'a> {
    /// The trail's JSON text.
    pub raw: &'a str,
    /// The region that listed it.
    pub region: &'a str,
    /// The account id, when a column needs it.
    pub account_id: Option<&'a str>,
}

/// A value of a row that PostgreSQL cannot store: which, and where.
#[derive(Debug)]
pub struct BadValue {
    trail: Option<String>,
    region: String,
    column: &'static str,
    why: Unstorable,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, ty) = match self.why {
            Unstorable::NulInText => ("a NUL character", "text"),
            Unstorable::NulInJson => ("a \\u0000 escape", "jsonb"),
        };
        write!(
            f,
            "the trail {} listed by region {} has {what} in column {}, which PostgreSQL {ty} cannot hold",
            self.trail
                .as_ref()
                .map_or_else(|| "without a name".to_string(), |n| format!("{n:?}")),
            self.region,
            self.column,
        )
    }
}

/// Stores `row` in `slot`: the `columns` the query uses get their values, the others are NULL.
///
/// # Safety
/// `slot` must be the scan's cleared tuple slot, in the per-tuple memory context.
pub unsafe fn store_row(
    slot: *mut pg_sys::TupleTableSlot,
    columns: &[Retrieved],
    row: &Row,
) -> Result<(), BadValue> {
    let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
    let values = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
    let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
    nulls.fill(true);
    if !columns.is_empty() {
        // count(*) and the like read no column, so not the trail either.
        let trail = Trail::parse(row.raw);
        let source = RowSource {
            trail: &trail,
            region: row.region,
            account_id: row.account_id,
        };
        let t = table();
        for r in columns {
            let column = &t.columns[r.column];
            let i = (r.attno - 1) as usize;
            match to_datum((column.value)(&source)) {
                Ok(Some(d)) => {
                    values[i] = d;
                    nulls[i] = false;
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(BadValue {
                        trail: trail.text("Name"),
                        region: row.region.to_string(),
                        column: column.name,
                        why,
                    })
                }
            }
        }
    }
    pg_sys::ExecStoreVirtualTuple(slot);
    Ok(())
}

/// Why a value cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unstorable {
    /// Text with a NUL character, which PostgreSQL text cannot hold.
    NulInText,
    /// JSON with a `\u0000` escape, which PostgreSQL jsonb cannot hold.
    NulInJson,
}

/// Whether JSON text holds the escape `\u0000` (a backslash that is itself escaped does not count).
fn has_escaped_nul(json: &str) -> bool {
    let bytes = json.as_bytes();
    json.match_indices("u0000").any(|(i, _)| {
        let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
        backslashes % 2 == 1
    })
}

/// The datum of `value` (`None`: SQL NULL).
///
/// # Safety
/// Must run on the backend's thread, in a memory context that lives as long as the datum is used.
pub unsafe fn to_datum(value: Value<'_>) -> Result<Option<pg_sys::Datum>, Unstorable> {
    Ok(match value {
        Value::Null => None,
        Value::Text(t) => {
            if t.contains('\0') {
                return Err(Unstorable::NulInText);
            }
            t.as_ref().into_datum()
        }
        Value::Boolean(b) => Some(pg_sys::Datum::from(b)),
        Value::Timestamp(t) => t
            .timestamp_micros()
            .checked_sub(PG_EPOCH_OFFSET_MICROS)
            .filter(|m| PG_TIMESTAMP_RANGE.contains(m))
            .map(pg_sys::Datum::from),
        Value::Json(j) => {
            if has_escaped_nul(&j) {
                return Err(Unstorable::NulInJson);
            }
            return jsonb(&j);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn escaped_nul_is_found_and_escaped_backslashes_are_not() {
        assert!(has_escaped_nul(r#"{"a":"x\u0000y"}"#));
        assert!(has_escaped_nul(r#"{"a":"\\\u0000"}"#));
        assert!(!has_escaped_nul(r#"{"a":"\\u0000"}"#));
        assert!(!has_escaped_nul(r#"{"a":"u0000"}"#));
        assert!(!has_escaped_nul(r#"{"a":"\u0001"}"#));
    }
}
