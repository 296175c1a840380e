//! Row mapping: a row of the table layer into a tuple slot, each neutral [`Value`] as a PostgreSQL
//! datum of the column's type. Datums are made in the current memory context, which during a scan
//! is the executor's per-tuple context: only the current row's datums exist at any time (its text
//! values share one allocation). The connection columns, the same in every row of one
//! connection, are made once per connection in the query's memory context ([`ConnectionMemo`]).

use crate::jsonb::NulInJson;
use crate::planner::Retrieved;
use crate::quals::PG_EPOCH_OFFSET_MICROS;
use alicloud_tables::scan::Row;
use alicloud_tables::table::{JsonObject, TableDef, Value};
use pgrx::{pg_sys, IntoDatum, PgMemoryContexts};

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

/// The datums of the columns whose value is the same in every row of one connection
/// ([`alicloud_tables::table::ColumnDef::per_connection`]), made once for the current connection
/// in a memory context that outlives the rows (the query's): a 100,000-row scan converts them
/// once, not 100,000 times. A scan over member accounts makes them again for each member.
pub struct ConnectionMemo {
    context: pg_sys::MemoryContext,
    /// The connection the datums are of.
    connection: Option<String>,
    /// Per column index, its datum (`None`: NULL).
    datums: Vec<(usize, Option<pg_sys::Datum>)>,
}

impl ConnectionMemo {
    /// A memo whose datums live in `context`, which must outlive every row of the scan.
    pub fn new(context: pg_sys::MemoryContext) -> ConnectionMemo {
        ConnectionMemo {
            context,
            connection: None,
            datums: Vec::new(),
        }
    }
}

/// Stores `row` of `table` in `slot`: the `columns` the query uses get their values, the others
/// are NULL.
///
/// # Safety
/// `slot` must be the scan's cleared tuple slot, in the per-tuple memory context; `memo`'s
/// context must outlive the rows.
pub unsafe fn store_row(
    slot: *mut pg_sys::TupleTableSlot,
    table: &TableDef,
    columns: &[Retrieved],
    row: &Row,
    memo: &mut ConnectionMemo,
) -> Result<(), BadValue> {
    if memo.connection.as_deref() != Some(row.connection_name) {
        memo.connection = Some(row.connection_name.to_string());
        memo.datums.clear();
    }
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
        // The row's text values, made together in one allocation at the end.
        let mut texts: Vec<(usize, std::borrow::Cow<str>)> = Vec::with_capacity(columns.len());
        let mut text_bytes = 0;
        for r in columns {
            let column = &table.columns[r.column];
            let i = (r.attno - 1) as usize;
            if column.per_connection {
                if let Some((_, d)) = memo.datums.iter().find(|(c, _)| *c == r.column) {
                    values[i] = d.unwrap_or(pg_sys::Datum::from(0));
                    nulls[i] = d.is_none();
                    continue;
                }
            }
            let value = row.value(&object, column);
            let value = match value {
                Value::Text(t) if !column.per_connection && !t.contains('\0') => {
                    text_bytes += packed_text_size(t.len());
                    texts.push((i, t));
                    continue;
                }
                other => other,
            };
            let parsed = column.raw.then_some(&object);
            let converted = if column.per_connection {
                // SAFETY: the caller's: the memo's context outlives the rows.
                let d = unsafe {
                    PgMemoryContexts::For(memo.context).switch_to(|_| to_datum(value, parsed))
                };
                if let Ok(d) = &d {
                    memo.datums.push((r.column, *d));
                }
                d
            } else {
                // SAFETY: the caller's: datums go in the current (per-tuple) memory context.
                unsafe { to_datum(value, parsed) }
            };
            match converted {
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
        // SAFETY: the caller's: the datums go in the current (per-tuple) memory context.
        unsafe { store_texts(&texts, text_bytes, values, nulls) };
    }
    // SAFETY: the caller's.
    unsafe { pg_sys::ExecStoreVirtualTuple(slot) };
    Ok(())
}

/// The most bytes of a row's text values made in one allocation; past it, each is made alone.
const PACKED_TEXTS_LIMIT: usize = 64 << 20;

/// The room a text value of `len` bytes takes in a row's allocation: its 4-byte varlena header
/// and its bytes, rounded up so that the next one starts at an 8-byte boundary, as palloc's own
/// chunks do.
fn packed_text_size(len: usize) -> usize {
    (4 + len).next_multiple_of(8)
}

/// Makes `texts` (attribute index, text without NUL) `text` datums, in one allocation of
/// `bytes` (the sum of their [`packed_text_size`]) of the current memory context: a row's twenty
/// texts cost one palloc, not twenty. A datum pointing inside a larger allocation is as
/// PostgreSQL's own datums of a heap tuple are, and is never freed alone.
///
/// # Safety
/// On the backend's thread, in a memory context that lives as long as the datums are used;
/// `values` and `nulls` are the slot's arrays.
unsafe fn store_texts(
    texts: &[(usize, std::borrow::Cow<str>)],
    bytes: usize,
    values: &mut [pg_sys::Datum],
    nulls: &mut [bool],
) {
    if texts.is_empty() {
        return;
    }
    if bytes > PACKED_TEXTS_LIMIT {
        for (i, t) in texts {
            if let Some(d) = t.as_ref().into_datum() {
                values[*i] = d;
                nulls[*i] = false;
            }
        }
        return;
    }
    // SAFETY: the caller's; palloc'd memory of `bytes`, each text written within its own
    // packed_text_size from its start (header, then bytes), the starts 8-byte aligned.
    unsafe {
        let base = pg_sys::palloc(bytes) as *mut u8;
        let mut at = 0;
        for (i, t) in texts {
            let p = base.add(at);
            pgrx::varlena::set_varsize_4b(p as *mut pg_sys::varlena, (4 + t.len()) as i32);
            std::ptr::copy_nonoverlapping(t.as_ptr(), p.add(4), t.len());
            values[*i] = pg_sys::Datum::from(p);
            nulls[*i] = false;
            at += packed_text_size(t.len());
        }
    }
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
