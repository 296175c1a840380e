//! The accounts the session's latest scan covered, and how each one's part ended: what a
//! compliance check needs to tell an account with no trail (ok, or an alarm) from one that could
//! not be read (an error), also under `member_failure 'skip'`, whose failed members leave no row.
//!
//! Kept per backend, replaced at every scan start (a rescan included), and shown only to the role
//! that ran the scan (and to superusers): the messages are that role's own errors.

use crate::catalog;
use alicloud_tables::scan::AccountOutcome;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::RefCell;

/// The latest scan: its server's name, the role whose mapping it used, and its accounts.
struct Latest {
    server: String,
    user: pg_sys::Oid,
    accounts: Vec<AccountOutcome>,
}

thread_local! {
    static LATEST: RefCell<Option<Latest>> = const { RefCell::new(None) };
}

/// Keeps `accounts` as the outcome of the latest scan, made on `server` with `user`'s mapping.
pub fn remember(server: &str, user: pg_sys::Oid, accounts: Vec<AccountOutcome>) {
    LATEST.with(|l| {
        *l.borrow_mut() = Some(Latest {
            server: server.to_string(),
            user,
            accounts,
        })
    });
}

/// Forgets the latest scan's accounts (a scan begins).
pub fn forget() {
    LATEST.with(|l| *l.borrow_mut() = None);
}

/// The accounts the latest scan of this session covered, one row each: its connection name, its
/// account id (NULL when it could not be learned), `ok` or `error`, and for an error its code,
/// region, request id and message; the regions `ignore_error_codes` left out. A member that a
/// pushdown filter excluded was not covered, and has no row. Empty when the latest scan was
/// another role's (a superuser sees every role's).
// pgrx reads the result's column names from this signature, so the tuple cannot be an alias.
#[allow(clippy::type_complexity)]
#[pg_extern]
fn alicloud_fdw_scan_accounts() -> TableIterator<
    'static,
    (
        name!(server, String),
        name!(sp_connection_name, String),
        name!(account_id, Option<String>),
        name!(status, &'static str),
        name!(error_code, Option<String>),
        name!(error_region, Option<String>),
        name!(request_id, Option<String>),
        name!(error, Option<String>),
        name!(ignored_regions, Vec<String>),
    ),
> {
    let user = catalog::current_user();
    let everyone = catalog::current_user_is_superuser();
    let rows = LATEST.with(|l| {
        let latest = l.borrow();
        let Some(latest) = latest.as_ref().filter(|l| everyone || l.user == user) else {
            return Vec::new();
        };
        latest
            .accounts
            .iter()
            .map(|a| {
                let (e, region) = a.error.clone().unzip();
                (
                    latest.server.clone(),
                    a.member.clone(),
                    a.account_id.clone(),
                    if e.is_some() { "error" } else { "ok" },
                    e.as_ref().map(|e| e.code.clone()),
                    region.flatten(),
                    e.as_ref().and_then(|e| e.request_id.clone()),
                    e.map(|e| e.message),
                    a.ignored_regions.clone(),
                )
            })
            .collect()
    });
    TableIterator::new(rows)
}
