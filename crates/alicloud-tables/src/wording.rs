//! The sentences every front end says about options and remedies, written once. Each front end
//! names its own knobs through a [`Wording`]: PostgreSQL's server options and user mappings,
//! SQLite's configure keys, the export CLI's flags. No message depends on rewriting another
//! crate's English.

use crate::options::{OptionError, Rule, Scope};
/// What can be done about a failure (the client's), and the scrubbing of secrets from any text
/// shown: front ends word the one and apply the other, through this module.
pub use alicloud_api::{redact, Remedy};

/// How a front end names its knobs.
pub trait Wording {
    /// One option in a sentence: `option "timeout_ms"` (the default), `key "timeout_ms"`,
    /// `--timeout-ms`.
    fn option(&self, name: &str) -> String {
        format!("option \"{name}\"")
    }

    /// Several options as the subject of one sentence: `options "a" and "b"` (the default),
    /// `--a and --b`.
    fn options(&self, names: &[&str]) -> String {
        format!("options {}", join_quoted(names, "and"))
    }

    /// An option named inside a sentence about another: `"role_arn"` (the default),
    /// `--role-arn`.
    fn name(&self, name: &str) -> String {
        format!("\"{name}\"")
    }

    /// Connection settings to change, joined with `conj` (`or`, `and`): "the server options
    /// timeout_ms or max_attempts", "timeout_ms or max_attempts in alicloud_configure".
    fn settings(&self, names: &[&str], conj: &str) -> String;

    /// Credential options to give or check, joined with `conj`; `existing`: where they already
    /// are ("the user mapping"), else where they go ("a user mapping").
    fn credentials(&self, names: &[&str], conj: &str, existing: bool) -> String;

    /// The machine the calls leave from: "the database server", "this machine".
    fn host(&self) -> &'static str;

    /// A sentence of the front end's own for `remedy`, when the shared one does not fit it.
    fn remedy(&self, remedy: Remedy) -> Option<String> {
        let _ = remedy;
        None
    }
}

/// Option names as they are (`option "timeout_ms"`): the shared vocabulary's own words, in which
/// [`OptionError`] displays itself.
pub struct OptionNames;

impl Wording for OptionNames {
    fn settings(&self, names: &[&str], conj: &str) -> String {
        join(names, conj)
    }

    fn credentials(&self, names: &[&str], conj: &str, _existing: bool) -> String {
        join(names, conj)
    }

    fn host(&self) -> &'static str {
        "this machine"
    }
}

/// `a`, `a or b`, `a, b or c`.
pub fn join<S: AsRef<str>>(items: &[S], conj: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {conj} {}", init.join(", "), last.as_ref())
        }
    }
}

/// `"a"`, `"a" and "b"`.
pub fn join_quoted(names: &[&str], conj: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    join(&quoted, conj)
}

/// What is wrong with options, in `w`'s words.
pub fn describe(e: &OptionError, w: &dyn Wording) -> String {
    match e {
        OptionError::UnknownName { name, .. } => format!("invalid {}", w.option(name)),
        OptionError::Misplaced { name, belongs } => format!(
            "{} belongs with the {}",
            w.option(name),
            match belongs {
                Scope::Connection => "connection settings",
                Scope::Credentials => "credentials",
            }
        ),
        OptionError::BadValue { name, why, .. } => {
            format!("invalid value for {}: {why}", w.option(name))
        }
        OptionError::Conflict { option, rule } => match rule {
            Rule::Needs {
                others,
                with_it,
                why,
            } => {
                let names: Vec<String> = others.iter().map(|n| w.name(n)).collect();
                let mut m = format!("{} needs {}", w.option(option), join(&names, "and"));
                if *with_it {
                    m.push_str(" with it");
                }
                if let Some(why) = why {
                    m.push_str(&format!(" ({why})"));
                }
                m
            }
            Rule::AlternativeTo(other) => format!(
                "{} are alternatives: give one of them",
                w.options(&[option, other])
            ),
        },
    }
}

