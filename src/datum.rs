//! Row mapping: a row of the table layer into a tuple slot, each neutral [`Value`] as a PostgreSQL
//! datum of the column's type. Datums are made in the current memory context, which during a scan
//! is the executor's per-tuple context: only the current row's datums exist at any time.

use crate::jsonb::NulInJson;
use crate::planner::Retrieved;
use crate::quals::PG_EPOCH_OFFSET_MICROS;
use alicloud_tables::scan::Row;
use alicloud_tables::table::{JsonObject, TableDef, Value};
use pgrx::{pg_sys, IntoDatum};

/// PostgreSQL's timestamp range, in its own microseconds (`MIN_TIMESTAMP`, `END_TIMESTAMP`).
const PG_TIMESTAMP_RANGE: std::ops::Range<i64> =
    -211_813_488_000_000_000..9_223_371_331_200_000_000;

/// A value of a row that PostgreSQL cannot store: which, and where.
#[derive(Debug)]
pub struct BadValue {
    table: &'static str,
    /// The object's name (its `name` column), when it has one.
    item: Option<String>,
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
            "the {} row {} listed by region {} has {what} in column {}, which PostgreSQL {ty} cannot hold",
            self.table,
            self.item
                .as_ref()
                .map_or_else(|| "without a name".to_string(), |n| format!("{n:?}")),
            self.region,
            self.column,
        )
    }
}

/// Stores `row` of `table` in `slot`: the `columns` the query uses get their values, the others
/// are NULL.
///
/// # Safety
/// `slot` must be the scan's cleared tuple slot, in the per-tuple memory context.
pub unsafe fn store_row(
    slot: *mut pg_sys::TupleTableSlot,
    table: &TableDef,
    columns: &[Retrieved],
    row: &Row,
) -> Result<(), BadValue> {
    // SAFETY: the caller's: the slot's arrays have one entry per attribute.
    let (values, nulls) = unsafe {
        let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
        (
            std::slice::from_raw_parts_mut((*slot).tts_values, natts),
            std::slice::from_raw_parts_mut((*slot).tts_isnull, natts),
        )
    };
    nulls.fill(true);
    if !columns.is_empty() {
        // count(*) and the like read no column, so not the object either.
        let object = row.object();
        for r in columns {
            let column = &table.columns[r.column];
            let i = (r.attno - 1) as usize;
            let value = row.value(&object, column);
            let parsed = column.raw.then_some(&object);
            // SAFETY: the caller's: datums go in the current (per-tuple) memory context.
            match unsafe { to_datum(value, parsed) } {
                Ok(Some(d)) => {
                    values[i] = d;
                    nulls[i] = false;
                }
                Ok(None) => {}
                Err(why) => {
                    let name = table
                        .column("name")
                        .map(|c| row.value(&object, c).to_text().into_owned());
                    return Err(BadValue {
                        table: table.name,
                        item: name.filter(|n| !n.is_empty()),
                        region: row.region.to_string(),
                        column: column.name,
                        why,
                    });
                }
            }
        }
    }
    // SAFETY: the caller's.
    unsafe { pg_sys::ExecStoreVirtualTuple(slot) };
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

/// The datum of `value` (`None`: SQL NULL). `parsed` is the object `value` is the JSON text of,
/// already split into members (the `raw` column): `jsonb` is then built from the members.
///
/// # Safety
/// Must run on the backend's thread, in a memory context that lives as long as the datum is used.
pub unsafe fn to_datum(
    value: Value<'_>,
    parsed: Option<&JsonObject>,
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
        // SAFETY: the caller's.
        Value::Json(j) => Some(
            unsafe { crate::jsonb::jsonb(&j, parsed) }
                .map_err(|NulInJson| Unstorable::NulInJson)?,
        ),
    })
}
