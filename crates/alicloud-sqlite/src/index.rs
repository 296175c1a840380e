//! Pushdown: which of the constraints SQLite offers in `xBestIndex` become arguments of
//! `xFilter`, and how `xFilter` turns those arguments into the table layer's [`Constraint`]s.
//!
//! Used, as the table's key columns say ([`Pushdown`]): equality (`=`, and `IN`, which SQLite
//! offers as equality) on `region` and the equality key columns, under the BINARY collation; and
//! `=`, `<`, `<=`, `>`, `>=` on range key columns (instants, which SQLite holds as ISO-8601 text),
//! when the value is an instant written exactly as the table writes them (so that SQLite's text
//! comparison and the API's time comparison agree). A comparison under another collation, or of
//! another value, could match rows the pushed value would not fetch. No constraint is ever marked
//! "omit": SQLite checks every condition again on the rows, so a plan only has to never leave out
//! a row that could match.
//!
//! What `xBestIndex` decided reaches `xFilter` as the index string: the columns the statement uses
//! and, for each argument, its column, its comparison and whether it is one value or a whole `IN`
//! list.

use alicloud_tables::plan::{Constraint, Op, Operand};
use alicloud_tables::table::{Pushdown, TableDef, Value};

/// `SQLITE_INDEX_CONSTRAINT_EQ`.
pub const OP_EQ: u8 = 2;
/// `SQLITE_INDEX_CONSTRAINT_GT`.
pub const OP_GT: u8 = 4;
/// `SQLITE_INDEX_CONSTRAINT_LE`.
pub const OP_LE: u8 = 8;
/// `SQLITE_INDEX_CONSTRAINT_LT`.
pub const OP_LT: u8 = 16;
/// `SQLITE_INDEX_CONSTRAINT_GE`.
pub const OP_GE: u8 = 32;
/// `SQLITE_INDEX_CONSTRAINT_LIKE` (offered for `LIKE` without `ESCAPE`).
pub const OP_LIKE: u8 = 65;

/// The comparison of SQLite's operator code. SQLite's `LIKE` folds ASCII letters unless
/// `PRAGMA case_sensitive_like` says otherwise: it is taken with letters in either case, which
/// admits what either setting matches (SQLite checks every condition again on the rows).
fn op_of(code: u8) -> Option<Op> {
    Some(match code {
        OP_EQ => Op::Eq,
        OP_GT => Op::Gt,
        OP_LE => Op::Le,
        OP_LT => Op::Lt,
        OP_GE => Op::Ge,
        OP_LIKE => Op::LikeNoCase,
        _ => return None,
    })
}

fn letter(op: Op) -> char {
    match op {
        Op::Eq => 'e',
        Op::Lt => 'l',
        Op::Le => 'L',
        Op::Gt => 'g',
        Op::Ge => 'G',
        Op::Like => 'k',
        Op::LikeNoCase => 'i',
    }
}

fn op_of_letter(c: char) -> Option<Op> {
    Some(match c {
        'e' => Op::Eq,
        'l' => Op::Lt,
        'L' => Op::Le,
        'g' => Op::Gt,
        'G' => Op::Ge,
        'k' => Op::Like,
        'i' => Op::LikeNoCase,
        _ => return None,
    })
}

/// A constraint SQLite offers, as `xBestIndex` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// The column (-1: the rowid).
    pub column: i32,
    /// The operator code.
    pub op: u8,
    /// Whether it can be used in this plan.
    pub usable: bool,
    /// Whether its collation is BINARY.
    pub binary: bool,
    /// Whether it is an `IN` that SQLite can hand over as one list (SQLite 3.38 and later).
    pub in_list: bool,
}

/// One argument of `xFilter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    /// The column's index in the table.
    pub column: usize,
    /// The comparison.
    pub op: Op,
    /// An `IN` list, handed over all at once (else one value).
    pub list: bool,
}

/// What `xBestIndex` hands to `xFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexPlan {
    /// The columns the statement uses (`colUsed`: bit `i` for column `i`, bit 63 for 63 and up).
    pub columns: u64,
    /// The arguments, in `argv` order.
    pub args: Vec<Arg>,
}