/// The advice for `remedy`, in `w`'s words.
pub fn hint(remedy: Remedy, w: &dyn Wording) -> String {
    if let Some(own) = w.remedy(remedy) {
        return own;
    }
    match remedy {
        Remedy::RaiseTimeouts => format!(
            "The region did not answer in time: raise {}, or leave the region out of {}.",
            w.settings(&["timeout_ms", "max_attempts"], "or"),
            w.settings(&["regions"], "or")
        ),
        Remedy::CheckNetwork => format!(
            "Check network access from {} to the endpoint, or {}.",
            w.host(),
            w.settings(&["endpoint", "endpoint_type"], "and")
        ),
        Remedy::ProvideCredentials => format!(
            "Give {}, or see docs/configuration.md for the other credential sources.",
            w.credentials(&["access_key_id", "access_key_secret"], "and", false)
        ),
        Remedy::CheckKeyId => format!(
            "The access key id is unknown or disabled: check {} (or the credential source in use).",
            w.credentials(&["access_key_id"], "and", true)
        ),
        Remedy::CheckSecret => format!(
            "The access key secret does not match the access key id: check {}.",
            w.credentials(&["access_key_secret"], "and", true)
        ),
        Remedy::RenewToken => format!(
            "The security token is invalid or expired: renew {}.",
            w.credentials(&["security_token"], "and", true)
        ),
        Remedy::SlowDown => format!(
            "The API is throttling requests: retry later, or lower {}.",
            w.settings(&["max_concurrency"], "or")
        ),
        Remedy::RaiseResponseLimit => format!(
            "The answer is larger than {} allows: raise it if such answers are expected.",
            w.settings(&["max_response_mb"], "or")
        ),
        Remedy::CheckEndpoint => format!(
            "The endpoint answered as the API never does: check {}.",
            w.settings(&["endpoint", "sts_endpoint"], "and")
        ),
        other => other.neutral().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::validate;

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(join(&["a"], "or"), "a");
        assert_eq!(join(&["a", "b"], "or"), "a or b");
        assert_eq!(join(&["a", "b", "c"], "and"), "a, b and c");
        assert_eq!(join_quoted(&["a", "b"], "and"), "\"a\" and \"b\"");
    }

    #[test]
    fn option_errors_in_the_plain_words() {
        let e = |pairs: &[(&str, &str)]| validate(pairs.iter().copied(), None).unwrap_err();
        assert_eq!(
            e(&[("access_key_id", "x")]).to_string(),
            "option \"access_key_id\" needs \"access_key_secret\" with it"
        );
        assert_eq!(
            e(&[("security_token", "t")]).to_string(),
            "option \"security_token\" needs \"access_key_id\" and \"access_key_secret\" (the STS key pair it belongs to)"
        );
        assert_eq!(
            e(&[
                ("profile", "p"),
                ("access_key_id", "a"),
                ("access_key_secret", "b")
            ])
            .to_string(),
            "options \"profile\" and \"access_key_id\" are alternatives: give one of them"
        );
        assert_eq!(
            e(&[("role_session_name", "s")]).to_string(),
            "option \"role_session_name\" needs \"role_arn\""
        );
    }

    #[test]
    fn every_remedy_names_the_knobs_of_the_front_end() {
        struct Flags;
        impl Wording for Flags {
            fn option(&self, name: &str) -> String {
                format!("--{name}")
            }
            fn options(&self, names: &[&str]) -> String {
                names
                    .iter()
                    .map(|n| format!("--{n}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            }
            fn name(&self, name: &str) -> String {
                format!("--{name}")
            }
            fn settings(&self, names: &[&str], conj: &str) -> String {
                let flags: Vec<String> = names.iter().map(|n| format!("--{n}")).collect();
                join(&flags, conj)
            }
            fn credentials(&self, names: &[&str], conj: &str, _existing: bool) -> String {
                self.settings(names, conj)
            }
            fn host(&self) -> &'static str {
                "here"
            }
        }
        assert_eq!(
            hint(Remedy::SlowDown, &Flags),
            "The API is throttling requests: retry later, or lower --max_concurrency."
        );
        assert!(hint(Remedy::CheckNetwork, &Flags).starts_with("Check network access from here"));
        assert_eq!(hint(Remedy::SyncClock, &Flags), Remedy::SyncClock.neutral());
    }
}
