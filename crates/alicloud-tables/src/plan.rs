//! Which calls a scan makes. Conditions on a table's key columns ([`Pushdown`]) narrow them:
//! equality on `region` chooses the regions called (configured ones only); the others go to the
//! table's listing, which turns them into its requests (a `NameList`, a time window). Every front
//! end rechecks its filters on the rows, so a plan only has to never drop a row that could match;
//! a contradiction means no call at all.

use crate::listing::Params;
use crate::table::{Pushdown, TableDef};
use alicloud_api::validate_region_id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a condition compares its column with its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Equal to one of the values (`=` with one, `IN` with several, none: nothing matches).
    Eq,
    /// Less than the value.
    Lt,
    /// Less than or equal to the value.
    Le,
    /// Greater than the value.
    Gt,
    /// Greater than or equal to the value.
    Ge,
    /// Matches the value, a `LIKE` pattern (`%` any characters, `_` one, `\` makes the next one
    /// literal), case and all.
    Like,
    /// Matches the value, a `LIKE` pattern without an escape character, ASCII letters in either
    /// case: SQLite's `LIKE` (and a superset of it under `PRAGMA case_sensitive_like`).
    LikeNoCase,
}

impl Op {
    /// The comparison in SQL: `=`, `<`, `<=`, `>`, `>=`, `LIKE`.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like | Op::LikeNoCase => "LIKE",
        }
    }

    /// Whether a condition with this comparison on a key column of kind `pushdown` narrows the
    /// calls.
    pub fn pushed_on(self, pushdown: Pushdown) -> bool {
        match pushdown {
            Pushdown::Region | Pushdown::Equal | Pushdown::Account => self == Op::Eq,
            Pushdown::Connection => matches!(self, Op::Eq | Op::Like | Op::LikeNoCase),
            Pushdown::Range => !matches!(self, Op::Like | Op::LikeNoCase),
        }
    }
}

/// A value a column is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// Text.
    Text(String),
    /// An instant.
    Time(DateTime<Utc>),
}

impl Operand {
    /// The text, when it is text.
    pub fn text(&self) -> Option<&str> {
        match self {
            Operand::Text(t) => Some(t),
            Operand::Time(_) => None,
        }
    }

    /// The instant, when it is one.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        match self {
            Operand::Time(t) => Some(*t),
            Operand::Text(_) => None,
        }
    }
}

/// "column `op` values": one condition on a key column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The column's index in its table.
    pub column: usize,
    /// The comparison.
    pub op: Op,
    /// The values (several only for `Op::Eq`).
    pub values: Vec<Operand>,
}

impl Constraint {
    /// `column = one of texts`.
    pub fn equal(column: usize, texts: impl IntoIterator<Item = String>) -> Constraint {
        Constraint {
            column,
            op: Op::Eq,
            values: texts.into_iter().map(Operand::Text).collect(),
        }
    }

    /// The texts of an equality (the other values are not texts).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(Operand::text)
    }

    /// Whether `table` pushes this condition down: its column is a key column, and the comparison
    /// is one the column takes.
    pub fn applies_to(&self, table: &TableDef) -> bool {
        table
            .columns
            .get(self.column)
            .and_then(|c| c.pushdown)
            .is_some_and(|p| self.op.pushed_on(p))
    }
}

/// One element of a LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pat {
    Char(char),
    One,
    Any,
}

/// SQL LIKE: `%` any run of characters, `_` one character, the escape character makes the next
/// one literal. `None` when the pattern ends with the escape character (an error in PostgreSQL;
/// here the row's condition is unknown).
pub fn like(text: &str, pattern: &str, escape: Option<char>, fold_case: bool) -> Option<bool> {
    let fold = |s: &str| -> Vec<char> {
        if fold_case {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    let mut pat = Vec::new();
    let mut chars = fold(pattern).into_iter();
    while let Some(c) = chars.next() {
        pat.push(if Some(c) == escape {
            Pat::Char(chars.next()?)
        } else if c == '%' {
            Pat::Any
        } else if c == '_' {
            Pat::One
        } else {
            Pat::Char(c)
        });
    }
    let text = fold(text);
    // The classic wildcard match: on a mismatch, go back to the last `%` and let it take one
    // more character.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Pat::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Pat::One) => {
                t += 1;
                p += 1;
            }
            Some(Pat::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return Some(false),
            },
        }
    }
    Some(pat[p..].iter().all(|x| *x == Pat::Any))
}

