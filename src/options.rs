//! Every option the wrapper accepts, in one table, with the catalog it belongs to; the validator
//! walks it (as `postgres_fdw`'s `option.c` does) and the scan turns the checked values into a
//! client configuration.

use alicloud_api::client::ClientConfig;
use alicloud_api::endpoint::{validate_region_id, Endpoint};
use alicloud_api::retry::RetryPolicy;
use std::collections::HashMap;
use std::time::Duration;

/// Which `CREATE ... OPTIONS` an option belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    Wrapper,
    Server,
    UserMapping,
    Table,
}

impl Catalog {
    pub fn describe(self) -> &'static str {
        match self {
            Catalog::Wrapper => "FOREIGN DATA WRAPPER",
            Catalog::Server => "SERVER",
            Catalog::UserMapping => "USER MAPPING",
            Catalog::Table => "FOREIGN TABLE",
        }
    }
}

/// How a value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regions,
    Endpoint,
    Millis,
    Count {
        min: u64,
        max: u64,
    },
    CodeList,
    Text,
    /// Never echoed in any message.
    Secret,
}

struct OptionDef {
    name: &'static str,
    catalog: Catalog,
    kind: Kind,
}

const OPTIONS: &[OptionDef] = &[
    OptionDef {
        name: "regions",
        catalog: Catalog::Server,
        kind: Kind::Regions,
    },
    OptionDef {
        name: "endpoint",
        catalog: Catalog::Server,
        kind: Kind::Endpoint,
    },
    OptionDef {
        name: "sts_endpoint",
        catalog: Catalog::Server,
        kind: Kind::Endpoint,
    },
    OptionDef {
        name: "ecs_metadata_endpoint",
        catalog: Catalog::Server,
        kind: Kind::Endpoint,
    },
    OptionDef {
        name: "connect_timeout_ms",
        catalog: Catalog::Server,
        kind: Kind::Millis,
    },
    OptionDef {
        name: "timeout_ms",
        catalog: Catalog::Server,
        kind: Kind::Millis,
    },
    OptionDef {
        name: "deadline_ms",
        catalog: Catalog::Server,
        kind: Kind::Millis,
    },
    OptionDef {
        name: "max_attempts",
        catalog: Catalog::Server,
        kind: Kind::Count { min: 1, max: 10 },
    },
    OptionDef {
        name: "max_concurrency",
        catalog: Catalog::Server,
        kind: Kind::Count { min: 1, max: 64 },
    },
    OptionDef {
        name: "retry_base_delay_ms",
        catalog: Catalog::Server,
        kind: Kind::Millis,
    },
    OptionDef {
        name: "ignore_error_codes",
        catalog: Catalog::Server,
        kind: Kind::CodeList,
    },
    OptionDef {
        name: "access_key_id",
        catalog: Catalog::UserMapping,
        kind: Kind::Text,
    },
    OptionDef {
        name: "access_key_secret",
        catalog: Catalog::UserMapping,
        kind: Kind::Secret,
    },
    OptionDef {
        name: "security_token",
        catalog: Catalog::UserMapping,
        kind: Kind::Secret,
    },
    OptionDef {
        name: "profile",
        catalog: Catalog::UserMapping,
        kind: Kind::Text,
    },
    OptionDef {
        name: "profile_file",
        catalog: Catalog::UserMapping,
        kind: Kind::Text,
    },
    OptionDef {
        name: "role_arn",
        catalog: Catalog::UserMapping,
        kind: Kind::Text,
    },
    OptionDef {
        name: "role_session_name",
        catalog: Catalog::UserMapping,
        kind: Kind::Text,
    },
];

/// A validator complaint, ready to become a Postgres error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// An unknown or misplaced option name (SQLSTATE HV00D), else a bad value (HV024).
    pub unknown_name: bool,
    pub message: String,
    pub hint: Option<String>,
}

impl OptionError {
    fn value(message: String, hint: Option<String>) -> Self {
        OptionError {
            unknown_name: false,
            message,
            hint,
        }
    }
}

