//! [`CredentialChain`]: which credentials to use, in a fixed order.
//!
//! 1. Explicit keys ([`CredentialChain::explicit_keys`]).
//! 2. An explicit profile name ([`CredentialChain::profile`]) in the CLI profile file.
//! 3. Keys in the environment ([`ACCESS_KEY_ID_VARS`], [`ACCESS_KEY_SECRET_VARS`], with an optional
//!    token from [`SECURITY_TOKEN_VARS`]).
//! 4. The profile named by [`PROFILE_VARS`], else the file's `current`, else a profile named
//!    `default`, in the CLI profile file (a missing file is skipped).
//!
//! An explicit [`CredentialChain::role_arn`] then turns the static keys found into a
//! [`CredentialSource::RamRoleArn`].
//!
//! A source named explicitly is the only one used: with [`CredentialChain::profile`] the chain
//! never reaches the environment (the profile must exist), and with
//! [`CredentialChain::profile_file`] it reads that file alone, never the environment's keys or
//! profile name. A caller who picks a source (a database administrator choosing a profile file
//! for a user mapping) never gets the host's ambient credentials instead.
//!
//! The chain holds no global state: [`CredentialChain::with_env`] takes the environment and home
//! directory as values, and only [`CredentialChain::from_process_env`] reads the process's own.
//! An empty (or blank) variable or field counts as unset.

use super::profile::ProfileFile;
use super::{mask_key_id, CredentialSource, Credentials, Secret};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Access key id variables, highest precedence first.
pub const ACCESS_KEY_ID_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABACLOUD_ACCESS_KEY_ID",
    "ALICLOUD_ACCESS_KEY_ID",
    "ALICLOUD_ACCESS_KEY",
];
/// Access key secret variables, highest precedence first.
pub const ACCESS_KEY_SECRET_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABACLOUD_ACCESS_KEY_SECRET",
    "ALICLOUD_ACCESS_KEY_SECRET",
    "ALICLOUD_SECRET_KEY",
];
/// Security token variables (used with the environment's keys only), highest precedence first.
pub const SECURITY_TOKEN_VARS: [&str; 3] = [
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABACLOUD_SECURITY_TOKEN",
    "ALICLOUD_SECURITY_TOKEN",
];
/// Region variables, highest precedence first.
pub const REGION_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_REGION_ID",
    "ALIBABACLOUD_REGION_ID",
    "ALICLOUD_REGION_ID",
    "ALICLOUD_REGION",
];
/// Profile name variables, highest precedence first.
pub const PROFILE_VARS: [&str; 3] = [
    "ALIBABA_CLOUD_PROFILE",
    "ALIBABACLOUD_PROFILE",
    "ALICLOUD_PROFILE",
];

/// `RoleSessionName` when neither the profile nor [`CredentialChain::role_arn`] gives one, and
/// the front end has not named itself with [`CredentialChain::default_session_name`].
pub const DEFAULT_ROLE_SESSION_NAME: &str = "alicloud-api";
/// `DurationSeconds` when neither the profile nor [`CredentialChain::role_arn`] gives one.
pub const DEFAULT_ROLE_DURATION_SECONDS: u32 = 3600;
/// The shortest session STS grants.
pub const MIN_ROLE_DURATION_SECONDS: u32 = 900;

fn all_vars() -> impl Iterator<Item = &'static str> {
    ACCESS_KEY_ID_VARS
        .iter()
        .chain(ACCESS_KEY_SECRET_VARS.iter())
        .chain(SECURITY_TOKEN_VARS.iter())
        .chain(REGION_VARS.iter())
        .chain(PROFILE_VARS.iter())
        .copied()
}

/// Explicitly given keys; either half may be missing (an error at resolve time).
#[derive(Clone)]
struct ExplicitKeys {
    access_key_id: Option<String>,
    access_key_secret: Option<Secret>,
    security_token: Option<Secret>,
}

impl fmt::Debug for ExplicitKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExplicitKeys")
            .field(
                "access_key_id",
                &self.access_key_id.as_deref().map(mask_key_id),
            )
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token)
            .finish()
    }
}

#[derive(Clone, Debug)]
struct RoleSpec {
    role_arn: String,
    session_name: Option<String>,
    duration_seconds: Option<u32>,
    external_id: Option<String>,
}

