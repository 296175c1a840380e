//! The few PostgreSQL internals whose shape changed between the majors pgrx 0.16.1 supports
//! (13 to 18), each behind one function. Only PostgreSQL 15 is built and tested on our machines;
//! the other majors are built by the GitHub workflow (`.github/workflows/ci.yml`).

use pgrx::pg_sys;

/// The role a range table entry is checked as (`checkAsUser`; invalid: the current user). Since
/// PostgreSQL 16 it lives in the entry's `RTEPermissionInfo`, in `perminfos`.
///
/// # Safety
/// `rte` must be an entry of the range table whose permission list is `perminfos`.
#[allow(unused_variables)]
pub unsafe fn check_as_user(
    perminfos: *mut pg_sys::List,
    rte: *mut pg_sys::RangeTblEntry,
) -> pg_sys::Oid {
    #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
    // SAFETY: the caller's.
    unsafe {
        (*rte).checkAsUser
    }
    #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
    // SAFETY: the caller's; an entry without permission info (index 0) is checked as nobody
    // in particular.
    unsafe {
        if (*rte).perminfoindex == 0 {
            pg_sys::InvalidOid
        } else {
            (*pg_sys::getRTEPermissionInfo(perminfos, rte)).checkAsUser
        }
    }
}

/// The permission list of a query (`NULL` before PostgreSQL 16, which keeps them in the entries).
///
/// # Safety
/// `query` must be a valid query.
#[allow(unused_variables)]
pub unsafe fn query_perminfos(query: *mut pg_sys::Query) -> *mut pg_sys::List {
    #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
    return std::ptr::null_mut();
    #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
    // SAFETY: the caller's.
    return unsafe { (*query).rteperminfos };
}

/// The permission list of an executor state (`NULL` before PostgreSQL 16).
///
/// # Safety
/// `estate` must be a valid executor state.
#[allow(unused_variables)]
pub unsafe fn estate_perminfos(estate: *mut pg_sys::EState) -> *mut pg_sys::List {
    #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15"))]
    return std::ptr::null_mut();
    #[cfg(not(any(feature = "pg13", feature = "pg14", feature = "pg15")))]
    // SAFETY: the caller's.
    return unsafe { (*estate).es_rteperminfos };
}

/// A foreign scan path with no target (the relation's own), no outer plan and no private data
/// (PostgreSQL 17 added the restriction list, 18 the count of disabled nodes).
///
/// # Safety
/// `root` and `rel` must be the planner's, for this relation.
#[allow(clippy::too_many_arguments)]
pub unsafe fn foreign_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup: pg_sys::Cost,
    total: pg_sys::Cost,
    pathkeys: *mut pg_sys::List,
    outer: pg_sys::Relids,
) -> *mut pg_sys::ForeignPath {
    use std::ptr::null_mut as none;
    #[cfg(any(feature = "pg13", feature = "pg14", feature = "pg15", feature = "pg16"))]
    // SAFETY: the caller's.
    return unsafe {
        pg_sys::create_foreignscan_path(
            root,
            rel,
            none(),
            rows,
            startup,
            total,
            pathkeys,
            outer,
            none(),
            none(),
        )
    };
    #[cfg(feature = "pg17")]
    // SAFETY: the caller's.
    return unsafe {
        pg_sys::create_foreignscan_path(
            root,
            rel,
            none(),
            rows,
            startup,
            total,
            pathkeys,
            outer,
            none(),
            none(),
            none(),
        )
    };
    #[cfg(feature = "pg18")]
    // SAFETY: the caller's.
    return unsafe {
        pg_sys::create_foreignscan_path(
            root,
            rel,
            none(),
            rows,
            0,
            startup,
            total,
            pathkeys,
            outer,
            none(),
            none(),
            none(),
        )
    };
}