/// Checks one catalog's options, as `CREATE`/`ALTER ... OPTIONS` gives them (`name=value`).
pub fn validate(options: &[(String, String)], catalog: Catalog) -> Result<(), OptionError> {
    for (name, value) in options {
        let Some(def) = OPTIONS.iter().find(|d| d.name == name) else {
            let valid: Vec<&str> = OPTIONS
                .iter()
                .filter(|d| d.catalog == catalog)
                .map(|d| d.name)
                .collect();
            return Err(OptionError {
                unknown_name: true,
                message: format!("invalid option \"{name}\""),
                hint: Some(if valid.is_empty() {
                    format!(
                        "There are no valid options in this context ({}).",
                        catalog.describe()
                    )
                } else {
                    format!("Valid options in this context are: {}", valid.join(", "))
                }),
            });
        };
        if def.catalog != catalog {
            let secret_like = def.catalog == Catalog::UserMapping;
            let hint = if secret_like && catalog == Catalog::Server {
                format!(
                    "Credentials go in a user mapping, whose options only the mapped user, the \
                     server's owner and superusers can see: CREATE USER MAPPING FOR CURRENT_USER \
                     SERVER <server> OPTIONS ({name} '...')"
                )
            } else {
                format!("Set it in the {} options instead.", def.catalog.describe())
            };
            let why = if secret_like && catalog == Catalog::Server {
                " (every database user can read server options)"
            } else {
                ""
            };
            return Err(OptionError {
                unknown_name: true,
                message: format!(
                    "option \"{name}\" is not allowed in {} options{why}",
                    catalog.describe()
                ),
                hint: Some(hint),
            });
        }
        check_value(def, value)?;
    }
    if catalog == Catalog::UserMapping {
        let map: HashMap<&str, &str> = options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        check_user_mapping_combination(&map)?;
    }
    Ok(())
}

fn check_value(def: &OptionDef, value: &str) -> Result<(), OptionError> {
    let name = def.name;
    match def.kind {
        Kind::Regions => parse_regions(value).map(|_| ()),
        Kind::Endpoint => Endpoint::parse(value).map(|_| ()).map_err(|e| {
            OptionError::value(format!("invalid value for option \"{name}\": {e}"), None)
        }),
        Kind::Millis => parse_number(name, value, 1, 86_400_000).map(|_| ()),
        Kind::Count { min, max } => parse_number(name, value, min, max).map(|_| ()),
        Kind::CodeList => {
            let codes = split_list(value);
            match codes.iter().find(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '_' || ch == '-')) {
                Some(bad) => Err(OptionError::value(
                    format!("invalid value for option \"{name}\": \"{bad}\" is not an API error code"),
                    Some("Give a comma-separated list of codes, for example 'Forbidden.RAM,InvalidAccessKeyId.NotFound'.".into()),
                )),
                None if codes.is_empty() => Err(OptionError::value(format!("option \"{name}\" is empty"), None)),
                None => Ok(()),
            }
        }
        Kind::Text if value.trim().is_empty() => Err(OptionError::value(
            format!("option \"{name}\" must not be empty"),
            None,
        )),
        Kind::Text => Ok(()),
        Kind::Secret if value.is_empty() => Err(OptionError::value(
            format!("option \"{name}\" must not be empty"),
            None,
        )),
        Kind::Secret => Ok(()),
    }
}

