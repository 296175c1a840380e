//! From a front end's options to a [`Connection`]: the settings, the credential chain (explicit
//! keys, else the host's environment, CLI profile file or instance role), and a client that names
//! the front end in its `User-Agent` and in the session name of roles it assumes. Every front end
//! connects here, and reads its settings here, so that what EXPLAIN and the estimates say is what
//! the scan does.

use crate::cache::{ScopeBuilder, ScopeId};
use crate::options::{credential_chain, secrets, Members, OptionError, Settings};
use alicloud_api::{default_region, Client, CredentialChain};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cache partition of the front ends that run as the user (the SQLite extension, the export
/// CLI): they share one cache directory, and answers.
pub const LOCAL_PARTITION: &str = "local";

/// The name of a connection that no front end named (`sp_connection_name`): the plugin's name,
/// as Steampipe names a connection nobody configured.
pub const DEFAULT_CONNECTION_NAME: &str = "alicloud";

/// How long a connection keeps the region list of `regions '*'` (`DescribeRegions`): region lists
/// change a few times a year, so this is metadata of the connection, not an answer with the
/// cache's TTL.
pub const REGION_LIST_LIFETIME: Duration = Duration::from_secs(3600);

/// Who is calling: it names itself in requests and in the roles it assumes.
#[derive(Debug, Clone, Copy)]
pub struct FrontEnd {
    /// A short name, e.g. `alicloud-fdw`, `alicloud-export`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

impl FrontEnd {
    /// `name/version`, the `User-Agent`.
    pub fn user_agent(&self) -> String {
        format!("{}/{}", self.name, self.version)
    }
}

/// A region list and when it was fetched.
type RegionList = (Instant, Vec<String>);

/// What a connection was made from, kept when its settings name member accounts: each member's
/// connection is made from the same options, chain and front end, with the member's role.
struct Origin {
    options: BTreeMap<String, String>,
    chain: CredentialChain,
    front_end: FrontEnd,
    partition: String,
}

/// The options of the member settings, which a member's own connection leaves out.
pub const MEMBER_OPTIONS: [&str; 6] = [
    "member_servers",
    "member_accounts",
    "member_role_name",
    "member_session_duration",
    "member_external_id",
    "member_failure",
];

/// The turns of the caller's `AssumeRole` rate a member account's connection waits for: the one
/// its scan reserved with the other members' ([`Connection::grant_assume_turn`]), else one of its
/// own, kept in `dir` (a role assumed again in the middle of a scan).
#[derive(Default)]
struct AssumeTurns {
    granted: Mutex<Option<Instant>>,
    dir: Mutex<Option<std::path::PathBuf>>,
}

impl AssumeTurns {
    /// The gate of a member's client: the granted turn, else one of the rate of `caller`'s
    /// credentials.
    fn gate(self: Arc<Self>, caller: ScopeId) -> alicloud_api::AssumeGate {
        Arc::new(move || {
            let granted = self
                .granted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            let pace = granted.is_none().then(|| {
                let dir = self.dir.lock().unwrap_or_else(|p| p.into_inner());
                crate::pace::AssumeRolePace::new(&caller, dir.as_deref())
            });
            Box::pin(async move {
                match (granted, pace) {
                    (Some(at), _) => tokio::time::sleep_until(at.into()).await,
                    (None, Some(pace)) => pace.turn().await,
                    (None, None) => {}
                }
            })
        })
    }
}

/// A role to assume with the credentials found: its ARN, the session's length, the external id.
type RoleToAssume = (String, Option<u32>, Option<String>);

/// The most (member, region) calls a server with members makes at once, over all its members,
/// unless `max_concurrency` says otherwise: every call of a 30-account organization over 28
/// regions in one wave (840), while a directory of hundreds of accounts does not open thousands
/// of connections at once in one process, whose open files are commonly limited to 1,024 (the
/// members share one connection pool, so connections open stay as many as calls at once).
pub const DEFAULT_MEMBER_CONCURRENCY: usize = 900;

/// A member server (`member_servers`) as a front end resolved it for one scan: its name, and its
/// connection (its own options, the user's mapping for it) or why it cannot be used.
#[derive(Clone)]
pub struct ServerMember {
    /// The server's name, its rows' `sp_connection_name`.
    pub name: String,
    /// Its connection, or why there is none (no USAGE, no usable credentials, a bad option).
    pub connection: Result<Connection, alicloud_api::Error>,
    /// Its own shared cache (its directory, TTL and size limit; also where its calls' turns of a
    /// rate are kept), as a scan of it alone would use; `None`: none.
    pub cache: Option<crate::cache::Cache>,
}

/// An API client with its settings, the scope its answers belong to, and the secrets to scrub.
#[derive(Clone)]
pub struct Connection {
    /// Its name, the rows' `sp_connection_name`: a PostgreSQL server's name; for the front ends
    /// that run as the user, the `profile` option's value, else [`DEFAULT_CONNECTION_NAME`].
    pub name: String,
    /// The client, with its credentials.
    pub client: Client,
    /// The settings it was made with.
    pub settings: Settings,
    /// Who may be served its answers.
    pub scope: ScopeId,
    /// A digest of the credentials alone (not the settings): the calls that count against the
    /// same rate limit.
    pub credentials: ScopeId,
    /// The secret values it was made from (options, and the keys the credential chain found),
    /// to scrub from anything shown or kept; temporary credentials are added by
    /// [`Connection::secrets`].
    pub secrets: Vec<String>,
    /// The region list of `regions '*'`, with when it was fetched.
    regions: Arc<Mutex<Option<RegionList>>>,
    /// What it was made from, when it has member accounts.
    origin: Option<Arc<Origin>>,
    /// The member accounts' connections made so far, by account id: each holds its role's
    /// temporary credentials, refreshed before they expire, for as long as this connection lives.
    members: Arc<Mutex<BTreeMap<String, Connection>>>,
    /// The member servers resolved for the scan at hand (`member_servers`), in name order.
    servers: Arc<Vec<ServerMember>>,
    /// The account id of the credentials, once a member-server scan learned it.
    account: Arc<std::sync::OnceLock<String>>,
    /// The cap on calls at once that a server with members shares with all its members.
    limiter: Option<Arc<tokio::sync::Semaphore>>,
    /// A member account's turns of the caller's `AssumeRole` rate.
    assume_turns: Option<Arc<AssumeTurns>>,
}

impl Connection {
    /// A connection whose scope covers `partition` (the front end's name for where the settings
    /// come from, e.g. a database and server), the client's credentials (secrets included: a
    /// wrong secret is another scope), its endpoints, and every option given.
    pub fn new(
        client: Client,
        settings: Settings,
        partition: &str,
        options: &BTreeMap<String, String>,
        secrets: Vec<String>,
    ) -> Connection {
        let mut credentials = ScopeBuilder::default();
        for part in client.source().identity_parts() {
            credentials = credentials.part(part);
        }
        let mut b = ScopeBuilder::default().part(partition.as_bytes());
        for part in client.source().identity_parts() {
            b = b.part(part);
        }
        b = b
            .part(settings.client.actiontrail_endpoint.key().as_bytes())
            .part(settings.client.sts_endpoint.key().as_bytes())
            .part(settings.client.resourcemanager_endpoint.key().as_bytes());
        for (k, v) in options {
            b = b.part(k.as_bytes()).part(v.as_bytes());
        }
        Connection {
            name: options
                .get("profile")
                .cloned()
                .unwrap_or_else(|| DEFAULT_CONNECTION_NAME.to_string()),
            client,
            settings,
            scope: b.finish(),
            credentials: credentials.finish(),
            secrets,
            regions: Arc::default(),
            origin: None,
            members: Arc::default(),
            servers: Arc::default(),
            account: Arc::default(),
            limiter: None,
            assume_turns: None,
        }
    }

    /// A turn under the cap on calls at once this connection shares with the other members of
    /// its server (none for a connection without one); held until dropped.
    pub(crate) async fn call_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let limiter = self.limiter.clone()?;
        limiter.acquire_owned().await.ok()
    }

    /// This connection with the member servers a front end resolved for one scan. This
    /// connection's `ignore_error_codes` apply to every member, besides the member's own.
    pub fn with_servers(&self, mut servers: Vec<ServerMember>) -> Connection {
        // Each member also shares this connection's cap on calls at once.
        let codes = &self.settings.ignore_error_codes;
        for member in servers.iter_mut() {
            if let Ok(c) = &mut member.connection {
                for code in codes {
                    if !c.settings.ignore_error_codes.contains(code) {
                        c.settings.ignore_error_codes.push(code.clone());
                    }
                }
                c.limiter.clone_from(&self.limiter);
            }
        }
        let mut c = self.clone();
        c.servers = Arc::new(servers);
        c
    }

    /// The member servers resolved for this scan.
    pub fn servers(&self) -> &[ServerMember] {
        &self.servers
    }

    /// The account id learned by [`Connection::remember_account`].
    pub(crate) fn known_account(&self) -> Option<String> {
        self.account.get().cloned()
    }

    /// Keeps the credentials' account id (it never changes for the same credentials).
    pub(crate) fn remember_account(&self, id: &str) {
        let _ = self.account.set(id.to_string());
    }

    /// The member server called `name`, resolved for this scan.
    pub(crate) fn member_server(&self, name: &str) -> Option<&ServerMember> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The connection of the member called `name` (a member server's, or a member account's
    /// made by [`Connection::member`]).
    pub(crate) fn member_connection(&self, name: &str) -> Option<Connection> {
        if let Some(s) = self.servers.iter().find(|s| s.name == name) {
            return s.connection.as_ref().ok().cloned();
        }
        let account = name.strip_prefix(&self.name)?.strip_prefix('.')?;
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
    }

    /// The name of member `account`'s rows: `<this connection's name>.<account id>`.
    pub fn member_name(&self, account: &str) -> String {
        format!("{}.{account}", self.name)
    }

    /// Gives this member account's connection the turn its scan reserved for its next
    /// `AssumeRole` (`None` takes back one not used), and says where turns of its own are kept
    /// (`dir`, the shared cache's directory; `None`: this process only).
    pub(crate) fn grant_assume_turn(&self, turn: Option<Instant>, dir: Option<&std::path::Path>) {
        if let Some(t) = &self.assume_turns {
            *t.granted.lock().unwrap_or_else(|p| p.into_inner()) = turn;
            *t.dir.lock().unwrap_or_else(|p| p.into_inner()) =
                dir.map(std::path::Path::to_path_buf);
        }
    }

    /// The connection of member `account` (made the first time, then kept): this connection's
    /// options without the member settings, and the credentials found, assuming `members`'
    /// role in the account.
    pub fn member(&self, members: &Members, account: &str) -> Result<Connection, ConnectError> {
        let mut held = self.members.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = held.get(account) {
            return Ok(found.clone());
        }
        let fail = |kind| ConnectError {
            kind: Box::new(kind),
            secrets: self.secrets.clone(),
        };
        let Some(origin) = &self.origin else {
            return Err(fail(ConnectErrorKind::Api(
                alicloud_api::Error::Credentials {
                    message: "this connection cannot make member connections".to_string(),
                },
            )));
        };
        let mut options = origin.options.clone();
        for name in MEMBER_OPTIONS {
            options.remove(name);
        }
        if options.contains_key("role_arn") {
            return Err(fail(ConnectErrorKind::Option(OptionError::Conflict {
                option: "role_arn",
                rule: crate::options::Rule::AlternativeTo("member_role_name"),
            })));
        }
        let role = (
            members.role_arn(account),
            members.session_duration,
            members.external_id.clone(),
        );
        let mut made = connect_inner(
            &options,
            origin.chain.clone(),
            origin.front_end,
            &origin.partition,
            Some((role, &self.client)),
        )?
        .named(&self.member_name(account));
        made.limiter.clone_from(&self.limiter);
        // Every AssumeRole of the member's client (its first, and any renewal) waits for a turn
        // of the rate of this connection's credentials.
        let turns = Arc::new(AssumeTurns::default());
        made.client
            .gate_assume_role(turns.clone().gate(self.credentials));
        made.assume_turns = Some(turns);
        held.insert(account.to_string(), made.clone());
        Ok(made)
    }

    /// The same connection, called `name` (a front end that names its connections).
    pub fn named(mut self, name: &str) -> Connection {
        self.name = name.to_string();
        self
    }

    /// Every secret in use: those it was made from, and those of the temporary credentials the
    /// client holds now.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = self.secrets.clone();
        let servers = self
            .servers
            .iter()
            .filter_map(|s| s.connection.as_ref().ok());
        let members: Vec<String> = servers.flat_map(Connection::secrets).collect();
        for s in self.client.secrets().into_iter().chain(members) {
            if !s.is_empty() && !all.contains(&s) {
                all.push(s);
            }
        }
        all
    }

    /// The region list fetched within [`REGION_LIST_LIFETIME`].
    pub(crate) fn remembered_regions(&self) -> Option<Vec<String>> {
        let held = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref()
            .filter(|(at, _)| at.elapsed() < REGION_LIST_LIFETIME)
            .map(|(_, r)| r.clone())
    }

    /// Keeps the region list just fetched.
    pub(crate) fn remember_regions(&self, regions: &[String]) {
        *self.regions.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), regions.to_vec()));
    }
}

