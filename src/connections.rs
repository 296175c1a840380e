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
use alicloud_tables::connect::{self, ConnectErrorKind, Connection, FrontEnd};
use alicloud_tables::options::Settings;
use pgrx::pg_sys;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// How the extension names itself in requests (`User-Agent`) and in the roles it assumes.
const FRONT_END: FrontEnd = FrontEnd {
    name: "alicloud-fdw",
    version: env!("CARGO_PKG_VERSION"),
};

thread_local! {
    static CONNECTIONS: RefCell<HashMap<(pg_sys::Oid, pg_sys::Oid), Connection>> = RefCell::new(HashMap::new());
    /// Set by the invalidation callback; the map is emptied at the next lookup (never inside the
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
    connect::settings(&options(&server, &mapping)).map_err(FdwError::from)
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
    if !superuser && !usable_without_superuser(&mapping.options) {
        return Err(FdwError::ServerCredentials {
            role: user_name(),
            server: server.name.clone(),
        });
    }
    if STALE.with(|s| s.replace(false)) {
        CONNECTIONS.with(|c| c.borrow_mut().clear());
    }
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
