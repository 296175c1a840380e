//! The extension's errors and the one place they become PostgreSQL errors (SQLSTATE, message,
//! DETAIL, HINT), with advice in PostgreSQL's words: server options, user mappings. Messages come
//! from the API client, whose errors never hold a secret; as a second line of defence every text
//! is scrubbed of the secrets in use.

use crate::import::REMOTE_SCHEMA;
use crate::options::{Catalog, OptionError, USE_SERVER_CREDENTIALS};
use alicloud_api::Remedy;
use alicloud_tables::scan::ScanError;
use alicloud_tables::wording::{self, join, Wording};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// Everything that can go wrong in the extension.
#[derive(Debug)]
pub enum FdwError {
    /// A scan's calls failed.
    Scan {
        /// The failure (the first failing region's, with the others summed up).
        error: Box<ScanError>,
        /// Secrets to scrub from everything reported.
        secrets: Vec<String>,
    },
    /// Resolving credentials or building the client failed.
    Api {
        /// The failure.
        error: Box<alicloud_api::Error>,
        /// Secrets to scrub from everything reported.
        secrets: Vec<String>,
    },
    /// Options refused by the validator (or found bad in the catalog).
    Option(OptionError),
    /// A non-superuser's mapping has no keys of its own.
    ServerCredentials {
        /// The role whose mapping it is.
        role: String,
        /// The server.
        server: String,
    },
    /// A foreign table names no table of the wrapper.
    UnknownTable {
        /// The foreign table.
        relation: String,
        /// The name it gives.
        name: String,
        /// Every table's name.
        tables: String,
    },
    /// A foreign table made by hand could scan several tables: its columns are in each.
    AmbiguousTable {
        /// The foreign table.
        relation: String,
        /// The tables it could scan.
        tables: String,
    },
    /// A column of a foreign table is not a column of the table it scans.
    UnknownColumn {
        /// The foreign table.
        table: String,
        /// The column.
        column: String,
        /// The table it scans.
        of: &'static str,
        /// The hint that lists the valid columns.
        hint: String,
    },
    /// A column has another type than the table declares.
    ColumnType {
        /// The foreign table.
        table: String,
        /// The column.
        column: String,
        /// Its declared type.
        found: String,
        /// The table it scans.
        of: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// The API listed the rows of an ordered scan out of order.
    OutOfOrder {
        /// The table.
        table: &'static str,
        /// The region that did.
        region: String,
    },
    /// A value the API sent cannot be stored in PostgreSQL.
    BadValue {
        /// What and where.
        message: String,
    },
    /// IMPORT FOREIGN SCHEMA of an unknown remote schema.
    UnknownSchema(String),
    /// Only the owner of a server (or a superuser) may do this.
    NotOwner(String),
    /// A name or pattern of `member_servers` matches no server.
    NoMemberServer {
        /// The server with members.
        server: String,
        /// The name or pattern.
        pattern: String,
        /// The wrapper's other servers.
        servers: String,
    },
    /// Something that should not happen.
    Internal(String),
}

impl FdwError {
    /// A failed API call, with the secrets in use.
    pub fn api(error: alicloud_api::Error, secrets: &[String]) -> Self {
        FdwError::Api {
            error: Box::new(error),
            secrets: secrets.to_vec(),
        }
    }
}

impl From<OptionError> for FdwError {
    fn from(e: OptionError) -> Self {
        FdwError::Option(e)
    }
}

/// Options found bad when used (they were set before a rule changed, say).
impl From<alicloud_tables::options::OptionError> for FdwError {
    fn from(e: alicloud_tables::options::OptionError) -> Self {
        FdwError::Option(e.into())
    }
}

/// How the extension names its knobs: server options, user mappings.
struct PostgresWording;

impl Wording for PostgresWording {
    fn settings(&self, names: &[&str], conj: &str) -> String {
        match names {
            [one] => format!("the server option {one}"),
            _ => format!("the server options {}", join(names, conj)),
        }
    }

    fn credentials(&self, names: &[&str], conj: &str, existing: bool) -> String {
        let mapping = if existing {
            "the user mapping"
        } else {
            "a user mapping"
        };
        format!("{} in {mapping}", join(names, conj))
    }

    fn host(&self) -> &'static str {
        "the database server"
    }
}