/// Intersects `current` (None = unrestricted) with `values`, keeping `current`'s order.
pub fn narrow(current: Option<Vec<String>>, values: Vec<String>) -> Vec<String> {
    match current {
        None => {
            let mut v: Vec<String> = Vec::with_capacity(values.len());
            for s in values {
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            v
        }
        Some(cur) => cur.into_iter().filter(|s| values.contains(s)).collect(),
    }
}

/// The calls of one scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanPlan {
    /// `None`: every configured region; `Some`: only those of these that are configured.
    regions: Option<Vec<String>>,
    /// The listing's requests in each region called.
    requests: Vec<Params>,
    /// `None`: every account; `Some`: only these (equality on `account_id`).
    accounts: Option<Vec<String>>,
    /// `None`: every connection; `Some`: only these (equality on `sp_connection_name`).
    connections: Option<Vec<String>>,
    /// Patterns every connection's name must match (`LIKE` on `sp_connection_name`).
    connection_patterns: Vec<(String, Op)>,
    /// The constraints contradict each other: nothing can match, so nothing is called.
    empty: bool,
}

impl ScanPlan {
    /// The plan of a scan of `table` under a conjunction of constraints (those `table` does not
    /// push down are left out).
    pub fn new(table: &TableDef, constraints: &[Constraint]) -> ScanPlan {
        let mut regions: Option<Vec<String>> = None;
        let mut accounts: Option<Vec<String>> = None;
        let mut connections: Option<Vec<String>> = None;
        let mut connection_patterns = Vec::new();
        let mut no_pattern = false;
        let mut own = Vec::new();
        for c in constraints.iter().filter(|c| c.applies_to(table)) {
            match table.columns[c.column].pushdown {
                // A value that is not a region id matches no region (every configured or listed
                // region is one).
                Some(Pushdown::Region) => {
                    let valid = c.texts().filter(|r| validate_region_id(r).is_ok());
                    regions = Some(narrow(regions, valid.map(str::to_string).collect()));
                }
                Some(Pushdown::Account) => {
                    accounts = Some(narrow(accounts, c.texts().map(str::to_string).collect()));
                }
                // LIKE NULL matches nothing.
                Some(Pushdown::Connection) if c.op != Op::Eq => match c.texts().next() {
                    Some(pattern) => connection_patterns.push((pattern.to_string(), c.op)),
                    None => no_pattern = true,
                },
                Some(Pushdown::Connection) => {
                    let names = c.texts().map(str::to_string).collect();
                    connections = Some(narrow(connections, names));
                }
                _ => own.push(c.clone()),
            }
        }
        let requests = table.listing.requests(table, &own);
        let none = |v: &Option<Vec<String>>| v.as_ref().is_some_and(Vec::is_empty);
        let empty = none(&regions)
            || none(&accounts)
            || none(&connections)
            || no_pattern
            || requests.is_none();
        ScanPlan {
            regions,
            requests: requests.unwrap_or_default(),
            accounts,
            connections,
            connection_patterns,
            empty,
        }
    }

    /// Whether the constraints contradict each other, so that no call is needed.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// The regions to call, in the configured (or listed) order.
    pub fn regions(&self, configured: &[String]) -> Vec<String> {
        if self.empty {
            return Vec::new();
        }
        match &self.regions {
            None => configured.to_vec(),
            Some(wanted) => configured
                .iter()
                .filter(|r| wanted.contains(r))
                .cloned()
                .collect(),
        }
    }

