//! `alicloud-sqlite`: the SQLite front end, a loadable extension. Loaded into a connection
//! (`.load` in the `sqlite3` shell, `load_extension` elsewhere), it adds:
//!
//! - the eponymous virtual table `alicloud_action_trail`, with the columns the table layer declares
//!   (booleans as 0/1, instants as ISO-8601 text in UTC, JSON as JSON text); `region` and `name`
//!   equality and `IN` are pushed down to the API calls;
//! - `alicloud_configure(json)`: the connection's options, as a JSON object whose keys are the
//!   option names all front ends share. Without it, the credentials come from the environment,
//!   the Alibaba Cloud CLI profile file or the ECS instance role, as for the export CLI.
//!
//! A thin adapter over `alicloud-tables`: what is SQLite's is here ([`vtab`], [`api`], [`index`],
//! [`value`], [`config`], [`errors`]); the scan, its snapshot and cache are the table layer's.
//! See docs/sqlite.md.

mod api;
mod config;
mod errors;
mod index;
mod state;
mod value;
mod vtab;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{ffi, Connection};
use state::ConnState;
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

fn sqlite_error(message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_ERROR), Some(message))
}

/// Registers the tables and the configure function on a connection the extension is loaded into.
fn init(conn: Connection) -> rusqlite::Result<bool> {
    api::ready();
    let state = Arc::new(ConnState::default());
    // SAFETY: the handle of the connection being initialised, used here only to register modules.
    unsafe { vtab::register(conn.handle(), &state) }.map_err(sqlite_error)?;
    for n_arg in [0, 1] {
        let state = state.clone();
        conn.create_scalar_function(
            config::FUNCTION,
            n_arg,
            // Never from a trigger or view of a database file: the options can send the
            // credentials to any endpoint.
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DIRECTONLY,
            move |ctx| {
                let arg = match ctx.len() {
                    0 => None,
                    _ => match ctx.get_raw(0) {
                        ValueRef::Null => None,
                        ValueRef::Text(t) => Some(std::str::from_utf8(t).map_err(|_| {
                            sqlite_error(format!("{}: the argument is not UTF-8", config::FUNCTION))
                        })?),
                        _ => {
                            return Err(sqlite_error(format!(
                                "{}: the argument must be JSON text",
                                config::FUNCTION
                            )))
                        }
                    },
                };
                let options = config::parse(arg).map_err(sqlite_error)?;
                let summary = config::summary(&options);
                state.configure(options);
                Ok(summary)
            },
        )?;
    }
    // Not persistent: loaded per connection, like any extension.
    Ok(false)
}

/// The entry point: keeps the host's API table, then initialises the bindings and registers.
///
/// # Safety
/// Called by SQLite's extension loader with its arguments.
unsafe fn entry(
    db: *mut ffi::sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut ffi::sqlite3_api_routines,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        api::remember(p_api);
        // SAFETY: the loader's arguments, as it gave them.
        unsafe { Connection::extension_init2(db, pz_err_msg, p_api, init) }
    }));
    r.unwrap_or_else(|_| {
        if !pz_err_msg.is_null() {
            // SAFETY: the loader's message slot; null when the bindings could not be initialised.
            unsafe {
                *pz_err_msg = api::sqlite_string("alicloud_sqlite: internal error while loading")
            };
        }
        ffi::SQLITE_ERROR
    })
}

/// The entry point SQLite looks for first.
///
/// # Safety
/// Called by SQLite's extension loader.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_extension_init(
    db: *mut ffi::sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: the loader's arguments, as it gave them.
    unsafe { entry(db, pz_err_msg, p_api) }
}

/// The entry point SQLite derives from the file name `libalicloud_sqlite.so` (`lib` and everything
/// after the first dot dropped, letters only).
///
/// # Safety
/// Called by SQLite's extension loader.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_alicloudsqlite_init(
    db: *mut ffi::sqlite3,
    pz_err_msg: *mut *mut c_char,
    p_api: *mut ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: the loader's arguments, as it gave them.
    unsafe { entry(db, pz_err_msg, p_api) }
}
