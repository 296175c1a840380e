//! Every table, one module each, and the registry the front ends read.

use crate::table::TableDef;

pub(crate) mod action_trail;
pub(crate) mod action_trail_event;

/// Every table, in the order listings show them.
pub static TABLES: &[&TableDef] = &[&action_trail::TABLE, &action_trail_event::TABLE];

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// The table names, comma-separated, for messages.
pub fn table_names() -> String {
    TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_plain() {
        for t in TABLES {
            let mut names: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
            let plain = |s: &str| s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            assert!(plain(t.name) && t.columns.iter().all(|c| plain(c.name)));
            // Every table has the region column the scan narrows.
            let region = t.column("region").expect("a region column");
            assert_eq!(region.pushdown, Some(crate::table::Pushdown::Region));
            // And ends with the connection columns.
            let last: Vec<&str> = t.columns.iter().rev().take(3).map(|c| c.name).collect();
            assert_eq!(last, ["_ctx", "sp_ctx", "sp_connection_name"], "{}", t.name);
        }
        assert!(table("alicloud_action_trail").is_some());
        assert!(table("nope").is_none());
    }
}
