//! `alicloud-tables`: the engine-neutral table layer. Every front end (the PostgreSQL extension,
//! the SQLite extension, the export CLI) is a thin adapter over it; none of this knows an engine.
//!
//! - [`table`] and [`tables`]: each table declared once (name, neutral column types,
//!   descriptions, how each value is computed from a listed object, how each key column narrows
//!   the calls) with its API operation ([`listing`]);
//! - [`options`]: the option vocabulary all front ends share, checked once, turned into
//!   [`options::Settings`] and a credential chain; [`wording`]: how each front end names them;
//! - [`connect`]: a front end's options to a [`connect::Connection`] (settings, credentials,
//!   client, cache scope);
//! - [`plan`]: conditions on key columns to the regions called and the listing's requests;
//! - [`scan`]: the fan-out over regions and pages with its partial-failure policy and the account
//!   id, through the statement's [`snapshot::Snapshot`] and the shared [`cache::Cache`];
//! - [`snapshot`], [`cache`], [`stats`]: one statement's answers; answers and call statistics
//!   shared across sessions and processes;
//! - [`pace`]: calls spaced to an API's documented rate, across sessions and processes;
//! - [`wait`]: blocking on a scan while looking for the front end's interrupts.
//!
//! The modules are the namespaces: each item has one path (`alicloud_tables::scan::Fetch`).

#![warn(missing_docs)]

pub mod cache;
pub mod connect;
mod files;
pub mod listing;
pub mod options;
pub mod pace;
pub mod plan;
pub mod scan;
pub mod snapshot;
pub mod stats;
pub mod table;
pub mod tables;
pub mod wait;
pub mod wording;
