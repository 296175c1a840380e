//! The extension's error type, and the one place it becomes a Postgres error (SQLSTATE, message,
//! DETAIL, HINT). Messages come from the API client, whose errors never hold a secret; as a second
//! line of defence every message, detail and hint is scrubbed of the secrets in use.

use crate::options::OptionError;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgSqlErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum FdwError {
    /// A call to the API failed (in `region`, for `DescribeTrails` and friends).
    #[error("{error}")]
    Api {
        error: Box<alicloud_api::Error>,
        /// Extra lines for DETAIL (other failing regions).
        more: Option<String>,
        /// Secrets to scrub from everything reported.
        secrets: Vec<String>,
    },
    #[error("{}", .0.message)]
    Option(OptionError),
    #[error(
        "column \"{column}\" of foreign table \"{table}\" is not a column of alicloud_action_trail"
    )]
    UnknownColumn { table: String, column: String },
    #[error("column \"{column}\" of foreign table \"{table}\" has type {found}, but alicloud_action_trail.{column} is {expected}")]
    ColumnType {
        table: String,
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error("IMPORT FOREIGN SCHEMA: remote schema \"{0}\" does not exist")]
    UnknownSchema(String),
    #[error("{0}")]
    Internal(String),
}

impl FdwError {
    /// A failed call, with the secrets in use (to scrub from what is reported).
    pub fn api(error: alicloud_api::Error, secrets: &[String]) -> Self {
        FdwError::Api {
            error: Box::new(error),
            more: None,
            secrets: secrets.to_vec(),
        }
    }
}

impl From<OptionError> for FdwError {
    fn from(e: OptionError) -> Self {
        FdwError::Option(e)
    }
}

fn scrub(text: &str, secrets: &[String]) -> String {
    alicloud_api::error::redact(text, secrets)
}

impl From<FdwError> for ErrorReport {
    fn from(e: FdwError) -> Self {
        let message = format!("alicloud_fdw: {e}");
        match e {
            FdwError::Api { error, more, secrets } => {
                use alicloud_api::Error as E;
                let code = match error.as_ref() {
                    E::Transport { .. } | E::Timeout { .. } => {
                        PgSqlErrorCode::ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION
                    }
                    E::Credentials { .. } => PgSqlErrorCode::ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                    E::Config { .. } => PgSqlErrorCode::ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE,
                    E::Decode { .. } => PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE,
                    E::Api(_) => PgSqlErrorCode::ERRCODE_FDW_ERROR,
                };
                let mut report = ErrorReport::new(code, scrub(&message, &secrets), "");
                let detail = [error.detail(), more].into_iter().flatten().collect::<Vec<_>>();
                if !detail.is_empty() {
                    report = report.set_detail(scrub(&detail.join("\n"), &secrets));
                }
                if let Some(h) = error.hint() {
                    report = report.set_hint(scrub(&h, &secrets));
                }
                report
            }
            FdwError::Option(o) => {
                let code = if o.unknown_name {
                    PgSqlErrorCode::ERRCODE_FDW_INVALID_OPTION_NAME
                } else {
                    PgSqlErrorCode::ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE
                };
                let report = ErrorReport::new(code, message, "");
                match o.hint {
                    Some(h) => report.set_hint(h),
                    None => report,
                }
            }
            FdwError::UnknownColumn { .. } => ErrorReport::new(
                PgSqlErrorCode::ERRCODE_FDW_COLUMN_NAME_NOT_FOUND,
                message,
                "",
            )
            .set_hint(format!(
                "The columns of alicloud_action_trail are: {}.",
                crate::table::COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
            )),
            FdwError::ColumnType { .. } => {
                ErrorReport::new(PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE, message, "")
                    .set_hint("Declare the column with the type IMPORT FOREIGN SCHEMA gives it.")
            }
            FdwError::UnknownSchema(_) => {
                ErrorReport::new(PgSqlErrorCode::ERRCODE_FDW_SCHEMA_NOT_FOUND, message, "")
                    .set_hint("The remote schema is \"alicloud\": IMPORT FOREIGN SCHEMA alicloud FROM SERVER ... INTO ...")
            }
            FdwError::Internal(_) => ErrorReport::new(PgSqlErrorCode::ERRCODE_FDW_ERROR, message, ""),
        }
    }
}
