//! Which calls a scan makes. Equality constraints on the key columns narrow them: `region = …` /
//! `region IN (…)` choose the regions called (configured ones only), `name = …` / `name IN (…)`
//! become the `NameList` filter. Every front end rechecks its filters on the rows, so a plan only
//! has to never drop a row that could match; a contradiction means no call at all.

use crate::table::{KeyColumn, TableDef};
use alicloud_api::validate_region_id;

/// The most characters of `NameList` sent: a longer filter (or a name with a comma, which the
/// comma-separated list cannot carry) is not sent, and the front end filters the rows instead.
pub const MAX_NAME_LIST_CHARS: usize = 2048;

/// "`column` equals one of `values`" (one value for `=`, several for `IN`; none: nothing matches,
/// as with `= NULL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The key column constrained.
    pub key: KeyColumn,
    /// The values it may equal.
    pub values: Vec<String>,
}

impl Constraint {
    /// A constraint on `column` of `table`, when that column is a key column.
    pub fn on(table: &TableDef, column: &str, values: Vec<String>) -> Option<Constraint> {
        let key = table.column(column)?.key?;
        Some(Constraint { key, values })
    }
}

/// The calls of one scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScanPlan {
    /// `None`: every configured region; `Some`: only those of these that are configured.
    regions: Option<Vec<String>>,
    /// `None`: every trail; `Some`: only these names (sent as `NameList`).
    names: Option<Vec<String>>,
    /// The constraints contradict each other: nothing can match, so nothing is called.
    empty: bool,
}

/// Intersects `current` (None = unrestricted) with `values`, keeping `current`'s order.
fn narrow(current: Option<Vec<String>>, values: Vec<String>) -> Vec<String> {
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

impl ScanPlan {
    /// The plan for a conjunction of constraints.
    pub fn new(constraints: &[Constraint]) -> ScanPlan {
        let mut regions: Option<Vec<String>> = None;
        let mut names: Option<Vec<String>> = None;
        for c in constraints {
            match c.key {
                // A value that is not a region id matches no region (every configured or
                // listed region is one).
                KeyColumn::Region => {
                    let valid = c.values.iter().filter(|r| validate_region_id(r).is_ok());
                    regions = Some(narrow(regions, valid.cloned().collect()));
                }
                // The name column is null for an empty name, so '' matches nothing.
                KeyColumn::Name => {
                    let values = c.values.iter().filter(|n| !n.is_empty()).cloned().collect();
                    names = Some(narrow(names, values));
                }
            }
        }
        let empty = regions.as_ref().is_some_and(Vec::is_empty)
            || names.as_ref().is_some_and(Vec::is_empty);
        // Names the API cannot be sent are left to the front end's own filter.
        if let Some(n) = &names {
            let chars: usize = n.iter().map(|s| s.chars().count() + 1).sum();
            if n.iter().any(|s| s.contains(',')) || chars > MAX_NAME_LIST_CHARS {
                names = None;
            }
        }
        ScanPlan {
            regions,
            names,
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

    /// The regions the constraints name, when they name any.
    pub fn named_regions(&self) -> Option<&[String]> {
        self.regions.as_deref()
    }

    /// The `NameList` to send; `None`: every trail.
    pub fn names(&self) -> Option<&[String]> {
        self.names.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(key: KeyColumn, values: &[&str]) -> Constraint {
        Constraint {
            key,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn configured() -> Vec<String> {
        ["cn-hangzhou", "cn-beijing", "cn-shanghai"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn no_constraint_calls_every_configured_region() {
        let p = ScanPlan::new(&[]);
        assert_eq!(p.regions(&configured()), configured());
        assert_eq!(p.names(), None);
        assert!(!p.is_empty());
    }

    #[test]
    fn regions_keep_the_configured_order() {
        let p = ScanPlan::new(&[c(
            KeyColumn::Region,
            &["cn-shanghai", "cn-hangzhou", "us-east-1"],
        )]);
        assert_eq!(p.regions(&configured()), ["cn-hangzhou", "cn-shanghai"]);
        let p = ScanPlan::new(&[c(KeyColumn::Region, &["us-east-1"])]);
        assert!(p.regions(&configured()).is_empty());
        assert!(!p.is_empty(), "us-east-1 may be listed when regions is '*'");
    }

    #[test]
    fn contradictions_call_nothing() {
        for cs in [
            vec![c(KeyColumn::Name, &["a"]), c(KeyColumn::Name, &["b"])],
            vec![
                c(KeyColumn::Region, &["cn-beijing"]),
                c(KeyColumn::Region, &["cn-hangzhou"]),
            ],
            vec![c(KeyColumn::Name, &[])],
            vec![c(KeyColumn::Name, &[""])],
            vec![c(KeyColumn::Region, &["not a region", "../x"])],
        ] {
            let p = ScanPlan::new(&cs);
            assert!(p.is_empty(), "{cs:?}");
            assert!(p.regions(&configured()).is_empty());
        }
        let p = ScanPlan::new(&[
            c(KeyColumn::Name, &["a", "b"]),
            c(KeyColumn::Name, &["b", "c"]),
        ]);
        assert_eq!(p.names(), Some(&["b".to_string()][..]));
    }

    #[test]
    fn names_that_cannot_be_sent_are_not_pushed() {
        let long = "x".repeat(64 * 1024);
        let p = ScanPlan::new(&[c(KeyColumn::Name, &[&long])]);
        assert_eq!(p.names(), None);
        assert!(!p.is_empty());
        let p = ScanPlan::new(&[c(KeyColumn::Name, &["a,b"])]);
        assert_eq!(p.names(), None);
        let p = ScanPlan::new(&[c(KeyColumn::Name, &["a", "a", "b"])]);
        assert_eq!(p.names(), Some(&["a".to_string(), "b".to_string()][..]));
    }
}
