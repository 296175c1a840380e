//! The backend's connections: one API connection per (server, user), with its HTTP connection
//! pool and cached temporary credentials, made on first use and dropped when `ALTER`/`DROP SERVER`
//! or `USER MAPPING` invalidates the catalog entries (as postgres_fdw keys its connections by user
//! mapping and drops them on invalidation).
//!
//! The security rule is applied here (and stated in `options.rs`): a user whose mapping gives no
//! keys of its own would sign with the database server's own credentials (environment, CLI profile
//! file, ECS instance role). Only superusers may, or users whose mapping a superuser marked
//! `use_server_credentials`, or a mapping whose `profile` a superuser chose.

use crate::catalog::{self, Mapping, Server};
use crate::error::FdwError;
use crate::options::{credential_options, usable_without_superuser};
use alicloud_tables::connect::MEMBER_OPTIONS;
use alicloud_tables::connect::{self, ConnectErrorKind, Connection, FrontEnd, ServerMember};
use alicloud_tables::options::{matches_pattern, ServerMembers, Settings};
use pgrx::pg_sys;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// How the extension names itself in requests (`User-Agent`) and in the roles it assumes.
const FRONT_END: FrontEnd = FrontEnd {
    name: "alicloud-fdw",
    version: env!("CARGO_PKG_VERSION"),
};

/// Settings, with the options they were made from.
type PlannedSettings = (BTreeMap<String, String>, Settings);

thread_local! {
    static CONNECTIONS: RefCell<HashMap<(pg_sys::Oid, pg_sys::Oid), Connection>> = RefCell::new(HashMap::new());
    /// The settings each (server, user) was last planned with, and the options they were made
    /// from (the planner reads them for every query; they are made again when the options differ).
    static SETTINGS: RefCell<HashMap<(pg_sys::Oid, pg_sys::Oid), PlannedSettings>> = RefCell::new(HashMap::new());
    /// Set by the invalidation callback; the maps are emptied at the next lookup (never inside the
    /// callback, which must not do more than flag).
    static STALE: Cell<bool> = const { Cell::new(false) };
}

/// The options a scan of `server` by a user with `mapping` runs with: the server's, and the
/// mapping's in the shared vocabulary.
fn options(server: &Server, mapping: &Mapping) -> BTreeMap<String, String> {
    let mut options = server.options.clone();
    options.extend(credential_options(&mapping.options));
    options
}

/// The settings a scan of foreign table `table` by `user` runs with (no network call), for the
/// planner's estimate and EXPLAIN: the same the scan uses, the regions of a profile the mapping
/// names included.
pub fn settings(table: pg_sys::Oid, user: pg_sys::Oid) -> Result<Settings, FdwError> {
    let server = catalog::server(catalog::server_of_table(table));
    let mapping = catalog::mapping(user, server.oid);
    let options = options(&server, &mapping);
    let key = (server.oid, user);
    forget_if_stale();
    let known = SETTINGS.with(|m| {
        m.borrow()
            .get(&key)
            .filter(|(o, _)| *o == options)
            .map(|(_, s)| s.clone())
    });
    if let Some(settings) = known {
        return Ok(settings);
    }
    let settings = connect::settings(&options).map_err(FdwError::from)?;
    // Without `regions`, the settings also depend on a profile file or the environment: read
    // again each time.
    if options.contains_key("regions") {
        SETTINGS.with(|m| m.borrow_mut().insert(key, (options, settings.clone())));
    }
    Ok(settings)
}

/// Drops the connections and the planner's settings when the catalogs changed (they hold the
/// mappings' secrets, and entries of servers that may be gone).
fn forget_if_stale() {
    if STALE.with(|s| s.replace(false)) {
        CONNECTIONS.with(|c| c.borrow_mut().clear());
        SETTINGS.with(|c| c.borrow_mut().clear());
    }
}

/// The connection of `user` to `server` through `mapping`, made on first use. `superuser` is
/// whether `user` is one.
pub fn connection(
    server: &Server,
    mapping: &Mapping,
    user: pg_sys::Oid,
    superuser: bool,
    user_name: impl FnOnce() -> String,
) -> Result<Connection, FdwError> {
    // A server with member servers signs nothing itself (each member is checked by this rule
    // when it is used).
    let aggregate = server.options.contains_key("member_servers");
    if !superuser && !aggregate && !usable_without_superuser(&mapping.options) {
        return Err(FdwError::ServerCredentials {
            role: user_name(),
            server: server.name.clone(),
        });
    }
    forget_if_stale();
    let key = (server.oid, user);
    if let Some(found) = CONNECTIONS.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(found);
    }
    let partition = format!(
        "postgres:{}:{}",
        catalog::database().to_u32(),
        server.oid.to_u32()
    );
    let made = connect::connect(&options(server, mapping), FRONT_END, &partition)
        .map_err(|e| match *e.kind {
            ConnectErrorKind::Option(o) => FdwError::from(o),
            ConnectErrorKind::Api(a) => FdwError::api(a, &e.secrets),
        })?
        .named(&server.name);
    CONNECTIONS.with(|c| c.borrow_mut().insert(key, made.clone()));
    Ok(made)
}