impl IndexPlan {
    /// The index string: `c=<columns in hex>;a=<column><op letter><1 or L>,...`.
    pub fn encode(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                let n = if a.list { 'L' } else { '1' };
                format!("{}{}{n}", a.column, letter(a.op))
            })
            .collect();
        format!("c={:x};a={}", self.columns, args.join(","))
    }

    /// Reads an index string made by [`IndexPlan::encode`].
    pub fn decode(s: &str) -> Option<IndexPlan> {
        let (c, a) = s.strip_prefix("c=")?.split_once(";a=")?;
        let args = a
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| {
                let (list, rest) = match x.strip_suffix('L') {
                    Some(rest) => (true, rest),
                    None => (false, x.strip_suffix('1')?),
                };
                let op = op_of_letter(rest.chars().last()?)?;
                let column = rest[..rest.len() - 1].parse().ok()?;
                Some(Arg { column, op, list })
            })
            .collect::<Option<_>>()?;
        Some(IndexPlan {
            columns: u64::from_str_radix(c, 16).ok()?,
            args,
        })
    }

    /// Whether column `i` is used.
    pub fn uses(&self, i: usize) -> bool {
        let bit = i.min(63);
        self.columns & (1u64 << bit) != 0
    }
}

/// `xBestIndex`'s answer: the offered constraints used (index into the offered list, in `argv`
/// order) with the plan and the cost estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The offered constraints used, in `argv` order (`argvIndex` is the position plus one).
    pub used: Vec<usize>,
    /// The plan for `xFilter`.
    pub plan: IndexPlan,
    /// The estimated cost: calls over the network, so high unless narrowed.
    pub cost: f64,
    /// The estimated rows.
    pub rows: i64,
}

/// Chooses the constraints to use among `offered`, for a statement using `columns`.
pub fn choose(table: &TableDef, offered: &[Offered], columns: u64) -> Choice {
    let mut used = Vec::new();
    let mut args = Vec::new();
    for (i, c) in offered.iter().enumerate() {
        let Some(op) = op_of(c.op).filter(|_| c.usable) else {
            continue;
        };
        let Some((column, pushdown)) = usize::try_from(c.column)
            .ok()
            .and_then(|col| Some((col, table.columns.get(col)?.pushdown?)))
        else {
            continue;
        };
        let takes = c.binary && op.pushed_on(pushdown);
        if !takes {
            continue;
        }
        used.push(i);
        args.push(Arg {
            column,
            op,
            list: op == Op::Eq && c.in_list,
        });
    }
    let pushed = |kind: Pushdown| {
        args.iter()
            .any(|a| table.columns[a.column].pushdown == Some(kind))
    };
    let (mut cost, mut rows) = (1_000_000.0, 100);
    if pushed(Pushdown::Region) {
        cost /= 10.0;
        rows /= 4;
    }
    if pushed(Pushdown::Equal) {
        cost /= 100.0;
        rows = 4.min(rows);
    }
    if pushed(Pushdown::Range) {
        cost /= 10.0;
    }
    Choice {
        used,
        plan: IndexPlan { columns, args },
        cost,
        rows,
    }
}

/// One value `xFilter` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// NULL: equal to nothing.
    Null,
    /// Text.
    Text(String),
    /// A number or a blob: compared under the column's text affinity, so not narrowed on.
    Other,
}

/// The instant `text` is, when it is written exactly as the table writes instants (then SQLite's
/// text order and the time order agree).
fn instant(text: &str) -> Option<Operand> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?.to_utc();
    (Value::timestamp_text(&t) == text).then_some(Operand::Time(t))
}

