//! The Alibaba CLI profile file, `~/.aliyun/config.json`.
//!
//! The file is parsed into a [`serde_json::Value`] first and picked apart by hand, so that no error
//! message ever quotes a value from the file: `serde_json`'s syntax errors give a line and column
//! only, but its type errors (`invalid type: string "…"`) would quote the value, which may be a
//! secret. Every message here names fields, profiles and the path, never a value (the mode is
//! quoted only when it looks like a mode name).
//!
//! The CLI writes every field for every profile, with `""` or `0` where unset: empty strings and
//! zero numbers count as missing.

use super::{CredentialSource, Credentials, Secret};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;

/// The modes this crate can use, as the CLI spells them.
pub(crate) const SUPPORTED_MODES: [&str; 4] = ["AK", "StsToken", "RamRoleArn", "EcsRamRole"];

/// The parsed file. Secrets are held as [`Secret`], so `Debug` is safe.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProfileFile {
    pub current: Option<String>,
    pub profiles: Vec<Profile>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Profile {
    pub name: String,
    pub mode: Option<String>,
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<Secret>,
    pub sts_token: Option<Secret>,
    pub ram_role_arn: Option<String>,
    pub ram_session_name: Option<String>,
    pub expired_seconds: Option<u64>,
    pub ram_role_name: Option<String>,
    pub region_id: Option<String>,
}

impl ProfileFile {
    /// Reads and parses the file; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<ProfileFile>> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&bytes, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::credentials(format!(
                "could not read the CLI profile file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Parses the file's bytes; `path` is only for messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<ProfileFile> {
        let bad = |what: String| {
            Error::credentials(format!(
                "the CLI profile file {} is malformed: {what}",
                path.display()
            ))
        };
        // Syntax errors only (line and column, no values): every JSON text parses into a Value.
        let root: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let root = root
            .as_object()
            .ok_or_else(|| bad("the top level is not a JSON object".to_string()))?;
        let current = string_field(root, "current").map_err(|m| bad(m.to_string()))?;
        let mut profiles = Vec::new();
        match root.get("profiles") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let obj = item
                        .as_object()
                        .ok_or_else(|| bad(format!("profiles[{i}] is not a JSON object")))?;
                    let profile = Profile::from_object(obj)
                        .map_err(|m| bad(format!("profiles[{i}]: {m}")))?;
                    profiles.push(profile);
                }
            }
            Some(_) => return Err(bad("field \"profiles\" is not an array".to_string())),
        }
        Ok(ProfileFile { current, profiles })
    }

    /// The first profile with this name.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile names, quoted and comma-separated, for messages; "(none)" when empty.
    pub fn names(&self) -> String {
        if self.profiles.is_empty() {
            return "(none)".to_string();
        }
        self.profiles
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A field-level problem; names the field, never its value.
#[derive(Debug)]
struct FieldError(String);

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string field: absent, null or blank => `None`; surrounding whitespace is dropped.
fn string_field(
    obj: &Map<String, Value>,
    key: &str,
) -> std::result::Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            Ok((!t.is_empty()).then(|| t.to_string()))
        }
        Some(_) => Err(FieldError(format!("field {key:?} is not a string"))),
    }
}

/// A non-negative integer field, given as a number or a numeric string: absent, null, blank or 0
/// => `None`.
fn seconds_field(
    obj: &Map<String, Value>,
    key: &str,
) -> std::result::Result<Option<u64>, FieldError> {
    let n = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(0) => Ok(None),
        Some(n) => Ok(Some(n)),
        None => Err(FieldError(format!(
            "field {key:?} is not a whole number of seconds"
        ))),
    }
}

impl Profile {
    fn from_object(obj: &Map<String, Value>) -> std::result::Result<Profile, FieldError> {
        let name = string_field(obj, "name")?
            .ok_or_else(|| FieldError("the profile has no \"name\"".to_string()))?;
        let in_profile = |e: FieldError| FieldError(format!("profile {name:?}: {e}"));
        let s = |key: &str| string_field(obj, key).map_err(in_profile);
        Ok(Profile {
            mode: s("mode")?,
            access_key_id: s("access_key_id")?,
            access_key_secret: s("access_key_secret")?.map(Secret::new),
            sts_token: s("sts_token")?.map(Secret::new),
            ram_role_arn: s("ram_role_arn")?,
            ram_session_name: s("ram_session_name")?,
            expired_seconds: seconds_field(obj, "expired_seconds").map_err(in_profile)?,
            ram_role_name: s("ram_role_name")?,
            region_id: s("region_id")?,
            name,
        })
    }

