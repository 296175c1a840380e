//! The option vocabulary every front end shares: one table of names, where each belongs, how its
//! value is checked (bounds written once, here), and which are privileged; then the checked values
//! as [`Settings`] (how to call the API) and a credential chain (whose credentials).
//!
//! The PostgreSQL extension maps [`Scope::Connection`] to server options and
//! [`Scope::Credentials`] to user mapping options, and allows privileged options to superusers
//! only. The SQLite extension takes them as the keys of its configure function's JSON, the export
//! CLI as flags of the same names.

use alicloud_api::{
    parse_base_url, validate_region_id, ClientConfig, CredentialChain, Endpoint, Product,
    RetryPolicy,
};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Where an option belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// How and where to call the API (a PostgreSQL server's options).
    Connection,
    /// Whose credentials to sign with (a PostgreSQL user mapping's options).
    Credentials,
}

/// How a value is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// `*`, or a comma-separated list of region ids.
    Regions,
    /// A URL template with an optional `{region}`.
    Endpoint,
    /// `public` or `vpc`.
    EndpointType,
    /// A base URL without placeholders.
    BaseUrl,
    /// A whole number of milliseconds, 1 ms to 1 day.
    Millis,
    /// A whole number within bounds, in the unit the name says.
    Number(RangeInclusive<u64>),
    /// A comma-separated list of API error codes.
    CodeList,
    /// A comma-separated list of account ids (digits).
    AccountList,
    /// A comma-separated list of server names, each possibly with `*` wildcards.
    ServerPatterns,
    /// `error` or `skip`.
    MemberFailure,
    /// An STS external id: 2 to 1224 characters.
    ExternalId,
    /// Free text, not empty.
    Text,
    /// Text never echoed in any message, not empty.
    Secret,
}

/// One option.
#[derive(Debug)]
pub struct OptionDef {
    /// Its name, the same in every front end.
    pub name: &'static str,
    /// Where it belongs.
    pub scope: Scope,
    /// How its value is checked.
    pub kind: ValueKind,
    /// It can send requests to any host or read the host machine's files or credentials, so a
    /// front end that serves several users lets only its administrators set it.
    pub privileged: bool,
    /// One line for help texts.
    pub help: &'static str,
}

const fn def(
    name: &'static str,
    scope: Scope,
    kind: ValueKind,
    privileged: bool,
    help: &'static str,
) -> OptionDef {
    OptionDef {
        name,
        scope,
        kind,
        privileged,
        help,
    }
}

/// The bounds of the `*_ms` options: 1 ms to a day.
const MILLIS: RangeInclusive<u64> = 1..=86_400_000;
/// The bounds of `max_attempts`.
const ATTEMPTS: RangeInclusive<u64> = 1..=10;
/// The bounds of `max_concurrency`.
const CONCURRENCY: RangeInclusive<u64> = 1..=1_000;
/// The bounds of `cache_ttl`, in seconds (a day at most).
const CACHE_TTL: RangeInclusive<u64> = 0..=86_400;
/// The bounds of `cache_max_mb`.
const CACHE_MAX_MB: RangeInclusive<u64> = 1..=10_240;
/// The bounds of `member_session_duration`, in seconds (STS's own).
const ROLE_DURATION: RangeInclusive<u64> = 900..=43_200;
/// The bounds of `max_response_mb`.
const RESPONSE_MAX_MB: RangeInclusive<u64> = 1..=1_024;

/// The default of `cache_ttl`, in seconds.
pub const DEFAULT_CACHE_TTL_SECONDS: u64 = 300;
/// The default of `cache_max_mb`.
pub const DEFAULT_CACHE_MAX_MB: u64 = 64;
/// The region used when `regions` is not given and the environment names none.
pub const FALLBACK_REGION: &str = "cn-hangzhou";

use Scope::{Connection, Credentials};
use ValueKind::*;