fn check_user_mapping_combination(m: &HashMap<&str, &str>) -> Result<(), OptionError> {
    let has = |k: &str| m.contains_key(k);
    if has("access_key_id") != has("access_key_secret") {
        let (given, missing) = if has("access_key_id") {
            ("access_key_id", "access_key_secret")
        } else {
            ("access_key_secret", "access_key_id")
        };
        return Err(OptionError::value(
            format!("option \"{given}\" needs \"{missing}\" in the same user mapping"),
            None,
        ));
    }
    if has("security_token") && !has("access_key_id") {
        return Err(OptionError::value(
            "option \"security_token\" needs \"access_key_id\" and \"access_key_secret\" (the STS key pair it belongs to)".into(),
            None,
        ));
    }
    if has("profile") && has("access_key_id") {
        return Err(OptionError::value(
            "options \"profile\" and \"access_key_id\" are alternatives: give one of them".into(),
            None,
        ));
    }
    if has("role_session_name") && !has("role_arn") {
        return Err(OptionError::value(
            "option \"role_session_name\" needs \"role_arn\"".into(),
            None,
        ));
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

/// The `regions` option: `*` (every region `DescribeRegions` reports) or a comma list of region ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    All,
    List(Vec<String>),
}

pub fn parse_regions(value: &str) -> Result<Regions, OptionError> {
    if value.trim() == "*" {
        return Ok(Regions::All);
    }
    let mut list = Vec::new();
    for r in split_list(value) {
        validate_region_id(&r).map_err(|e| {
            OptionError::value(
                format!("invalid value for option \"regions\": {e}"),
                Some("Give a comma-separated list of region ids, or '*' for every region.".into()),
            )
        })?;
        if !list.contains(&r) {
            list.push(r);
        }
    }
    if list.is_empty() {
        return Err(OptionError::value(
            "option \"regions\" is empty".into(),
            Some("Give a comma-separated list of region ids, or '*' for every region.".into()),
        ));
    }
    Ok(Regions::List(list))
}

fn parse_number(name: &str, value: &str, min: u64, max: u64) -> Result<u64, OptionError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(OptionError::value(
            format!("invalid value for option \"{name}\": \"{value}\""),
            Some(format!("Give a whole number from {min} to {max}.")),
        )),
    }
}

/// The server options, checked and with defaults applied.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub regions: Regions,
    pub client: ClientConfig,
    pub ignore_error_codes: Vec<String>,
}