    /// The mode, for messages: quoted as written when it looks like a mode name.
    pub fn mode_label(&self) -> String {
        match &self.mode {
            None => "(none)".to_string(),
            Some(m) if is_plain_name(m) => m.clone(),
            Some(_) => "(not a mode name)".to_string(),
        }
    }

    /// What this profile stands for. `path` is only for messages; `default_session_name` and
    /// `default_duration`/`min_duration` are the RamRoleArn defaults.
    pub fn to_source(
        &self,
        path: &Path,
        default_session_name: &str,
        default_duration: u32,
        min_duration: u32,
    ) -> Result<CredentialSource> {
        let where_ = || format!("profile {:?} in {}", self.name, path.display());
        let missing = |field: &str| {
            Error::credentials(format!(
                "{} (mode {}) has no {field}",
                where_(),
                self.mode_label()
            ))
        };
        let keys = || -> Result<Credentials> {
            let id = self
                .access_key_id
                .clone()
                .ok_or_else(|| missing("access_key_id"))?;
            let secret = self
                .access_key_secret
                .clone()
                .ok_or_else(|| missing("access_key_secret"))?;
            Ok(Credentials {
                access_key_id: id,
                access_key_secret: secret,
                security_token: None,
                expiration: None,
            })
        };
        match self.mode.as_deref() {
            Some("AK") => Ok(CredentialSource::Static(keys()?)),
            Some("StsToken") => {
                let mut c = keys()?;
                c.security_token =
                    Some(self.sts_token.clone().ok_or_else(|| missing("sts_token"))?);
                Ok(CredentialSource::Static(c))
            }
            Some("RamRoleArn") => {
                let base = keys()?;
                let role_arn = self
                    .ram_role_arn
                    .clone()
                    .ok_or_else(|| missing("ram_role_arn"))?;
                let duration_seconds = match self.expired_seconds {
                    None => default_duration,
                    Some(s) if s < u64::from(min_duration) || s > u64::from(u32::MAX) => {
                        return Err(Error::credentials(format!(
                            "{} (mode RamRoleArn) has expired_seconds {s}: it must be at least {min_duration}",
                            where_()
                        )))
                    }
                    Some(s) => s as u32,
                };
                Ok(CredentialSource::RamRoleArn {
                    base,
                    role_arn,
                    session_name: self
                        .ram_session_name
                        .clone()
                        .unwrap_or_else(|| default_session_name.to_string()),
                    duration_seconds,
                    external_id: None,
                })
            }
            Some("EcsRamRole") => Ok(CredentialSource::EcsRamRole {
                role_name: self.ram_role_name.clone(),
            }),
            _ => Err(Error::credentials(format!(
                "{} has mode {}, which is not supported; the supported modes are {}",
                where_(),
                self.mode_label(),
                SUPPORTED_MODES.join(", ")
            ))),
        }
    }
}

