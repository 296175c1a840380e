//! The option policy of the wrapper, whole: which catalog each option goes in (the shared
//! vocabulary's scopes mapped to SERVER and USER MAPPING), the superuser-only rules, and the
//! options only PostgreSQL has (`use_server_credentials` on a user mapping, `table` on a foreign
//! table). The validator callback is one call to [`validate`].
//!
//! Superuser-only, as postgres_fdw does for its own risky options:
//! - options that send requests to any host (`endpoint`, `sts_endpoint`, `ecs_metadata_endpoint`)
//!   or read the database server's files (`profile`, `profile_file`);
//! - `use_server_credentials`, which lets a mapping's user sign with the database server's own
//!   credentials (its environment, profile file or instance role).

use crate::columns::TABLE_OPTION;
use alicloud_tables::options::{self as vocabulary, OptionError as Neutral, Scope};
use pgrx::pg_sys;
use std::collections::BTreeMap;

/// Where an option was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    /// `CREATE FOREIGN DATA WRAPPER ... OPTIONS`.
    Wrapper,
    /// `CREATE SERVER ... OPTIONS`.
    Server,
    /// `CREATE USER MAPPING ... OPTIONS`.
    UserMapping,
    /// `CREATE FOREIGN TABLE ... OPTIONS`.
    Table,
}

impl Catalog {
    /// The catalog of a validator call, from the catalog's OID.
    pub fn of(oid: pg_sys::Oid) -> Option<Catalog> {
        Some(match oid {
            o if o == pg_sys::ForeignDataWrapperRelationId => Catalog::Wrapper,
            o if o == pg_sys::ForeignServerRelationId => Catalog::Server,
            o if o == pg_sys::UserMappingRelationId => Catalog::UserMapping,
            o if o == pg_sys::ForeignTableRelationId => Catalog::Table,
            _ => return None,
        })
    }

    /// The SQL words for it.
    pub fn describe(self) -> &'static str {
        match self {
            Catalog::Wrapper => "FOREIGN DATA WRAPPER",
            Catalog::Server => "SERVER",
            Catalog::UserMapping => "USER MAPPING",
            Catalog::Table => "FOREIGN TABLE",
        }
    }

    fn scope(self) -> Option<Scope> {
        match self {
            Catalog::Server => Some(Scope::Connection),
            Catalog::UserMapping => Some(Scope::Credentials),
            Catalog::Wrapper | Catalog::Table => None,
        }
    }

    /// The options only PostgreSQL has, in this catalog.
    fn own_options(self) -> &'static [&'static str] {
        match self {
            Catalog::UserMapping => &[USE_SERVER_CREDENTIALS],
            Catalog::Table => &[TABLE_OPTION],
            Catalog::Server | Catalog::Wrapper => &[],
        }
    }

    fn of_scope(scope: Scope) -> Catalog {
        match scope {
            Scope::Connection => Catalog::Server,
            Scope::Credentials => Catalog::UserMapping,
        }
    }
}

/// The user mapping option that lets a non-superuser sign with the database server's own
/// credentials. Only a superuser may set it.
pub const USE_SERVER_CREDENTIALS: &str = "use_server_credentials";

/// What is wrong with options given to one catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// No option of that name exists.
    UnknownName {
        /// The name given.
        name: String,
        /// Where it was given.
        catalog: Catalog,
        /// The options valid there.
        valid: Vec<&'static str>,
    },
    /// The option goes in another catalog.
    Misplaced {
        /// The option.
        name: String,
        /// Where it was given.
        found: Catalog,
        /// Where it goes.
        belongs: Catalog,
    },
    /// A bad value, or options that do not go together.
    BadValue {
        /// What is wrong.
        message: String,
        /// How to write it.
        hint: Option<String>,
    },
    /// Only a superuser may set these.
    SuperuserOnly {
        /// The options.
        names: Vec<String>,
    },
}

/// A neutral error as a bad value: its message, and its hint when it has one (also for options
/// found bad when used, set before a rule changed, say).
impl From<Neutral> for OptionError {
    fn from(e: Neutral) -> Self {
        let hint = match &e {
            Neutral::BadValue { hint, .. } => hint.clone(),
            _ => None,
        };
        OptionError::BadValue {
            message: e.to_string(),
            hint,
        }
    }
}

