//! Everything the extension reads from PostgreSQL's catalogs: a server and its options, the user
//! mapping that applies to a user, a foreign table's server and columns, and role facts. Nothing
//! here decides anything; the callers do.

use pgrx::pg_sys;
use std::collections::BTreeMap;
use std::ffi::CStr;

/// A foreign server.
#[derive(Debug, Clone)]
pub struct Server {
    /// Its OID.
    pub oid: pg_sys::Oid,
    /// Its name.
    pub name: String,
    /// Its options.
    pub options: BTreeMap<String, String>,
}

/// The user mapping that applies to a user on a server.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Its options (empty when neither the user nor PUBLIC has a mapping).
    pub options: BTreeMap<String, String>,
}

/// A catalog options list (`List` of `DefElem`, as servers, user mappings and tables keep them)
/// as name → value.
///
/// # Safety
/// `list` must be a valid options list (or null), read on the backend's thread.
pub unsafe fn options(list: *mut pg_sys::List) -> BTreeMap<String, String> {
    let mut options = BTreeMap::new();
    // SAFETY: the caller's; each DefElem has a name and a value defGetString reads.
    unsafe {
        for def in pgrx::PgList::<pg_sys::DefElem>::from_pg(list).iter_ptr() {
            let name = CStr::from_ptr((*def).defname)
                .to_string_lossy()
                .into_owned();
            let value = CStr::from_ptr(pg_sys::defGetString(def))
                .to_string_lossy()
                .into_owned();
            options.insert(name, value);
        }
    }
    options
}

/// The server `oid`.
pub fn server(oid: pg_sys::Oid) -> Server {
    // SAFETY: a syscache lookup on the backend's thread; GetForeignServer raises an ERROR for a
    // missing server, which pgrx turns into a Rust panic that unwinds to the callback's guard.
    unsafe {
        let s = pg_sys::GetForeignServer(oid);
        Server {
            oid,
            name: CStr::from_ptr((*s).servername)
                .to_string_lossy()
                .into_owned(),
            options: options((*s).options),
        }
    }
}

/// The server `oid`, if it (still) exists.
pub fn server_if_exists(oid: pg_sys::Oid) -> Option<Server> {
    // SAFETY: FSV_MISSING_OK makes the lookup return NULL instead of raising.
    let exists =
        unsafe { !pg_sys::GetForeignServerExtended(oid, pg_sys::FSV_MISSING_OK as _).is_null() };
    exists.then(|| server(oid))
}

/// Whether `role` may use server `server` (USAGE privilege).
pub fn may_use_server(server: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    // SAFETY: a catalog lookup; the server exists when called.
    unsafe {
        pg_sys::pg_foreign_server_aclcheck(server, role, pg_sys::ACL_USAGE as _)
            == pg_sys::AclResult::ACLCHECK_OK
    }
}

/// The foreign data wrapper of server `server`.
pub fn wrapper_of_server(server: pg_sys::Oid) -> pg_sys::Oid {
    // SAFETY: as in `server`.
    unsafe { (*pg_sys::GetForeignServer(server)).fdwid }
}

/// A server of a foreign data wrapper, as [`servers_of_wrapper`] lists it.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    /// Its OID.
    pub oid: pg_sys::Oid,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: pg_sys::Oid,
}

