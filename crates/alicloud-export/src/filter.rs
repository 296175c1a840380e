//! `--where`: a SQL condition, parsed by `sqlparser` (PostgreSQL dialect), checked once against
//! the table (columns, types, what is supported) and then evaluated over each row with SQL's
//! three-valued logic: a comparison with NULL is unknown, and a row is kept only when the whole
//! condition is true.
//!
//! String literals take the type of what they are compared with, as PostgreSQL types an untyped
//! literal: `is_organization_trail = 'true'`, `create_time >= '2023-01-01'` (a time without a zone
//! is UTC). Text compares by code point (PostgreSQL's C collation); JSON columns compare as JSON
//! values and only for (in)equality.
//!
//! The top-level `AND` terms that are equalities (or `IN` lists) on the key columns `region` and
//! `name` are also handed to the table layer as [`Constraint`]s, which narrow the API calls; the
//! whole condition is still evaluated on every row fetched.

use alicloud_tables::plan::{like, Constraint, Op, Operand};
use alicloud_tables::table::{ColumnType, TableDef, Value};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlparser::ast::{BinaryOperator, Expr, Ident, UnaryOperator, Value as SqlValue};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// What is wrong with a `--where` condition: a message, and what can be written instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhereError {
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub hint: Option<String>,
}

impl fmt::Display for WhereError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn error(message: impl Into<String>) -> WhereError {
    WhereError {
        message: message.into(),
        hint: None,
    }
}

const SUPPORTED: &str =
    "Supported: column names, 'text', numbers, TRUE, FALSE, NULL, = <> != < <= > >=, \
[NOT] IN (...), [NOT] BETWEEN ... AND ..., IS [NOT] NULL, IS [NOT] TRUE/FALSE, \
IS [NOT] DISTINCT FROM, [NOT] LIKE / ILIKE [ESCAPE '...'], AND, OR, NOT and parentheses.";

/// The type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Boolean,
    Timestamp,
    Json,
    Number,
    /// A string literal, whose type is that of what it meets.
    Unknown,
    /// The NULL literal.
    Null,
}

impl Ty {
    fn of(c: ColumnType) -> Ty {
        match c {
            ColumnType::Text => Ty::Text,
            ColumnType::Boolean => Ty::Boolean,
            ColumnType::Timestamp => Ty::Timestamp,
            ColumnType::Json => Ty::Json,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Text | Ty::Unknown => "text",
            Ty::Boolean => "boolean",
            Ty::Timestamp => "timestamp",
            Ty::Json => "JSON",
            Ty::Number => "number",
            Ty::Null => "null",
        }
    }
}

/// A constant.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Null,
    Text(String),
    Bool(bool),
    Num(f64),
    Time(DateTime<Utc>),
    Json(serde_json::Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Ne => o != Ordering::Equal,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Le => o != Ordering::Greater,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
        }
    }
}

/// A checked condition, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// The value of the table's column at this index.
    Column(usize),
    Lit(Lit),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Compare(Cmp, Box<Node>, Box<Node>),
    In {
        expr: Box<Node>,
        list: Vec<Node>,
        negated: bool,
    },
    IsNull {
        expr: Box<Node>,
        negated: bool,
    },
    IsBool {
        expr: Box<Node>,
        value: bool,
        negated: bool,
    },
    Distinct {
        left: Box<Node>,
        right: Box<Node>,
        negated: bool,
    },
    Like {
        expr: Box<Node>,
        pattern: Box<Node>,
        escape: Option<char>,
        negated: bool,
        fold_case: bool,
    },
}

/// A `--where` condition, checked against a table.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    columns: Vec<usize>,
}

/// The longest `--where` accepted, in bytes.
const MAX_WHERE_BYTES: usize = 64 * 1024;
/// The deepest condition accepted (nested operators, parentheses).
const MAX_DEPTH: usize = 200;
/// The stack of the thread that parses: the parser and the drop of its syntax tree recurse as
/// deep as the condition nests, with large frames in debug builds.
const PARSE_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Parses and checks `text` against `table`.
pub fn parse(text: &str, table: &'static TableDef) -> Result<Filter, WhereError> {
    if text.len() > MAX_WHERE_BYTES {
        return Err(error(format!(
            "--where is too long ({} bytes; at most {MAX_WHERE_BYTES})",
            text.len()
        )));
    }
    let text = text.to_string();
    std::thread::Builder::new()
        .name("where".to_string())
        .stack_size(PARSE_STACK_BYTES)
        .spawn(move || parse_here(&text, table))
        .map_err(|e| error(format!("cannot parse --where: {e}")))?
        .join()
        .unwrap_or_else(|_| Err(error("cannot parse --where")))
}

