//! The foreign data wrapper: supabase-wrappers' `ForeignDataWrapper` over the API client.
//!
//! Planning (`new`, `get_rel_size`) does no network I/O. `begin_scan` makes every call (one
//! `DescribeTrails` per region, concurrently, plus `GetCallerIdentity` when a selected column needs
//! it), buffers the trails, and `iter_scan` turns them into rows; `re_scan` replays the buffer.

use crate::error::FdwError;
use crate::options::{Regions, ServerOptions};
use crate::pushdown::{self, ScanPlan};
use crate::table::{self, CellValue, ColumnDef, RowSource};
use crate::{runtime, user_mapping};
use alicloud_api::actiontrail::DescribeTrailsRequest;
use alicloud_api::{Client, Trail};
use pgrx::prelude::*;
use pgrx::{pg_sys, JsonB, PgRelation};
use std::collections::HashMap;
use std::sync::OnceLock;
use supabase_wrappers::prelude::*;
use supabase_wrappers::FdwRoutine;

/// Rows a region is assumed to list, for the planner's estimate.
const ROWS_PER_REGION_ESTIMATE: i64 = 5;
/// Regions assumed when the `regions` option is `*`, for the estimate (ActionTrail had 26-28).
const ALL_REGIONS_ESTIMATE: i64 = 28;

#[wrappers_fdw(
    version = "0.1.0",
    author = "alicloud_fdw developers",
    error_type = "FdwError"
)]
pub(crate) struct AlicloudFdw {
    server_oid: pg_sys::Oid,
    server_key: String,
    options: ServerOptions,
    // State of the current scan.
    targets: Vec<&'static ColumnDef>,
    rows: Vec<(String, Trail)>,
    account_id: Option<String>,
    next: usize,
}

impl AlicloudFdw {
    /// The API client for this server and the current user's mapping, shared across queries.
    fn client(&self) -> Result<(Client, Vec<String>), FdwError> {
        let mapping = user_mapping::current_user_mapping(self.server_oid);
        let secrets = mapping.secrets();
        let key = format!("{}\u{1}{}", self.server_key, mapping.cache_key());
        let client =
            runtime::api_client(&key, &self.options.client, || mapping.credential_source())
                .map_err(|error| FdwError::api(error, &secrets))?;
        Ok((client, secrets))
    }

    fn configured_regions(
        &self,
        client: &Client,
        secrets: &[String],
    ) -> Result<Vec<String>, FdwError> {
        match &self.options.regions {
            Regions::List(l) => Ok(l.clone()),
            Regions::All => {
                let ask = self.options.client.sts_region.clone();
                let c = client.clone();
                runtime::block_on(async move { c.all_regions(&ask).await })
                    .map_err(FdwError::Internal)?
                    .map_err(|error| FdwError::api(error, secrets))
            }
        }
    }

    /// Checks every column of a foreign table: known name, the declared type.
    fn check_table(table_oid: pg_sys::Oid) -> Result<(), FdwError> {
        // SAFETY: the planner holds a lock on the relation it is planning a scan of.
        let rel = unsafe { PgRelation::open(table_oid) };
        for attr in rel.tuple_desc().iter().filter(|a| !a.is_dropped()) {
            let name = attr.name().to_string();
            let Some(def) = table::column(&name) else {
                return Err(FdwError::UnknownColumn {
                    table: rel.name().to_string(),
                    column: name,
                });
            };
            let expected = match def.ty {
                table::ColumnType::Text => pg_sys::TEXTOID,
                table::ColumnType::Boolean => pg_sys::BOOLOID,
                table::ColumnType::Timestamptz => pg_sys::TIMESTAMPTZOID,
                table::ColumnType::Jsonb => pg_sys::JSONBOID,
            };
            if attr.type_oid().value() != expected {
                return Err(FdwError::ColumnType {
                    table: rel.name().to_string(),
                    column: name,
                    found: type_name(attr.type_oid().value()),
                    expected: def.ty.sql(),
                });
            }
        }
        Ok(())
    }
}