/// Resolves a [`CredentialSource`] from explicit values, the environment and the Alibaba CLI
/// profile file; see the module docs for the order.
///
/// `Debug` and `Display` show the configuration with key ids masked, secrets redacted, and the
/// environment as the *names* of the relevant variables that are set.
#[derive(Clone)]
pub struct CredentialChain {
    /// Only the variables this chain reads (see [`all_vars`]); blank values are dropped.
    env: HashMap<String, String>,
    home: Option<PathBuf>,
    explicit: Option<ExplicitKeys>,
    profile: Option<String>,
    profile_file: Option<PathBuf>,
    role: Option<RoleSpec>,
    /// `RoleSessionName` when nothing else gives one.
    default_session_name: String,
}

fn non_blank(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_string())
    }
}

/// What one step of the chain found: credentials and where they came from, or nothing (with the
/// places it looked, for the message when no step finds any). An error stops the chain.
enum Step {
    Found(CredentialSource, String),
    NotHere(Vec<String>),
}

impl CredentialChain {
    /// Reads the real process environment (only the variables listed in this module) and `$HOME`
    /// (`%USERPROFILE%` where there is no `HOME`).
    pub fn from_process_env() -> Self {
        let env = all_vars()
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
            .collect();
        let home = ["HOME", "USERPROFILE"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|v| !v.is_empty())
            .map(PathBuf::from);
        Self::with_env(env, home)
    }

    /// For tests and embedders: an explicit environment (name -> value) and home directory.
    /// Variables this chain does not read are dropped at once.
    pub fn with_env(env: HashMap<String, String>, home: Option<PathBuf>) -> Self {
        let env = env
            .into_iter()
            .filter(|(k, _)| all_vars().any(|v| v == k))
            .filter_map(|(k, v)| non_blank(v).map(|v| (k, v)))
            .collect();
        CredentialChain {
            env,
            home,
            explicit: None,
            profile: None,
            profile_file: None,
            role: None,
            default_session_name: DEFAULT_ROLE_SESSION_NAME.to_string(),
        }
    }

    /// Use these keys before anything else. Empty strings count as not given, so that an id
    /// without a secret (or the reverse) is reported by [`CredentialChain::resolve`].
    #[cfg(test)]
    pub fn explicit_keys(
        self,
        access_key_id: String,
        access_key_secret: String,
        security_token: Option<String>,
    ) -> Self {
        self.explicit_key_parts(Some(access_key_id), Some(access_key_secret), security_token)
    }

    /// Like [`CredentialChain::explicit_keys`], for callers whose id and secret are each
    /// optional (options of a user mapping, say). All three `None` (or blank) means "no explicit
    /// keys"; a token alone, or only one of id and secret, is an error at resolve time.
    pub fn explicit_key_parts(
        mut self,
        access_key_id: Option<String>,
        access_key_secret: Option<String>,
        security_token: Option<String>,
    ) -> Self {
        let keys = ExplicitKeys {
            access_key_id: access_key_id.and_then(non_blank),
            access_key_secret: access_key_secret.and_then(non_blank).map(Secret::new),
            security_token: security_token.and_then(non_blank).map(Secret::new),
        };
        let given = keys.access_key_id.is_some()
            || keys.access_key_secret.is_some()
            || keys.security_token.is_some();
        self.explicit = given.then_some(keys);
        self
    }

    /// A named CLI profile (overrides the profile variables). It must exist.
    pub fn profile(mut self, name: String) -> Self {
        self.profile = non_blank(name);
        self
    }

    /// The `RoleSessionName` to use when neither the profile nor [`CredentialChain::role_arn`]
    /// gives one: the front end names itself (`alicloud-fdw`, `alicloud-export`, ...), so the
    /// account's ActionTrail events say which tool assumed the role.
    pub fn default_session_name(mut self, name: &str) -> Self {
        if let Some(n) = non_blank(name.to_string()) {
            self.default_session_name = n;
        }
        self
    }

    /// Read this file instead of `~/.aliyun/config.json`, and nothing else: the environment's
    /// keys and profile name are not used (the file's current or `default` profile is).
    pub fn profile_file(mut self, path: PathBuf) -> Self {
        self.profile_file = Some(path);
        self
    }

