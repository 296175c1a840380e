//! Property tests of the table layer's parsers of outside input: option values (every front end's
//! configuration goes through them). Random and hostile inputs give settings or a clear error,
//! never a panic, and an error never quotes a secret's value. `PROPTEST_CASES` sets how many cases
//! each property tries.

use alicloud_tables::connect::settings;
use alicloud_tables::options::{validate, OptionError, Scope, OPTIONS};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A value an option might be given: plausible, borderline or hostile.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[0-9]{1,25}",
        "-?[0-9]{1,6}",
        "(https?|ftp)://[a-z0-9.:@\\[\\]{}/?#%-]{0,40}",
        "(cn|us|eu)-[a-z0-9-]{0,12}(,[a-z0-9 *-]{0,12}){0,4}",
        Just("*".to_string()),
        Just(String::new()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            OPTIONS
                .iter()
                .map(|d| d.name.to_string())
                .collect::<Vec<_>>()
        ),
        "[a-z_]{1,20}",
    ]
}

proptest! {
    #[test]
    fn any_options_are_settings_or_a_clear_error(
        pairs in prop::collection::vec((name(), value()), 0..8),
        scope in prop::option::of(prop::sample::select(vec![Scope::Connection, Scope::Credentials])),
    ) {
        let secret_values: Vec<&str> = pairs
            .iter()
            .filter(|(n, v)| matches!(n.as_str(), "access_key_secret" | "security_token") && v.len() >= 4)
            .map(|(_, v)| v.as_str())
            .collect();
        let checked = validate(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())), scope);
        // An error quotes a secret when its text holds the secret's value and would not with
        // another value in its place: the same text from elsewhere (another option's value, the
        // message's own words, as fuzzing found with "ftp://" and "http://") is no leak, and the
        // front ends scrub every secret from what they show anyway.
        let why_with = |secret: &str, replacement: &str| {
            let swapped: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(n, v)| {
                    let is_secret = matches!(n.as_str(), "access_key_secret" | "security_token");
                    (n.as_str(), if is_secret && v == secret { replacement } else { v.as_str() })
                })
                .collect();
            match validate(swapped, scope) {
                Err(OptionError::BadValue { why, .. }) => why,
                _ => String::new(),
            }
        };
        match &checked {
            Err(e) => {
                let text = format!("{e} {e:?}");
                for s in &secret_values {
                    let quoted = matches!(e, OptionError::BadValue { why, .. } if why.contains(s))
                        && !why_with(s, "Zq7-replacement-Zq7").contains(s);
                    prop_assert!(!quoted, "an error quotes a secret: {}", text);
                }
            }
            Ok(()) if scope.is_none() => {
                // What passes the check becomes settings (the regions may still be refused by
                // the environment's defaults: never a panic).
                let options: BTreeMap<String, String> = pairs.into_iter().collect();
                let _ = settings(&options);
            }
            Ok(()) => {}
        }
    }
}
