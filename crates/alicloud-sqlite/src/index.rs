//! Pushdown: which of the constraints SQLite offers in `xBestIndex` become arguments of
//! `xFilter`, and how `xFilter` turns those arguments into the table layer's [`Constraint`]s.
//!
//! Only equality (`=`, and `IN`, which SQLite offers as equality) on a key column (`region`,
//! `name`) under the BINARY collation is used; a comparison under another collation could match
//! rows the exact value would not fetch. No constraint is ever marked "omit": SQLite checks every
//! condition again on the rows, so a plan only has to never leave out a row that could match.
//!
//! What `xBestIndex` decided reaches `xFilter` as the index string: the columns the statement uses
//! and, for each argument, its key column and whether it is one value or a whole `IN` list.

use alicloud_tables::plan::Constraint;
use alicloud_tables::table::{KeyColumn, TableDef};

/// `SQLITE_INDEX_CONSTRAINT_EQ`.
pub const OP_EQ: u8 = 2;

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
pub enum Arg {
    /// One value the column equals.
    One(KeyColumn),
    /// An `IN` list, handed over all at once.
    List(KeyColumn),
}

impl Arg {
    /// The key column.
    pub fn key(self) -> KeyColumn {
        match self {
            Arg::One(k) | Arg::List(k) => k,
        }
    }

    fn letter(self) -> char {
        match self {
            Arg::One(KeyColumn::Region) => 'r',
            Arg::List(KeyColumn::Region) => 'R',
            Arg::One(KeyColumn::Name) => 'n',
            Arg::List(KeyColumn::Name) => 'N',
        }
    }

    fn from_letter(c: char) -> Option<Arg> {
        Some(match c {
            'r' => Arg::One(KeyColumn::Region),
            'R' => Arg::List(KeyColumn::Region),
            'n' => Arg::One(KeyColumn::Name),
            'N' => Arg::List(KeyColumn::Name),
            _ => return None,
        })
    }
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
    /// The index string: `c=<columns in hex>;a=<one letter per argument>`.
    pub fn encode(&self) -> String {
        let args: String = self.args.iter().map(|a| a.letter()).collect();
        format!("c={:x};a={args}", self.columns)
    }

    /// Reads an index string made by [`IndexPlan::encode`].
    pub fn decode(s: &str) -> Option<IndexPlan> {
        let (c, a) = s.strip_prefix("c=")?.split_once(";a=")?;
        Some(IndexPlan {
            columns: u64::from_str_radix(c, 16).ok()?,
            args: a.chars().map(Arg::from_letter).collect::<Option<_>>()?,
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
        if !c.usable || c.op != OP_EQ || !c.binary {
            continue;
        }
        let Some(key) = usize::try_from(c.column)
            .ok()
            .and_then(|col| table.columns.get(col))
            .and_then(|col| col.key)
        else {
            continue;
        };
        used.push(i);
        args.push(if c.in_list {
            Arg::List(key)
        } else {
            Arg::One(key)
        });
    }
    let (mut cost, mut rows) = (1_000_000.0, 100);
    if args.iter().any(|a| a.key() == KeyColumn::Region) {
        cost /= 10.0;
        rows /= 4;
    }
    if args.iter().any(|a| a.key() == KeyColumn::Name) {
        cost /= 100.0;
        rows = 4.min(rows);
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

/// The constraint "`key` equals one of `values`", or `None` when the values cannot narrow the
/// calls (a number or blob among them: the table does not guess how SQLite would compare it).
pub fn constraint(key: KeyColumn, values: impl IntoIterator<Item = Given>) -> Option<Constraint> {
    let mut texts = Vec::new();
    for v in values {
        match v {
            Given::Null => {}
            Given::Text(t) => texts.push(t),
            Given::Other => return None,
        }
    }
    Some(Constraint { key, values: texts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alicloud_tables::plan::ScanPlan;
    use alicloud_tables::table::table;

    fn t() -> &'static TableDef {
        table("alicloud_action_trail").unwrap()
    }

    fn col(name: &str) -> i32 {
        t().column_index(name).unwrap() as i32
    }

    fn eq(name: &str) -> Offered {
        Offered {
            column: col(name),
            op: OP_EQ,
            usable: true,
            binary: true,
            in_list: false,
        }
    }

    #[test]
    fn only_usable_binary_equality_on_key_columns_is_pushed() {
        let offered = [
            eq("status"),
            Offered {
                op: 4,
                ..eq("region")
            }, // region > ...
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
            [Arg::One(KeyColumn::Region), Arg::List(KeyColumn::Name)]
        );
        assert_eq!(c.plan.columns, 0b101);
        let none = choose(t(), &[eq("status")], 1);
        assert!(none.used.is_empty());
        assert!(c.cost < none.cost && c.rows < none.rows);
        let region = choose(t(), &[eq("region")], 1);
        assert!(c.cost < region.cost && region.cost < none.cost);
    }

    #[test]
    fn index_strings_round_trip() {
        let plan = IndexPlan {
            columns: (1 << 27) | 1,
            args: vec![
                Arg::One(KeyColumn::Region),
                Arg::List(KeyColumn::Region),
                Arg::One(KeyColumn::Name),
                Arg::List(KeyColumn::Name),
            ],
        };
        assert_eq!(plan.encode(), "c=8000001;a=rRnN");
        assert_eq!(IndexPlan::decode(&plan.encode()), Some(plan.clone()));
        assert!(plan.uses(0) && plan.uses(27) && !plan.uses(1));
        let all = IndexPlan {
            columns: u64::MAX,
            args: vec![],
        };
        assert_eq!(IndexPlan::decode("c=ffffffffffffffff;a="), Some(all));
        for bad in ["", "c=1", "c=x;a=", "c=1;a=q", "a=r;c=1"] {
            assert_eq!(IndexPlan::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn filter_values_become_constraints() {
        let c = constraint(
            KeyColumn::Name,
            [
                Given::Text("a".into()),
                Given::Null,
                Given::Text("b".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.values, ["a", "b"]);
        // `name = NULL` matches nothing, and calls nothing.
        let nothing = constraint(KeyColumn::Name, [Given::Null]).unwrap();
        assert!(ScanPlan::new(&[nothing]).is_empty());
        // A number is compared as SQLite sees fit: no narrowing.
        assert_eq!(
            constraint(
                KeyColumn::Region,
                [Given::Text("cn-beijing".into()), Given::Other]
            ),
            None
        );
        let region = constraint(KeyColumn::Region, [Given::Text("cn-beijing".into())]).unwrap();
        let plan = ScanPlan::new(&[region]);
        let configured = vec!["cn-hangzhou".to_string(), "cn-beijing".to_string()];
        assert_eq!(plan.regions(&configured), ["cn-beijing"]);
    }
}