    /// Assume this role with whatever static keys resolve. `session_name` defaults to
    /// [`DEFAULT_ROLE_SESSION_NAME`], `duration_seconds` to [`DEFAULT_ROLE_DURATION_SECONDS`]
    /// (at least [`MIN_ROLE_DURATION_SECONDS`], checked at resolve time).
    pub fn role_arn(
        mut self,
        role_arn: String,
        session_name: Option<String>,
        duration_seconds: Option<u32>,
    ) -> Self {
        self.role = Some(RoleSpec {
            role_arn: role_arn.trim().to_string(),
            session_name: session_name.and_then(non_blank),
            duration_seconds,
            external_id: None,
        });
        self
    }

    /// The `ExternalId` to assume [`CredentialChain::role_arn`]'s role with (its trust policy
    /// may ask for one); nothing without a role.
    pub fn role_external_id(mut self, external_id: Option<String>) -> Self {
        if let Some(role) = &mut self.role {
            role.external_id = external_id;
        }
        self
    }

    /// The CLI profile file this chain reads: [`CredentialChain::profile_file`], else
    /// `<home>/.aliyun/config.json`; `None` when neither is known.
    pub fn profile_file_path(&self) -> Option<PathBuf> {
        self.profile_file.clone().or_else(|| {
            self.home
                .as_ref()
                .map(|h| h.join(".aliyun").join("config.json"))
        })
    }

    /// The credential source, in the chain's order.
    pub fn resolve(&self) -> Result<CredentialSource> {
        self.resolve_described().map(|(source, _)| source)
    }

    /// [`CredentialChain::resolve`] with a one-line description of where the credentials were
    /// found.
    fn resolve_described(&self) -> Result<(CredentialSource, String)> {
        let (source, origin) = self.resolve_base()?;
        let Some(role) = &self.role else {
            return Ok((source, origin));
        };
        if role.role_arn.is_empty() {
            return Err(Error::config("the role ARN to assume is empty"));
        }
        let duration_seconds = role
            .duration_seconds
            .unwrap_or(DEFAULT_ROLE_DURATION_SECONDS);
        if duration_seconds < MIN_ROLE_DURATION_SECONDS {
            return Err(Error::config(format!(
                "the role session duration {duration_seconds} s is too short: STS grants at least {MIN_ROLE_DURATION_SECONDS} s"
            )));
        }
        match source {
            CredentialSource::Static(base) => Ok((
                CredentialSource::RamRoleArn {
                    base,
                    role_arn: role.role_arn.clone(),
                    session_name: role
                        .session_name
                        .clone()
                        .unwrap_or_else(|| self.default_session_name.clone()),
                    duration_seconds,
                    external_id: role.external_id.clone(),
                },
                format!("{origin}, assuming role {}", role.role_arn),
            )),
            other => Err(Error::credentials(format!(
                "cannot assume role {} with the credentials from {origin}: they are not access keys but a {}; \
                 give access keys (or a profile of mode AK or StsToken) to assume a role with",
                role.role_arn,
                match other {
                    CredentialSource::RamRoleArn { .. } => "RAM role to assume (mode RamRoleArn)",
                    _ => "ECS instance role (mode EcsRamRole)",
                }
            ))),
        }
    }

    /// A one-line, secret-free description of where [`CredentialChain::resolve`] finds
    /// credentials, e.g. `environment variables ALIBABA_CLOUD_ACCESS_KEY_ID and
    /// ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `profile "default" in /root/.aliyun/config.json (mode AK)`
    /// or `explicit keys`. It resolves afresh (reading the profile file); when that fails it is
    /// `no usable credentials: <the error>`.
    #[cfg(test)]
    pub fn describe(&self) -> String {
        match self.resolve_described() {
            Ok((_, origin)) => origin,
            Err(e) => format!("no usable credentials: {e}"),
        }
    }

    /// What [`crate::default_region`] reads: the first region variable set ([`REGION_VARS`]),
    /// the profile file, and the profile named (explicitly, else by the environment).
    pub(crate) fn region_sources(&self) -> (Option<&str>, Option<PathBuf>, Option<&str>) {
        (
            self.first_env(&REGION_VARS).map(|(_, v)| v),
            self.profile_file_path(),
            self.profile
                .as_deref()
                .or_else(|| self.env_profile().map(|(_, v)| v)),
        )
    }

