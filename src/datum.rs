//! Row mapping: a trail's row into a tuple slot, each neutral [`Value`] as a PostgreSQL datum of
//! the column's type. Datums are made in the current memory context, which during a scan is the
//! executor's per-tuple context: only the current row's datums exist at any time.

use crate::planner::{table, Retrieved};
use alicloud_api::Trail;
use alicloud_tables::table::{RowSource, Value};
use pgrx::{pg_sys, IntoDatum};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
/// PostgreSQL's timestamp range, in its own microseconds (`MIN_TIMESTAMP`, `END_TIMESTAMP`).
const PG_TIMESTAMP_RANGE: std::ops::Range<i64> =
    -211_813_488_000_000_000..9_223_371_331_200_000_000;

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
            match to_datum((column.value)(&source), Some(&trail)) {
                Ok(Some(d)) => {
                    values[i] = d;
                    nulls[i] = false;
                }
                Ok(None) => {}
                Err(why) => {
                    return Err(BadValue {
                        trail: trail.text("Name").map(String::from),
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

/// The datum of `value` (`None`: SQL NULL). `trail` is the row's trail, already split into
/// members: the `raw` column's JSON text is its text, and `jsonb` is built from the members.
///
/// # Safety
/// Must run on the backend's thread, in a memory context that lives as long as the datum is used.
pub unsafe fn to_datum(
    value: Value<'_>,
    trail: Option<&Trail>,
) -> Result<Option<pg_sys::Datum>, Unstorable> {
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
            let parsed = trail.filter(|t| std::ptr::eq(t.raw(), j.as_ref()));
            Some(crate::jsonb::jsonb(&j, parsed)?)
        }
    })
}
