//! Which calls a scan makes: `region = …` / `region IN (…)` narrow the regions called (only configured
//! ones), `name = …` / `name IN (…)` become `NameList`. Postgres rechecks every qual on the rows, so
//! pushdown only has to never drop a row that could match.

use supabase_wrappers::prelude::{Cell, Qual, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPlan {
    /// The regions to call, in configured order.
    pub regions: Vec<String>,
    /// `None`: every trail; `Some(names)`: only these (empty: nothing can match).
    pub names: Option<Vec<String>>,
}

/// The string values a qual compares `field` with by equality, or `None` if it cannot be used.
fn equality_values(qual: &Qual, field: &str) -> Option<Vec<String>> {
    if qual.field != field || qual.operator != "=" {
        return None;
    }
    let text = |c: &Cell| match c {
        Cell::String(s) => Some(s.clone()),
        _ => None,
    };
    match &qual.value {
        Value::Cell(c) if !qual.use_or => text(c).map(|s| vec![s]),
        Value::Array(cells) if qual.use_or => cells.iter().map(text).collect(),
        _ => None,
    }
}

/// Intersects `current` (None = unrestricted) with `values`, keeping `current`'s order.
fn narrow(current: Option<Vec<String>>, values: Vec<String>) -> Option<Vec<String>> {
    Some(match current {
        None => {
            let mut v = Vec::new();
            for s in values {
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            v
        }
        Some(cur) => cur.into_iter().filter(|s| values.contains(s)).collect(),
    })
}

pub fn plan(configured: &[String], quals: &[Qual]) -> ScanPlan {
    let mut regions: Option<Vec<String>> = Some(configured.to_vec());
    let mut names: Option<Vec<String>> = None;
    for q in quals {
        if let Some(v) = equality_values(q, "region") {
            regions = narrow(regions, v);
        } else if let Some(v) = equality_values(q, "name") {
            // A name with a comma cannot be sent in the comma-separated NameList; no trail name
            // has one, but leave such a filter to Postgres rather than guess.
            if v.iter().all(|n| !n.contains(',')) {
                names = narrow(names, v);
            }
        }
    }
    ScanPlan {
        regions: regions.unwrap_or_default(),
        names,
    }
}