    /// The profile the environment names, unless a profile file was named (whose own current
    /// profile then applies).
    fn env_profile(&self) -> Option<(&'static str, &str)> {
        if self.profile_file.is_some() {
            return None;
        }
        self.first_env(&PROFILE_VARS)
    }

    fn first_env(&self, names: &[&'static str]) -> Option<(&'static str, &str)> {
        names
            .iter()
            .find_map(|n| self.env.get(*n).map(|v| (*n, v.as_str())))
    }

    /// The steps of [`CredentialChain::resolve`], in order: each finds credentials, finds none
    /// (and says where it looked, for the message when no step finds any), or fails the chain.
    const STEPS: [fn(&Self) -> Result<Step>; 4] = [
        Self::explicit_step,
        Self::named_profile_step,
        Self::environment_step,
        Self::current_profile_step,
    ];

    fn resolve_base(&self) -> Result<(CredentialSource, String)> {
        let mut looked = Vec::new();
        for step in Self::STEPS {
            match step(self)? {
                Step::Found(source, origin) => return Ok((source, origin)),
                Step::NotHere(places) => looked.extend(places),
            }
        }
        Err(Error::credentials(format!(
            "no Alibaba Cloud credentials found. Looked at: {}",
            looked.join("; ")
        )))
    }

    /// Step 1: explicit keys.
    fn explicit_step(&self) -> Result<Step> {
        let Some(keys) = &self.explicit else {
            return Ok(Step::NotHere(
                vec!["explicit keys (none given)".to_string()],
            ));
        };
        match (&keys.access_key_id, &keys.access_key_secret) {
            (Some(id), Some(secret)) => Ok(Step::Found(
                CredentialSource::Static(Credentials {
                    access_key_id: id.clone(),
                    access_key_secret: secret.clone(),
                    security_token: keys.security_token.clone(),
                    expiration: None,
                }),
                "explicit keys".to_string(),
            )),
            (Some(_), None) => Err(Error::credentials(
                "an access key id was given without its access key secret: the access key secret is missing",
            )),
            (None, Some(_)) => Err(Error::credentials(
                "an access key secret was given without its access key id: the access key id is missing",
            )),
            (None, None) => Err(Error::credentials(
                "a security token was given without an access key id and secret: both are missing",
            )),
        }
    }

    /// Step 2: a profile asked for by name; it must exist.
    fn named_profile_step(&self) -> Result<Step> {
        let Some(name) = &self.profile else {
            return Ok(Step::NotHere(Vec::new()));
        };
        let path = self.profile_file_path().ok_or_else(|| {
            Error::credentials(format!(
                "profile {name:?} was asked for, but no home directory is known to find \
                 .aliyun/config.json in; give the profile file's path"
            ))
        })?;
        let file = ProfileFile::load(&path)?.ok_or_else(|| {
            Error::credentials(format!(
                "profile {name:?} was asked for, but the CLI profile file {} does not exist",
                path.display()
            ))
        })?;
        self.use_profile(&file, &path, name, None)
    }

    /// Step 3: keys in the environment; half a pair fails the chain. Skipped when a profile file
    /// was named: that file is then the only source.
    fn environment_step(&self) -> Result<Step> {
        if self.profile_file.is_some() {
            return Ok(Step::NotHere(Vec::new()));
        }
        match (
            self.first_env(&ACCESS_KEY_ID_VARS),
            self.first_env(&ACCESS_KEY_SECRET_VARS),
        ) {
            (Some((id_var, id)), Some((secret_var, secret))) => {
                let mut c = Credentials::new(id, secret);
                let mut origin = format!("environment variables {id_var} and {secret_var}");
                if let Some((token_var, token)) = self.first_env(&SECURITY_TOKEN_VARS) {
                    c = c.with_security_token(token);
                    origin.push_str(&format!(", with the security token from {token_var}"));
                }
                Ok(Step::Found(CredentialSource::Static(c), origin))
            }
            (Some((id_var, _)), None) => Err(Error::credentials(format!(
                "the environment variable {id_var} gives an access key id, but the access key secret \
                 is missing: none of {} is set",
                ACCESS_KEY_SECRET_VARS.join(", ")
            ))),
            (None, Some((secret_var, _))) => Err(Error::credentials(format!(
                "the environment variable {secret_var} gives an access key secret, but the access key id \
                 is missing: none of {} is set",
                ACCESS_KEY_ID_VARS.join(", ")
            ))),
            (None, None) => Ok(Step::NotHere(vec![format!(
                "the environment variables {} and {} (none set)",
                ACCESS_KEY_ID_VARS.join(", "),
                ACCESS_KEY_SECRET_VARS.join(", ")
            )])),
        }
    }

    /// Step 4: the profile the environment or the file names, in the profile file (a missing
    /// file, or one that names no profile, is skipped).
    fn current_profile_step(&self) -> Result<Step> {
        let profile_vars = match self.env_profile() {
            Some((var, name)) => format!("the profile {name:?} named by {var}"),
            None if self.profile_file.is_some() => String::new(),
            None => format!(
                "the profile variables {} (none set)",
                PROFILE_VARS.join(", ")
            ),
        };
        let not_here = |file: String| {
            let places = [profile_vars.clone(), file];
            Ok(Step::NotHere(
                places.into_iter().filter(|p| !p.is_empty()).collect(),
            ))
        };
        let Some(path) = self.profile_file_path() else {
            return not_here("the CLI profile file (none: no home directory is known)".to_string());
        };
        let Some(file) = ProfileFile::load(&path)? else {
            return not_here(format!(
                "the CLI profile file {} (not found)",
                path.display()
            ));
        };
        let (name, why) = if let Some((var, name)) = self.env_profile() {
            (name.to_string(), format!("named by {var}"))
        } else if let Some(current) = &file.current {
            (current.clone(), "the file's current profile".to_string())
        } else if file.get("default").is_some() {
            ("default".to_string(), "the default profile".to_string())
        } else {
            return not_here(format!(
                "the CLI profile file {} (it has no current profile and no profile named \"default\"; \
                 the profiles found are: {})",
                path.display(),
                file.names()
            ));
        };
        self.use_profile(&file, &path, &name, Some(&why))
    }

    /// Profile `name` of `file` (at `path`), found by a step (`why`, when not asked for by name).
    fn use_profile(
        &self,
        file: &ProfileFile,
        path: &Path,
        name: &str,
        why: Option<&str>,
    ) -> Result<Step> {
        let profile = file.get(name).ok_or_else(|| {
            Error::credentials(format!(
                "there is no profile {name:?}{} in {}; the profiles found are: {}",
                why.map(|w| format!(" ({w})")).unwrap_or_default(),
                path.display(),
                file.names()
            ))
        })?;
        let source = profile.to_source(
            path,
            &self.default_session_name,
            DEFAULT_ROLE_DURATION_SECONDS,
            MIN_ROLE_DURATION_SECONDS,
        )?;
        let origin = format!(
            "profile {name:?} in {} (mode {}{})",
            path.display(),
            profile.mode_label(),
            why.map(|w| format!(", {w}")).unwrap_or_default()
        );
        Ok(Step::Found(source, origin))
    }

    /// The names of the relevant variables that are set, in precedence order.
    fn env_names(&self) -> Vec<&'static str> {
        all_vars().filter(|v| self.env.contains_key(*v)).collect()
    }
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("env_set", &self.env_names())
            .field("home", &self.home)
            .field("explicit", &self.explicit)
            .field("profile", &self.profile)
            .field("profile_file", &self.profile_file)
            .field("role", &self.role)
            .finish()
    }
}

/// The configuration in one line, without reading anything (see [`CredentialChain::describe`]
/// for where credentials are actually found).
impl fmt::Display for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(k) = &self.explicit {
            parts.push(match &k.access_key_id {
                Some(id) => format!("explicit access key {}", mask_key_id(id)),
                None => "explicit keys without an id".to_string(),
            });
        }
        if let Some(p) = &self.profile {
            parts.push(format!("profile {p:?}"));
        }
        match self.profile_file_path() {
            Some(p) => parts.push(format!("profile file {}", p.display())),
            None => parts.push("no profile file".to_string()),
        }
        let names = self.env_names();
        if !names.is_empty() {
            parts.push(format!("environment {}", names.join(", ")));
        }
        if let Some(r) = &self.role {
            parts.push(format!("then assume role {}", r.role_arn));
        }
        write!(f, "credential chain: {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests;