/// Every option, in the order help texts list them.
pub static OPTIONS: &[OptionDef] = &[
    def("regions", Connection, Regions, false, "the regions to call: a comma-separated list of region ids, or * for every region"),
    def("endpoint_type", Connection, EndpointType, false, "public (the Internet endpoints, default) or vpc (the endpoints inside Alibaba Cloud's VPC network)"),
    def("endpoint", Connection, Endpoint, true, "the ActionTrail endpoint: a URL, {region} replaced by the region id"),
    def("sts_endpoint", Connection, Endpoint, true, "the STS endpoint: a URL, {region} replaced by the first region"),
    def("resourcemanager_endpoint", Connection, Endpoint, true, "the Resource Manager endpoint (member_accounts 'directory'): a URL"),
    def("ecs_metadata_endpoint", Connection, BaseUrl, true, "the ECS instance metadata service, for the ECS instance role"),
    def("connect_timeout_ms", Connection, Millis, false, "time limit for opening a connection (default 5000)"),
    def("timeout_ms", Connection, Millis, false, "time limit for one attempt of a call (default 10000)"),
    def("deadline_ms", Connection, Millis, false, "time limit for a call with all its retries (default none)"),
    def("max_attempts", Connection, Number(ATTEMPTS), false, "attempts per call, the first included (default 3)"),
    def("max_concurrency", Connection, Number(CONCURRENCY), false, "the most calls at once: a server's regions (default: all of them); with members, over all the members (default 900)"),
    def("retry_base_delay_ms", Connection, Millis, false, "the first backoff's upper bound (default 500)"),
    def("ignore_error_codes", Connection, CodeList, false, "API error codes that skip a region instead of failing"),
    def("max_response_mb", Connection, Number(RESPONSE_MAX_MB), false, "the largest answer read, in MiB (default 16)"),
    def("cache_ttl", Connection, Number(CACHE_TTL), false, "seconds an answer is reused; 0 turns the cache off (default 300)"),
    def("cache_max_mb", Connection, Number(CACHE_MAX_MB), false, "the cache's size limit, in MiB (default 64)"),
    def("member_servers", Connection, ServerPatterns, false, "scan these foreign servers of the wrapper (comma-separated names and * patterns, matched at every scan), each with its own options and the user's mapping for it (PostgreSQL only)"),
    def("member_accounts", Connection, AccountList, false, "scan these accounts (comma-separated ids, or directory for the joined accounts of the resource directory), each by assuming member_role_name in it"),
    def("member_role_name", Connection, Text, false, "the RAM role assumed in each member account"),
    def("member_session_duration", Connection, Number(ROLE_DURATION), false, "seconds the member role sessions last (default 3600)"),
    def("member_external_id", Connection, ExternalId, false, "the external id the member roles' trust policies ask for (2 to 1224 characters)"),
    def("member_failure", Connection, MemberFailure, false, "error (default): a failed member fails the query; skip: a warning, and the other members' rows"),
    def("access_key_id", Credentials, Text, false, "an access key id"),
    def("access_key_secret", Credentials, Secret, false, "its secret"),
    def("security_token", Credentials, Secret, false, "the security token of an STS key pair"),
    def("profile", Credentials, Text, true, "a profile of the Alibaba Cloud CLI profile file"),
    def("profile_file", Credentials, Text, true, "the CLI profile file to read instead of ~/.aliyun/config.json"),
    def("role_arn", Credentials, Text, false, "a RAM role to assume with the credentials found"),
    def("role_session_name", Credentials, Text, false, "the session name of the assumed role"),
];

/// The option called `name`.
pub fn option(name: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|d| d.name == name)
}

/// What is wrong with a set of options; each front end words it with its own names for scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// No option has this name. `valid` lists those of the scope where it was given.
    UnknownName {
        /// The name given.
        name: String,
        /// The valid names there.
        valid: Vec<&'static str>,
    },
    /// The option exists, but belongs elsewhere.
    Misplaced {
        /// The option.
        name: &'static str,
        /// Where it belongs.
        belongs: Scope,
    },
    /// The value is not acceptable. `why` never quotes a secret.
    BadValue {
        /// The option.
        name: &'static str,
        /// What is wrong.
        why: String,
        /// How to write it.
        hint: Option<String>,
    },
    /// Options that do not go together.
    Conflict {
        /// The option given.
        option: &'static str,
        /// The rule it breaks.
        rule: Rule,
    },
}

/// A rule about which credential options go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The option needs these others given with it (`why`: the reason, when it is not plain).
    Needs {
        /// The options it needs.
        others: &'static [&'static str],
        /// Whether it is useless alone ("with it") rather than dependent.
        with_it: bool,
        /// Why, when it helps.
        why: Option<&'static str>,
    },
    /// The option and this other one are alternatives: give one of them.
    AlternativeTo(&'static str),
}

