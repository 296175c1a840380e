//! The parts of SQLite's C API newer than the bindings' floor (SQLite 3.34.1), reached through the
//! host's API table only once the host's version says they are there, and the interrupt check
//! that works on every version.
//!
//! A loadable extension calls SQLite through the `sqlite3_api_routines` table its host passes to
//! the entry point. Members are only ever appended to that table, each is a function pointer, and
//! their order is fixed by `sqlite3ext.h`; a member past the end of an older host's table must not
//! be read at all. The bindings rusqlite 0.40 ships stop at 3.34.1 (so that the extension loads
//! into Debian 12's 3.40.1), so the members used here are read by their position in the table,
//! after checking `sqlite3_libversion_number()`:
//!
//! - `sqlite3_vtab_in`, `sqlite3_vtab_in_first`, `sqlite3_vtab_in_next` (3.38): a whole `IN` list
//!   in one `xFilter` call;
//! - `sqlite3_is_interrupted` (3.41): whether `sqlite3_interrupt` was called.
//!
//! Before 3.41 an interrupt is seen another way: while a statement runs, SQLite does not clear the
//! connection's interrupt flag, and its tokenizer gives up with `SQLITE_INTERRUPT` when the flag
//! is set, so preparing a tiny statement on the connection tells (and costs microseconds).

use rusqlite::ffi;
use std::ffi::c_void;
use std::os::raw::c_int;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The host's API table, kept by the entry point.
static API: AtomicPtr<ffi::sqlite3_api_routines> = AtomicPtr::new(ptr::null_mut());
/// The bindings were initialised with it (rusqlite's wrappers panic before).
static READY: AtomicBool = AtomicBool::new(false);

/// Positions in `sqlite3_api_routines` (counted from `aggregate_context`, 0).
pub mod position {
    /// `vtab_in`, SQLite 3.38.
    pub const VTAB_IN: usize = 259;
    /// `vtab_in_first`, SQLite 3.38.
    pub const VTAB_IN_FIRST: usize = 260;
    /// `vtab_in_next`, SQLite 3.38.
    pub const VTAB_IN_NEXT: usize = 261;
    /// `value_encoding`, SQLite 3.40 (the last member of 3.40's table): the tests check the
    /// positions against the header with it.
    #[cfg(test)]
    pub const VALUE_ENCODING: usize = 265;
    /// `is_interrupted`, SQLite 3.41.
    pub const IS_INTERRUPTED: usize = 266;
}

/// The first version with `sqlite3_vtab_in`.
pub const VERSION_IN_LISTS: c_int = 3_038_000;
/// The first version with `sqlite3_is_interrupted`.
pub const VERSION_IS_INTERRUPTED: c_int = 3_041_000;

/// Keeps the host's API table (called by the entry point, before anything else).
pub fn remember(api: *mut ffi::sqlite3_api_routines) {
    API.store(api, Ordering::Release);
}

/// The bindings are initialised (called once they are).
pub fn ready() {
    READY.store(true, Ordering::Release);
}

fn is_ready() -> bool {
    READY.load(Ordering::Acquire) && !API.load(Ordering::Acquire).is_null()
}

/// The host's version number (e.g. 3040001); 0 before the bindings are initialised.
pub fn version() -> c_int {
    if !is_ready() {
        return 0;
    }
    // SAFETY: the API table was given to the entry point, which initialised the bindings with it.
    unsafe { ffi::sqlite3_libversion_number() }
}

/// The member at `position` of the host's table, when the host is at least `since` (so that the
/// table has it) and the member is set.
fn member(position: usize, since: c_int) -> Option<*const c_void> {
    let api = API.load(Ordering::Acquire);
    if api.is_null() || version() < since {
        return None;
    }
    // SAFETY: every member of the table is a function pointer, and a host of version `since` or
    // later has at least `position + 1` of them.
    let f = unsafe { *(api as *const *const c_void).add(position) };
    (!f.is_null()).then_some(f)
}

/// Whether `IN` lists can be handed over whole (`sqlite3_vtab_in`, SQLite 3.38).
pub fn in_lists_supported() -> bool {
    member(position::VTAB_IN, VERSION_IN_LISTS).is_some()
        && member(position::VTAB_IN_FIRST, VERSION_IN_LISTS).is_some()
        && member(position::VTAB_IN_NEXT, VERSION_IN_LISTS).is_some()
}