/// The servers of this wrapper that `aggregate`'s `member_servers` names now (never `aggregate`
/// itself), in name order: `(oid, name)`. A name given whole matches the server of that name; a
/// pattern with `*` matches only servers with the same owner as `aggregate`, so that nobody else
/// can add a member (its rows, or its failure) to someone's scan by creating a server whose name
/// fits. A name or pattern that matches no server is an error.
pub fn member_server_names(
    aggregate: &Server,
    members: &ServerMembers,
) -> Result<Vec<(pg_sys::Oid, String)>, FdwError> {
    let all = catalog::servers_of_wrapper(catalog::wrapper_of_server(aggregate.oid));
    let owner = all.iter().find(|s| s.oid == aggregate.oid).map(|s| s.owner);
    let others: Vec<&catalog::ServerEntry> =
        all.iter().filter(|s| s.oid != aggregate.oid).collect();
    let chosen_by = |pattern: &str, s: &catalog::ServerEntry| {
        if pattern.contains('*') {
            Some(s.owner) == owner && matches_pattern(pattern, &s.name)
        } else {
            pattern == s.name
        }
    };
    if let Some(p) = members
        .patterns
        .iter()
        .find(|p| !others.iter().any(|s| chosen_by(p, s)))
    {
        return Err(FdwError::NoMemberServer {
            server: aggregate.name.clone(),
            pattern: p.clone(),
            servers: others
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(others
        .into_iter()
        .filter(|s| members.patterns.iter().any(|p| chosen_by(p, s)))
        .map(|s| (s.oid, s.name.clone()))
        .collect())
}

/// The member servers of `aggregate` for `user` (`superuser`: whether `user` is one), each with
/// its connection under exactly the rules of a direct scan of it (USAGE on it, the user's
/// mapping for it, the server credential rule), or why it cannot be used.
pub fn member_servers(
    aggregate: &Server,
    members: &ServerMembers,
    user: pg_sys::Oid,
    superuser: bool,
) -> Result<Vec<ServerMember>, FdwError> {
    Ok(member_server_names(aggregate, members)?
        .into_iter()
        .map(|(oid, name)| {
            let connection = member_connection(oid, &name, user, superuser);
            // Its own cache, as a scan of it alone uses (directory, TTL, size, rate turns).
            let cache = connection
                .as_ref()
                .ok()
                .map(|c| crate::store::cache(oid, &c.settings));
            ServerMember {
                connection,
                cache,
                name,
            }
        })
        .collect())
}

/// The connection of `user` to member server `oid` called `name`.
fn member_connection(
    oid: pg_sys::Oid,
    name: &str,
    user: pg_sys::Oid,
    superuser: bool,
) -> Result<Connection, alicloud_api::Error> {
    let refuse = |message: String| Err(alicloud_api::Error::Config { message });
    if !catalog::may_use_server(oid, user) {
        return refuse(format!(
            "permission denied for foreign server {name}: role \"{}\" has no USAGE on it",
            catalog::role_name(user)
        ));
    }
    let server = catalog::server(oid);
    if MEMBER_OPTIONS
        .iter()
        .any(|o| *o != "member_failure" && server.options.contains_key(*o))
    {
        return refuse(format!(
            "server {name} has members of its own, and members do not nest"
        ));
    }
    let mapping = catalog::mapping(user, oid);
    connection(&server, &mapping, user, superuser, || {
        catalog::role_name(user)
    })
    .map_err(|e| match e {
        FdwError::Api { error, secrets } => error.redacted(&secrets),
        other => alicloud_api::Error::Credentials {
            message: pgrx::pg_sys::panic::ErrorReport::from(other)
                .message()
                .trim_start_matches("alicloud_fdw: ")
                .to_string(),
        },
    })
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn invalidate(_arg: pg_sys::Datum, _cache_id: i32, _hash: u32) {
    STALE.with(|s| s.set(true));
}

unsafe extern "C-unwind" {
    // utils/inval.h, which pgrx does not bind.
    fn CacheRegisterSyscacheCallback(
        cacheid: i32,
        func: Option<unsafe extern "C-unwind" fn(pg_sys::Datum, i32, u32)>,
        arg: pg_sys::Datum,
    );
}

/// Drops the backend's connections whenever a foreign server or user mapping changes. Called once,
/// when the library is loaded.
pub fn register_invalidation() {
    for cache in [
        pg_sys::SysCacheIdentifier::FOREIGNSERVEROID,
        pg_sys::SysCacheIdentifier::USERMAPPINGOID,
    ] {
        // SAFETY: registering a plain function (that only sets a flag) for a syscache, once per
        // backend, from _PG_init on the backend's thread.
        unsafe {
            pg_sys::ffi::pg_guard_ffi_boundary(|| {
                CacheRegisterSyscacheCallback(
                    cache as i32,
                    Some(invalidate),
                    pg_sys::Datum::from(0),
                )
            });
        }
    }
}