/// What went wrong connecting.
#[derive(Debug, Clone)]
pub enum ConnectErrorKind {
    /// An option is wrong.
    Option(OptionError),
    /// No usable credentials, or the client could not be built.
    Api(alicloud_api::Error),
}

/// Why a connection could not be made, with the secrets of the options and of the credentials
/// found so far, to scrub from the message.
#[derive(Debug, Clone)]
pub struct ConnectError {
    /// What went wrong.
    pub kind: Box<ConnectErrorKind>,
    /// The secrets in play.
    pub secrets: Vec<String>,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.as_ref() {
            ConnectErrorKind::Option(e) => e.fmt(f),
            ConnectErrorKind::Api(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {}

/// A current-thread tokio runtime, for a front end that blocks on a scan in one place (the scan's
/// futures run only while it waits, on its own thread; the API calls run on the API client's
/// threads).
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the async runtime: {e}"))
}

/// The settings `options` give (connection and credential options in one map), with the region
/// the credential options' profile names (else the host's environment) when `regions` is
/// absent: what a scan with these options does, without making a connection.
pub fn settings(options: &BTreeMap<String, String>) -> Result<Settings, OptionError> {
    settings_with(options, CredentialChain::from_process_env())
}

fn settings_with(
    options: &BTreeMap<String, String>,
    chain: CredentialChain,
) -> Result<Settings, OptionError> {
    let chain = credential_chain(options, chain);
    Settings::from_options(options, || default_region(&chain))
}

/// Connects with `options` (connection and credential options in one map, names as in
/// [`crate::options::OPTIONS`]; they must have been checked with [`crate::options::validate`]),
/// the process's credential chain supplying what the options do not. `partition` keeps the front
/// end's cached answers apart from others' (see [`Connection::new`]).
pub fn connect(
    options: &BTreeMap<String, String>,
    front_end: FrontEnd,
    partition: &str,
) -> Result<Connection, ConnectError> {
    connect_with(
        options,
        CredentialChain::from_process_env(),
        front_end,
        partition,
    )
}

/// [`connect`] with a given credential chain (tests, embedders).
pub fn connect_with(
    options: &BTreeMap<String, String>,
    chain: CredentialChain,
    front_end: FrontEnd,
    partition: &str,
) -> Result<Connection, ConnectError> {
    connect_inner(options, chain, front_end, partition, None)
}

/// [`connect_with`], assuming `role` with the credentials found when it is given, with a client
/// that shares the HTTP connection pool of the client given with it (its server's).
fn connect_inner(
    options: &BTreeMap<String, String>,
    chain: CredentialChain,
    front_end: FrontEnd,
    partition: &str,
    role: Option<(RoleToAssume, &Client)>,
) -> Result<Connection, ConnectError> {
    let origin_chain = chain.clone();
    let mut secrets = secrets(options);
    let fail = |kind, secrets: &Vec<String>| ConnectError {
        kind: Box::new(kind),
        secrets: secrets.clone(),
    };
    let chain = chain.default_session_name(front_end.name);
    let settings = settings_with(options, chain.clone())
        .map_err(|e| fail(ConnectErrorKind::Option(e), &secrets))?;
    let mut chain = credential_chain(options, chain);
    let pooled = role.as_ref().map(|(_, c)| (*c).clone());
    if let Some(((arn, duration, external_id), _)) = role {
        chain = chain
            .role_arn(arn, options.get("role_session_name").cloned(), duration)
            .role_external_id(external_id);
    }
    let source = if settings.member_servers.is_some() {
        // A server with member servers calls nothing itself: each member signs with its own
        // credentials, so none are looked for (a key that is no key, never sent).
        alicloud_api::CredentialSource::Static(alicloud_api::Credentials::new("", ""))
    } else {
        chain
            .resolve()
            .map_err(|e| fail(ConnectErrorKind::Api(e), &secrets))?
    };
    for s in source.signing_keys().into_iter().flat_map(|k| k.secrets()) {
        if !s.is_empty() && !secrets.iter().any(|known| known == s) {
            secrets.push(s.to_string());
        }
    }
    let mut config = settings.client.clone();
    config.user_agent = front_end.user_agent();
    let client = match &pooled {
        Some(pooled) => Client::sharing_pool(pooled, config, source),
        None => {
            Client::new(config, source).map_err(|e| fail(ConnectErrorKind::Api(e), &secrets))?
        }
    };
    let has_members = settings.members.is_some();
    let cap = (has_members || settings.member_servers.is_some()).then(|| {
        settings
            .client
            .max_concurrency
            .unwrap_or(DEFAULT_MEMBER_CONCURRENCY)
    });
    let mut connection = Connection::new(client, settings, partition, options, secrets);
    connection.limiter = cap.map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1))));
    if has_members {
        connection.origin = Some(Arc::new(Origin {
            options: options.clone(),
            chain: origin_chain,
            front_end,
            partition: partition.to_string(),
        }));
    }
    Ok(connection)
}