    /// Whether the rows of connection `name` (a server's, or a member's) with account
    /// `account` (when known before any call) can match.
    pub fn admits(&self, name: &str, account: Option<&str>) -> bool {
        let named = self
            .connections
            .as_ref()
            .is_none_or(|c| c.iter().any(|n| n == name))
            // A pattern that cannot be read (it ends with `\`) chooses nothing out.
            && self
                .connection_patterns
                .iter()
                .all(|(p, op)| {
                    let matched = match op {
                        // ASCII letters only, as SQLite folds them: folding more (`İ` lowers
                        // to two characters) could change what `_` counts.
                        Op::LikeNoCase => like(
                            &name.to_ascii_lowercase(),
                            &p.to_ascii_lowercase(),
                            None,
                            false,
                        ),
                        _ => like(name, p, Some('\\'), false),
                    };
                    matched != Some(false)
                });
        let accounted = match (&self.accounts, account) {
            (Some(wanted), Some(a)) => wanted.iter().any(|w| w == a),
            _ => true,
        };
        !self.empty && named && accounted
    }

    /// The member accounts of `all` whose rows can match, for a server called `server` whose
    /// members' rows are named `<server>.<account>`.
    pub fn accounts(&self, server: &str, all: &[String]) -> Vec<String> {
        all.iter()
            .filter(|a| self.admits(&format!("{server}.{a}"), Some(a)))
            .cloned()
            .collect()
    }

    /// The regions the constraints name, when they name any.
    pub fn named_regions(&self) -> Option<&[String]> {
        self.regions.as_deref()
    }

    /// The listing's requests in each region called.
    pub fn requests(&self) -> &[Params] {
        &self.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert_eq!(like("abc", "a%c", Some('\\'), false), Some(true));
        assert_eq!(like("abc", "%%%", Some('\\'), false), Some(true));
        assert_eq!(like("", "%", Some('\\'), false), Some(true));
        assert_eq!(like("", "_", Some('\\'), false), Some(false));
        assert_eq!(like("a%c", "a\\%c", Some('\\'), false), Some(true));
        assert_eq!(like("abc", "a\\%c", Some('\\'), false), Some(false));
        assert_eq!(like("aXbXc", "%X%X_", Some('\\'), false), Some(true));
        assert_eq!(like("杭州-trail", "__-%", Some('\\'), false), Some(true));
        assert_eq!(like("abc", "ab\\", Some('\\'), false), None);
        assert_eq!(like("a\\c", "a\\c", None, false), Some(true));
        assert_eq!(like("ABC", "a_c", Some('\\'), true), Some(true));
    }

    #[test]
    fn sqlite_like_chooses_connections_in_either_case_without_an_escape() {
        let t = crate::tables::table("alicloud_action_trail").unwrap();
        let c = t.column_index("sp_connection_name").unwrap();
        let plan = |pattern: &str| {
            ScanPlan::new(
                t,
                &[Constraint {
                    column: c,
                    op: Op::LikeNoCase,
                    values: vec![Operand::Text(pattern.to_string())],
                }],
            )
        };
        assert!(plan("ORG.1%").admits("org.1111", None));
        assert!(!plan("ORG.1%").admits("org.2222", None));
        // Only ASCII letters are folded, as SQLite does: `_` stays one character of the name.
        assert!(plan("_zmir.%").admits("İzmir.1", None));
        assert!(!plan("izmir.%").admits("İzmir.1", None));
        // No escape character: a backslash is itself.
        assert!(plan("a\\_%").admits("a\\_b", None));
        assert!(!plan("a\\_%").admits("a_b", None));
        // A LIKE on another key column narrows nothing.
        let name = t.column_index("name").unwrap();
        assert!(!Constraint {
            column: name,
            op: Op::LikeNoCase,
            values: vec![Operand::Text("x".into())],
        }
        .applies_to(t));
    }