/// The message in the plain words of option names (`option "timeout_ms"`); each front end words it
/// its own way with [`crate::wording::describe`].
impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::wording::describe(
            self,
            &crate::wording::OptionNames,
        ))
    }
}

impl std::error::Error for OptionError {}

fn bad(name: &'static str, why: impl Into<String>, hint: Option<&str>) -> OptionError {
    OptionError::BadValue {
        name,
        why: why.into(),
        hint: hint.map(str::to_string),
    }
}

/// Checks options given in one `scope` (`None`: any scope, for front ends with one flat set):
/// known names in their place, each value, and the combinations of credential options.
pub fn validate<'a>(
    options: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    scope: Option<Scope>,
) -> Result<(), OptionError> {
    for (name, value) in options.clone() {
        let Some(def) = option(name) else {
            let valid = OPTIONS
                .iter()
                .filter(|d| scope.is_none_or(|s| d.scope == s))
                .map(|d| d.name)
                .collect();
            return Err(OptionError::UnknownName {
                name: name.to_string(),
                valid,
            });
        };
        if scope.is_some_and(|s| s != def.scope) {
            return Err(OptionError::Misplaced {
                name: def.name,
                belongs: def.scope,
            });
        }
        check_value(def, value)?;
    }
    let given = |scope: Scope| -> Vec<&str> {
        options
            .clone()
            .into_iter()
            .filter(|(n, _)| option(n).is_some_and(|d| d.scope == scope))
            .map(|(n, _)| n)
            .collect()
    };
    if scope != Some(Scope::Connection) {
        check_credential_combination(&given(Scope::Credentials))?;
    }
    if scope != Some(Scope::Credentials) {
        check_member_combination(&given(Scope::Connection))?;
    }
    Ok(())
}

/// The options only the PostgreSQL extension takes: they name its catalog's objects.
pub const POSTGRES_ONLY: &[&str] = &["member_servers"];

/// The options of the front ends that run as the user (the SQLite extension, the export CLI):
/// every option but [`POSTGRES_ONLY`].
pub fn portable() -> impl Iterator<Item = &'static OptionDef> {
    OPTIONS.iter().filter(|d| !POSTGRES_ONLY.contains(&d.name))
}

/// `member_accounts` and `member_role_name` go together, and the role options need them;
/// `member_servers` is the alternative to both; `member_failure` needs one kind of members.
fn check_member_combination(given: &[&str]) -> Result<(), OptionError> {
    let has = |k: &str| given.contains(&k);
    let needs = |option, others| {
        Err(OptionError::Conflict {
            option,
            rule: Rule::Needs {
                others,
                with_it: false,
                why: None,
            },
        })
    };
    if has("member_servers") {
        for name in ["member_accounts", "member_role_name"] {
            if has(name) {
                return Err(OptionError::Conflict {
                    option: "member_servers",
                    rule: Rule::AlternativeTo(name),
                });
            }
        }
    }
    if has("member_accounts") && !has("member_role_name") {
        return needs("member_accounts", &["member_role_name"]);
    }
    for name in [
        "member_role_name",
        "member_session_duration",
        "member_external_id",
    ] {
        if has(name) && !has("member_accounts") {
            return needs(name, &["member_accounts"]);
        }
    }
    if has("member_failure") && !has("member_accounts") && !has("member_servers") {
        return needs("member_failure", &["member_accounts", "member_servers"]);
    }
    Ok(())
}

fn check_value(def: &OptionDef, value: &str) -> Result<(), OptionError> {
    let name = def.name;
    match &def.kind {
        Regions => parse_regions(value).map(|_| ()),
        Endpoint => alicloud_api::Endpoint::parse(value)
            .map(|_| ())
            .map_err(|e| bad(name, e.to_string(), None)),
        EndpointType => parse_endpoint_type(value).map(|_| ()),
        BaseUrl => parse_base_url(value)
            .map(|_| ())
            .map_err(|e| bad(name, e.to_string(), None)),
        Millis => number(name, value, &MILLIS).map(|_| ()),
        Number(range) => number(name, value, range).map(|_| ()),
        CodeList => {
            let codes = split_list(value);
            let is_code = |c: &str| {
                c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
            };
            match codes.iter().find(|c| !is_code(c)) {
                Some(b) => Err(bad(
                    name,
                    format!("\"{b}\" is not an API error code"),
                    Some("Give a comma-separated list of codes, for example 'Forbidden.RAM,InvalidAccessKeyId.NotFound'."),
                )),
                None if codes.is_empty() => Err(bad(name, "the list is empty", None)),
                None => Ok(()),
            }
        }
        AccountList => parse_accounts(name, value).map(|_| ()),
        ServerPatterns => parse_server_patterns(name, value).map(|_| ()),
        MemberFailure => parse_member_failure(value).map(|_| ()),
        ExternalId if !(2..=1224).contains(&value.chars().count()) => {
            Err(bad(name, "it must be 2 to 1224 characters long", None))
        }
        ExternalId => Ok(()),
        Text if value.trim().is_empty() => Err(bad(name, "it must not be empty", None)),
        Secret if value.is_empty() => Err(bad(name, "it must not be empty", None)),
        Text | Secret => Ok(()),
    }
}

