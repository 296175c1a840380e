//! Reading the planner's clauses: which ones narrow the API calls. A clause narrows them when it
//! is `key_column = value` or `key_column = ANY (array)` with PostgreSQL's text equality, a
//! deterministic collation, and a value that does not depend on the scanned row and is not
//! volatile. The value is a constant (known while planning) or an expression evaluated when the
//! scan starts: a parameter of a prepared statement, an outer row's column in a nested loop, a
//! stable function.
//!
//! Every clause is still checked by PostgreSQL on the rows, so reading a clause too narrowly only
//! costs calls; reading it too widely would lose rows, which the rules above rule out.

use alicloud_tables::table::{KeyColumn, TableDef};
use pgrx::pg_sys;
use serde::{Deserialize, Serialize};

/// Where a condition's values come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Values {
    /// Known while planning (an empty list: the constant is NULL, which nothing equals).
    Constant(Vec<String>),
    /// The expression at this index of the plan's `fdw_exprs`, evaluated when the scan starts:
    /// one text, or a text array when `array`.
    Expression {
        /// Index in `fdw_exprs`.
        index: usize,
        /// The expression is a `text[]` (from `= ANY`).
        array: bool,
    },
}

/// `key column = one of values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// The key column's name (`region`, `name`).
    pub column: String,
    /// Its values.
    pub values: Values,
}

impl Condition {
    /// The key column of the condition.
    pub fn key(&self, table: &TableDef) -> Option<KeyColumn> {
        table.column(&self.column)?.key
    }
}

/// The key column a Var of the scanned relation refers to, by attribute number.
pub struct Keys<'a> {
    /// The scanned relation's range table index.
    pub relid: u32,
    /// Attribute number → column name, for the key columns of the foreign table.
    pub by_attno: &'a [(i16, &'static str)],
}

unsafe fn strip_relabel(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    while !node.is_null() && (*node).type_ == pg_sys::NodeTag::T_RelabelType {
        node = (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node;
    }
    node
}

impl Keys<'_> {
    /// The key column `node` is, when it is a plain reference to one.
    unsafe fn key_of(&self, node: *mut pg_sys::Node) -> Option<&'static str> {
        let node = strip_relabel(node);
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
            .map(|(_, name)| *name)
    }

    /// Whether `node` mentions the scanned relation.
    unsafe fn mentions_self(&self, node: *mut pg_sys::Node) -> bool {
        let relids = pg_sys::pull_varnos(std::ptr::null_mut(), node);
        pg_sys::bms_is_member(self.relid as i32, relids)
    }
}

/// Whether `collation` compares text byte for byte (as the API compares names).
unsafe fn deterministic(collation: pg_sys::Oid) -> bool {
    collation == pg_sys::InvalidOid || pg_sys::get_collation_isdeterministic(collation)
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
    let (column, value, array) = match (*node).type_ {
        pg_sys::NodeTag::T_OpExpr => {
            let op = node as *mut pg_sys::OpExpr;
            if (*op).opno != pg_sys::Oid::from(pg_sys::TextEqualOperator)
                || !deterministic((*op).inputcollid)
            {
                return None;
            }
            let args = pgrx::PgList::<pg_sys::Node>::from_pg((*op).args);
            let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
            match (keys.key_of(left), keys.key_of(right)) {
                (Some(c), _) => (c, right, false),
                (None, Some(c)) => (c, left, false),
                (None, None) => return None,
            }
        }
        pg_sys::NodeTag::T_ScalarArrayOpExpr => {
            let op = node as *mut pg_sys::ScalarArrayOpExpr;
            if !(*op).useOr
                || (*op).opno != pg_sys::Oid::from(pg_sys::TextEqualOperator)
                || !deterministic((*op).inputcollid)
            {
                return None;
            }
            let args = pgrx::PgList::<pg_sys::Node>::from_pg((*op).args);
            let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
            (keys.key_of(left)?, right, true)
        }
        _ => return None,
    };
    let value = strip_relabel(value);
    let wanted_type = if array {
        pg_sys::TEXTARRAYOID
    } else {
        pg_sys::TEXTOID
    };
    if pg_sys::exprType(value) != wanted_type
        || keys.mentions_self(value)
        || pg_sys::contain_volatile_functions(value)
        || pg_sys::contain_subplans(value)
    {
        return None;
    }
    let values = if (*value).type_ == pg_sys::NodeTag::T_Const {
        Values::Constant(constant_texts(value as *mut pg_sys::Const, array))
    } else {
        exprs.push(value as *mut pg_sys::Expr);
        Values::Expression {
            index: exprs.len() - 1,
            array,
        }
    };
    Some(Condition {
        column: column.to_string(),
        values,
    })
}

unsafe fn constant_texts(c: *mut pg_sys::Const, array: bool) -> Vec<String> {
    if (*c).constisnull {
        return Vec::new();
    }
    if array {
        datum_texts((*c).constvalue)
    } else {
        vec![datum_text((*c).constvalue)]
    }
}

/// A `text` datum as a Rust string (invalid UTF-8, which a UTF-8 database cannot hold, is
/// replaced).
///
/// # Safety
/// `d` must be a non-null text datum.
pub unsafe fn datum_text(d: pg_sys::Datum) -> String {
    let p = pg_sys::text_to_cstring(d.cast_mut_ptr());
    let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
    pg_sys::pfree(p.cast());
    s
}

/// The non-null elements of a `text[]` datum.
///
/// # Safety
/// `d` must be a non-null text[] datum.
pub unsafe fn datum_texts(d: pg_sys::Datum) -> Vec<String> {
    let array = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
    let mut nulls: *mut bool = std::ptr::null_mut();
    let mut n: i32 = 0;
    pg_sys::deconstruct_array(
        array,
        pg_sys::TEXTOID,
        -1,
        false,
        pg_sys::TYPALIGN_INT as _,
        &mut elems,
        &mut nulls,
        &mut n,
    );
    (0..n as usize)
        .filter(|&i| !*nulls.add(i))
        .map(|i| datum_text(*elems.add(i)))
        .collect()
}