fn parse_here(text: &str, table: &TableDef) -> Result<Filter, WhereError> {
    let dialect = PostgreSqlDialect {};
    let parsed = Parser::new(&dialect).try_with_sql(text).and_then(|mut p| {
        let expr = p.parse_expr()?;
        Ok((expr, p.peek_token().token))
    });
    let (expr, next) = parsed.map_err(|e| {
        let text = e.to_string();
        let text = text.strip_prefix("sql parser error: ").unwrap_or(&text);
        WhereError {
            message: format!("cannot parse --where: {text}"),
            hint: Some(SUPPORTED.to_string()),
        }
    })?;
    if next != Token::EOF {
        return Err(WhereError {
            message: format!("cannot parse --where: unexpected {next} after the condition {expr}"),
            hint: Some("Give one condition; combine several with AND or OR.".to_string()),
        });
    }
    let c = Checker {
        table,
        depth: std::cell::Cell::new(0),
    };
    let root = c.condition(&expr)?;
    let mut columns = Vec::new();
    root.columns(&mut columns);
    columns.sort_unstable();
    columns.dedup();
    Ok(Filter { root, columns })
}

struct Checker<'t> {
    table: &'t TableDef,
    /// How deep [`Checker::expr`] is: bounds the depth of the checked tree, which evaluation
    /// walks recursively.
    depth: std::cell::Cell<usize>,
}