fn check_credential_combination(given: &[&str]) -> Result<(), OptionError> {
    let has = |k: &str| given.contains(&k);
    let conflict = |option, rule| Err(OptionError::Conflict { option, rule });
    let needs = |others, with_it, why| Rule::Needs {
        others,
        with_it,
        why,
    };
    if has("access_key_id") && !has("access_key_secret") {
        return conflict("access_key_id", needs(&["access_key_secret"], true, None));
    }
    if has("access_key_secret") && !has("access_key_id") {
        return conflict("access_key_secret", needs(&["access_key_id"], true, None));
    }
    if has("security_token") && !has("access_key_id") {
        return conflict(
            "security_token",
            needs(
                &["access_key_id", "access_key_secret"],
                false,
                Some("the STS key pair it belongs to"),
            ),
        );
    }
    if has("profile") && has("access_key_id") {
        return conflict("profile", Rule::AlternativeTo("access_key_id"));
    }
    if has("role_session_name") && !has("role_arn") {
        return conflict("role_session_name", needs(&["role_arn"], false, None));
    }
    Ok(())
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(
    name: &'static str,
    value: &str,
    range: &RangeInclusive<u64>,
) -> Result<u64, OptionError> {
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(bad(
            name,
            format!("\"{value}\""),
            Some(&format!(
                "Give a whole number from {} to {}.",
                range.start(),
                range.end()
            )),
        )),
    }
}

/// The value of `member_accounts` that names the accounts of the caller's resource directory.
pub const DIRECTORY: &str = "directory";

/// Whether `id` has the form of an Alibaba Cloud account id: 1 to 32 digits.
pub fn is_account_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// Reads a list of account ids: digits, each once, at least one; or [`DIRECTORY`] (an empty
/// list).
fn parse_accounts(name: &'static str, value: &str) -> Result<Vec<String>, OptionError> {
    const HINT: &str = "Give a comma-separated list of account ids, for example '1111111111111111,2222222222222222', or 'directory' for the accounts of your resource directory.";
    if value.trim() == DIRECTORY {
        return Ok(Vec::new());
    }
    let mut list = Vec::new();
    for id in split_list(value) {
        if !is_account_id(&id) {
            return Err(bad(
                name,
                format!("\"{id}\" is not an account id"),
                Some(HINT),
            ));
        }
        if !list.contains(&id) {
            list.push(id);
        }
    }
    if list.is_empty() {
        return Err(bad(name, "the list is empty", Some(HINT)));
    }
    Ok(list)
}

/// Reads a list of server names and `*` patterns: each once, at least one.
fn parse_server_patterns(name: &'static str, value: &str) -> Result<Vec<String>, OptionError> {
    const HINT: &str = "Give a comma-separated list of foreign server names, each possibly with * for any characters, for example 'acct_*, audit'.";
    let mut list = Vec::new();
    for pattern in split_list(value) {
        if !list.contains(&pattern) {
            list.push(pattern);
        }
    }
    if list.is_empty() {
        return Err(bad(name, "the list is empty", Some(HINT)));
    }
    Ok(list)
}

/// Whether server name `name` matches `pattern`, where `*` stands for any characters (none
/// included) and everything else for itself.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The foreign servers a server scans as its members (`member_servers`), each with its own
/// options and the user's mapping for it: resolved by the front end at every scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMembers {
    /// The names and patterns, in the order given.
    pub patterns: Vec<String>,
    /// What a failed member does.
    pub failure: MemberFailure,
}

