//! From a front end's options to a [`Connection`]: the settings, the credential chain (explicit
//! keys, else the host's environment, CLI profile file or instance role), and a client that names
//! the front end in its `User-Agent` and in the session name of roles it assumes.

use crate::options::{credential_chain, secrets, OptionError, Settings};
use crate::scan::Connection;
use alicloud_api::{Client, CredentialChain};
use std::collections::BTreeMap;
use std::fmt;

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

/// Why a connection could not be made.
#[derive(Debug, Clone)]
pub enum ConnectError {
    /// An option is wrong.
    Option(OptionError),
    /// No usable credentials, or the client could not be built.
    Api(alicloud_api::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Option(e) => e.fmt(f),
            ConnectError::Api(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {}

/// A connection and the secret values it signs with (to scrub from anything shown).
#[derive(Clone)]
pub struct Connected {
    /// The connection.
    pub connection: Connection,
    /// The secret values of the options and of the credentials the chain found (environment,
    /// profile file); temporary credentials fetched later are scrubbed by the client itself.
    pub secrets: Vec<String>,
}

/// A current-thread tokio runtime, for a front end that blocks on a scan in one place (the
/// futures run only while it waits, on its own thread).
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the async runtime: {e}"))
}

/// Connects with `options` (connection and credential options in one map, names as in
/// [`crate::options::OPTIONS`]; they must have been checked with [`crate::options::validate`]).
/// `chain` supplies what the options do not (normally [`CredentialChain::from_process_env`]);
/// `partition` keeps the front end's cached answers apart from others' (see
/// [`Connection::new`]).
pub fn connect(
    options: &BTreeMap<String, String>,
    chain: CredentialChain,
    front_end: FrontEnd,
    partition: &str,
) -> Result<Connected, ConnectError> {
    let mut secrets = secrets(options);
    let chain = credential_chain(options, chain.default_session_name(front_end.name));
    // The region of the profile the options name, when `regions` is not given.
    let settings =
        Settings::from_options(options, || chain.default_region()).map_err(ConnectError::Option)?;
    let source = chain.resolve().map_err(ConnectError::Api)?;
    for s in source.signing_keys().into_iter().flat_map(|k| k.secrets()) {
        if !secrets.iter().any(|known| known == s) {
            secrets.push(s.to_string());
        }
    }
    let mut config = settings.client.clone();
    config.user_agent = front_end.user_agent();
    let client = Client::new(config, source).map_err(ConnectError::Api)?;
    Ok(Connected {
        connection: Connection::new(client, settings, partition, options, secrets.clone()),
        secrets,
    })
}
