//! `alicloud-export`: a table of the table layer (ActionTrail trails) as csv, json, jsonl or an
//! aligned table, configured with the same options as the PostgreSQL extension (as flags), the
//! environment and the Alibaba Cloud CLI profile file.
//!
//! A thin adapter: the table layer plans the calls, runs the fan-out with its partial-failure
//! policy, the snapshot and the shared cache; this binary reads flags, parses `--where`, races
//! the scan against Ctrl-C, draws the progress bar, filters, and writes the rows.

mod cli;
mod filter;
mod output;

use alicloud_tables::cache::Cache;
use alicloud_tables::connect::{connect, ConnectErrorKind, Connection, FrontEnd, LOCAL_PARTITION};
use alicloud_tables::options::{self, OptionError};
use alicloud_tables::plan::ScanPlan;
use alicloud_tables::scan::{
    configured_regions, Error, Fetch, Next, ScanData, ScanError, ScanReport,
};
use alicloud_tables::snapshot::Snapshot;
use alicloud_tables::table::{ColumnType, TableDef, Value};
use alicloud_tables::tables;
use alicloud_tables::wording::{self, describe, join, redact, Remedy, Wording};
use cli::{flag_name, EXIT_API, EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_USAGE};
use filter::Filter;
use std::ffi::OsString;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::Arc;

/// How the CLI names itself in requests (`User-Agent`) and in the roles it assumes.
const FRONT_END: FrontEnd = FrontEnd {
    name: "alicloud-export",
    version: env!("CARGO_PKG_VERSION"),
};

/// Why the export stopped: the exit code and what to tell the user.
#[derive(Debug)]
struct Failure {
    code: i32,
    message: String,
    detail: Vec<String>,
    hint: Option<String>,
    /// The message is complete as it is (clap's, with its usage lines).
    verbatim: bool,
}

impl Failure {
    fn new(code: i32, message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            detail: Vec::new(),
            hint,
            verbatim: false,
        }
    }

    fn usage(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure::new(EXIT_USAGE, message, hint)
    }

    fn interrupted() -> Failure {
        Failure::new(EXIT_INTERRUPTED, "interrupted", None)
    }

    /// Writing the output failed; when the reader went away (`| head`), it got what it wanted:
    /// a quiet success.
    fn output(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Failure::new(cli::EXIT_OK, "", None);
        }
        Failure::new(EXIT_API, format!("cannot write the output: {e}"), None)
    }

    /// Prints it on stderr.
    fn print(&self, secrets: &[String]) {
        let _ = io::stderr().write_all(self.render(secrets).as_bytes());
    }

    /// The text to print, every secret scrubbed.
    fn render(&self, secrets: &[String]) -> String {
        let scrub = |t: &str| redact(t, secrets);
        let mut text = if self.verbatim {
            scrub(&self.message)
        } else {
            format!("alicloud-export: error: {}\n", scrub(&self.message))
        };
        for d in &self.detail {
            text.push_str(&format!("  {}\n", scrub(d)));
        }
        if let Some(h) = &self.hint {
            text.push_str(&format!("hint: {}\n", scrub(h)));
        }
        text
    }
}

fn main() {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // Secrets given in the environment or on the command line are scrubbed from every message,
    // whatever stage it comes from; the profile file's are added once credentials resolve.
    let mut secrets: Vec<String> = alicloud_api::ACCESS_KEY_SECRET_VARS
        .iter()
        .chain(alicloud_api::SECURITY_TOKEN_VARS.iter())
        .filter_map(|v| std::env::var(v).ok())
        .collect();
    secrets.extend(cli::secrets_in(&argv));
    let code = match run(argv, &mut secrets) {
        Ok(()) => cli::EXIT_OK,
        Err(f) if f.code == cli::EXIT_OK => cli::EXIT_OK,
        Err(f) => {
            f.print(&secrets);
            f.code
        }
    };
    std::process::exit(code);
}