impl ServerMembers {
    /// The patterns, as the option gave them.
    pub fn text(&self) -> String {
        self.patterns.join(", ")
    }
}

/// What a scan over member accounts does when one of them fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberFailure {
    /// The query fails.
    Error,
    /// A warning names the member, and the other members' rows are returned; when every member
    /// fails, the query fails all the same.
    Skip,
}

fn parse_member_failure(value: &str) -> Result<MemberFailure, OptionError> {
    match value.trim() {
        "error" => Ok(MemberFailure::Error),
        "skip" => Ok(MemberFailure::Skip),
        other => Err(bad(
            "member_failure",
            format!("\"{other}\""),
            Some("Give error or skip."),
        )),
    }
}

/// The accounts a server scans by assuming a role in each (`member_accounts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// The account ids, in the order given (none with `directory`).
    pub accounts: Vec<String>,
    /// The accounts are those of the caller's resource directory that have joined it, listed
    /// with `ListAccounts` when a scan starts.
    pub directory: bool,
    /// The role assumed in each.
    pub role_name: String,
    /// The role sessions' length, in seconds.
    pub session_duration: Option<u32>,
    /// The external id the roles' trust policies ask for.
    pub external_id: Option<String>,
    /// What a failed member does.
    pub failure: MemberFailure,
}

impl Members {
    /// The ARN of the role in `account`.
    pub fn role_arn(&self, account: &str) -> String {
        format!("acs:ram::{account}:role/{}", self.role_name)
    }
}

/// The `regions` option: `*` (every region `DescribeRegions` reports) or a list of region ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Regions {
    /// Every region ActionTrail serves.
    All,
    /// These regions, in this order, without repeats.
    List(Vec<String>),
}

/// Reads the value of `regions`.
pub fn parse_regions(value: &str) -> Result<Regions, OptionError> {
    const HINT: &str = "Give a comma-separated list of region ids, or '*' for every region.";
    if value.trim() == "*" {
        return Ok(Regions::All);
    }
    let mut list = Vec::new();
    for r in split_list(value) {
        validate_region_id(&r).map_err(|e| bad("regions", e.to_string(), Some(HINT)))?;
        if !list.contains(&r) {
            list.push(r);
        }
    }
    if list.is_empty() {
        return Err(bad("regions", "the list is empty", Some(HINT)));
    }
    Ok(Regions::List(list))
}

fn parse_endpoint_type(value: &str) -> Result<bool, OptionError> {
    match value.trim() {
        "public" => Ok(false),
        "vpc" => Ok(true),
        other => Err(bad(
            "endpoint_type",
            format!("\"{other}\""),
            Some("Give public or vpc."),
        )),
    }
}

/// A set of options already checked by [`validate`]: typed reads with the bounds of the table.
struct Checked<'a>(&'a BTreeMap<String, String>);

impl Checked<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn number(&self, name: &'static str) -> Result<Option<u64>, OptionError> {
        let range = match option(name).map(|d| &d.kind) {
            Some(Number(r)) => r.clone(),
            _ => MILLIS,
        };
        self.get(name).map(|v| number(name, v, &range)).transpose()
    }

    fn millis(&self, name: &'static str) -> Result<Option<Duration>, OptionError> {
        Ok(self.number(name)?.map(Duration::from_millis))
    }

    fn endpoint(&self, name: &'static str) -> Result<Option<Endpoint>, OptionError> {
        self.get(name)
            .map(|v| Endpoint::parse(v).map_err(|e| bad(name, e.to_string(), None)))
            .transpose()
    }
}

/// How to call the API: the connection options, checked, with defaults applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The regions a scan calls (before pushdown narrows them).
    pub regions: Regions,
    /// The client's configuration.
    pub client: ClientConfig,
    /// API error codes that skip a region (with a warning) instead of failing the scan.
    pub ignore_error_codes: Vec<String>,
    /// How long an answer may be reused; zero: not at all.
    pub cache_ttl: Duration,
    /// The cache's size limit, in bytes.
    pub cache_max_bytes: u64,
    /// The member accounts, when the server scans several by assuming a role in each.
    pub members: Option<Members>,
    /// The member servers, when the server scans other servers.
    pub member_servers: Option<ServerMembers>,
}