fn type_name(oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be copes with any oid and returns a palloc'd C string.
    unsafe {
        let p = pg_sys::format_type_be(oid);
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// supabase-wrappers' own `GetForeignRelSize`, which [`quiet_get_foreign_rel_size`] wraps.
static WRAPPERS_GET_REL_SIZE: OnceLock<pg_sys::GetForeignRelSize_function> = OnceLock::new();

/// supabase-wrappers reports every qual it cannot push down as a WARNING at plan time (for example
/// the seed's `home_region <> region`). Postgres evaluates those quals itself, so the warnings only
/// alarm users: planning runs with the message levels raised to ERROR (errors still show).
#[pg_guard]
extern "C-unwind" fn quiet_get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    let Some(Some(inner)) = WRAPPERS_GET_REL_SIZE.get().copied() else {
        return;
    };
    // SAFETY: plain GUC globals of the backend's own thread; restored whatever happens below.
    unsafe {
        let saved = (pg_sys::client_min_messages, pg_sys::log_min_messages);
        let quiet = pgrx::PgLogLevel::ERROR as i32;
        pg_sys::client_min_messages = saved.0.max(quiet);
        pg_sys::log_min_messages = saved.1.max(quiet);
        PgTryBuilder::new(|| inner(root, baserel, foreigntableid))
            .finally(|| {
                pg_sys::client_min_messages = saved.0;
                pg_sys::log_min_messages = saved.1;
            })
            .execute();
    }
}

/// EXPLAIN: what the scan calls, and where. (supabase-wrappers' own explain dumps its internal
/// structures.) Server options hold no secrets: the validator refuses them there.
#[pg_guard]
extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: the executor hands a valid scan state whose relation is open.
    unsafe {
        let relid = (*(*node).ss.ss_currentRelation).rd_id;
        let table = pg_sys::GetForeignTable(relid);
        let server = pg_sys::GetForeignServer((*table).serverid);
        let regions = user_mapping::option_list((*server).options).remove("regions");
        let regions = regions.unwrap_or_else(|| "(the default region)".to_string());
        let show = |label: &str, value: &str| {
            let label = std::ffi::CString::new(label).unwrap_or_default();
            let value = std::ffi::CString::new(value).unwrap_or_default();
            pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
        };
        show(
            "Alibaba Cloud API",
            "ActionTrail DescribeTrails, once per region",
        );
        show("Configured Regions", &regions);
    }
}

fn to_cell(v: CellValue) -> Option<Cell> {
    Some(match v {
        CellValue::Text(s) => Cell::String(s),
        CellValue::Boolean(b) => Cell::Bool(b),
        CellValue::Timestamptz(t) => {
            // Postgres counts microseconds from 2000-01-01 00:00:00 UTC.
            const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
            let micros = t.timestamp_micros().checked_sub(PG_EPOCH_OFFSET_MICROS)?;
            Cell::Timestamptz(TimestampWithTimeZone::try_from(micros).ok()?)
        }
        CellValue::Jsonb(j) => Cell::Json(JsonB(j)),
    })
}

impl ForeignDataWrapper<FdwError> for AlicloudFdw {
    fn new(server: ForeignServer) -> Result<Self, FdwError> {
        // The environment and profile file are read only when `regions` is not set.
        let options = ServerOptions::from_map(&server.options, || {
            alicloud_api::CredentialChain::from_process_env().default_region()
        })?;
        let mut opts: Vec<_> = server.options.iter().collect();
        opts.sort();
        Ok(AlicloudFdw {
            server_key: format!("{}\u{1}{:?}", server.server_oid.to_u32(), opts),
            server_oid: server.server_oid,
            options,
            targets: Vec::new(),
            rows: Vec::new(),
            account_id: None,
            next: 0,
        })
    }

    fn get_rel_size(
        &mut self,
        quals: &[Qual],
        columns: &[Column],
        _sorts: &[Sort],
        _limit: &Option<Limit>,
        options: &HashMap<String, String>,
    ) -> Result<(i64, i32), FdwError> {
        if let Some(oid) = options
            .get("wrappers.ftable_oid")
            .and_then(|o| o.parse::<u32>().ok())
        {
            Self::check_table(pg_sys::Oid::from(oid))?;
        }
        // With regions '*' the list is not known before the scan asks DescribeRegions.
        let configured = match &self.options.regions {
            Regions::List(l) => l.as_slice(),
            Regions::All => &[],
        };
        let plan = pushdown::plan(configured, quals);
        let regions = match &self.options.regions {
            Regions::List(_) => plan.regions.len() as i64,
            Regions::All => ALL_REGIONS_ESTIMATE,
        };
        let per_region = plan
            .names
            .map_or(ROWS_PER_REGION_ESTIMATE, |names| names.len() as i64);
        let width = 24 * columns.len().max(1) as i32;
        Ok(((regions * per_region).max(1), width))
    }

