//! `alicloud_configure(json)`: the JSON object's keys are the option names every front end shares
//! ([`alicloud_tables::options::OPTIONS`]), checked by the shared validator; the values are
//! strings, or JSON numbers, booleans and arrays (lists) where that reads more naturally. Also the
//! advice of an error's [`Remedy`], worded with those keys.

use alicloud_tables::options::{self, OptionError, Settings};
use alicloud_tables::wording::{self, describe, join, join_quoted, Remedy, Wording};
use std::collections::BTreeMap;

/// What the configure function is called in messages.
pub const FUNCTION: &str = "alicloud_configure";

/// The keys, comma-separated, for messages.
pub fn valid_keys() -> String {
    options::portable()
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads and checks the configure function's argument. `None` (SQL NULL, or no argument) and `{}`
/// both mean "no options": the credential chain alone, every setting at its default.
pub fn parse(json: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    let Some(json) = json.filter(|j| !j.trim().is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        // serde_json's messages name a line and column, never the text itself (which may hold
        // a secret).
        format!("{FUNCTION}: the argument is not valid JSON ({e}); give an object such as '{{\"regions\": \"cn-hangzhou,cn-beijing\"}}'")
    })?;
    let serde_json::Value::Object(members) = value else {
        return Err(format!(
            "{FUNCTION}: the argument must be a JSON object whose keys are option names ({})",
            valid_keys()
        ));
    };
    let mut options = BTreeMap::new();
    for (key, value) in members {
        if options::POSTGRES_ONLY.contains(&key.as_str()) {
            return Err(format!(
                "{FUNCTION}: {key} names PostgreSQL foreign servers, which SQLite does not have; name the accounts with member_accounts and member_role_name instead"
            ));
        }
        if let Some(text) = option_text(&key, &value)? {
            options.insert(key, text);
        }
    }
    let pairs: Vec<(&str, &str)> = options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    options::validate(pairs, None).map_err(|e| option_message(&e))?;
    // What `connect` will do with them, minus the credentials (which may need the network).
    Settings::from_options(&options, || None).map_err(|e| option_message(&e))?;
    Ok(options)
}

/// A member's value as option text; `None` for null (the option is left out).
fn option_text(key: &str, value: &serde_json::Value) -> Result<Option<String>, String> {
    use serde_json::Value as J;
    let scalar = |v: &J| match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        J::Null => Ok(None),
        J::Array(items) => {
            let texts: Option<Vec<String>> = items.iter().map(scalar).collect();
            match texts {
                Some(t) => Ok(Some(t.join(","))),
                None => Err(format!(
                    "{FUNCTION}: the value of \"{key}\" is an array holding something other than strings and numbers"
                )),
            }
        }
        J::Object(_) => Err(format!(
            "{FUNCTION}: the value of \"{key}\" is an object; give a string"
        )),
        other => Ok(scalar(other)),
    }
}

/// How the configure function names its knobs: keys of its JSON object.
pub struct ConfigureWording;

impl Wording for ConfigureWording {
    fn option(&self, name: &str) -> String {
        format!("key \"{name}\"")
    }

    fn options(&self, names: &[&str]) -> String {
        format!("keys {}", join_quoted(names, "and"))
    }

    fn name(&self, name: &str) -> String {
        format!("\"{name}\"")
    }

    fn settings(&self, names: &[&str], conj: &str) -> String {
        format!("{} in {FUNCTION}", join(names, conj))
    }

    fn credentials(&self, names: &[&str], conj: &str, _existing: bool) -> String {
        self.settings(names, conj)
    }

    fn host(&self) -> &'static str {
        "this machine"
    }
}

/// An option error in the configure function's words (keys, not options). Never quotes a secret:
/// the shared validator does not.
pub fn option_message(e: &OptionError) -> String {
    match e {
        OptionError::UnknownName { name, .. } => format!(
            "{FUNCTION}: unknown key \"{name}\"; the valid keys are: {}",
            valid_keys()
        ),
        OptionError::Misplaced { name, .. } => format!(
            "{FUNCTION}: key \"{name}\" is not accepted here; the valid keys are: {}",
            valid_keys()
        ),
        OptionError::BadValue { hint, .. } => {
            let mut m = format!("{FUNCTION}: {}", describe(e, &ConfigureWording));
            if let Some(h) = hint {
                m.push_str(". ");
                m.push_str(h.trim_end_matches('.'));
            }
            m
        }
        OptionError::Conflict { .. } => format!("{FUNCTION}: {}", describe(e, &ConfigureWording)),
    }
}