impl Checker<'_> {
    fn column(&self, parts: &[Ident]) -> Result<(Node, Ty), WhereError> {
        let fold = |i: &Ident| {
            if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_lowercase()
            }
        };
        let name = match parts {
            [column] => fold(column),
            [table, column] if fold(table) == self.table.name => fold(column),
            _ => {
                let whole: Vec<&str> = parts.iter().map(|i| i.value.as_str()).collect();
                return Err(WhereError {
                    message: format!(
                        "--where: \"{}\" is not a column of {}",
                        whole.join("."),
                        self.table.name
                    ),
                    hint: Some(self.table.columns_hint()),
                });
            }
        };
        match self.table.column_index(&name) {
            Some(i) => Ok((Node::Column(i), Ty::of(self.table.columns[i].ty))),
            None => Err(WhereError {
                message: format!("--where: unknown column \"{name}\" in {}", self.table.name),
                hint: Some(self.table.columns_hint()),
            }),
        }
    }

    fn literal(&self, v: &SqlValue, expr: &Expr) -> Result<(Node, Ty), WhereError> {
        Ok(match v {
            SqlValue::Null => (Node::Lit(Lit::Null), Ty::Null),
            SqlValue::Boolean(b) => (Node::Lit(Lit::Bool(*b)), Ty::Boolean),
            SqlValue::Number(n, _) => (Node::Lit(Lit::Num(number(n, expr)?)), Ty::Number),
            SqlValue::DoubleQuotedString(_) | SqlValue::Placeholder(_) => {
                return Err(unsupported(expr))
            }
            other => match other.clone().into_string() {
                Some(s) => (Node::Lit(Lit::Text(s)), Ty::Unknown),
                None => return Err(unsupported(expr)),
            },
        })
    }

    /// A literal string (of type `Unknown`, the only type it has) read as `to`; anything else
    /// unchanged.
    fn coerce(&self, node: Node, to: Ty, context: &Expr) -> Result<Node, WhereError> {
        let Node::Lit(Lit::Text(s)) = &node else {
            return Ok(node);
        };
        let bad = |what: &str, hint: &str| WhereError {
            message: format!("--where: '{s}' is not a valid {what} (in {context})"),
            hint: Some(hint.to_string()),
        };
        let lit = match to {
            Ty::Text | Ty::Unknown | Ty::Null => return Ok(node),
            Ty::Boolean => Lit::Bool(parse_bool(s).ok_or_else(|| {
                bad("boolean", "Write true or false (also 't', 'f', 'yes', 'no', '1', '0').")
            })?),
            Ty::Timestamp => Lit::Time(parse_time(s).ok_or_else(|| {
                bad(
                    "timestamp",
                    "Write an ISO-8601 time such as '2023-03-10T08:00:00Z', '2023-03-10 08:00:00' (UTC) or '2023-03-10'.",
                )
            })?),
            Ty::Json => Lit::Json(
                serde_json::from_str(s)
                    .map_err(|_| bad("JSON document", "Write JSON text, e.g. '[\"a\"]'."))?,
            ),
            Ty::Number => Lit::Num(
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| bad("number", "Write a number."))?,
            ),
        };
        Ok(Node::Lit(lit))
    }

    /// Brings two operands to one type, for comparing them.
    fn unify(
        &self,
        (a, ta): (Node, Ty),
        (b, tb): (Node, Ty),
        context: &Expr,
    ) -> Result<(Node, Node, Ty), WhereError> {
        let ty = common(ta, tb, context)?;
        Ok((
            self.coerce(a, ty, context)?,
            self.coerce(b, ty, context)?,
            ty,
        ))
    }

    fn condition(&self, e: &Expr) -> Result<Node, WhereError> {
        let (node, ty) = self.expr(e)?;
        match ty {
            Ty::Boolean | Ty::Null => Ok(node),
            Ty::Unknown => self.coerce(node, Ty::Boolean, e),
            other => Err(WhereError {
                message: format!(
                    "--where must be a condition (true or false), but {e} is of type {}",
                    other.name()
                ),
                hint: Some("Compare it with something, e.g. status = 'Enable'.".to_string()),
            }),
        }
    }

    fn expr(&self, e: &Expr) -> Result<(Node, Ty), WhereError> {
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(error(format!(
                "--where nests too deeply (more than {MAX_DEPTH} levels of operators and parentheses)"
            )));
        }
        self.depth.set(depth + 1);
        let result = self.expr_here(e);
        self.depth.set(depth);
        result
    }

    fn expr_here(&self, e: &Expr) -> Result<(Node, Ty), WhereError> {
        use BinaryOperator as B;
        match e {
            Expr::Identifier(i) => self.column(std::slice::from_ref(i)),
            Expr::CompoundIdentifier(parts) => self.column(parts),
            Expr::Value(v) => self.literal(&v.value, e),
            Expr::Nested(inner) => self.expr(inner),
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not => Ok((Node::Not(Box::new(self.condition(expr)?)), Ty::Boolean)),
                UnaryOperator::Minus | UnaryOperator::Plus => {
                    let (node, ty) = self.expr(expr)?;
                    match (node, ty) {
                        (Node::Lit(Lit::Num(n)), Ty::Number) => {
                            let n = if *op == UnaryOperator::Minus { -n } else { n };
                            Ok((Node::Lit(Lit::Num(n)), Ty::Number))
                        }
                        _ => Err(unsupported(e)),
                    }
                }
                _ => Err(unsupported(e)),
            },
            Expr::BinaryOp { left, op, right } => {
                let cmp = match op {
                    B::And | B::Or => {
                        let (l, r) = (self.condition(left)?, self.condition(right)?);
                        let node = if *op == B::And {
                            Node::And(Box::new(l), Box::new(r))
                        } else {
                            Node::Or(Box::new(l), Box::new(r))
                        };
                        return Ok((node, Ty::Boolean));
                    }
                    B::Eq => Cmp::Eq,
                    B::NotEq => Cmp::Ne,
                    B::Lt => Cmp::Lt,
                    B::LtEq => Cmp::Le,
                    B::Gt => Cmp::Gt,
                    B::GtEq => Cmp::Ge,
                    _ => return Err(unsupported(e)),
                };
                let (l, r, ty) = self.unify(self.expr(left)?, self.expr(right)?, e)?;
                if ty == Ty::Json && !matches!(cmp, Cmp::Eq | Cmp::Ne) {
                    return Err(WhereError {
                        message: format!("--where: JSON values have no order, in {e}"),
                        hint: Some("Compare JSON columns with = or <> only.".to_string()),
                    });
                }
                Ok((Node::Compare(cmp, Box::new(l), Box::new(r)), Ty::Boolean))
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => Ok((
                Node::IsNull {
                    expr: Box::new(self.expr(x)?.0),
                    negated: matches!(e, Expr::IsNotNull(_)),
                },
                Ty::Boolean,
            )),
            Expr::IsTrue(x) | Expr::IsNotTrue(x) | Expr::IsFalse(x) | Expr::IsNotFalse(x) => Ok((
                Node::IsBool {
                    expr: Box::new(self.condition(x)?),
                    value: matches!(e, Expr::IsTrue(_) | Expr::IsNotTrue(_)),
                    negated: matches!(e, Expr::IsNotTrue(_) | Expr::IsNotFalse(_)),
                },
                Ty::Boolean,
            )),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (l, r, _) = self.unify(self.expr(a)?, self.expr(b)?, e)?;
                Ok((
                    Node::Distinct {
                        left: Box::new(l),
                        right: Box::new(r),
                        negated: matches!(e, Expr::IsNotDistinctFrom(..)),
                    },
                    Ty::Boolean,
                ))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let (x, tx) = self.expr(expr)?;
                let items = list
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut ty = tx;
                for (_, t) in &items {
                    ty = common(ty, *t, e)?;
                }
                if ty == Ty::Unknown {
                    ty = Ty::Text;
                }
                let list = items
                    .into_iter()
                    .map(|(n, _)| self.coerce(n, ty, e))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((
                    Node::In {
                        expr: Box::new(self.coerce(x, ty, e)?),
                        list,
                        negated: *negated,
                    },
                    Ty::Boolean,
                ))
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.expr(expr)?;
                let (lx, lo, ty) = self.unify(x.clone(), self.expr(low)?, e)?;
                let (hx, hi, _) = self.unify(x, self.expr(high)?, e)?;
                if ty == Ty::Json {
                    return Err(error(format!("--where: JSON values have no order, in {e}")));
                }
                let both = Node::And(
                    Box::new(Node::Compare(Cmp::Ge, Box::new(lx), Box::new(lo))),
                    Box::new(Node::Compare(Cmp::Le, Box::new(hx), Box::new(hi))),
                );
                let node = if *negated {
                    Node::Not(Box::new(both))
                } else {
                    both
                };
                Ok((node, Ty::Boolean))
            }
            Expr::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            }
            | Expr::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => {
                let fold_case = matches!(e, Expr::ILike { .. });
                let text = |x: &Expr| -> Result<Node, WhereError> {
                    let (node, ty) = self.expr(x)?;
                    match ty {
                        Ty::Text | Ty::Unknown | Ty::Null => Ok(node),
                        other => Err(WhereError {
                            message: format!(
                                "--where: LIKE applies to text, but {x} is of type {}",
                                other.name()
                            ),
                            hint: Some("Use LIKE on text columns only.".to_string()),
                        }),
                    }
                };
                let escape = match escape_char.as_deref() {
                    None => Some('\\'),
                    Some(Expr::Value(v)) => {
                        let s = v.value.clone().into_string().unwrap_or_default();
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (None, _) => None,
                            (Some(c), None) => Some(c),
                            _ => {
                                return Err(error(format!(
                                    "--where: the ESCAPE of {e} must be one character"
                                )))
                            }
                        }
                    }
                    Some(_) => return Err(unsupported(e)),
                };
                Ok((
                    Node::Like {
                        expr: Box::new(text(expr)?),
                        pattern: Box::new(text(pattern)?),
                        escape,
                        negated: *negated,
                        fold_case,
                    },
                    Ty::Boolean,
                ))
            }
            _ => Err(unsupported(e)),
        }
    }
}