/// Every server of foreign data wrapper `wrapper`, in name order.
pub fn servers_of_wrapper(wrapper: pg_sys::Oid) -> Vec<ServerEntry> {
    let mut found = Vec::new();
    // SAFETY: a catalog scan of pg_foreign_server on the backend's thread, under an
    // AccessShareLock, ended and closed before returning; each tuple's fixed part is a
    // FormData_pg_foreign_server (pg_foreign_server.h), read while the scan holds it.
    unsafe {
        let rel = pg_sys::table_open(
            pg_sys::ForeignServerRelationId,
            pg_sys::AccessShareLock as _,
        );
        let scan = pg_sys::systable_beginscan(
            rel,
            pg_sys::InvalidOid,
            false,
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        );
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_foreign_server>(tuple);
            if (*form).srvfdw == wrapper {
                let name = CStr::from_ptr((*form).srvname.data.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                found.push(ServerEntry {
                    oid: (*form).oid,
                    name,
                    owner: (*form).srvowner,
                });
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The server of foreign table `table`.
pub fn server_of_table(table: pg_sys::Oid) -> pg_sys::Oid {
    // SAFETY: as in `server`.
    unsafe { (*pg_sys::GetForeignTable(table)).serverid }
}

/// The options of foreign table `table`.
pub fn table_options(table: pg_sys::Oid) -> BTreeMap<String, String> {
    // SAFETY: as in `server`; the foreign table's options list is read on the backend's thread.
    unsafe { options((*pg_sys::GetForeignTable(table)).options) }
}

/// The server called `name`, if there is one.
pub fn server_by_name(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: a syscache lookup; `missing_ok` is true, so no ERROR for an unknown name.
    let oid = unsafe { pg_sys::get_foreign_server_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// The mapping of `user` on `server`, else the PUBLIC mapping, else none (PostgreSQL's lookup).
pub fn mapping(user: pg_sys::Oid, server: pg_sys::Oid) -> Mapping {
    for u in [user, pg_sys::InvalidOid] {
        // SAFETY: a syscache lookup on the backend's thread; the tuple is released at once.
        let found = unsafe {
            let tuple = pg_sys::SearchSysCache2(
                pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as _,
                pg_sys::Datum::from(u),
                pg_sys::Datum::from(server),
            );
            if !tuple.is_null() {
                pg_sys::ReleaseSysCache(tuple);
            }
            !tuple.is_null()
        };
        if found {
            // SAFETY: a mapping exists (found above), so GetUserMapping does not raise.
            let options = unsafe { options((*pg_sys::GetUserMapping(user, server)).options) };
            return Mapping { options };
        }
    }
    Mapping::default()
}

/// Whether `role` is a superuser.
pub fn is_superuser(role: pg_sys::Oid) -> bool {
    // SAFETY: a catalog lookup of a role on the backend's thread.
    unsafe { pg_sys::superuser_arg(role) }
}

/// Whether the current user is a superuser.
pub fn current_user_is_superuser() -> bool {
    // SAFETY: as above.
    unsafe { pg_sys::superuser() }
}

/// The current user.
pub fn current_user() -> pg_sys::Oid {
    // SAFETY: reads a backend global.
    unsafe { pg_sys::GetUserId() }
}

/// Whether `role` owns server `server` (or is a member of its owner).
pub fn owns_server(server: pg_sys::Oid, role: pg_sys::Oid) -> bool {
    // SAFETY: a catalog lookup; the server exists when called.
    unsafe { pg_sys::pg_foreign_server_ownercheck(server, role) }
}

/// The name of role `role`.
pub fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: GetUserNameFromId with noerr=true returns NULL for an unknown role.
    unsafe {
        let p = pg_sys::GetUserNameFromId(role, true);
        if p.is_null() {
            format!("role {}", role.to_u32())
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// The SQL name of type `oid`.
pub fn type_name(oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be copes with any oid and returns a palloc'd C string.
    unsafe {
        CStr::from_ptr(pg_sys::format_type_be(oid))
            .to_string_lossy()
            .into_owned()
    }
}

/// The name of relation `oid`.
pub fn relation_name(oid: pg_sys::Oid) -> String {
    // SAFETY: get_rel_name returns NULL for an unknown relation.
    unsafe {
        let p = pg_sys::get_rel_name(oid);
        if p.is_null() {
            format!("relation {}", oid.to_u32())
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// One column of a relation.
#[derive(Debug, Clone)]
pub struct Column {
    /// Its attribute number (1-based).
    pub attno: i16,
    /// Its name.
    pub name: String,
    /// Its type.
    pub type_oid: pg_sys::Oid,
}

/// The live (not dropped) columns of relation `oid`.
///
/// # Safety
/// The caller must hold a lock on the relation (the planner does on the relation it plans).
pub unsafe fn relation_columns(oid: pg_sys::Oid) -> Vec<Column> {
    // SAFETY: the caller's lock keeps the relation; it is opened and closed around the read.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(oid);
        let found = columns(rel);
        pg_sys::RelationClose(rel);
        found
    }
}

/// The live (not dropped) columns of an open relation.
///
/// # Safety
/// `rel` must be an open relation.
unsafe fn columns(rel: pg_sys::Relation) -> Vec<Column> {
    // SAFETY: the caller's: an open relation's descriptor holds `natts` attributes, each with a
    // NUL-terminated name.
    unsafe {
        let desc = (*rel).rd_att;
        let natts = (*desc).natts as usize;
        let attrs = (*desc).attrs.as_slice(natts);
        attrs
            .iter()
            .filter(|a| !a.attisdropped)
            .map(|a| Column {
                attno: a.attnum,
                name: CStr::from_ptr(a.attname.data.as_ptr())
                    .to_string_lossy()
                    .into_owned(),
                type_oid: a.atttypid,
            })
            .collect()
    }
}

/// The database the backend is connected to.
pub fn database() -> pg_sys::Oid {
    // SAFETY: reads a backend global set at connection start.
    unsafe { pg_sys::MyDatabaseId }
}

/// The data directory.
pub fn data_directory() -> std::path::PathBuf {
    // SAFETY: DataDir is set at postmaster start and never changes.
    unsafe {
        std::path::PathBuf::from(
            CStr::from_ptr(pg_sys::DataDir)
                .to_string_lossy()
                .into_owned(),
        )
    }
}
