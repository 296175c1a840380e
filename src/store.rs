//! Where a server's shared cache and statistics live, and whether the cache is on for this
//! session. They are files under the data directory, in `pg_stat_tmp/alicloud_fdw/<database
//! oid>/<server oid>/` (owned by the database server's OS user, left out of base backups like the
//! rest of `pg_stat_tmp`), so every session of the cluster shares them without shared memory or
//! `shared_preload_libraries`.

use crate::catalog;
use alicloud_tables::cache::Cache;
use alicloud_tables::options::Settings;
use alicloud_tables::stats::StatsStore;
use pgrx::{pg_sys, GucContext, GucFlags, GucRegistry, GucSetting};
use std::path::PathBuf;

/// The `alicloud_fdw.cache` setting.
static CACHE: GucSetting<bool> = GucSetting::<bool>::new(true);

/// Defines `alicloud_fdw.cache`. Called once, when the library is loaded.
pub fn define_settings() {
    GucRegistry::define_bool_guc(
        c"alicloud_fdw.cache",
        c"Use the cache of API answers shared by all sessions.",
        c"When off, scans call the API (answers are not stored either); the statement's own snapshot still applies. Server option cache_ttl sets how long answers are reused.",
        &CACHE,
        GucContext::Userset,
        GucFlags::default(),
    );
    // SAFETY: reserves the prefix once, from _PG_init.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"alicloud_fdw".as_ptr()) };
}

/// Whether this session uses the shared cache.
pub fn cache_on() -> bool {
    CACHE.get()
}

/// The directory of every server of the current database.
pub fn database_dir() -> PathBuf {
    catalog::data_directory()
        .join("pg_stat_tmp")
        .join("alicloud_fdw")
        .join(catalog::database().to_u32().to_string())
}

/// The directory of server `server`.
pub fn server_dir(server: pg_sys::Oid) -> PathBuf {
    database_dir().join(server.to_u32().to_string())
}

/// The directory of the shared cache of `server`.
pub fn cache_dir(server: pg_sys::Oid) -> PathBuf {
    server_dir(server).join("cache")
}

/// The shared cache of `server` as `settings` configure it: off (serving and storing nothing)
/// when this session does not use it, its directory still there for what every session shares
/// regardless (the turns of rate-limited calls).
pub fn cache(server: pg_sys::Oid, settings: &Settings) -> Cache {
    let ttl = if cache_on() {
        settings.cache_ttl
    } else {
        std::time::Duration::ZERO
    };
    Cache::new(cache_dir(server), ttl, settings.cache_max_bytes)
}

/// The owner of a role's calls in the statistics (see `alicloud_tables::stats`): its OID, which
/// outlives a rename.
pub fn owner(role: pg_sys::Oid) -> String {
    role.to_u32().to_string()
}

/// The statistics of `server`.
pub fn stats(server: pg_sys::Oid) -> StatsStore {
    StatsStore::new(server_dir(server).join("stats"))
}