/// The advice for a remedy, naming this front end's knobs.
fn hint(remedy: Remedy) -> String {
    wording::hint(remedy, &PostgresWording)
}

fn scrub(text: &str, secrets: &[String]) -> String {
    alicloud_api::redact(text, secrets)
}

fn api_code(e: &alicloud_api::Error) -> PgSqlErrorCode {
    use alicloud_api::Error as E;
    match e {
        E::Transport { .. } | E::Timeout { .. } => {
            PgSqlErrorCode::ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION
        }
        E::Credentials { .. } => PgSqlErrorCode::ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
        E::Config { .. } => PgSqlErrorCode::ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE,
        E::Decode { .. } | E::TooLarge { .. } | E::Redirect { .. } => {
            PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE
        }
        _ => PgSqlErrorCode::ERRCODE_FDW_ERROR,
    }
}

fn api_report(error: &alicloud_api::Error, more: Option<&str>, secrets: &[String]) -> ErrorReport {
    let message = format!("alicloud_fdw: {error}");
    let mut report = ErrorReport::new(api_code(error), scrub(&message, secrets), "");
    let detail: Vec<String> = error
        .detail()
        .into_iter()
        .chain(more.map(str::to_string))
        .collect();
    if !detail.is_empty() {
        report = report.set_detail(scrub(&detail.join("\n"), secrets));
    }
    if let Some(r) = error.remedy() {
        report = report.set_hint(scrub(&hint(r), secrets));
    }
    report
}

fn option_report(e: OptionError) -> ErrorReport {
    use PgSqlErrorCode::*;
    match e {
        OptionError::UnknownName {
            name,
            catalog,
            valid,
        } => ErrorReport::new(
            ERRCODE_FDW_INVALID_OPTION_NAME,
            format!("alicloud_fdw: invalid option \"{name}\""),
            "",
        )
        .set_hint(if valid.is_empty() {
            format!(
                "There are no valid options in this context ({}).",
                catalog.describe()
            )
        } else {
            format!("Valid options in this context are: {}", valid.join(", "))
        }),
        OptionError::Misplaced {
            name,
            found,
            belongs,
        } => {
            let credential = belongs == Catalog::UserMapping && found == Catalog::Server;
            let why = if credential {
                " (every database user can read server options)"
            } else {
                ""
            };
            let hint = if credential {
                format!(
                    "Credentials go in a user mapping, whose options only the mapped user, the \
                     server's owner and superusers can see: CREATE USER MAPPING FOR CURRENT_USER \
                     SERVER <server> OPTIONS ({name} '...')"
                )
            } else {
                format!("Set it in the {} options instead.", belongs.describe())
            };
            ErrorReport::new(
                ERRCODE_FDW_INVALID_OPTION_NAME,
                format!(
                    "alicloud_fdw: option \"{name}\" is not allowed in {} options{why}",
                    found.describe()
                ),
                "",
            )
            .set_hint(hint)
        }
        OptionError::BadValue { message, hint } => {
            let report = ErrorReport::new(
                ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE,
                format!("alicloud_fdw: {message}"),
                "",
            );
            match hint {
                Some(h) => report.set_hint(h),
                None => report,
            }
        }
        OptionError::SuperuserOnly { names } => {
            let list = names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ");
            ErrorReport::new(
                ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("alicloud_fdw: only superusers may set {list}"),
                "",
            )
            .set_detail(
                "Endpoint options can send requests, signed with a user's credentials, to any host; \
                 profile options read the database server's own files; use_server_credentials \
                 lends the database server's own credentials.",
            )
            .set_hint(
                "Use endpoint_type 'vpc' for the VPC endpoints, and give access_key_id and \
                 access_key_secret (with role_arn if needed) in the user mapping.",
            )
        }
    }
}