    fn begin_scan(
        &mut self,
        quals: &[Qual],
        columns: &[Column],
        _sorts: &[Sort],
        _limit: &Option<Limit>,
        _options: &HashMap<String, String>,
    ) -> Result<(), FdwError> {
        self.targets = columns
            .iter()
            .map(|c| {
                table::column(&c.name).ok_or_else(|| FdwError::UnknownColumn {
                    table: table::TABLE_NAME.to_string(),
                    column: c.name.clone(),
                })
            })
            .collect::<Result<_, _>>()?;
        self.rows.clear();
        self.account_id = None;
        self.next = 0;

        let (client, secrets) = self.client()?;
        let configured = self.configured_regions(&client, &secrets)?;
        let ScanPlan { regions, names } = pushdown::plan(&configured, quals);
        if regions.is_empty() || names.as_ref().is_some_and(|n| n.is_empty()) {
            return Ok(());
        }
        let request = DescribeTrailsRequest {
            include_shadow_trails: true,
            include_organization_trail: true,
            name_list: names.unwrap_or_default(),
        };
        let needs_account = self.targets.iter().any(|c| c.needs_account_id);
        let (results, identity) = runtime::block_on(async {
            let trails = client.describe_trails_in_regions(&regions, &request);
            if needs_account {
                let (t, i) = tokio::join!(trails, client.caller_identity());
                (t, Some(i))
            } else {
                (trails.await, None)
            }
        })
        .map_err(FdwError::Internal)?;

        let mut failures = Vec::new();
        for (region, result) in results {
            match result {
                Ok(answer) => self
                    .rows
                    .extend(answer.trails.into_iter().map(|t| (region.clone(), t))),
                Err(e)
                    if e.code().is_some_and(|c| {
                        self.options.ignore_error_codes.iter().any(|i| i == c)
                    }) =>
                {
                    pgrx::warning!(
                        "alicloud_fdw: skipping region {region}: {} failed with {} ({}), which ignore_error_codes lists",
                        e.api().map(|a| a.action.as_str()).unwrap_or("the call"),
                        e.code().unwrap_or_default(),
                        e.request_id().map(|r| format!("request id {r}")).unwrap_or_else(|| "no request id".into()),
                    );
                }
                Err(e) => failures.push(e),
            }
        }
        if !failures.is_empty() {
            let total = regions.len();
            let more = (failures.len() > 1).then(|| {
                let others: Vec<String> = failures[1..]
                    .iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            e.region().unwrap_or("?"),
                            e.code()
                                .map(str::to_string)
                                .unwrap_or_else(|| e.to_string())
                        )
                    })
                    .collect();
                format!(
                    "{} of {total} regions failed; also: {}",
                    failures.len(),
                    others.join("; ")
                )
            });
            let error = failures.swap_remove(0);
            return Err(FdwError::Api {
                error: Box::new(error),
                more,
                secrets,
            });
        }
        if let Some(identity) = identity {
            let identity = identity.map_err(|error| FdwError::api(error, &secrets))?;
            self.account_id = Some(identity.account_id);
        }
        Ok(())
    }

    fn iter_scan(&mut self, row: &mut Row) -> Result<Option<()>, FdwError> {
        let Some((region, trail)) = self.rows.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let source = RowSource {
            trail,
            region,
            account_id: self.account_id.as_deref(),
        };
        for col in &self.targets {
            row.push(col.name, (col.value)(&source).and_then(to_cell));
        }
        Ok(Some(()))
    }

    fn re_scan(&mut self) -> Result<(), FdwError> {
        self.next = 0;
        Ok(())
    }

    fn end_scan(&mut self) -> Result<(), FdwError> {
        self.rows = Vec::new();
        Ok(())
    }

    fn import_foreign_schema(
        &mut self,
        stmt: ImportForeignSchemaStmt,
    ) -> Result<Vec<String>, FdwError> {
        if stmt.remote_schema != "alicloud" {
            return Err(FdwError::UnknownSchema(stmt.remote_schema));
        }
        // Postgres itself applies LIMIT TO / EXCEPT to the statements returned.
        Ok(vec![table::create_table_statement(
            &stmt.server_name,
            &stmt.local_schema,
        )])
    }

    fn fdw_routine_hook(routine: &mut FdwRoutine<pgrx::AllocatedByRust>) {
        let _ = WRAPPERS_GET_REL_SIZE.set(routine.GetForeignRelSize);
        routine.GetForeignRelSize = Some(quiet_get_foreign_rel_size);
        routine.ExplainForeignScan = Some(explain_foreign_scan);
    }

    fn validator(
        options: Vec<Option<String>>,
        catalog: Option<pg_sys::Oid>,
    ) -> Result<(), FdwError> {
        let Some(catalog) = catalog else {
            return Ok(());
        };
        let catalog = match catalog {
            c if c == FOREIGN_SERVER_RELATION_ID => crate::options::Catalog::Server,
            c if c == pg_sys::UserMappingRelationId => crate::options::Catalog::UserMapping,
            c if c == FOREIGN_TABLE_RELATION_ID => crate::options::Catalog::Table,
            c if c == FOREIGN_DATA_WRAPPER_RELATION_ID => crate::options::Catalog::Wrapper,
            _ => return Ok(()),
        };
        let pairs: Vec<(String, String)> = options
            .into_iter()
            .flatten()
            .map(|o| match o.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (o, String::new()),
            })
            .collect();
        crate::options::validate(&pairs, catalog)?;
        // profile and profile_file read files of the database server's OS user: only superusers
        // may point a mapping at them.
        let reads_server_files = pairs
            .iter()
            .any(|(k, _)| k == "profile" || k == "profile_file");
        // SAFETY: a catalog lookup of the current user, on the backend's thread.
        if catalog == crate::options::Catalog::UserMapping
            && reads_server_files
            && !unsafe { pg_sys::superuser() }
        {
            return Err(FdwError::Option(crate::options::OptionError {
                unknown_name: false,
                message: "only superusers may set \"profile\" or \"profile_file\": they read the database server's own files".to_string(),
                hint: Some("Give access_key_id and access_key_secret (and role_arn if needed) instead.".to_string()),
            }));
        }
        Ok(())
    }
}
