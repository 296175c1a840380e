//! Reading the planner's clauses: which ones narrow the API calls, as the table's key columns
//! say ([`Pushdown`]):
//! - `region` and equality key columns: `column = value` or `column = ANY (array)` with
//!   PostgreSQL's text equality and a deterministic collation; `sp_connection_name` also with
//!   `LIKE 'pattern'`;
//! - range key columns (`timestamp with time zone`): `<`, `<=`, `=`, `>=`, `>` with a
//!   `timestamptz` value (so `BETWEEN` too).
//!
//! The value must not depend on the scanned row and must not be volatile: a constant (known while
//! planning) or an expression evaluated when the scan starts (a parameter of a prepared statement,
//! an outer row's column in a nested loop, a stable function such as `now()`).
//!
//! Every clause is still checked by PostgreSQL on the rows, so reading a clause too narrowly only
//! costs calls; reading it too widely would lose rows, which the rules above rule out.

use alicloud_tables::plan::{Constraint, Op, Operand};
use alicloud_tables::table::{Pushdown, TableDef};
use chrono::{DateTime, Utc};
use pgrx::pg_sys;
use serde::{Deserialize, Serialize};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A value known while planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Constant {
    /// Text.
    Text(String),
    /// An instant, in PostgreSQL's microseconds.
    Time(i64),
}

/// Where a condition's values come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Values {
    /// Known while planning (an empty list: the constant is NULL, which nothing equals).
    Constant(Vec<Constant>),
    /// The expression at this index of the plan's `fdw_exprs`, evaluated when the scan starts:
    /// one value, or an array when `array`.
    Expression {
        /// Index in `fdw_exprs`.
        index: usize,
        /// The expression is an array (from `= ANY`).
        array: bool,
    },
}

/// `column op values`, on a key column of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// The column's index in the table's declaration.
    pub column: usize,
    /// The comparison.
    pub op: Op,
    /// Its values.
    pub values: Values,
}

impl Condition {
    /// The constraint, its values given (`values`: the constants, or the expression's values).
    pub fn constraint(&self, values: Vec<Operand>) -> Constraint {
        Constraint {
            column: self.column,
            op: self.op,
            values,
        }
    }
}

/// Conditions to constraints: constants as they are; expressions through `eval` (`None`: left
/// out, as EXPLAIN does, which knows only the constants).
pub fn constraints(
    conditions: &[Condition],
    mut eval: impl FnMut(usize, bool) -> Option<Vec<Operand>>,
) -> Vec<Constraint> {
    conditions
        .iter()
        .filter_map(|c| {
            let values = match &c.values {
                Values::Constant(v) => v.iter().map(Constant::operand).collect(),
                Values::Expression { index, array } => eval(*index, *array)?,
            };
            Some(c.constraint(values))
        })
        .collect()
}

impl Constant {
    /// As the table layer takes it.
    pub fn operand(&self) -> Operand {
        match self {
            Constant::Text(t) => Operand::Text(t.clone()),
            Constant::Time(micros) => Operand::Time(time_of(*micros)),
        }
    }
}

