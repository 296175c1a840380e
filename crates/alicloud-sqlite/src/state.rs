//! What one database connection keeps: its configuration (from `alicloud_configure`), the API
//! connection made from it on first use, its async runtime, and the statement snapshot.
//!
//! SQLite tells a virtual table nothing about statement boundaries, so the snapshot lives while any
//! cursor of the connection is open: every scan of one statement (a self-join, a subquery, the
//! values of an `IN` scanned one at a time) opens its cursor when the statement starts and closes
//! it when the statement ends, so they all share the answers, and the next statement starts afresh.

use crate::errors::{self, Failure};
use alicloud_tables::connect::{connect, Connection, FrontEnd, LOCAL_PARTITION};
use alicloud_tables::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::runtime::Runtime;

/// How the extension names itself in requests (`User-Agent`) and in the roles it assumes.
pub const FRONT_END: FrontEnd = FrontEnd {
    name: "alicloud-sqlite",
    version: env!("CARGO_PKG_VERSION"),
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Statement {
    open_cursors: usize,
    snapshot: Option<Arc<Snapshot>>,
}

/// One database connection's state, shared by its virtual tables, cursors and configure function.
#[derive(Default)]
pub struct ConnState {
    /// The options last given to `alicloud_configure` (none: the credential chain alone).
    options: Mutex<BTreeMap<String, String>>,
    /// The connection made from them, on first use; dropped when they change.
    connected: Mutex<Option<Connection>>,
    runtime: OnceLock<Result<Runtime, String>>,
    statement: Mutex<Statement>,
}

impl ConnState {
    /// Replaces the configuration (already checked).
    pub fn configure(&self, options: BTreeMap<String, String>) {
        *lock(&self.options) = options;
        *lock(&self.connected) = None;
    }

    /// The API connection of the current configuration, made on first use.
    pub fn connected(&self) -> Result<Connection, Failure> {
        let mut held = lock(&self.connected);
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let options = lock(&self.options).clone();
        let made = connect(&options, FRONT_END, LOCAL_PARTITION)
            .map_err(|e| Failure::error(errors::connect_message(&e)))?;
        *held = Some(made.clone());
        Ok(made)
    }

    /// The connection's runtime: current-thread, made on first use; the scan's futures run only
    /// while it waits on them (the API calls run on the API client's threads).
    pub fn runtime(&self) -> Result<&Runtime, Failure> {
        self.runtime
            .get_or_init(alicloud_tables::connect::runtime)
            .as_ref()
            .map_err(|e| Failure::error(e.to_string()))
    }

    /// A cursor opens: the statement's snapshot (a new one when no other cursor is open).
    pub fn open_cursor(&self) -> Arc<Snapshot> {
        let mut s = lock(&self.statement);
        s.open_cursors += 1;
        s.snapshot.get_or_insert_with(Default::default).clone()
    }

    /// A cursor closes: the snapshot goes with the last one.
    pub fn close_cursor(&self) {
        let mut s = lock(&self.statement);
        s.open_cursors = s.open_cursors.saturating_sub(1);
        if s.open_cursors == 0 {
            s.snapshot = None;
        }
    }

    /// Cursors open now (for tests).
    #[cfg(test)]
    fn open_cursors(&self) -> usize {
        lock(&self.statement).open_cursors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_lives_while_a_cursor_is_open() {
        let s = ConnState::default();
        let a = s.open_cursor();
        let b = s.open_cursor();
        assert!(Arc::ptr_eq(&a, &b), "cursors of one statement share it");
        s.close_cursor();
        let c = s.open_cursor();
        assert!(Arc::ptr_eq(&a, &c), "still open: the same statement");
        s.close_cursor();
        s.close_cursor();
        assert_eq!(s.open_cursors(), 0);
        let d = s.open_cursor();
        assert!(!Arc::ptr_eq(&a, &d), "a new statement, a new snapshot");
        s.close_cursor();
        s.close_cursor(); // never below zero
        assert_eq!(s.open_cursors(), 0);
    }

    #[test]
    fn configuring_drops_the_connection() {
        let s = ConnState::default();
        s.configure(
            [
                ("access_key_id", "LTAIid"),
                ("access_key_secret", "secret-value"),
                ("regions", "cn-beijing"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let c = s.connected().unwrap();
        assert_eq!(c.secrets(), ["secret-value"]);
        assert!(lock(&s.connected).is_some());
        s.configure(BTreeMap::new());
        assert!(lock(&s.connected).is_none());
    }
}