impl From<FdwError> for ErrorReport {
    fn from(e: FdwError) -> Self {
        use PgSqlErrorCode::*;
        match e {
            FdwError::Scan { error, secrets } => {
                api_report(&error.error, error.others.as_deref(), &secrets)
            }
            FdwError::Api { error, secrets } => api_report(&error, None, &secrets),
            FdwError::Option(o) => option_report(o),
            FdwError::ServerCredentials { role, server } => ErrorReport::new(
                ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!(
                    "alicloud_fdw: role \"{role}\" has no access keys in a user mapping for server \"{server}\", and only superusers may use the database server's own credentials"
                ),
                "",
            )
            .set_detail("Without keys in the user mapping, the credentials would come from the database server's environment, its Alibaba Cloud CLI profile file or its ECS instance role.")
            .set_hint(format!(
                "Give access_key_id and access_key_secret in the user mapping, or have a superuser set the user mapping option {USE_SERVER_CREDENTIALS} 'true'."
            )),
            FdwError::UnknownTable { relation, name, tables } => ErrorReport::new(
                ERRCODE_FDW_TABLE_NOT_FOUND,
                format!("alicloud_fdw: foreign table \"{relation}\" scans \"{name}\", which is not a table of alicloud_fdw"),
                "",
            )
            .set_hint(format!("Name the table with OPTIONS (table '...'), or name the foreign table after it. The tables are: {tables}.")),
            FdwError::AmbiguousTable { relation, tables } => ErrorReport::new(
                ERRCODE_FDW_TABLE_NOT_FOUND,
                format!("alicloud_fdw: foreign table \"{relation}\" could scan any of {tables}: each has all its columns"),
                "",
            )
            .set_hint("Name the table with OPTIONS (table '...')."),
            FdwError::UnknownColumn { table, column, of, hint } => ErrorReport::new(
                ERRCODE_FDW_COLUMN_NAME_NOT_FOUND,
                format!("alicloud_fdw: column \"{column}\" of foreign table \"{table}\" is not a column of {of}"),
                "",
            )
            .set_hint(hint),
            FdwError::ColumnType { table, column, found, of, expected } => ErrorReport::new(
                ERRCODE_FDW_INVALID_DATA_TYPE,
                format!("alicloud_fdw: column \"{column}\" of foreign table \"{table}\" has type {found}, but {of}.{column} is {expected}"),
                "",
            )
            .set_hint("Declare the column with the type IMPORT FOREIGN SCHEMA gives it."),
            FdwError::OutOfOrder { table, region } => ErrorReport::new(
                ERRCODE_FDW_ERROR,
                format!("alicloud_fdw: region {region} listed the rows of {table} out of their order, so an ordered scan cannot go on"),
                "",
            )
            .set_hint("Order by an expression of the column (ORDER BY column + interval '0 s'), so that PostgreSQL sorts the rows itself."),
            FdwError::BadValue { message } => {
                ErrorReport::new(ERRCODE_FDW_INVALID_STRING_FORMAT, format!("alicloud_fdw: {message}"), "")
            }
            FdwError::UnknownSchema(schema) => ErrorReport::new(
                ERRCODE_FDW_SCHEMA_NOT_FOUND,
                format!("alicloud_fdw: IMPORT FOREIGN SCHEMA: remote schema \"{schema}\" does not exist"),
                "",
            )
            .set_hint(format!("The remote schema is \"{REMOTE_SCHEMA}\": IMPORT FOREIGN SCHEMA {REMOTE_SCHEMA} FROM SERVER ... INTO ...")),
            FdwError::NotOwner(what) => ErrorReport::new(
                ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("alicloud_fdw: {what}"),
                "",
            ),
            FdwError::NoMemberServer { server, pattern, servers } => ErrorReport::new(
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                format!("alicloud_fdw: \"{pattern}\" in member_servers of server \"{server}\" matches no server of alicloud_fdw"),
                "",
            )
            .set_hint(if servers.is_empty() {
                "There is no other server of alicloud_fdw: create the member servers first, or drop the name from member_servers.".to_string()
            } else {
                format!("The other servers of alicloud_fdw are: {servers}. Give their names, or patterns with *, which match only servers with the owner of \"{server}\" (ALTER SERVER {server} OPTIONS (SET member_servers '...')).")
            }),
            FdwError::Internal(m) => ErrorReport::new(ERRCODE_FDW_ERROR, format!("alicloud_fdw: {m}"), ""),
        }
    }
}

/// Raises `e` as a PostgreSQL ERROR. Called inside a `#[pg_guard]` function, it unwinds the Rust
/// frames (running their destructors) and then becomes the ERROR at the guard.
pub fn raise(e: FdwError) -> ! {
    ErrorReport::from(e).report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// Reports `message` as a WARNING.
pub fn warn(message: &str) {
    ErrorReport::new(
        PgSqlErrorCode::ERRCODE_WARNING,
        format!("alicloud_fdw: {message}"),
        "",
    )
    .report(PgLogLevel::WARNING);
}