/// The constraint `arg` states with `values`, or `None` when the values cannot narrow the calls
/// (a number or blob among them, or text that is not an instant of the table's form for a range
/// column: the table does not guess how SQLite would compare it).
pub fn constraint(
    table: &TableDef,
    arg: Arg,
    values: impl IntoIterator<Item = Given>,
) -> Option<Constraint> {
    let range = table.columns.get(arg.column)?.pushdown == Some(Pushdown::Range);
    let mut operands = Vec::new();
    for v in values {
        match v {
            Given::Null => {}
            Given::Text(t) if range => operands.push(instant(&t)?),
            Given::Text(t) => operands.push(Operand::Text(t)),
            Given::Other => return None,
        }
    }
    Some(Constraint {
        column: arg.column,
        op: arg.op,
        values: operands,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_tables::plan::ScanPlan;
    use alicloud_tables::tables::table;

    fn t() -> &'static TableDef {
        table("alicloud_action_trail").unwrap()
    }

    fn col(name: &str) -> usize {
        t().column_index(name).unwrap()
    }

    fn eq(name: &str) -> Offered {
        Offered {
            column: col(name) as i32,
            op: OP_EQ,
            usable: true,
            binary: true,
            in_list: false,
        }
    }

    fn one(name: &str) -> Arg {
        Arg {
            column: col(name),
            op: Op::Eq,
            list: false,
        }
    }

    #[test]
    fn only_usable_binary_comparisons_a_key_column_takes_are_pushed() {
        let offered = [
            eq("status"),
            Offered {
                op: OP_GT,
                ..eq("region")
            }, // region > ...: regions take equality only
            Offered {
                usable: false,
                ..eq("region")
            },
            Offered {
                binary: false,
                ..eq("name")
            }, // COLLATE NOCASE
            Offered {
                column: -1,
                ..eq("name")
            }, // rowid
            Offered {
                column: 999,
                ..eq("name")
            },
            eq("region"),
            Offered {
                in_list: true,
                ..eq("name")
            },
        ];
        let c = choose(t(), &offered, 0b101);
        assert_eq!(c.used, [6, 7]);
        assert_eq!(
            c.plan.args,
            [
                one("region"),
                Arg {
                    list: true,
                    ..one("name")
                }
            ]
        );
        assert_eq!(c.plan.columns, 0b101);
        let none = choose(t(), &[eq("status")], 1);
        assert!(none.used.is_empty());
        assert!(c.cost < none.cost && c.rows < none.rows);
        let region = choose(t(), &[eq("region")], 1);
        assert!(c.cost < region.cost && region.cost < none.cost);
        // LIKE chooses connections; it narrows no other key column.
        let like = |name| Offered {
            op: OP_LIKE,
            ..eq(name)
        };
        let c = choose(t(), &[like("sp_connection_name"), like("name")], 1);
        assert_eq!(c.used, [0]);
        assert_eq!(c.plan.args[0].op, Op::LikeNoCase);
    }

    #[test]
    fn index_strings_round_trip() {
        let plan = IndexPlan {
            columns: (1 << 27) | 1,
            args: vec![
                one("region"),
                Arg {
                    list: true,
                    ..one("region")
                },
                Arg {
                    column: 12,
                    op: Op::Ge,
                    list: false,
                },
                Arg {
                    column: 3,
                    op: Op::Lt,
                    list: false,
                },
                Arg {
                    column: 30,
                    op: Op::LikeNoCase,
                    list: false,
                },
            ],
        };
        assert_eq!(IndexPlan::decode(&plan.encode()), Some(plan.clone()));
        assert!(plan.uses(0) && plan.uses(27) && !plan.uses(1));
        let all = IndexPlan {
            columns: u64::MAX,
            args: vec![],
        };
        assert_eq!(IndexPlan::decode("c=ffffffffffffffff;a="), Some(all));
        for bad in [
            "",
            "c=1",
            "c=x;a=",
            "c=1;a=q",
            "a=r;c=1",
            "c=1;a=2e",
            "c=1;a=xe1",
        ] {
            assert_eq!(IndexPlan::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn filter_values_become_constraints() {
        let c = constraint(
            t(),
            one("name"),
            [
                Given::Text("a".into()),
                Given::Null,
                Given::Text("b".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.texts().collect::<Vec<_>>(), ["a", "b"]);
        // `name = NULL` matches nothing, and calls nothing.
        let nothing = constraint(t(), one("name"), [Given::Null]).unwrap();
        assert!(ScanPlan::new(t(), &[nothing]).is_empty());
        // A number is compared as SQLite sees fit: no narrowing.
        assert_eq!(
            constraint(
                t(),
                one("region"),
                [Given::Text("cn-beijing".into()), Given::Other]
            ),
            None
        );
        let region = constraint(t(), one("region"), [Given::Text("cn-beijing".into())]).unwrap();
        let plan = ScanPlan::new(t(), &[region]);
        let configured = vec!["cn-hangzhou".to_string(), "cn-beijing".to_string()];
        assert_eq!(plan.regions(&configured), ["cn-beijing"]);
    }

    #[test]
    fn only_instants_in_the_tables_own_form_bound_a_range() {
        assert_eq!(
            instant("2021-07-13T07:33:46Z"),
            Some(Operand::Time("2021-07-13T07:33:46Z".parse().unwrap()))
        );
        for other in [
            "2021-07-13",
            "2021-07-13 07:33:46",
            "2021-07-13T07:33:46+08:00",
            "2021-07-13T07:33:46.000Z",
            "soon",
        ] {
            assert_eq!(instant(other), None, "{other}");
        }
    }
}