/// `sqlite3_vtab_in(info, i, handle)`; false when the host lacks it.
///
/// # Safety
/// `info` must be the index info of the running `xBestIndex`, `i` one of its constraints.
pub unsafe fn vtab_in(info: *mut ffi::sqlite3_index_info, i: c_int, handle: c_int) -> bool {
    let Some(f) = member(position::VTAB_IN, VERSION_IN_LISTS) else {
        return false;
    };
    // SAFETY: the member is `int (*vtab_in)(sqlite3_index_info*,int,int)`.
    let f: unsafe extern "C" fn(*mut ffi::sqlite3_index_info, c_int, c_int) -> c_int =
        unsafe { std::mem::transmute(f) };
    // SAFETY: a function of the host's table, present in this version (checked above), called with SQLite's own arguments.
    unsafe { f(info, i, handle) != 0 }
}

/// Reads the values of an `IN` list handed over whole (`sqlite3_vtab_in_first` / `_next`) with
/// `read`, each in turn: SQLite hands every value in the same `sqlite3_value`, overwritten by
/// the next call, so a value must be read before asking for the next.
///
/// # Safety
/// `list` must be an `xFilter` argument for which `xBestIndex` got `sqlite3_vtab_in(.., 1)`.
pub unsafe fn in_values<T>(
    list: *mut ffi::sqlite3_value,
    mut read: impl FnMut(*mut ffi::sqlite3_value) -> T,
) -> Result<Vec<T>, c_int> {
    let (Some(first), Some(next)) = (
        member(position::VTAB_IN_FIRST, VERSION_IN_LISTS),
        member(position::VTAB_IN_NEXT, VERSION_IN_LISTS),
    ) else {
        return Err(ffi::SQLITE_MISUSE);
    };
    type Step =
        unsafe extern "C" fn(*mut ffi::sqlite3_value, *mut *mut ffi::sqlite3_value) -> c_int;
    // SAFETY: both members are `int (*)(sqlite3_value*,sqlite3_value**)`.
    let (first, next): (Step, Step) = unsafe {
        (
            std::mem::transmute::<*const c_void, Step>(first),
            std::mem::transmute::<*const c_void, Step>(next),
        )
    };
    let mut values = Vec::new();
    let mut value: *mut ffi::sqlite3_value = ptr::null_mut();
    // SAFETY: the caller's `list` is an IN list of this xFilter call.
    let mut rc = unsafe { first(list, &mut value) };
    while rc == ffi::SQLITE_OK {
        values.push(read(value));
        // SAFETY: as above.
        rc = unsafe { next(list, &mut value) };
    }
    if rc == ffi::SQLITE_DONE {
        Ok(values)
    } else {
        Err(rc)
    }
}

/// Whether `sqlite3_interrupt` was called on `db` during the running statement.
///
/// # Safety
/// `db` must be the connection whose statement is running on this thread (called from a virtual
/// table method).
pub unsafe fn is_interrupted(db: *mut ffi::sqlite3) -> bool {
    if let Some(f) = member(position::IS_INTERRUPTED, VERSION_IS_INTERRUPTED) {
        // SAFETY: the member is `int (*is_interrupted)(sqlite3*)`.
        let f: unsafe extern "C" fn(*mut ffi::sqlite3) -> c_int = unsafe { std::mem::transmute(f) };
        // SAFETY: sqlite3_is_interrupted, present in this version (checked above).
        return unsafe { f(db) } != 0;
    }
    // SAFETY: the caller's: `db` is the statement's connection, on its thread.
    unsafe { interrupted_by_probe(db) }
}

/// The check before 3.41: preparing `SELECT 1` fails with `SQLITE_INTERRUPT` while the running
/// statement's interrupt flag is set (the tokenizer checks it at each space), and does not clear
/// it (only a statement starting with none running does).
unsafe fn interrupted_by_probe(db: *mut ffi::sqlite3) -> bool {
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: `db` is the running statement's connection, on its thread; the probe is finalized.
    let rc = unsafe {
        ffi::sqlite3_prepare_v2(db, c"SELECT 1".as_ptr(), -1, &mut stmt, ptr::null_mut())
    };
    if !stmt.is_null() {
        // SAFETY: the statement prepared just above.
        unsafe { ffi::sqlite3_finalize(stmt) };
    }
    rc & 0xff == ffi::SQLITE_INTERRUPT
}