/// The options as the configure function shows them: a JSON object, secret values masked.
pub fn summary(options: &BTreeMap<String, String>) -> String {
    let secret: Vec<String> = options::secrets(options);
    let shown: serde_json::Map<String, serde_json::Value> = options
        .iter()
        .map(|(k, v)| {
            let v = if secret.contains(v) {
                "<redacted>".to_string()
            } else {
                v.clone()
            };
            (k.clone(), serde_json::Value::String(v))
        })
        .collect();
    serde_json::Value::Object(shown).to_string()
}

/// The advice for a remedy, naming the configure function's keys.
pub fn hint(remedy: Remedy) -> String {
    wording::hint(remedy, &ConfigureWording)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> BTreeMap<String, String> {
        parse(Some(json)).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn err(json: &str) -> String {
        parse(Some(json)).expect_err(json)
    }

    #[test]
    fn strings_numbers_booleans_and_lists() {
        let o = ok(
            r#"{"regions": ["cn-hangzhou", "cn-beijing"], "timeout_ms": 2500,
                       "cache_ttl": "0", "ignore_error_codes": "Forbidden.RAM", "profile": null}"#,
        );
        assert_eq!(o["regions"], "cn-hangzhou,cn-beijing");
        assert_eq!(o["timeout_ms"], "2500");
        assert_eq!(o["cache_ttl"], "0");
        assert!(!o.contains_key("profile"), "null leaves a key out");
        assert_eq!(o.len(), 4);
        assert!(ok("{}").is_empty());
        assert!(parse(None).unwrap().is_empty());
        assert!(parse(Some("  ")).unwrap().is_empty());
    }

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let e = err(r#"{"regoins": "cn-hangzhou"}"#);
        assert!(e.starts_with("alicloud_configure: unknown key \"regoins\"; the valid keys are: regions, endpoint_type, endpoint,"), "{e}");
        for d in options::portable() {
            assert!(e.contains(d.name), "{e} lacks {}", d.name);
        }
    }

    #[test]
    fn member_servers_is_postgres_only() {
        let e = err(r#"{"member_servers": "acct_*"}"#);
        assert!(e.contains("names PostgreSQL foreign servers"), "{e}");
        assert!(e.contains("member_accounts"), "{e}");
        assert!(!valid_keys().contains("member_servers"));
    }

    #[test]
    fn bad_values_say_what_and_how() {
        let e = err(r#"{"timeout_ms": "soon"}"#);
        assert_eq!(
            e,
            "alicloud_configure: invalid value for key \"timeout_ms\": \"soon\". Give a whole number from 1 to 86400000"
        );
        assert!(err(r#"{"timeout_ms": 2.5}"#).contains("\"2.5\""));
        assert!(err(r#"{"regions": "cn_hangzhou"}"#).contains("key \"regions\""));
        assert!(err(r#"{"cache_ttl": true}"#).contains("key \"cache_ttl\""));
        assert!(err(r#"{"endpoint": {"url": "x"}}"#).contains("is an object"));
        assert!(err(r#"{"regions": [["a"]]}"#).contains("array holding"));
        assert!(err("[1]").contains("must be a JSON object"));
        assert!(err("{\"regions\": ").contains("not valid JSON"));
    }

    #[test]
    fn credential_rules_and_secrets() {
        let e = err(r#"{"access_key_secret": "TOPSECRET-VALUE"}"#);
        assert_eq!(
            e,
            "alicloud_configure: key \"access_key_secret\" needs \"access_key_id\" with it"
        );
        let e = err(r#"{"access_key_id": "id", "access_key_secret": ""}"#);
        assert!(e.contains("must not be empty"), "{e}");
        // Not valid JSON around a secret: the message does not echo the text.
        let e = err(r#"{"access_key_secret": "TOPSECRET-VALUE" "#);
        assert!(!e.contains("TOPSECRET"), "{e}");
        let o = ok(
            r#"{"access_key_id": "LTAIid", "access_key_secret": "TOPSECRET-VALUE", "security_token": "TOKEN-VALUE"}"#,
        );
        let s = summary(&o);
        assert_eq!(
            s,
            r#"{"access_key_id":"LTAIid","access_key_secret":"<redacted>","security_token":"<redacted>"}"#
        );
    }

    #[test]
    fn hints_name_the_configure_keys() {
        assert!(hint(Remedy::CheckSecret).contains("access_key_secret in alicloud_configure"));
        assert!(hint(Remedy::RaiseTimeouts).contains("timeout_ms"));
        assert_eq!(
            hint(Remedy::GrantPermission),
            Remedy::GrantPermission.neutral()
        );
    }
}