fn run(argv: Vec<OsString>, secrets: &mut Vec<String>) -> Result<(), Failure> {
    let matches = match cli::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return Ok(());
        }
        Err(e) => {
            return Err(Failure {
                verbatim: true,
                ..Failure::usage(e.render().to_string(), None)
            })
        }
    };
    let args = cli::args(&matches);
    if args.list_tables {
        let mut out = io::stdout().lock();
        for t in tables::TABLES {
            writeln!(out, "{}\t{}", t.name, t.description).map_err(Failure::output)?;
        }
        return Ok(());
    }
    let name = args.table.as_deref().unwrap_or_default();
    let table = tables::table(name).ok_or_else(|| {
        Failure::usage(
            format!("unknown table \"{name}\""),
            Some(format!("The tables are: {}.", tables::table_names())),
        )
    })?;
    if args.list_columns {
        return list_columns(table).map_err(Failure::output);
    }
    let selected = select(table, args.select.as_deref())?;
    let filter = args
        .filter
        .as_deref()
        .map(|w| filter::parse(w, table))
        .transpose()
        .map_err(|e| Failure::usage(e.message, e.hint))?;

    options::validate(
        args.options.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        None,
    )
    .map_err(option_failure)?;
    let connection = connect(&args.options, FRONT_END, LOCAL_PARTITION).map_err(|e| {
        secrets.extend(e.secrets.iter().cloned());
        match *e.kind {
            ConnectErrorKind::Option(o) => option_failure(o),
            ConnectErrorKind::Api(a) => api_failure(&a, None),
        }
    })?;
    secrets.extend(connection.secrets.iter().cloned());
    let settings = &connection.settings;

    let constraints = filter
        .as_ref()
        .map(|f| f.constraints(table))
        .unwrap_or_default();
    let plan = ScanPlan::new(table, &constraints);
    let mut needed = vec![false; table.columns.len()];
    for &i in selected
        .iter()
        .chain(filter.iter().flat_map(|f| f.columns()))
    {
        needed[i] = true;
    }
    let needs_account_id = table.needs_account_id((0..needed.len()).filter(|&i| needed[i]));
    let cache = Cache::for_user(settings);
    let snapshot = Arc::new(Snapshot::new());

    let bar = (!args.no_progress && io::stderr().is_terminal()).then(|| {
        let total = configured_regions(settings).map(|c| plan.regions(c).len());
        progress_bar(total)
    });
    let on_progress = |done: usize, total: usize| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    let fetch = Fetch {
        connection: &connection,
        snapshot: &snapshot,
        cache: cache.as_ref(),
        progress: bar.as_ref().map(|_| &on_progress as &dyn Fn(usize, usize)),
    };
    let runtime = alicloud_tables::connect::runtime()
        .map_err(|e| Failure::new(EXIT_API, format!("cannot start: {e}"), None))?;

    let writer = Writer {
        table,
        selected,
        needed,
        filter,
        limit: args.limit,
        format: args.output.clone(),
        more: More {
            connection: connection.clone(),
            snapshot: snapshot.clone(),
            cache: cache.clone(),
            runtime: runtime.handle().clone(),
            secrets: secrets.clone(),
        },
    };
    let mut report = ScanReport::default();
    let outcome = runtime.block_on(async {
        let interrupted = interrupt();
        tokio::pin!(interrupted);
        let scanned = tokio::select! {
            biased;
            _ = &mut interrupted => return Err(Failure::interrupted()),
            r = fetch.start(table, &plan, needs_account_id, &mut report) => r,
        };
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        warn_skipped(&report, secrets);
        let data = scanned.map_err(|e| scan_failure(&e))?;
        // The rows are written on a thread of their own, so that Ctrl-C still ends the export
        // while a slow reader (a pager) holds the output back; that thread asks this runtime for
        // a listing's next pages, while this thread drives it.
        let written = tokio::task::spawn_blocking(move || writer.write(data));
        tokio::select! {
            biased;
            _ = &mut interrupted => Err(Failure::interrupted()),
            r = written => r.unwrap_or_else(|e| Err(Failure::new(EXIT_API, format!("writing the output failed: {e}"), None))),
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // Not a plain drop: that would wait for the writing thread, which may be stuck on a reader
    // that stopped reading when Ctrl-C came.
    runtime.shutdown_background();
    outcome
}

/// Warns of the regions (or the rest of their listings) a scan step skipped.
fn warn_skipped(report: &ScanReport, secrets: &[String]) {
    for s in &report.skipped {
        let line = format!(
            "alicloud-export: warning: {}",
            s.warning("--ignore-error-codes")
        );
        eprintln!("{}", redact(&line, secrets));
    }
    for note in &report.notes {
        eprintln!(
            "{}",
            redact(&format!("alicloud-export: warning: {note}"), secrets)
        );
    }
}

/// Completes on SIGINT (Ctrl-C). Registered when called, before the scan starts, so that no
/// signal in between is lost; if no handler can be installed, it never completes.
fn interrupt() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        async move {
            match signal {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn progress_bar(total: Option<usize>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        total.map(|t| t as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} regions answered {pos}/{len} [{bar:30}] {elapsed}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// What the writing thread needs to fetch a listing's next pages: the scan's connection,
/// snapshot and cache, and the runtime the main thread drives.
struct More {
    connection: Connection,
    snapshot: Arc<Snapshot>,
    cache: Option<Cache>,
    runtime: tokio::runtime::Handle,
    secrets: Vec<String>,
}

impl More {
    fn fetch(&self, data: &mut ScanData) -> Result<(), Failure> {
        let fetch = Fetch {
            connection: &self.connection,
            snapshot: &self.snapshot,
            cache: self.cache.as_ref(),
            progress: None,
        };
        let mut report = ScanReport::default();
        let result = self.runtime.block_on(fetch.more(data, &mut report));
        warn_skipped(&report, &self.secrets);
        result.map_err(|e| scan_failure(&e))
    }
}

/// What the rows need once the scan has started: the table, the columns, the filter, the format,
/// and how to fetch more pages.
struct Writer {
    table: &'static TableDef,
    selected: Vec<usize>,
    needed: Vec<bool>,
    filter: Option<Filter>,
    limit: Option<u64>,
    format: String,
    more: More,
}

impl Writer {
    fn write(self, mut data: ScanData) -> Result<(), Failure> {
        let columns = self
            .selected
            .iter()
            .map(|&i| &self.table.columns[i])
            .collect();
        let out = BufWriter::new(io::stdout().lock());
        let mut sink = output::sink(&self.format, columns, out).map_err(Failure::output)?;
        let mut written = 0u64;
        loop {
            if self.limit.is_some_and(|l| written >= l) {
                break;
            }
            let row = match data.next_row() {
                Next::Row(row) => row,
                Next::End => break,
                Next::More => {
                    self.more.fetch(&mut data)?;
                    continue;
                }
                Next::OutOfOrder { region } => {
                    return Err(Failure::new(
                        EXIT_API,
                        format!(
                            "region {region} listed the rows of {} out of their order",
                            self.table.name
                        ),
                        None,
                    ))
                }
            };
            let object = row.object();
            let values: Vec<Value<'_>> = self
                .table
                .columns
                .iter()
                .zip(&self.needed)
                .map(|(c, &n)| {
                    if n {
                        row.value(&object, c)
                    } else {
                        Value::Null
                    }
                })
                .collect();
            if self.filter.as_ref().is_none_or(|f| f.matches(&values)) {
                let selected: Vec<&Value<'_>> = self.selected.iter().map(|&i| &values[i]).collect();
                sink.row(&selected).map_err(Failure::output)?;
                written += 1;
            }
        }
        sink.finish().map_err(Failure::output)
    }
}

/// `--select`: column names (any case), comma-separated; `*` or nothing is every column.
fn select(table: &TableDef, spec: Option<&str>) -> Result<Vec<usize>, Failure> {
    let all = || (0..table.columns.len()).collect();
    let Some(spec) = spec else {
        return Ok(all());
    };
    if spec.trim() == "*" {
        return Ok(all());
    }
    let mut out: Vec<usize> = Vec::new();
    for part in spec.split(',') {
        let name = part.trim().to_lowercase();
        if name.is_empty() {
            return Err(Failure::usage(
                format!("--select \"{spec}\" has an empty column name"),
                Some("Separate column names with single commas, e.g. --select name,region.".into()),
            ));
        }
        let Some(i) = table.column_index(&name) else {
            return Err(Failure::usage(
                format!("--select: unknown column \"{name}\" in {}", table.name),
                Some(table.columns_hint()),
            ));
        };
        if out.contains(&i) {
            return Err(Failure::usage(
                format!("--select names column \"{name}\" twice"),
                None,
            ));
        }
        out.push(i);
    }
    Ok(out)
}

fn list_columns(table: &TableDef) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let width = table
        .columns
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in table.columns {
        let ty = match c.ty {
            ColumnType::Text => "text",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Json => "json",
        };
        // Which conditions on the column narrow the calls.
        let key = match c.pushdown {
            Some(p) if p.equality_only() => "key =",
            Some(_) => "key <>=",
            None => "",
        };
        writeln!(out, "{:width$}  {ty:9}  {key:7}  {}", c.name, c.description)?;
    }
    Ok(())
}

/// How the CLI names its knobs: flags.
struct Flags;

impl Wording for Flags {
    fn option(&self, name: &str) -> String {
        format!("--{}", flag_name(name))
    }

    fn options(&self, names: &[&str]) -> String {
        let flags: Vec<String> = names.iter().map(|n| self.option(n)).collect();
        join(&flags, "and")
    }

    fn name(&self, name: &str) -> String {
        self.option(name)
    }

    fn settings(&self, names: &[&str], conj: &str) -> String {
        let flags: Vec<String> = names.iter().map(|n| self.option(n)).collect();
        join(&flags, conj)
    }

    /// Each flag with the environment variable that gives the same (the CLI's first source).
    fn credentials(&self, names: &[&str], conj: &str, _existing: bool) -> String {
        let each: Vec<String> = names
            .iter()
            .map(|n| {
                let var = match *n {
                    "access_key_id" => Some(alicloud_api::ACCESS_KEY_ID_VARS[0]),
                    "access_key_secret" => Some(alicloud_api::ACCESS_KEY_SECRET_VARS[0]),
                    "security_token" => Some(alicloud_api::SECURITY_TOKEN_VARS[0]),
                    _ => None,
                };
                match var {
                    Some(v) => format!("{} or {v}", self.option(n)),
                    None => self.option(n),
                }
            })
            .collect();
        join(&each, conj)
    }

    fn host(&self) -> &'static str {
        "this machine"
    }

    /// The environment and the profile file are the CLI's first credential sources, and
    /// `--ignore-error-codes` skips a refusing region.
    fn remedy(&self, remedy: Remedy) -> Option<String> {
        let id = alicloud_api::ACCESS_KEY_ID_VARS[0];
        let secret = alicloud_api::ACCESS_KEY_SECRET_VARS[0];
        Some(match remedy {
            Remedy::ProvideCredentials => format!("Set {id} and {secret} in the environment, or name a profile of the CLI profile file with --profile (see alicloud-export --help)."),
            Remedy::GrantPermission => format!("{} To skip regions that refuse, add the code to --ignore-error-codes.", Remedy::GrantPermission.neutral()),
            _ => return None,
        })
    }
}

fn option_failure(e: OptionError) -> Failure {
    let hint = match &e {
        OptionError::BadValue { hint, .. } => hint.clone(),
        _ => None,
    };
    Failure::usage(describe(&e, &Flags), hint)
}

/// What to do about a failure, with the CLI's knobs: flags, environment variables, the profile.
fn hint(remedy: Remedy) -> String {
    wording::hint(remedy, &Flags)
}

/// A failed call (exit 1), or credentials/configuration that cannot be used (exit 3).
fn api_failure(e: &Error, others: Option<&str>) -> Failure {
    let code = match e {
        Error::Credentials { .. } | Error::Config { .. } => EXIT_CONFIG,
        _ => EXIT_API,
    };
    Failure {
        detail: e
            .detail()
            .into_iter()
            .chain(others.map(str::to_string))
            .collect(),
        ..Failure::new(code, e.to_string(), e.remedy().map(hint))
    }
}

fn scan_failure(e: &ScanError) -> Failure {
    api_failure(&e.error, e.others.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_messages_name_flags() {
        let e = options::validate([("access_key_id", "x")], None).unwrap_err();
        let f = option_failure(e);
        assert_eq!(f.code, EXIT_USAGE);
        assert_eq!(
            f.message,
            "--access-key-id needs --access-key-secret with it"
        );
        let e = options::validate([("timeout_ms", "0")], None).unwrap_err();
        let f = option_failure(e);
        assert!(
            f.message.starts_with("invalid value for --timeout-ms: "),
            "{}",
            f.message
        );
        assert!(f.hint.is_some());
    }

    #[test]
    fn messages_are_scrubbed() {
        let f = Failure {
            detail: vec!["detail TopSecret%2Bvalue".into()],
            ..Failure::new(
                EXIT_API,
                "failed with TopSecret+value",
                Some("hint TopSecret+value".into()),
            )
        };
        let text = f.render(&["TopSecret+value".to_string()]);
        assert!(!text.contains("TopSecret"), "{text}");
        assert_eq!(text.matches("<redacted>").count(), 3, "{text}");
    }

    #[test]
    fn select_lists() {
        let t = tables::table("alicloud_action_trail").unwrap();
        assert_eq!(select(t, None).unwrap().len(), t.columns.len());
        assert_eq!(select(t, Some(" * ")).unwrap().len(), t.columns.len());
        assert_eq!(select(t, Some("Region, name")).unwrap(), [2, 0]);
        for bad in ["", "name,", "name,,region", "nope", "name,name"] {
            assert_eq!(select(t, Some(bad)).unwrap_err().code, EXIT_USAGE, "{bad}");
        }
        let e = select(t, Some("nope")).unwrap_err();
        assert!(e.hint.unwrap().contains("home_region"));
    }
}