/// Writes `message` to SQLite's error log (`sqlite3_log`), which the host sees only if it set
/// up a log callback.
pub fn log(code: c_int, message: &str) {
    if !is_ready() {
        return;
    }
    let text = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a "%s" format with one C string argument.
    unsafe { ffi::sqlite3_log(code, c"%s".as_ptr(), text.as_ptr()) };
}

/// `text` copied into memory from `sqlite3_malloc`, as SQLite wants error messages (it frees
/// them). NUL characters, which a C string cannot hold, become spaces. Null when out of memory,
/// or when not even `sqlite3_malloc` is known (the first thing the bindings learn).
pub fn sqlite_string(text: &str) -> *mut std::os::raw::c_char {
    if API.load(Ordering::Acquire).is_null() {
        return ptr::null_mut();
    }
    let bytes = text.as_bytes();
    let Ok(size) = c_int::try_from(bytes.len() + 1) else {
        return ptr::null_mut();
    };
    // SAFETY: a fresh allocation of `len + 1` bytes, filled and terminated below. The wrapper
    // panics if the bindings never got `sqlite3_malloc`: then there is no message.
    std::panic::catch_unwind(|| unsafe {
        let p = ffi::sqlite3_malloc(size) as *mut u8;
        if p.is_null() {
            return ptr::null_mut();
        }
        for (i, b) in bytes.iter().enumerate() {
            *p.add(i) = if *b == 0 { b' ' } else { *b };
        }
        *p.add(bytes.len()) = 0;
        p.cast()
    })
    .unwrap_or(ptr::null_mut())
}

#[cfg(test)]
mod tests {
    use super::position::*;
    use rusqlite::ffi;
    use std::mem::{offset_of, size_of};

    /// The named members of `struct sqlite3_api_routines` in a `sqlite3ext.h`, in order.
    fn members(header: &str) -> Vec<String> {
        let start = header
            .find("struct sqlite3_api_routines {")
            .expect("the struct");
        let body = &header[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find("};").unwrap()];
        // Comments out, then one declaration per ';': its first "(*name)" is the member.
        let mut text = String::new();
        let mut rest = body;
        while let Some(i) = rest.find("/*") {
            text.push_str(&rest[..i]);
            rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
        }
        text.push_str(rest);
        text.split(';')
            .filter_map(|decl| {
                let i = decl.find("(*")?;
                let name: String = decl[i + 2..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                (!name.is_empty()).then_some(name)
            })
            .collect()
    }

    #[test]
    fn the_bindings_table_is_the_3_34_1_prefix() {
        let ptr = size_of::<*const ()>();
        assert_eq!(size_of::<ffi::sqlite3_api_routines>(), 253 * ptr);
        assert_eq!(offset_of!(ffi::sqlite3_api_routines, aggregate_context), 0);
        assert_eq!(offset_of!(ffi::sqlite3_api_routines, txn_state), 252 * ptr);
    }

    #[test]
    fn positions_match_the_installed_header() {
        let path = "/usr/include/sqlite3ext.h";
        let Ok(header) = std::fs::read_to_string(path) else {
            eprintln!("{path} is not installed (libsqlite3-dev): positions not checked against it");
            return;
        };
        let m = members(&header);
        assert_eq!(m[0], "aggregate_context");
        assert_eq!(m[252], "txn_state", "the 3.34.1 prefix");
        assert_eq!(m[VTAB_IN], "vtab_in");
        assert_eq!(m[VTAB_IN_FIRST], "vtab_in_first");
        assert_eq!(m[VTAB_IN_NEXT], "vtab_in_next");
        assert_eq!(m[VALUE_ENCODING], "value_encoding");
        match m.get(IS_INTERRUPTED) {
            Some(name) => assert_eq!(name, "is_interrupted"),
            // A 3.40 header ends with value_encoding; 3.41 appended is_interrupted right after.
            None => assert_eq!(m.len(), VALUE_ENCODING + 1),
        }
    }
}