/// The options valid in `catalog`.
fn valid_in(catalog: Catalog) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = vocabulary::OPTIONS
        .iter()
        .filter(|d| Some(d.scope) == catalog.scope())
        .map(|d| d.name)
        .collect();
    names.extend(catalog.own_options());
    names
}

/// The validator, whole: `raw` as PostgreSQL gives it (`name=value` strings), the catalog, and
/// whether the current user is a superuser.
pub fn validate(
    raw: &[Option<String>],
    catalog: Catalog,
    superuser: bool,
) -> Result<(), OptionError> {
    let pairs: Vec<(&str, &str)> = raw
        .iter()
        .flatten()
        .map(|o| o.split_once('=').unwrap_or((o.as_str(), "")))
        .collect();
    let (own, shared): (Vec<_>, Vec<_>) = pairs
        .iter()
        .copied()
        .partition(|(n, _)| catalog.own_options().contains(n));
    let Some(scope) = catalog.scope() else {
        if let Some((name, _)) = shared.first() {
            return Err(OptionError::UnknownName {
                name: name.to_string(),
                catalog,
                valid: valid_in(catalog),
            });
        }
        for (_, value) in &own {
            if alicloud_tables::tables::table(value).is_none() {
                return Err(OptionError::BadValue {
                    message: format!(
                        "invalid value for option \"{TABLE_OPTION}\": there is no table \"{value}\""
                    ),
                    hint: Some(format!(
                        "The tables are: {}.",
                        alicloud_tables::tables::table_names()
                    )),
                });
            }
        }
        return Ok(());
    };
    vocabulary::validate(shared.iter().copied(), Some(scope)).map_err(|e| match e {
        Neutral::UnknownName { name, .. } => OptionError::UnknownName {
            name,
            catalog,
            valid: valid_in(catalog),
        },
        Neutral::Misplaced { name, belongs } => OptionError::Misplaced {
            name: name.to_string(),
            found: catalog,
            belongs: Catalog::of_scope(belongs),
        },
        other @ (Neutral::BadValue { .. } | Neutral::Conflict { .. }) => other.into(),
    })?;
    for (_, value) in &own {
        parse_bool(value).ok_or_else(|| OptionError::BadValue {
            message: format!("invalid value for option \"{USE_SERVER_CREDENTIALS}\": \"{value}\""),
            hint: Some("Give true or false.".to_string()),
        })?;
    }
    if !superuser {
        let mut names: Vec<String> = shared
            .iter()
            .filter(|(n, _)| vocabulary::option(n).is_some_and(|d| d.privileged))
            .map(|(n, _)| n.to_string())
            .collect();
        if own.iter().any(|(_, v)| parse_bool(v) == Some(true)) {
            names.push(USE_SERVER_CREDENTIALS.to_string());
        }
        if !names.is_empty() {
            return Err(OptionError::SuperuserOnly { names });
        }
    }
    Ok(())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Whether a user mapping lets its user sign with the database server's own credentials.
fn allows_server_credentials(mapping: &BTreeMap<String, String>) -> bool {
    mapping
        .get(USE_SERVER_CREDENTIALS)
        .and_then(|v| parse_bool(v))
        .unwrap_or(false)
}

/// Whether a role that is not a superuser may scan through this user mapping: it holds access
/// keys of its own, or credentials a superuser chose for it (an option only a superuser may set:
/// `profile`, `profile_file`, `use_server_credentials`). Otherwise the scan would sign with the
/// database server's own credentials.
pub fn usable_without_superuser(mapping: &BTreeMap<String, String>) -> bool {
    vocabulary::has_own_keys(mapping)
        || allows_server_credentials(mapping)
        || mapping
            .keys()
            .any(|k| vocabulary::option(k).is_some_and(|d| d.privileged))
}

/// A user mapping's options as the shared vocabulary knows them (without PostgreSQL's own).
pub fn credential_options(mapping: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    mapping
        .iter()
        .filter(|(k, _)| k.as_str() != USE_SERVER_CREDENTIALS)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[&str]) -> Vec<Option<String>> {
        pairs.iter().map(|p| Some(p.to_string())).collect()
    }

    #[test]
    fn catalogs_and_names() {
        validate(
            &raw(&["regions=cn-hangzhou", "cache_ttl=60"]),
            Catalog::Server,
            false,
        )
        .unwrap();
        match validate(&raw(&["regoins=x"]), Catalog::Server, true).unwrap_err() {
            OptionError::UnknownName { valid, .. } => assert!(valid.starts_with(&["regions"])),
            e => panic!("{e:?}"),
        }
        assert_eq!(
            validate(
                &raw(&["access_key_secret=TOPSECRET"]),
                Catalog::Server,
                true
            )
            .unwrap_err(),
            OptionError::Misplaced {
                name: "access_key_secret".into(),
                found: Catalog::Server,
                belongs: Catalog::UserMapping
            }
        );
        assert!(validate(&raw(&["object=x"]), Catalog::Table, true).is_err());
        validate(&[], Catalog::Table, false).unwrap();
        validate(
            &raw(&["table=alicloud_action_trail"]),
            Catalog::Table,
            false,
        )
        .unwrap();
        match validate(&raw(&["table=alicloud_nope"]), Catalog::Table, false).unwrap_err() {
            OptionError::BadValue { hint, .. } => {
                assert!(hint.unwrap().contains("alicloud_action_trail"))
            }
            e => panic!("{e:?}"),
        }
        match validate(
            &raw(&["use_server_credentials=true"]),
            Catalog::Server,
            true,
        )
        .unwrap_err()
        {
            OptionError::UnknownName { valid, .. } => {
                assert!(!valid.contains(&USE_SERVER_CREDENTIALS))
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn superuser_only_options() {
        for (catalog, option) in [
            (Catalog::Server, "endpoint=http://127.0.0.1:1/{region}"),
            (Catalog::Server, "sts_endpoint=http://127.0.0.1:1"),
            (Catalog::Server, "ecs_metadata_endpoint=http://127.0.0.1:1"),
            (Catalog::UserMapping, "profile=default"),
            (Catalog::UserMapping, "profile_file=/etc/passwd"),
            (Catalog::UserMapping, "use_server_credentials=true"),
        ] {
            assert!(
                matches!(
                    validate(&raw(&[option]), catalog, false),
                    Err(OptionError::SuperuserOnly { .. })
                ),
                "{option}"
            );
            validate(&raw(&[option]), catalog, true).unwrap();
        }
        // The safe choices are open to everyone.
        validate(
            &raw(&["endpoint_type=vpc", "regions=*"]),
            Catalog::Server,
            false,
        )
        .unwrap();
        validate(
            &raw(&["use_server_credentials=false"]),
            Catalog::UserMapping,
            false,
        )
        .unwrap();
        assert!(validate(
            &raw(&["use_server_credentials=maybe"]),
            Catalog::UserMapping,
            true
        )
        .is_err());
    }

    #[test]
    fn server_credentials_flag() {
        let m: BTreeMap<String, String> =
            [("use_server_credentials".to_string(), "on".to_string())].into();
        assert!(allows_server_credentials(&m));
        assert!(credential_options(&m).is_empty());
        assert!(!allows_server_credentials(&BTreeMap::new()));

        let mapping = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        for usable in [
            mapping(&[("access_key_id", "LTAI"), ("access_key_secret", "s")]),
            mapping(&[("use_server_credentials", "true")]),
            mapping(&[("profile", "audit")]),
            mapping(&[("profile_file", "/etc/alicloud.json")]),
        ] {
            assert!(usable_without_superuser(&usable), "{usable:?}");
        }
        for not in [
            mapping(&[]),
            mapping(&[("role_arn", "acs:ram::1:role/r")]),
            mapping(&[("use_server_credentials", "false")]),
            mapping(&[("access_key_id", "LTAI")]),
        ] {
            assert!(!usable_without_superuser(&not), "{not:?}");
        }
    }
}
