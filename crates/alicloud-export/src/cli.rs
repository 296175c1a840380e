//! The command line: the export's own flags, and one flag for each option of
//! [`alicloud_tables::options::OPTIONS`] (its name with `-` for `_`, its help text), so the option
//! vocabulary is written once, in the table layer.

use alicloud_api::{
    ACCESS_KEY_ID_VARS, ACCESS_KEY_SECRET_VARS, PROFILE_VARS, REGION_VARS, SECURITY_TOKEN_VARS,
};
use alicloud_tables::options::{portable, OptionDef, Scope, ValueKind, OPTIONS};
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;

/// The exit codes, for `--help` and the docs.
pub const EXIT_OK: i32 = 0;
/// An API call failed (or the output could not be written).
pub const EXIT_API: i32 = 1;
/// A usage error: flags, option values, `--where`, `--select`, the table name.
pub const EXIT_USAGE: i32 = 2;
/// No usable credentials, or a configuration that cannot be used (profile file, role).
pub const EXIT_CONFIG: i32 = 3;
/// Interrupted by Ctrl-C (SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The output formats.
pub const FORMATS: [&str; 4] = ["csv", "json", "jsonl", "table"];

/// What the command line asks for.
#[derive(Debug)]
pub struct Args {
    /// The table, unless only a listing is asked for.
    pub table: Option<String>,
    /// `--select`, as given.
    pub select: Option<String>,
    /// `--where`, as given.
    pub filter: Option<String>,
    /// `--limit`.
    pub limit: Option<u64>,
    /// `--output`.
    pub output: String,
    /// `--list-tables`.
    pub list_tables: bool,
    /// `--list-columns`.
    pub list_columns: bool,
    /// `--no-progress`.
    pub no_progress: bool,
    /// The option flags given, by option name (`timeout_ms`, ...).
    pub options: BTreeMap<String, String>,
}

/// The flag of an option: `timeout_ms` → `timeout-ms`.
pub fn flag_name(option: &str) -> String {
    option.replace('_', "-")
}

fn value_name(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Regions => "LIST|*",
        ValueKind::Endpoint | ValueKind::BaseUrl => "URL",
        ValueKind::EndpointType => "public|vpc",
        ValueKind::Millis => "MS",
        ValueKind::Number(_) => "N",
        ValueKind::CodeList => "CODES",
        ValueKind::AccountList => "IDS",
        ValueKind::MemberFailure => "error|skip",
        ValueKind::ServerPatterns => "NAMES",
        ValueKind::Text | ValueKind::ExternalId => "TEXT",
        ValueKind::Secret => "SECRET",
    }
}

/// The environment variable a secret option is better given in.
fn secret_variable(def: &OptionDef) -> &'static str {
    if def.name == "security_token" {
        SECURITY_TOKEN_VARS[0]
    } else {
        ACCESS_KEY_SECRET_VARS[0]
    }
}

fn option_arg(def: &'static OptionDef) -> Arg {
    let mut help = def.help.to_string();
    if def.kind == ValueKind::Secret {
        help.push_str(&format!(
            ". Avoid it: other users of this machine can read command lines (ps); set {} instead",
            secret_variable(def)
        ));
    }
    Arg::new(def.name)
        .long(flag_name(def.name))
        .value_name(value_name(&def.kind))
        .help(help)
        .action(ArgAction::Set)
        .help_heading(match def.scope {
            Scope::Connection => "Connection options (as the PostgreSQL server options)",
            Scope::Credentials => "Credential options (as the PostgreSQL user mapping options)",
        })
}

/// The text after the flags in `--help`: credentials, exit codes, examples.
fn after_help() -> String {
    format!(
        "\
Credentials, the first found of:
  1. --access-key-id and --access-key-secret (with --security-token for STS keys)
  2. --profile: that profile of the CLI profile file (~/.aliyun/config.json, or --profile-file)
  3. the environment: {id} and {secret}
     (with {token} for STS keys)
  4. the profile named by {profile}, else the file's current one, else \"default\"
--role-arn then assumes a RAM role with them. Without --regions, the region is {region},
else the region of the profile {profile} names (or of the file's current one), else cn-hangzhou.

Exit codes:
  {EXIT_OK}    success
  {EXIT_API}    an API call failed (the message names the region, the API error code and the
       request id), or the output could not be written
  {EXIT_USAGE}    usage error: unknown flag, bad option value, --where, --select or table name
  {EXIT_CONFIG}    no credentials found, or a configuration that cannot be used (profile file, role)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)

Examples:
  alicloud-export alicloud_action_trail --regions '*' --output table
  alicloud-export alicloud_action_trail --select name,region,status \\
      --where \"region = 'cn-beijing' AND status <> 'Enable'\" --output csv
  alicloud-export alicloud_action_trail --where \"name IN ('audit', 'ops')\" --output jsonl",
        id = ACCESS_KEY_ID_VARS[0],
        secret = ACCESS_KEY_SECRET_VARS[0],
        token = SECURITY_TOKEN_VARS[0],
        profile = PROFILE_VARS[0],
        region = REGION_VARS[0],
    )
}