impl ServerOptions {
    /// `default_region`: asked only when the `regions` option is absent (the environment's region);
    /// `None` means `cn-hangzhou`.
    pub fn from_map(
        map: &HashMap<String, String>,
        default_region: impl FnOnce() -> Option<String>,
    ) -> Result<Self, OptionError> {
        let pairs: Vec<(String, String)> = map
            .iter()
            .filter(|(k, _)| !k.starts_with("wrappers."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        validate(&pairs, Catalog::Server)?;
        let regions = match map.get("regions") {
            Some(v) => parse_regions(v)?,
            None => Regions::List(vec![
                default_region().unwrap_or_else(|| "cn-hangzhou".to_string())
            ]),
        };
        let millis = |k: &str| -> Result<Option<Duration>, OptionError> {
            map.get(k)
                .map(|v| parse_number(k, v, 1, 86_400_000).map(Duration::from_millis))
                .transpose()
        };
        let mut client = ClientConfig::default();
        if let Some(e) = map.get("endpoint") {
            client.actiontrail_endpoint =
                Endpoint::parse(e).map_err(|e| OptionError::value(e.to_string(), None))?;
        }
        if let Some(e) = map.get("sts_endpoint") {
            client.sts_endpoint =
                Endpoint::parse(e).map_err(|e| OptionError::value(e.to_string(), None))?;
        }
        if let Some(e) = map.get("ecs_metadata_endpoint") {
            client.ecs_metadata_base = e.trim().trim_end_matches('/').to_string();
        }
        if let Some(d) = millis("connect_timeout_ms")? {
            client.connect_timeout = d;
        }
        if let Some(d) = millis("timeout_ms")? {
            client.attempt_timeout = d;
        }
        client.deadline = millis("deadline_ms")?;
        let mut retry = RetryPolicy::default();
        if let Some(v) = map.get("max_attempts") {
            retry.max_attempts = parse_number("max_attempts", v, 1, 10)? as u32;
        }
        if let Some(d) = millis("retry_base_delay_ms")? {
            retry.base_delay = d;
        }
        client.retry = retry;
        if let Some(v) = map.get("max_concurrency") {
            client.max_concurrency = parse_number("max_concurrency", v, 1, 64)? as usize;
        }
        if let Regions::List(l) = &regions {
            client.sts_region = l[0].clone();
        }
        Ok(ServerOptions {
            regions,
            client,
            ignore_error_codes: map
                .get("ignore_error_codes")
                .map(|v| split_list(v))
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn server_options() {
        validate(
            &opts(&[
                ("regions", "cn-hangzhou, cn-beijing"),
                ("max_attempts", "3"),
            ]),
            Catalog::Server,
        )
        .unwrap();
        validate(&opts(&[("regions", "*")]), Catalog::Server).unwrap();
        let e = validate(&opts(&[("regoins", "x")]), Catalog::Server).unwrap_err();
        assert!(e.unknown_name && e.hint.unwrap().contains("regions, endpoint"));
        let e = validate(&opts(&[("regions", "cn_hangzhou")]), Catalog::Server).unwrap_err();
        assert!(e.message.contains("cn_hangzhou"));
        assert!(validate(&opts(&[("max_attempts", "0")]), Catalog::Server).is_err());
        assert!(validate(&opts(&[("timeout_ms", "-1")]), Catalog::Server).is_err());
        assert!(validate(&opts(&[("endpoint", "ftp://x")]), Catalog::Server).is_err());
    }

    #[test]
    fn secrets_are_refused_in_server_options_without_echo() {
        let e = validate(
            &opts(&[("access_key_secret", "TOPSECRET")]),
            Catalog::Server,
        )
        .unwrap_err();
        assert!(e.message.contains("not allowed in SERVER options"));
        assert!(e.hint.as_ref().unwrap().contains("CREATE USER MAPPING"));
        assert!(!format!("{e:?}").contains("TOPSECRET"));
    }

    #[test]
    fn user_mapping_combinations() {
        validate(
            &opts(&[("access_key_id", "a"), ("access_key_secret", "b")]),
            Catalog::UserMapping,
        )
        .unwrap();
        validate(&opts(&[("profile", "p")]), Catalog::UserMapping).unwrap();
        assert!(validate(&opts(&[("access_key_id", "a")]), Catalog::UserMapping).is_err());
        assert!(validate(&opts(&[("security_token", "t")]), Catalog::UserMapping).is_err());
        assert!(validate(
            &opts(&[
                ("profile", "p"),
                ("access_key_id", "a"),
                ("access_key_secret", "b")
            ]),
            Catalog::UserMapping
        )
        .is_err());
        assert!(validate(&opts(&[("regions", "cn-hangzhou")]), Catalog::UserMapping).is_err());
    }

    #[test]
    fn defaults_and_parsing() {
        let s = ServerOptions::from_map(&HashMap::new(), || Some("cn-shanghai".into())).unwrap();
        assert_eq!(s.regions, Regions::List(vec!["cn-shanghai".into()]));
        let s = ServerOptions::from_map(&HashMap::new(), || None).unwrap();
        assert_eq!(s.regions, Regions::List(vec!["cn-hangzhou".into()]));
        assert_eq!(s.client.retry.max_attempts, 3);
        assert_eq!(s.client.max_concurrency, 10);
        let m: HashMap<String, String> = opts(&[
            ("regions", "cn-beijing,cn-beijing"),
            ("timeout_ms", "250"),
            ("ignore_error_codes", "Forbidden.RAM, NoPermission"),
            ("wrappers.fserver_oid", "1"),
        ])
        .into_iter()
        .collect();
        let s =
            ServerOptions::from_map(&m, || panic!("regions is set: no default needed")).unwrap();
        assert_eq!(s.regions, Regions::List(vec!["cn-beijing".into()]));
        assert_eq!(s.client.attempt_timeout, Duration::from_millis(250));
        assert_eq!(s.ignore_error_codes, vec!["Forbidden.RAM", "NoPermission"]);
    }
}