/// The one type two operands are compared as.
fn common(ta: Ty, tb: Ty, context: &Expr) -> Result<Ty, WhereError> {
    Ok(match (ta, tb) {
        (Ty::Unknown, Ty::Unknown) => Ty::Text,
        (x, y) if x == y => x,
        (Ty::Null, y) => y,
        (x, Ty::Null) => x,
        (Ty::Unknown, y) => y,
        (x, Ty::Unknown) => x,
        (x, y) => {
            return Err(WhereError {
                message: format!(
                    "--where: cannot compare {} with {} in {context}",
                    x.name(),
                    y.name()
                ),
                hint: Some(
                    "Compare a column with a value of its type: text in quotes, true/false, a time in quotes."
                        .to_string(),
                ),
            })
        }
    })
}

fn unsupported(e: &Expr) -> WhereError {
    WhereError {
        message: format!("--where: {e} is not supported"),
        hint: Some(SUPPORTED.to_string()),
    }
}

fn number(text: &str, e: &Expr) -> Result<f64, WhereError> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| {
            error(format!(
                "--where: {e} is not a number this tool can compare"
            ))
        })
}

/// A boolean as PostgreSQL reads one from text.
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A time: RFC 3339 (`T` or a space, with a zone), or a date and time without a zone (UTC), or a
/// date (midnight UTC).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let with_t = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&with_t, f) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A value while evaluating.
#[derive(Debug, Clone, PartialEq)]
enum Datum<'r> {
    Null,
    Text(Cow<'r, str>),
    Bool(bool),
    Num(f64),
    Time(DateTime<Utc>),
    Json(Cow<'r, str>),
    JsonValue(serde_json::Value),
}

impl Datum<'_> {
    fn truth(&self) -> Option<bool> {
        match self {
            Datum::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

fn of_value<'r>(v: &'r Value<'_>) -> Datum<'r> {
    match v {
        Value::Null => Datum::Null,
        Value::Text(t) => Datum::Text(Cow::Borrowed(t)),
        Value::Boolean(b) => Datum::Bool(*b),
        Value::Timestamp(t) => Datum::Time(*t),
        Value::Json(j) => Datum::Json(Cow::Borrowed(j)),
    }
}

fn of_lit(l: &Lit) -> Datum<'_> {
    match l {
        Lit::Null => Datum::Null,
        Lit::Text(s) => Datum::Text(Cow::Borrowed(s)),
        Lit::Bool(b) => Datum::Bool(*b),
        Lit::Num(n) => Datum::Num(*n),
        Lit::Time(t) => Datum::Time(*t),
        Lit::Json(j) => Datum::JsonValue(j.clone()),
    }
}

fn json_value(d: &Datum<'_>) -> serde_json::Value {
    match d {
        Datum::JsonValue(v) => v.clone(),
        Datum::Json(text) => serde_json::from_str(text)
            .unwrap_or_else(|_| serde_json::Value::String(text.to_string())),
        _ => serde_json::Value::Null,
    }
}

/// How two non-null values of one type compare; JSON values only as equal or not (`Less`).
fn compare(a: &Datum<'_>, b: &Datum<'_>) -> Option<Ordering> {
    match (a, b) {
        (Datum::Null, _) | (_, Datum::Null) => None,
        (Datum::Text(x), Datum::Text(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Datum::Bool(x), Datum::Bool(y)) => Some(x.cmp(y)),
        (Datum::Num(x), Datum::Num(y)) => x.partial_cmp(y),
        (Datum::Time(x), Datum::Time(y)) => Some(x.cmp(y)),
        (Datum::Json(_) | Datum::JsonValue(_), Datum::Json(_) | Datum::JsonValue(_)) => {
            Some(if json_value(a) == json_value(b) {
                Ordering::Equal
            } else {
                Ordering::Less
            })
        }
        // The checker gives both sides one type; anything else does not compare.
        _ => None,
    }
}

fn and(a: Option<bool>, b: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match a {
        Some(false) => Some(false),
        _ => match (a, b()) {
            (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
    }
}

fn or(a: Option<bool>, b: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match a {
        Some(true) => Some(true),
        _ => match (a, b()) {
            (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
    }
}

fn boolean(b: Option<bool>) -> Datum<'static> {
    b.map_or(Datum::Null, Datum::Bool)
}

impl Node {
    fn columns(&self, out: &mut Vec<usize>) {
        match self {
            Node::Column(i) => out.push(*i),
            Node::Lit(_) => {}
            Node::Not(x) => x.columns(out),
            Node::And(a, b) | Node::Or(a, b) | Node::Compare(_, a, b) => {
                a.columns(out);
                b.columns(out);
            }
            Node::Distinct { left, right, .. } => {
                left.columns(out);
                right.columns(out);
            }
            Node::In { expr, list, .. } => {
                expr.columns(out);
                list.iter().for_each(|n| n.columns(out));
            }
            Node::IsNull { expr, .. } | Node::IsBool { expr, .. } => expr.columns(out),
            Node::Like { expr, pattern, .. } => {
                expr.columns(out);
                pattern.columns(out);
            }
        }
    }

    fn eval<'r>(&'r self, row: &'r [Value<'_>]) -> Datum<'r> {
        match self {
            Node::Column(i) => row.get(*i).map_or(Datum::Null, of_value),
            Node::Lit(l) => of_lit(l),
            Node::Not(x) => boolean(x.eval(row).truth().map(|b| !b)),
            Node::And(a, b) => boolean(and(a.eval(row).truth(), || b.eval(row).truth())),
            Node::Or(a, b) => boolean(or(a.eval(row).truth(), || b.eval(row).truth())),
            Node::Compare(op, a, b) => {
                boolean(compare(&a.eval(row), &b.eval(row)).map(|o| op.holds(o)))
            }
            Node::In {
                expr,
                list,
                negated,
            } => {
                let x = expr.eval(row);
                let mut found = Some(false);
                for item in list {
                    let eq = compare(&x, &item.eval(row)).map(|o| o == Ordering::Equal);
                    found = or(found, || eq);
                    if found == Some(true) {
                        break;
                    }
                }
                boolean(if *negated { found.map(|b| !b) } else { found })
            }
            Node::IsNull { expr, negated } => {
                Datum::Bool((expr.eval(row) == Datum::Null) != *negated)
            }
            Node::IsBool {
                expr,
                value,
                negated,
            } => Datum::Bool((expr.eval(row).truth() == Some(*value)) != *negated),
            Node::Distinct {
                left,
                right,
                negated,
            } => {
                let (a, b) = (left.eval(row), right.eval(row));
                let same = match (&a, &b) {
                    (Datum::Null, Datum::Null) => true,
                    (Datum::Null, _) | (_, Datum::Null) => false,
                    _ => compare(&a, &b) == Some(Ordering::Equal),
                };
                Datum::Bool(same == *negated)
            }
            Node::Like {
                expr,
                pattern,
                escape,
                negated,
                fold_case,
            } => match (expr.eval(row), pattern.eval(row)) {
                (Datum::Text(t), Datum::Text(p)) => {
                    let hit = like(&t, &p, *escape, *fold_case);
                    boolean(hit.map(|h| h != *negated))
                }
                _ => Datum::Null,
            },
        }
    }
}

impl Filter {
    /// Whether the row (every column of the table, in table order; columns this filter does not
    /// read may be null) satisfies the condition: true, not false or unknown.
    pub fn matches(&self, row: &[Value<'_>]) -> bool {
        self.root.eval(row).truth() == Some(true)
    }

    /// The indexes of the table's columns the condition reads.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// The constraints on key columns implied by the top-level `AND` terms (those the table
    /// pushes down).
    pub fn constraints(&self, table: &TableDef) -> Vec<Constraint> {
        let mut terms = Vec::new();
        conjuncts(&self.root, &mut terms);
        terms
            .into_iter()
            .filter_map(constraint_of)
            .filter(|c| c.applies_to(table))
            .collect()
    }
}

fn conjuncts<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
    match n {
        Node::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// `column op value`, `value op column` (for `=`, `<`, `<=`, `>`, `>=`), `column IN ('a', 'b',
/// NULL)`, `column LIKE 'pattern'`: the column, the comparison and the values (none for NULL,
/// which no row satisfies).
fn constraint_of(term: &Node) -> Option<Constraint> {
    let operand = |n: &Node| match n {
        Node::Lit(Lit::Text(s)) => Some(Some(Operand::Text(s.clone()))),
        Node::Lit(Lit::Time(t)) => Some(Some(Operand::Time(*t))),
        Node::Lit(Lit::Null) => Some(None),
        _ => None,
    };
    match term {
        Node::Compare(cmp, a, b) => {
            let (column, value, flipped) = match (a.as_ref(), b.as_ref()) {
                (Node::Column(c), v) => (*c, v, false),
                (v, Node::Column(c)) => (*c, v, true),
                _ => return None,
            };
            let op = match (cmp, flipped) {
                (Cmp::Eq, _) => Op::Eq,
                (Cmp::Lt, false) | (Cmp::Gt, true) => Op::Lt,
                (Cmp::Le, false) | (Cmp::Ge, true) => Op::Le,
                (Cmp::Gt, false) | (Cmp::Lt, true) => Op::Gt,
                (Cmp::Ge, false) | (Cmp::Le, true) => Op::Ge,
                (Cmp::Ne, _) => return None,
            };
            Some(Constraint {
                column,
                op,
                values: operand(value)?.into_iter().collect(),
            })
        }
        Node::In {
            expr,
            list,
            negated: false,
        } => match expr.as_ref() {
            Node::Column(c) => {
                let values: Option<Vec<Option<Operand>>> = list.iter().map(operand).collect();
                Some(Constraint {
                    column: *c,
                    op: Op::Eq,
                    values: values?.into_iter().flatten().collect(),
                })
            }
            _ => None,
        },
        // `column LIKE 'pattern'` with the usual escape, case and all (what the table layer
        // reads a pattern as).
        Node::Like {
            expr,
            pattern,
            escape: Some('\\'),
            negated: false,
            fold_case: false,
        } => match expr.as_ref() {
            Node::Column(c) => Some(Constraint {
                column: *c,
                op: Op::Like,
                values: operand(pattern)?.into_iter().collect(),
            }),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_tables::tables as table;

    fn t() -> &'static TableDef {
        table::table("alicloud_action_trail").unwrap()
    }

    /// A row with `pairs` set and every other column null.
    fn row(pairs: &[(&str, Value<'static>)]) -> Vec<Value<'static>> {
        let mut r = vec![Value::Null; t().columns.len()];
        for (name, v) in pairs {
            r[t().column_index(name).unwrap()] = v.clone();
        }
        r
    }

    fn text(s: &'static str) -> Value<'static> {
        Value::Text(s.into())
    }

    fn keep(condition: &str, r: &[Value<'_>]) -> bool {
        parse(condition, t())
            .unwrap_or_else(|e| panic!("{condition}: {e}"))
            .matches(r)
    }

    fn sample() -> Vec<Value<'static>> {
        row(&[
            ("name", text("test-4")),
            ("region", text("cn-beijing")),
            ("status", text("Enable")),
            ("is_organization_trail", Value::Boolean(false)),
            (
                "create_time",
                Value::Timestamp("2021-03-01T06:27:28Z".parse().unwrap()),
            ),
            ("raw", Value::Json(r#"{"a": [1, 2]}"#.into())),
        ])
    }

    #[test]
    fn comparisons_and_logic() {
        let r = sample();
        for (cond, want) in [
            ("region = 'cn-beijing'", true),
            ("'cn-beijing' = region", true),
            ("REGION = 'cn-beijing'", true),
            ("alicloud_action_trail.region = 'cn-beijing'", true),
            ("\"region\" = 'cn-beijing'", true),
            ("region <> 'cn-beijing'", false),
            ("region != 'cn-hangzhou'", true),
            (
                "name < 'u' AND name >= 'test-4' AND name <= 'test-4' AND name > 'a'",
                true,
            ),
            ("region = 'cn-hangzhou' OR status = 'Enable'", true),
            ("NOT (region = 'cn-hangzhou')", true),
            ("region IN ('cn-hangzhou', 'cn-beijing')", true),
            ("region NOT IN ('cn-hangzhou', 'cn-beijing')", false),
            ("is_organization_trail", false),
            ("NOT is_organization_trail", true),
            ("is_organization_trail = 'false'", true),
            ("is_organization_trail = false", true),
            ("is_organization_trail IS FALSE", true),
            ("is_organization_trail IS NOT TRUE", true),
            ("create_time = '2021-03-01T06:27:28Z'", true),
            ("create_time = '2021-03-01 14:27:28+08:00'", true),
            ("create_time > '2021-03-01'", true),
            (
                "create_time BETWEEN '2021-01-01' AND '2021-12-31 23:59:59'",
                true,
            ),
            (
                "create_time NOT BETWEEN '2021-01-01' AND '2021-12-31'",
                false,
            ),
            ("raw = '{\"a\":[1,2]}'", true),
            ("raw <> '{\"a\":[2,1]}'", true),
            ("1 < 2", true),
            ("-1 = -1.0", true),
            ("true", true),
            ("'t'", true),
            ("name LIKE 'test-_'", true),
            ("name LIKE 'te%'", true),
            ("name LIKE '%4'", true),
            ("name LIKE '%es%-%'", true),
            ("name LIKE 'TEST%'", false),
            ("name ILIKE 'TEST%'", true),
            ("name NOT LIKE 'x%'", true),
            ("name LIKE 'test\\-4'", true),
            ("name LIKE 'test!_4' ESCAPE '!'", false),
            ("name IS DISTINCT FROM 'x'", true),
            ("status IS NOT DISTINCT FROM 'Enable'", true),
        ] {
            assert_eq!(keep(cond, &r), want, "{cond}");
        }
    }

    #[test]
    fn null_makes_a_comparison_unknown() {
        let r = sample();
        for (cond, want) in [
            ("home_region = 'cn-beijing'", false),
            ("NOT (home_region = 'cn-beijing')", false),
            ("home_region <> 'cn-beijing'", false),
            ("home_region IS NULL", true),
            ("home_region IS NOT NULL", false),
            ("home_region IS DISTINCT FROM NULL", false),
            ("name IS DISTINCT FROM NULL", true),
            ("region = NULL", false),
            ("NOT (region = NULL)", false),
            ("region IN ('x', NULL)", false),
            ("NOT (region IN ('x', NULL))", false),
            ("region NOT IN ('x', NULL)", false),
            ("region IN ('cn-beijing', NULL)", true),
            // Unknown OR true is true; unknown AND false is false, so NOT of it is true.
            ("home_region = 'x' OR region = 'cn-beijing'", true),
            ("NOT (home_region = 'x' AND region = 'nope')", true),
            ("is_shadow_trail", false),
            ("NOT is_shadow_trail", false),
            ("is_shadow_trail IS NOT TRUE", true),
            ("stop_logging_time < '2100-01-01'", false),
            ("home_region LIKE '%'", false),
            ("NULL", false),
        ] {
            assert_eq!(keep(cond, &r), want, "{cond}");
        }
    }

    #[test]
    fn bad_conditions_are_explained() {
        for (cond, says) in [
            ("nope = 'x'", "unknown column \"nope\""),
            ("x.region = 'a'", "\"x.region\" is not a column"),
            ("status = 1", "cannot compare text with number"),
            ("lower(name) = 'x'", "is not supported"),
            ("name = 'a' ; drop table x", "unexpected ;"),
            ("name = ", "cannot parse --where"),
            ("status", "must be a condition"),
            ("is_organization_trail = 'maybe'", "not a valid boolean"),
            ("create_time > 'yesterday'", "not a valid timestamp"),
            ("raw > '1'", "JSON values have no order"),
            ("create_time LIKE '2021%'", "LIKE applies to text"),
            ("region IN (SELECT 1)", "is not supported"),
            ("name = 'a' || 'b'", "is not supported"),
        ] {
            let e = parse(cond, t()).expect_err(cond);
            assert!(e.message.contains(says), "{cond}: {}", e.message);
        }
        let e = parse("nope = 1", t()).unwrap_err();
        assert!(e.hint.unwrap().contains("name, home_region, region"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}true{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep, t()).is_err());
        let deep_not = format!("{}true", "NOT ".repeat(5000));
        assert!(parse(&deep_not, t()).is_err());
        // A long flat chain parses without recursion, but would nest the checked tree.
        let chain = vec!["region = 'x'"; 3000].join(" OR ");
        let e = parse(&chain, t()).unwrap_err();
        assert!(e.message.contains("nests too deeply"), "{}", e.message);
        let long = "x".repeat(100_000);
        assert!(parse(&long, t()).unwrap_err().message.contains("too long"));
        let ok = vec!["region = 'x'"; 100].join(" OR ");
        assert!(parse(&ok, t()).is_ok());
    }

    #[test]
    fn top_level_equalities_on_keys_are_constraints() {
        let c = |cond: &str| parse(cond, t()).unwrap().constraints(t());
        let con = |column: &str, values: &[&str]| {
            Constraint::equal(
                t().column_index(column).unwrap(),
                values.iter().map(|s| s.to_string()),
            )
        };
        assert_eq!(c("region = 'cn-beijing'"), [con("region", &["cn-beijing"])]);
        assert_eq!(
            c("('cn-beijing' = region) AND status = 'Enable' AND name IN ('a', 'b', NULL)"),
            [con("region", &["cn-beijing"]), con("name", &["a", "b"])]
        );
        assert_eq!(c("region = NULL"), [con("region", &[])]);
        for none in [
            "region = 'a' OR status = 'x'",
            "NOT (region = 'a')",
            "region <> 'a'",
            "region NOT IN ('a')",
            "home_region = 'cn-beijing'",
            "region = home_region",
            "region LIKE 'cn-%'",
            "sp_connection_name ILIKE 'org.%'",
            "sp_connection_name NOT LIKE 'org.%'",
            "sp_connection_name LIKE 'org!_%' ESCAPE '!'",
        ] {
            assert!(c(none).is_empty(), "{none}");
        }
        let like = c("sp_connection_name LIKE 'alicloud.1111%'");
        assert_eq!(like.len(), 1);
        assert_eq!(like[0].op, Op::Like);
        assert_eq!(like[0].texts().collect::<Vec<_>>(), ["alicloud.1111%"]);
        let f = parse("status = 'x' AND region = home_region", t()).unwrap();
        let mut cols: Vec<&str> = f.columns().iter().map(|&i| t().columns[i].name).collect();
        cols.sort();
        assert_eq!(cols, ["home_region", "region", "status"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of conditions, put together at random: columns, operators, literals of every
        /// type, keywords, parentheses, and stray characters.
        fn condition() -> impl Strategy<Value = String> {
            let columns: Vec<String> = t().columns.iter().map(|c| c.name.to_string()).collect();
            let piece = prop_oneof![
                prop::sample::select(columns),
                prop::sample::select(vec![
                    "=", "<>", "!=", "<", "<=", ">", ">=", "AND", "OR", "NOT", "IN", "LIKE",
                    "ILIKE", "BETWEEN", "IS", "NULL", "TRUE", "FALSE", "(", ")", ",", "ESCAPE",
                    "->>", "->", "::", "||", "+", "-", "*", "/", ";",
                ])
                .prop_map(str::to_string),
                "'[a-z0-9%_\\\\:TZ.-]{0,12}'",
                "[0-9]{1,10}(\\.[0-9]{1,4})?",
                "'20[0-9]{2}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z'",
                ".{0,3}",
            ];
            prop::collection::vec(piece, 0..24).prop_map(|v| v.join(" "))
        }

        proptest! {
            #[test]
            fn any_where_is_a_filter_or_a_clear_error(text in prop_oneof![condition(), ".{0,120}"]) {
                match parse(&text, t()) {
                    Ok(f) => {
                        let _ = f.constraints(t());
                        let row: Vec<Value> = t()
                            .columns
                            .iter()
                            .map(|c| match c.ty {
                                ColumnType::Text => Value::Text("cn-beijing".into()),
                                ColumnType::Boolean => Value::Boolean(true),
                                ColumnType::Timestamp => {
                                    Value::Timestamp("2021-03-01T06:27:28Z".parse().unwrap())
                                }
                                ColumnType::Json => Value::Json("{\"a\":[1]}".into()),
                            })
                            .collect();
                        let _ = f.matches(&row);
                        let nulls = vec![Value::Null; t().columns.len()];
                        let _ = f.matches(&nulls);
                    }
                    Err(e) => prop_assert!(!e.message.is_empty()),
                }
            }
        }
    }
}