/// The command, flags generated from the option table included.
pub fn command() -> Command {
    let mut cmd = Command::new("alicloud-export")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Exports an Alibaba Cloud table as csv, json, jsonl or an aligned table")
        .arg(
            Arg::new("table")
                .value_name("TABLE")
                .help("The table to export, e.g. alicloud_action_trail (--list-tables lists them)")
                .required_unless_present("list_tables"),
        )
        .arg(
            Arg::new("select")
                .long("select")
                .short('s')
                .value_name("COLUMNS")
                .help("Comma-separated columns, in output order (default: every column, in table order)"),
        )
        .arg(
            Arg::new("where")
                .long("where")
                .short('w')
                .value_name("CONDITION")
                .allow_hyphen_values(true)
                .help("A SQL condition on the row, e.g. \"region = 'cn-beijing' AND status = 'Enable'\"; conditions on the key columns (--list-columns marks them) narrow the API calls"),
        )
        .arg(
            Arg::new("limit")
                .long("limit")
                .short('l')
                .value_name("N")
                .value_parser(value_parser!(u64))
                .help("Output at most N rows (counted after --where)"),
        )
        .arg(
            Arg::new("output")
                .long("output")
                .short('o')
                .value_name("FORMAT")
                .value_parser(FORMATS)
                .default_value("table")
                .help("Output format"),
        )
        .arg(
            Arg::new("list_tables")
                .long("list-tables")
                .action(ArgAction::SetTrue)
                .help("List the tables and exit"),
        )
        .arg(
            Arg::new("list_columns")
                .long("list-columns")
                .action(ArgAction::SetTrue)
                .help("List the columns of TABLE (name, type, description) and exit"),
        )
        .arg(
            Arg::new("no_progress")
                .long("no-progress")
                .action(ArgAction::SetTrue)
                .help("Never draw the progress bar (it is drawn only when stderr is a terminal)"),
        )
        .after_help(after_help())
        // A flag given twice: the last one counts, as in most command-line tools.
        .args_override_self(true)
        .arg_required_else_help(true);
    for def in portable() {
        cmd = cmd.arg(option_arg(def));
    }
    cmd
}

/// Reads the matches.
pub fn args(m: &ArgMatches) -> Args {
    let text = |id: &str| m.get_one::<String>(id).cloned();
    let options = portable()
        .filter_map(|d| text(d.name).map(|v| (d.name.to_string(), v)))
        .collect();
    Args {
        table: text("table"),
        select: text("select"),
        filter: text("where"),
        limit: m.get_one::<u64>("limit").copied(),
        output: text("output").unwrap_or_else(|| "table".to_string()),
        list_tables: m.get_flag("list_tables"),
        list_columns: m.get_flag("list_columns"),
        no_progress: m.get_flag("no_progress"),
        options,
    }
}

/// The values of secret flags on a command line, read before (and whatever) clap says about it,
/// so that no message quotes them.
pub fn secrets_in(argv: &[OsString]) -> Vec<String> {
    let flags: Vec<String> = OPTIONS
        .iter()
        .filter(|d| d.kind == ValueKind::Secret)
        .map(|d| format!("--{}", flag_name(d.name)))
        .collect();
    let mut found = Vec::new();
    let mut next_is_secret = false;
    for arg in argv.iter().map(|a| a.to_string_lossy()) {
        if next_is_secret {
            found.push(arg.to_string());
            next_is_secret = false;
            continue;
        }
        for flag in &flags {
            if arg == flag.as_str() {
                next_is_secret = true;
            } else if let Some(value) = arg.strip_prefix(&format!("{flag}=")) {
                found.push(value.to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_a_flag() {
        let cmd = command();
        for def in portable() {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == def.name)
                .unwrap_or_else(|| panic!("no flag for {}", def.name));
            assert_eq!(arg.get_long(), Some(flag_name(def.name).as_str()));
        }
        cmd.debug_assert();
    }

    #[test]
    fn flags_become_options() {
        let m = command()
            .try_get_matches_from([
                "alicloud-export",
                "alicloud_action_trail",
                "--timeout-ms",
                "250",
                "--regions=*",
                "-o",
                "csv",
            ])
            .unwrap();
        let a = args(&m);
        assert_eq!(a.output, "csv");
        assert_eq!(a.options["timeout_ms"], "250");
        assert_eq!(a.options["regions"], "*");
        assert_eq!(a.options.len(), 2);
        assert!(command()
            .try_get_matches_from(["alicloud-export", "t", "-o", "xml"])
            .is_err());
    }

    #[test]
    fn secret_flags_are_found_in_any_spelling() {
        let argv: Vec<OsString> = [
            "x",
            "--access-key-secret",
            "s1",
            "--security-token=s2",
            "--access-key-id",
            "id",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(secrets_in(&argv), ["s1", "s2"]);
    }
}