/// Letters, digits, `_`, `-` and `.`, at most 64 characters: safe to quote in a message.
/// A short plain word: a mode name (the longest is 19 characters), never the length of a secret
/// (an AccessKey secret has 30) written in the wrong field.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 24
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse(text: &str) -> Result<ProfileFile> {
        ProfileFile::parse(text.as_bytes(), &PathBuf::from("/h/.aliyun/config.json"))
    }

    #[test]
    fn parses_the_cli_layout_with_empty_fields() {
        let f = parse(
            r#"{"current":"default","profiles":[
              {"name":"default","mode":"AK","access_key_id":"id1","access_key_secret":"s1",
               "sts_token":"","ram_role_name":"","ram_role_arn":"","ram_session_name":"",
               "expired_seconds":0,"region_id":"cn-hangzhou","output_format":"json","language":"en",
               "retry_count":0,"site":""}],
              "meta_path":""}"#,
        )
        .unwrap();
        assert_eq!(f.current.as_deref(), Some("default"));
        let p = f.get("default").unwrap();
        assert_eq!(p.mode.as_deref(), Some("AK"));
        assert_eq!(p.sts_token, None);
        assert_eq!(p.expired_seconds, None);
        assert_eq!(p.region_id.as_deref(), Some("cn-hangzhou"));
        assert_eq!(f.names(), "\"default\"");
    }

    #[test]
    fn expired_seconds_may_be_a_string() {
        let f = parse(r#"{"profiles":[{"name":"r","expired_seconds":"1800"}]}"#).unwrap();
        assert_eq!(f.get("r").unwrap().expired_seconds, Some(1800));
        let e = parse(r#"{"profiles":[{"name":"r","expired_seconds":-5}]}"#).unwrap_err();
        assert!(e.to_string().contains("expired_seconds"), "{e}");
    }

    #[test]
    fn type_errors_name_the_field_and_not_the_value() {
        let cases = [
            (
                r#"{"profiles":[{"name":"p","access_key_secret":["hush-hush-1"]}]}"#,
                "access_key_secret",
            ),
            (
                r#"{"profiles":[{"name":"p","expired_seconds":"hush-hush-1"}]}"#,
                "expired_seconds",
            ),
            (r#"{"profiles":["hush-hush-1"]}"#, "profiles[0]"),
            (r#"{"profiles":"hush-hush-1"}"#, "profiles"),
            (r#"{"current":{"x":"hush-hush-1"}}"#, "current"),
            (r#"["hush-hush-1"]"#, "top level"),
            (
                r#"{"profiles":[{"name":"p","access_key_secret":"hush-hush-1",}]}"#,
                "line 1",
            ),
            (
                r#"{"profiles":[{"name":"p","access_key_secret":"hush-hush-1\q"}]}"#,
                "escape",
            ),
        ];
        for (text, needle) in cases {
            let e = parse(text).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(needle), "{shown}");
            assert!(shown.contains("/h/.aliyun/config.json"), "{shown}");
            assert!(!shown.contains("hush-hush"), "{shown}");
        }
    }

    #[test]
    fn odd_modes_are_not_quoted() {
        let f = parse(r#"{"profiles":[{"name":"p","mode":"hush hush secret value"}]}"#).unwrap();
        let e = f
            .get("p")
            .unwrap()
            .to_source(Path::new("/x"), "s", 3600, 900)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hush"), "{e}");
        assert!(e.contains("not a mode name"), "{e}");
        assert!(e.contains("AK, StsToken, RamRoleArn, EcsRamRole"), "{e}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use serde_json::{json, Value};

        /// A value a field of the file may hold, right or wrong: the secret marker inside
        /// strings as long as a secret, so that a message that quotes a value is caught.
        fn field_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                ".{0,8}".prop_map(|s| Value::from(format!("hush-marker-0123456789abcdefgh{s}"))),
                Just(json!(["hush-marker-0123456789abcdefgh"])),
                Just(json!({"k": "hush-marker-0123456789abcdefgh"})),
                prop::sample::select(SUPPORTED_MODES.to_vec()).prop_map(Value::from),
            ]
        }

        /// A profile name, right or wrong: names are not secret, and messages quote them.
        fn name_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<i64>().prop_map(Value::from),
                "[a-z]{0,8}".prop_map(Value::from),
            ]
        }

        fn profile() -> impl Strategy<Value = Value> {
            let fields = [
                "mode",
                "access_key_id",
                "access_key_secret",
                "sts_token",
                "ram_role_arn",
                "ram_session_name",
                "expired_seconds",
                "ram_role_name",
                "region_id",
            ];
            prop::collection::vec(
                (prop::sample::select(fields.to_vec()), field_value()),
                0..10,
            )
            .prop_flat_map(|pairs| {
                name_value().prop_map(move |name| {
                    let mut object: serde_json::Map<String, Value> = pairs
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect();
                    object.insert("name".to_string(), name);
                    Value::Object(object)
                })
            })
        }

        proptest! {
            #[test]
            fn any_file_is_read_or_refused_without_quoting_a_value(
                current in name_value(),
                profiles in prop::collection::vec(profile(), 0..4),
                bytes in prop::collection::vec(any::<u8>(), 0..64),
            ) {
                let text = json!({"current": current, "profiles": profiles}).to_string();
                for input in [text.as_bytes(), &bytes[..]] {
                    match ProfileFile::parse(input, &PathBuf::from("/h/.aliyun/config.json")) {
                        Ok(file) => {
                            for p in &file.profiles {
                                if let Err(e) = p.to_source(Path::new("/h"), "s", 3600, 900) {
                                    prop_assert!(!e.to_string().contains("hush-marker"), "{}", e);
                                }
                                let _ = (p.mode_label(), format!("{p:?}"));
                            }
                            let _ = file.names();
                        }
                        Err(e) => prop_assert!(!e.to_string().contains("hush-marker"), "{}", e),
                    }
                }
            }
        }
    }
}
