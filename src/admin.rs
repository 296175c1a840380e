//! SQL functions for users: the tables' comments (for the import's event trigger), call
//! statistics, and clearing the shared cache.

use crate::catalog;
use crate::error::{raise, FdwError};
use crate::store;
use alicloud_tables::cache;
use pgrx::prelude::*;
use pgrx::{pg_sys, JsonB};

/// The comments of the table foreign table `relation` scans and of its columns (`column_name`
/// NULL: the table's own), from the table's declaration.
#[pg_extern]
fn alicloud_fdw_table_comments(
    relation: pg_sys::Oid,
) -> TableIterator<
    'static,
    (
        name!(column_name, Option<&'static str>),
        name!(comment, &'static str),
    ),
> {
    let t = crate::columns::table_of(relation).unwrap_or_else(|e| raise(e));
    TableIterator::new(
        std::iter::once((None, t.description))
            .chain(t.columns.iter().map(|c| (Some(c.name), c.description))),
    )
}

/// The servers of the current database with a statistics or cache directory, that still exist;
/// the directories of dropped servers are removed on the way.
fn known_servers() -> Vec<catalog::Server> {
    let Ok(entries) = std::fs::read_dir(store::database_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let oid = pg_sys::Oid::from(e.file_name().to_str()?.parse::<u32>().ok()?);
            let server = catalog::server_if_exists(oid);
            if server.is_none() {
                let _ = std::fs::remove_dir_all(e.path());
            }
            server
        })
        .collect()
}

/// Whether `member` names a role member of server `server` (`<server>.<account id>`).
fn is_role_member(member: &str, server: &str) -> bool {
    member
        .strip_prefix(server)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(alicloud_tables::options::is_account_id)
}

/// Call statistics of every server of this database the current user may use, per region and
/// action (the view `alicloud_fdw_stats` presents them); a member server's rows only when the
/// user may use that server too (a dropped one's, only to superusers). The counts are everyone's;
/// the last error (its time, code, message and request id) is the current user's own, or for a
/// superuser the most recent of any role's, as postgres_fdw shows a user mapping's options only
/// to its user.
// pgrx reads the result's column names from this signature, so the tuple cannot be an alias.
#[allow(clippy::type_complexity)]
#[pg_extern]
fn alicloud_fdw_stats_rows() -> TableIterator<
    'static,
    (
        name!(server_oid, pg_sys::Oid),
        name!(server_name, String),
        name!(member, Option<String>),
        name!(region, Option<String>),
        name!(action, String),
        name!(calls, i64),
        name!(errors, JsonB),
        name!(retries, i64),
        name!(throttles, i64),
        name!(cache_hits, i64),
        name!(cache_misses, i64),
        name!(coalesced, i64),
        name!(rows, i64),
        name!(bytes, i64),
        name!(total_ms, f64),
        name!(max_ms, f64),
        name!(scans, i64),
        name!(last_ok_at, Option<String>),
        name!(last_error_at, Option<String>),
        name!(last_error_code, Option<String>),
        name!(last_error, Option<String>),
        name!(last_request_id, Option<String>),
    ),
> {
    let user = catalog::current_user();
    let owner = store::owner(user);
    let everyone = catalog::current_user_is_superuser();
    let mut rows = Vec::new();
    for server in known_servers() {
        if !catalog::may_use_server(server.oid, user) {
            continue;
        }
        // A member that is a server of its own (member_servers) shows only to the roles that may
        // use that server too; one since dropped, whose users are no longer known, only to
        // superusers. A role member (`<server>.<account id>`) rides this server's credentials.
        // Decided once per member, whose rows are one per region.
        let mut hidden: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
        for (key, actions) in store::stats(server.oid).load() {
            let (member, region) = alicloud_tables::stats::split_key(&key);
            if let Some(m) = member {
                let hide = *hidden.entry(m.to_string()).or_insert_with(|| {
                    match catalog::server_by_name(m) {
                        Some(o) => o != server.oid && !catalog::may_use_server(o, user),
                        None => !everyone && !is_role_member(m, &server.name),
                    }
                });
                if hide {
                    continue;
                }
            }
            let member = member.map(str::to_string);
            let region = (!region.is_empty()).then(|| region.to_string());
            for (action, c) in actions {
                let e = c.last_error_for(&owner, everyone).cloned();
                let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                rows.push((
                    server.oid,
                    server.name.clone(),
                    member.clone(),
                    region.clone(),
                    action,
                    n(c.calls),
                    JsonB(serde_json::to_value(&c.errors).unwrap_or_default()),
                    n(c.retries),
                    n(c.throttles),
                    n(c.cache_hits),
                    n(c.cache_misses),
                    n(c.coalesced),
                    n(c.rows),
                    n(c.bytes),
                    c.total_ms,
                    c.max_ms,
                    n(c.scans),
                    c.last_ok_at.clone(),
                    e.as_ref().map(|e| e.at.clone()),
                    e.as_ref().map(|e| e.code.clone()),
                    e.as_ref().map(|e| e.message.clone()),
                    e.and_then(|e| e.request_id),
                ));
            }
        }
    }
    TableIterator::new(rows)
}

/// The servers a maintenance function applies to: the one named (which the current user must
/// own), or every server of this database (superusers only).
fn servers_to_maintain(server: Option<&str>, what: &str) -> Vec<pg_sys::Oid> {
    let user = catalog::current_user();
    match server {
        Some(name) => {
            let Some(oid) = catalog::server_by_name(name) else {
                raise(FdwError::Internal(format!(
                    "server \"{name}\" does not exist"
                )));
            };
            if !catalog::owns_server(oid, user) {
                raise(FdwError::NotOwner(format!(
                    "only the owner of server \"{name}\" or a superuser may {what}"
                )));
            }
            vec![oid]
        }
        None => {
            if !catalog::current_user_is_superuser() {
                raise(FdwError::NotOwner(format!(
                    "only superusers may {what} of every server; name a server you own"
                )));
            }
            known_servers().into_iter().map(|s| s.oid).collect()
        }
    }
}

/// Deletes the cached answers of one server (or of every server of this database); returns how
/// many entries were deleted. The next scans call the API.
#[pg_extern]
fn alicloud_fdw_clear_cache(server: default!(Option<&str>, "NULL")) -> i64 {
    servers_to_maintain(server, "clear the cache")
        .into_iter()
        .map(|oid| cache::clear(&store::cache_dir(oid)) as i64)
        .sum()
}

/// Starts the call statistics of one server (or of every server of this database) afresh.
#[pg_extern]
fn alicloud_fdw_stats_reset(server: default!(Option<&str>, "NULL")) {
    for oid in servers_to_maintain(server, "reset the statistics") {
        store::stats(oid).reset();
    }
}

#[cfg(test)]
mod tests {
    use super::is_role_member;

    #[test]
    fn role_members_are_told_from_server_names() {
        assert!(is_role_member("org.1234567890123456", "org"));
        assert!(!is_role_member("org.", "org"));
        assert!(!is_role_member("org.acct", "org"));
        assert!(!is_role_member("org", "org"));
        assert!(!is_role_member("orgx.1234", "org"));
        assert!(!is_role_member("acct_zz", "fleet"));
    }
}