    use crate::tables::action_trail::TABLE;

    fn region(values: &[&str]) -> Constraint {
        let c = TABLE.column_index("region").unwrap();
        Constraint::equal(c, values.iter().map(|s| s.to_string()))
    }

    #[test]
    fn like_on_the_connection_name_chooses_members() {
        let c = TABLE.column_index("sp_connection_name").unwrap();
        let like = |patterns: &[Option<&str>]| {
            let constraints: Vec<Constraint> = patterns
                .iter()
                .map(|p| Constraint {
                    column: c,
                    op: Op::Like,
                    values: p.iter().map(|t| Operand::Text(t.to_string())).collect(),
                })
                .collect();
            ScanPlan::new(&TABLE, &constraints)
        };
        let all: Vec<String> = ["1111", "1222", "2111"].map(String::from).to_vec();
        assert_eq!(
            like(&[Some("org.1%")]).accounts("org", &all),
            ["1111", "1222"]
        );
        assert_eq!(
            like(&[Some("org.1%"), Some("%11")]).accounts("org", &all),
            ["1111"]
        );
        assert_eq!(like(&[Some("org._2__")]).accounts("org", &all), ["1222"]);
        // Case and all, as the names are compared.
        assert!(like(&[Some("ORG.%")]).accounts("org", &all).is_empty());
        // LIKE NULL matches nothing; an unreadable pattern chooses nothing out.
        assert!(like(&[None]).is_empty());
        assert_eq!(like(&[Some("org.1\\")]).accounts("org", &all).len(), 3);
        assert!(Constraint {
            column: c,
            op: Op::Like,
            values: vec![]
        }
        .applies_to(&TABLE));
        let region = TABLE.column_index("region").unwrap();
        assert!(!Constraint {
            column: region,
            op: Op::Like,
            values: vec![]
        }
        .applies_to(&TABLE));
    }

    fn configured() -> Vec<String> {
        ["cn-hangzhou", "cn-beijing", "cn-shanghai"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn no_constraint_calls_every_configured_region() {
        let p = ScanPlan::new(&TABLE, &[]);
        assert_eq!(p.regions(&configured()), configured());
        assert_eq!(p.requests(), [Params::new()]);
        assert!(!p.is_empty());
    }

    #[test]
    fn regions_keep_the_configured_order() {
        let p = ScanPlan::new(
            &TABLE,
            &[region(&["cn-shanghai", "cn-hangzhou", "us-east-1"])],
        );
        assert_eq!(p.regions(&configured()), ["cn-hangzhou", "cn-shanghai"]);
        let p = ScanPlan::new(&TABLE, &[region(&["us-east-1"])]);
        assert!(p.regions(&configured()).is_empty());
        assert!(!p.is_empty(), "us-east-1 may be listed when regions is '*'");
    }

    #[test]
    fn contradictions_call_nothing() {
        for cs in [
            vec![region(&["cn-beijing"]), region(&["cn-hangzhou"])],
            vec![region(&["not a region", "../x"])],
            vec![region(&[])],
        ] {
            let p = ScanPlan::new(&TABLE, &cs);
            assert!(p.is_empty(), "{cs:?}");
            assert!(p.regions(&configured()).is_empty());
        }
    }

    #[test]
    fn conditions_a_column_does_not_take_are_left_out() {
        let name = TABLE.column_index("name").unwrap();
        let status = TABLE.column_index("status").unwrap();
        let below = Constraint {
            column: name,
            op: Op::Lt,
            values: vec![Operand::Text("a".into())],
        };
        let on_status = Constraint::equal(status, ["Enable".to_string()]);
        assert!(!below.applies_to(&TABLE) && !on_status.applies_to(&TABLE));
        assert_eq!(
            ScanPlan::new(&TABLE, &[below, on_status]),
            ScanPlan::new(&TABLE, &[])
        );
    }
}