impl Settings {
    /// Reads connection options (credential options are ignored here). `default_region` is asked
    /// only when `regions` is absent (the environment's region); `None` means [`FALLBACK_REGION`].
    pub fn from_options(
        options: &BTreeMap<String, String>,
        default_region: impl FnOnce() -> Option<String>,
    ) -> Result<Settings, OptionError> {
        let connection: Vec<(&str, &str)> = options
            .iter()
            .filter(|(k, _)| option(k).is_none_or(|d| d.scope == Scope::Connection))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        validate(connection, Some(Scope::Connection))?;
        let o = Checked(options);
        let regions = match o.get("regions") {
            Some(v) => parse_regions(v)?,
            None => Regions::List(vec![
                default_region().unwrap_or_else(|| FALLBACK_REGION.to_string())
            ]),
        };
        let vpc = o
            .get("endpoint_type")
            .map(parse_endpoint_type)
            .transpose()?
            == Some(true);
        let mut client = ClientConfig::default();
        let product_default = |p| {
            if vpc {
                Endpoint::Vpc(p)
            } else {
                Endpoint::Default(p)
            }
        };
        client.actiontrail_endpoint = o
            .endpoint("endpoint")?
            .unwrap_or(product_default(Product::ActionTrail));
        client.sts_endpoint = o
            .endpoint("sts_endpoint")?
            .unwrap_or(product_default(Product::Sts));
        client.resourcemanager_endpoint = o
            .endpoint("resourcemanager_endpoint")?
            .unwrap_or(product_default(Product::ResourceManager));
        if let Some(base) = o.get("ecs_metadata_endpoint") {
            client.ecs_metadata_base = parse_base_url(base)
                .map_err(|e| bad("ecs_metadata_endpoint", e.to_string(), None))?;
        }
        if let Some(d) = o.millis("connect_timeout_ms")? {
            client.connect_timeout = d;
        }
        if let Some(d) = o.millis("timeout_ms")? {
            client.attempt_timeout = d;
        }
        client.deadline = o.millis("deadline_ms")?;
        let mut retry = RetryPolicy::default();
        if let Some(n) = o.number("max_attempts")? {
            retry.max_attempts = n as u32;
        }
        if let Some(d) = o.millis("retry_base_delay_ms")? {
            retry.base_delay = d;
        }
        client.retry = retry;
        client.max_concurrency = o.number("max_concurrency")?.map(|n| n as usize);
        if let Some(mb) = o.number("max_response_mb")? {
            client.max_response_bytes = mb * 1024 * 1024;
        }
        if let Regions::List(l) = &regions {
            client.global_region = l[0].clone();
        }
        Ok(Settings {
            regions,
            client,
            ignore_error_codes: o
                .get("ignore_error_codes")
                .map(split_list)
                .unwrap_or_default(),
            cache_ttl: Duration::from_secs(
                o.number("cache_ttl")?.unwrap_or(DEFAULT_CACHE_TTL_SECONDS),
            ),
            cache_max_bytes: o.number("cache_max_mb")?.unwrap_or(DEFAULT_CACHE_MAX_MB)
                * 1024
                * 1024,
            members: members(&o)?,
            member_servers: o
                .get("member_servers")
                .map(|v| -> Result<ServerMembers, OptionError> {
                    Ok(ServerMembers {
                        patterns: parse_server_patterns("member_servers", v)?,
                        failure: member_failure(&o)?,
                    })
                })
                .transpose()?,
        })
    }
}

/// The member settings, from options checked by [`validate`] (so `member_role_name` is there
/// when `member_accounts` is).
fn members(o: &Checked) -> Result<Option<Members>, OptionError> {
    let (Some(accounts), Some(role_name)) = (o.get("member_accounts"), o.get("member_role_name"))
    else {
        return Ok(None);
    };
    Ok(Some(Members {
        accounts: parse_accounts("member_accounts", accounts)?,
        directory: accounts.trim() == DIRECTORY,
        role_name: role_name.trim().to_string(),
        session_duration: o.number("member_session_duration")?.map(|n| n as u32),
        external_id: o.get("member_external_id").map(str::to_string),
        failure: member_failure(o)?,
    }))
}

/// `member_failure`, `error` when absent.
fn member_failure(o: &Checked) -> Result<MemberFailure, OptionError> {
    Ok(o.get("member_failure")
        .map(parse_member_failure)
        .transpose()?
        .unwrap_or(MemberFailure::Error))
}

