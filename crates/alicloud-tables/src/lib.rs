//! `alicloud-tables`: the engine-neutral table layer. Every front end (the PostgreSQL extension,
//! the SQLite extension, the export CLI) is a thin adapter over it; none of this knows an engine.
//!
//! - [`table`] and `tables/`: each table declared once (name, neutral column types, descriptions,
//!   how each value is computed from an answer);
//! - [`options`]: the option vocabulary all front ends share, checked once, turned into
//!   [`options::Settings`] and a credential chain;
//! - [`connect`]: a front end's options to a connection (settings, credentials, client);
//! - [`plan`]: constraints on key columns → the regions to call and the `NameList` to send;
//! - [`scan`]: the fan-out with its partial-failure policy and the account id, through the
//!   statement's [`snapshot::Snapshot`] and the shared [`cache::Cache`];
//! - [`snapshot`], [`cache`], [`stats`]: one statement's answers; answers and call statistics
//!   shared across sessions and processes.
//!
//! The modules are the namespaces: each item has one path (`alicloud_tables::scan::Fetch`).

#![warn(missing_docs)]

pub mod cache;
pub mod connect;
mod files;
pub mod options;
pub mod plan;
pub mod scan;
pub mod snapshot;
pub mod stats;
pub mod table;
mod tables;