/// A PostgreSQL timestamp (microseconds from 2000-01-01 UTC) as an instant; the infinities are
/// the ends of the range chrono can hold.
pub fn time_of(micros: i64) -> DateTime<Utc> {
    micros
        .checked_add(PG_EPOCH_OFFSET_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .unwrap_or(if micros < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// The key columns of the scanned relation, by attribute number.
pub struct Keys<'a> {
    /// The scanned relation's range table index.
    pub relid: u32,
    /// Attribute number → column index in the table, for its key columns.
    pub by_attno: &'a [(i16, usize)],
    /// The table.
    pub table: &'static TableDef,
}

// About `unsafe` in this module: every function reads nodes of the expression tree the planner hands to
// the callback being run, on the backend's thread, while those nodes are alive.

fn strip_relabel(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: see the module note; a RelabelType's `arg` is a node of the same tree.
    unsafe {
        while !node.is_null() && (*node).type_ == pg_sys::NodeTag::T_RelabelType {
            node = (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node;
        }
    }
    node
}

impl Keys<'_> {
    /// The key column `node` is, when it is a plain reference to one: its index in the table.
    fn key_of(&self, node: *mut pg_sys::Node) -> Option<usize> {
        let node = strip_relabel(node);
        // SAFETY: see the module note.
        unsafe {
            if node.is_null() || (*node).type_ != pg_sys::NodeTag::T_Var {
                return None;
            }
            let var = node as *mut pg_sys::Var;
            if (*var).varno as u32 != self.relid || (*var).varlevelsup != 0 {
                return None;
            }
            self.by_attno
                .iter()
                .find(|(attno, _)| *attno == (*var).varattno)
                .map(|(_, column)| *column)
        }
    }

    /// Whether `node` mentions the scanned relation.
    fn mentions_self(&self, node: *mut pg_sys::Node) -> bool {
        // SAFETY: see the module note.
        unsafe {
            let relids = pg_sys::pull_varnos(std::ptr::null_mut(), node);
            pg_sys::bms_is_member(self.relid as i32, relids)
        }
    }
}

/// Whether `collation` compares text byte for byte (as the API compares names).
fn deterministic(collation: pg_sys::Oid) -> bool {
    // SAFETY: a catalog lookup of a collation the planner resolved.
    collation == pg_sys::InvalidOid || unsafe { pg_sys::get_collation_isdeterministic(collation) }
}

/// `text ~~ text`, `LIKE` (`pg_operator.dat`: `OID_TEXT_LIKE_OP`).
const TEXT_LIKE: u32 = 1209;
/// `timestamptz = timestamptz` (`pg_operator.dat`; pgrx names no `timestamptz` operator).
const TIMESTAMPTZ_EQ: u32 = 1320;
/// `timestamptz < timestamptz`.
const TIMESTAMPTZ_LT: u32 = 1322;
/// `timestamptz <= timestamptz`.
const TIMESTAMPTZ_LE: u32 = 1323;
/// `timestamptz > timestamptz`.
const TIMESTAMPTZ_GT: u32 = 1324;
/// `timestamptz >= timestamptz`.
const TIMESTAMPTZ_GE: u32 = 1325;

/// The comparison a `timestamptz` operator makes, with the column on the left.
fn time_op(opno: pg_sys::Oid, column_on_left: bool) -> Option<Op> {
    let op = match u32::from(opno) {
        TIMESTAMPTZ_EQ => Op::Eq,
        TIMESTAMPTZ_LT => Op::Lt,
        TIMESTAMPTZ_LE => Op::Le,
        TIMESTAMPTZ_GT => Op::Gt,
        TIMESTAMPTZ_GE => Op::Ge,
        _ => return None,
    };
    Some(if column_on_left {
        op
    } else {
        match op {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            Op::Eq => Op::Eq,
            Op::Like => Op::Like,
            Op::LikeNoCase => Op::LikeNoCase,
        }
    })
}

/// The condition `clause` states, if it is one that narrows the calls. Expressions are appended
/// to `exprs` (the future `fdw_exprs`).
///
/// # Safety
/// `clause` must be a valid expression tree of the query being planned.
pub unsafe fn condition(
    keys: &Keys,
    clause: *mut pg_sys::Expr,
    exprs: &mut Vec<*mut pg_sys::Expr>,
) -> Option<Condition> {
    let node = clause as *mut pg_sys::Node;
    // SAFETY: reads the clause's nodes (see the module note).
    let (column, op, value, array) = unsafe {
        match (*node).type_ {
            pg_sys::NodeTag::T_OpExpr => {
                let op = node as *mut pg_sys::OpExpr;
                let args = pgrx::PgList::<pg_sys::Node>::from_pg((*op).args);
                let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
                let (column, value, on_left) = match (keys.key_of(left), keys.key_of(right)) {
                    (Some(c), _) => (c, right, true),
                    (None, Some(c)) => (c, left, false),
                    (None, None) => return None,
                };
                let pushdown = keys.table.columns[column].pushdown?;
                let cmp = if pushdown.equality_only() {
                    if !deterministic((*op).inputcollid) {
                        return None;
                    }
                    match u32::from((*op).opno) {
                        o if o == u32::from(pg_sys::Oid::from(pg_sys::TextEqualOperator)) => Op::Eq,
                        // `sp_connection_name LIKE pattern` chooses members by name.
                        TEXT_LIKE if on_left && pushdown == Pushdown::Connection => Op::Like,
                        _ => return None,
                    }
                } else {
                    time_op((*op).opno, on_left)?
                };
                (column, cmp, value, false)
            }
            pg_sys::NodeTag::T_ScalarArrayOpExpr => {
                let op = node as *mut pg_sys::ScalarArrayOpExpr;
                let args = pgrx::PgList::<pg_sys::Node>::from_pg((*op).args);
                let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
                let column = keys.key_of(left)?;
                let equality = if keys.table.columns[column].pushdown?.equality_only() {
                    (*op).opno == pg_sys::Oid::from(pg_sys::TextEqualOperator)
                        && deterministic((*op).inputcollid)
                } else {
                    u32::from((*op).opno) == TIMESTAMPTZ_EQ
                };
                if !(*op).useOr || !equality {
                    return None;
                }
                (column, Op::Eq, right, true)
            }
            _ => return None,
        }
    };
    let value = strip_relabel(value);
    let time = keys.table.columns[column].pushdown == Some(Pushdown::Range);
    let wanted_type = match (time, array) {
        (false, false) => pg_sys::TEXTOID,
        (false, true) => pg_sys::TEXTARRAYOID,
        (true, false) => pg_sys::TIMESTAMPTZOID,
        (true, true) => pg_sys::TIMESTAMPTZARRAYOID,
    };
    // SAFETY: planner functions over the value's node (see the module note).
    let usable = unsafe {
        pg_sys::exprType(value) == wanted_type
            && !keys.mentions_self(value)
            && !pg_sys::contain_volatile_functions(value)
            && !pg_sys::contain_subplans(value)
    };
    if !usable {
        return None;
    }
    // SAFETY: a node of the tree (see the module note).
    let is_const = unsafe { (*value).type_ } == pg_sys::NodeTag::T_Const;
    let values = if is_const {
        // SAFETY: a Const node of the tree, of a type `condition` accepts.
        Values::Constant(unsafe { constants(value as *mut pg_sys::Const, array) })
    } else {
        exprs.push(value as *mut pg_sys::Expr);
        Values::Expression {
            index: exprs.len() - 1,
            array,
        }
    };
    Some(Condition { column, op, values })
}

/// The values of a constant of one of the types [`condition`] accepts.
///
/// # Safety
/// `c` must be a valid `Const` node.
unsafe fn constants(c: *mut pg_sys::Const, array: bool) -> Vec<Constant> {
    // SAFETY: the caller's.
    unsafe {
        if (*c).constisnull {
            return Vec::new();
        }
        datum_values((*c).consttype, (*c).constvalue, array)
    }
}

/// The non-null values of a datum of type `ty` (`text`, `timestamptz`, or arrays of them).
///
/// # Safety
/// `d` must be a non-null datum of type `ty`.
pub unsafe fn datum_values(ty: pg_sys::Oid, d: pg_sys::Datum, array: bool) -> Vec<Constant> {
    let element = |d: pg_sys::Datum| -> Constant {
        if ty == pg_sys::TIMESTAMPTZOID || ty == pg_sys::TIMESTAMPTZARRAYOID {
            Constant::Time(d.value() as i64)
        } else {
            // SAFETY: a text datum (the caller's).
            Constant::Text(unsafe { datum_text(d) })
        }
    };
    if !array {
        return vec![element(d)];
    }
    let (elem_type, len, byval, align) = if ty == pg_sys::TIMESTAMPTZARRAYOID {
        (pg_sys::TIMESTAMPTZOID, 8, true, pg_sys::TYPALIGN_DOUBLE)
    } else {
        (pg_sys::TEXTOID, -1, false, pg_sys::TYPALIGN_INT)
    };
    // SAFETY: the caller's: an array datum of the element type above.
    unsafe {
        let array = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
        let mut nulls: *mut bool = std::ptr::null_mut();
        let mut n: i32 = 0;
        pg_sys::deconstruct_array(
            array, elem_type, len, byval, align as _, &mut elems, &mut nulls, &mut n,
        );
        (0..n as usize)
            .filter(|&i| !*nulls.add(i))
            .map(|i| element(*elems.add(i)))
            .collect()
    }
}

/// A `text` datum as a Rust string (invalid UTF-8, which a UTF-8 database cannot hold, is
/// replaced).
///
/// # Safety
/// `d` must be a non-null text datum.
pub unsafe fn datum_text(d: pg_sys::Datum) -> String {
    // SAFETY: the caller's; text_to_cstring returns a palloc'd copy, freed here.
    unsafe {
        let p = pg_sys::text_to_cstring(d.cast_mut_ptr());
        let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        pg_sys::pfree(p.cast());
        s
    }
}