/// Whether the credential options give access keys of their own (as opposed to leaving the
/// credentials to the host's environment, profile file or instance role).
pub fn has_own_keys(options: &BTreeMap<String, String>) -> bool {
    options.contains_key("access_key_id") && options.contains_key("access_key_secret")
}

/// The credential options' values that must never be shown.
pub fn secrets(options: &BTreeMap<String, String>) -> Vec<String> {
    OPTIONS
        .iter()
        .filter(|d| d.kind == Secret)
        .filter_map(|d| options.get(d.name).cloned())
        .collect()
}

/// Applies the credential options to `chain` (normally the process's own, which supplies the
/// environment, the profile file and the instance role when the options give no keys).
pub fn credential_chain(
    options: &BTreeMap<String, String>,
    chain: CredentialChain,
) -> CredentialChain {
    let get = |k: &str| options.get(k).cloned();
    let mut chain = chain.explicit_key_parts(
        get("access_key_id"),
        get("access_key_secret"),
        get("security_token"),
    );
    if let Some(p) = get("profile") {
        chain = chain.profile(p);
    }
    if let Some(f) = get("profile_file") {
        chain = chain.profile_file(f.into());
    }
    if let Some(role) = get("role_arn") {
        chain = chain.role_arn(role, get("role_session_name"), None);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn check(pairs: &[(&str, &str)], scope: Option<Scope>) -> Result<(), OptionError> {
        validate(pairs.iter().copied(), scope)
    }

    #[test]
    fn connection_options() {
        check(
            &[
                ("regions", "cn-hangzhou, cn-beijing"),
                ("max_attempts", "3"),
            ],
            Some(Connection),
        )
        .unwrap();
        check(
            &[
                ("regions", "*"),
                ("endpoint_type", "vpc"),
                ("cache_ttl", "0"),
            ],
            Some(Connection),
        )
        .unwrap();
        match check(&[("regoins", "x")], Some(Connection)).unwrap_err() {
            OptionError::UnknownName { name, valid } => {
                assert_eq!(name, "regoins");
                assert!(valid.starts_with(&["regions", "endpoint_type", "endpoint"]));
                assert!(!valid.contains(&"access_key_id"));
            }
            other => panic!("{other:?}"),
        }
        let e = check(&[("regions", "cn_hangzhou")], Some(Connection)).unwrap_err();
        assert!(e.to_string().contains("cn_hangzhou"), "{e}");
        for bad in [
            ("max_attempts", "0"),
            ("timeout_ms", "-1"),
            ("endpoint", "ftp://x"),
            ("endpoint", "http://127.0.0.1:99999/"),
            ("endpoint_type", "intranet"),
            ("cache_ttl", "86401"),
            ("max_concurrency", "1001"),
            ("max_response_mb", "0"),
        ] {
            assert!(check(&[bad], Some(Connection)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_misplaced_in_connection_options_and_never_echoed() {
        let e = check(&[("access_key_secret", "TOPSECRET")], Some(Connection)).unwrap_err();
        assert_eq!(
            e,
            OptionError::Misplaced {
                name: "access_key_secret",
                belongs: Scope::Credentials
            }
        );
        assert!(!format!("{e:?}{e}").contains("TOPSECRET"));
        // With one flat set of options (SQLite, the CLI), they are fine.
        check(
            &[
                ("access_key_id", "a"),
                ("access_key_secret", "b"),
                ("regions", "*"),
            ],
            None,
        )
        .unwrap();
    }

    #[test]
    fn credential_combinations() {
        check(
            &[("access_key_id", "a"), ("access_key_secret", "b")],
            Some(Credentials),
        )
        .unwrap();
        check(&[("profile", "p")], Some(Credentials)).unwrap();
        for bad in [
            &[("access_key_id", "a")][..],
            &[("security_token", "t")],
            &[
                ("profile", "p"),
                ("access_key_id", "a"),
                ("access_key_secret", "b"),
            ],
            &[("role_session_name", "s")],
            &[("regions", "cn-hangzhou")],
        ] {
            assert!(check(bad, Some(Credentials)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_and_parsing() {
        let s = Settings::from_options(&BTreeMap::new(), || Some("cn-shanghai".into())).unwrap();
        assert_eq!(s.regions, Regions::List(vec!["cn-shanghai".into()]));
        let s = Settings::from_options(&BTreeMap::new(), || None).unwrap();
        assert_eq!(s.regions, Regions::List(vec!["cn-hangzhou".into()]));
        assert_eq!(s.client.retry.max_attempts, 3);
        assert_eq!(
            s.client.max_concurrency, None,
            "every region at once by default"
        );
        assert_eq!(s.cache_ttl, Duration::from_secs(300));
        assert_eq!(
            s.client.actiontrail_endpoint,
            Endpoint::Default(Product::ActionTrail)
        );
        let m = map(&[
            ("regions", "cn-beijing,cn-beijing"),
            ("timeout_ms", "250"),
            ("ignore_error_codes", "Forbidden.RAM, NoPermission"),
            ("endpoint_type", "vpc"),
            ("max_response_mb", "2"),
            ("cache_ttl", "0"),
            ("access_key_id", "ignored here"),
        ]);
        let s = Settings::from_options(&m, || panic!("regions is set: no default needed")).unwrap();
        assert_eq!(s.regions, Regions::List(vec!["cn-beijing".into()]));
        assert_eq!(s.client.attempt_timeout, Duration::from_millis(250));
        assert_eq!(s.ignore_error_codes, vec!["Forbidden.RAM", "NoPermission"]);
        assert_eq!(
            s.client.actiontrail_endpoint,
            Endpoint::Vpc(Product::ActionTrail)
        );
        assert_eq!(s.client.sts_endpoint, Endpoint::Vpc(Product::Sts));
        assert_eq!(s.client.global_region, "cn-beijing");
        assert_eq!(s.client.max_response_bytes, 2 * 1024 * 1024);
        assert_eq!(s.cache_ttl, Duration::ZERO);
    }

    #[test]
    fn privileged_options_are_the_ones_that_reach_the_host() {
        let privileged: Vec<_> = OPTIONS
            .iter()
            .filter(|d| d.privileged)
            .map(|d| d.name)
            .collect();
        assert_eq!(
            privileged,
            [
                "endpoint",
                "sts_endpoint",
                "resourcemanager_endpoint",
                "ecs_metadata_endpoint",
                "profile",
                "profile_file"
            ]
        );
    }

    #[test]
    fn server_patterns_match_names() {
        for (pattern, name, want) in [
            ("acct_*", "acct_prod", true),
            ("acct_*", "acct_", true),
            ("acct_*", "xacct_prod", false),
            ("audit", "audit", true),
            ("audit", "audit2", false),
            ("*_prod", "acct_prod", true),
            ("*_prod", "acct_prod_old", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("*", "anything", true),
        ] {
            assert_eq!(matches_pattern(pattern, name), want, "{pattern} {name}");
        }
    }

    #[test]
    fn member_servers_are_read_and_exclude_role_members() {
        let s = Settings::from_options(
            &map(&[
                ("member_servers", " acct_*, audit ,acct_*"),
                ("member_failure", "skip"),
            ]),
            || None,
        )
        .unwrap();
        let m = s.member_servers.unwrap();
        assert_eq!(m.patterns, ["acct_*", "audit"]);
        assert_eq!(m.failure, MemberFailure::Skip);
        let matches = |name| m.patterns.iter().any(|p| matches_pattern(p, name));
        assert!(matches("acct_x") && matches("audit") && !matches("auditor"));
        for other in ["member_accounts", "member_role_name"] {
            let e = validate(
                [("member_servers", "a"), (other, "1")],
                Some(Scope::Connection),
            )
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    OptionError::Conflict {
                        option: "member_servers",
                        ..
                    }
                ),
                "{e}"
            );
        }
        assert!(validate([("member_servers", " , ")], None).is_err());
        assert!(validate([("member_failure", "skip")], None).is_err());
        assert!(validate(
            [
                ("member_accounts", "1"),
                ("member_role_name", "r"),
                ("member_external_id", "x")
            ],
            None
        )
        .is_err());
        assert!(validate([("member_external_id", "ab")], None).is_err());
        assert!(!portable().any(|d| d.name == "member_servers"));
    }

    #[test]
    fn secret_values() {
        let m = map(&[
            ("access_key_id", "id"),
            ("access_key_secret", "s"),
            ("security_token", "t"),
        ]);
        assert_eq!(secrets(&m), ["s", "t"]);
        assert!(has_own_keys(&m));
        assert!(!has_own_keys(&map(&[("role_arn", "acs:ram::1:role/x")])));
    }
}
