//! The current user's mapping for a server, and the credential source it names.
//!
//! Lookup order is Postgres' own: the user's mapping, else the PUBLIC mapping. With no mapping at
//! all, the API client's provider chain runs as the database server's OS user (environment, then
//! `~/.aliyun/config.json` of that user).

use alicloud_api::{CredentialChain, CredentialSource};
use pgrx::pg_sys;
use std::collections::BTreeMap;
use std::ffi::CStr;

pub struct UserMapping {
    options: BTreeMap<String, String>,
}

impl UserMapping {
    fn get(&self, k: &str) -> Option<String> {
        self.options.get(k).cloned()
    }

    /// Values that must never be shown.
    pub fn secrets(&self) -> Vec<String> {
        ["access_key_secret", "security_token"]
            .iter()
            .filter_map(|k| self.get(k))
            .collect()
    }

    /// Identifies the mapping's credentials for the client cache (in memory only, never shown).
    pub fn cache_key(&self) -> String {
        format!("{:?}", self.options)
    }

    pub fn credential_chain(&self) -> CredentialChain {
        let mut chain = CredentialChain::from_process_env();
        chain = chain.explicit_key_parts(
            self.get("access_key_id"),
            self.get("access_key_secret"),
            self.get("security_token"),
        );
        if let Some(p) = self.get("profile") {
            chain = chain.profile(p);
        }
        if let Some(f) = self.get("profile_file") {
            chain = chain.profile_file(f.into());
        }
        if let Some(role) = self.get("role_arn") {
            chain = chain.role_arn(role, self.get("role_session_name"), None);
        }
        chain
    }

    pub fn credential_source(&self) -> Result<CredentialSource, alicloud_api::Error> {
        self.credential_chain().resolve()
    }
}

/// The options of the user mapping that applies to the current user on `server_oid`; empty when
/// there is none.
pub fn current_user_mapping(server_oid: pg_sys::Oid) -> UserMapping {
    // SAFETY: catalog lookups on the backend's main thread inside a transaction; GetUserMapping is
    // only called once the syscache says a mapping exists, so it cannot raise an error.
    let options = unsafe {
        let user = pg_sys::GetUserId();
        let exists = [user, pg_sys::InvalidOid].into_iter().any(|u| {
            let tuple = pg_sys::SearchSysCache2(
                pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as _,
                pg_sys::Datum::from(u),
                pg_sys::Datum::from(server_oid),
            );
            let found = !tuple.is_null();
            if found {
                pg_sys::ReleaseSysCache(tuple);
            }
            found
        });
        if exists {
            option_list((*pg_sys::GetUserMapping(user, server_oid)).options)
        } else {
            BTreeMap::new()
        }
    };
    UserMapping { options }
}

/// A catalog options list (`List` of `DefElem`, as servers, user mappings and tables keep them) as
/// name → value.
///
/// # Safety
/// `list` must be a valid options list (or null), read on the backend's thread.
pub(crate) unsafe fn option_list(list: *mut pg_sys::List) -> BTreeMap<String, String> {
    let mut options = BTreeMap::new();
    for def in pgrx::PgList::<pg_sys::DefElem>::from_pg(list).iter_ptr() {
        let name = CStr::from_ptr((*def).defname)
            .to_string_lossy()
            .into_owned();
        let value = CStr::from_ptr(pg_sys::defGetString(def))
            .to_string_lossy()
            .into_owned();
        options.insert(name, value);
    }
    options
}
