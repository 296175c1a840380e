//! Credentials and where they come from.
//!
//! [`Secret`] and [`Credentials`] never print a secret or token in `Debug` or `Display`.
//! [`CredentialChain`] resolves a [`CredentialSource`] from explicit values, then the environment,
//! then the Alibaba CLI profile file. Temporary credentials (RAM role, ECS instance role) are fetched
//! and refreshed by [`crate::client::Client`], which owns the HTTP client.
//!
//! Submodules:
//! - `chain`: [`CredentialChain`], the order in which sources are tried (re-exported here).
//! - `profile`: the Alibaba CLI profile file `~/.aliyun/config.json` (private).
//! - `ecs`: [`fetch_ecs_role_credentials`], the ECS instance metadata service (re-exported here).
//!
//! Nothing in this module prints a secret or a security token: not `Debug`, not `Display`, not an
//! error message. Access key ids are shown masked ([`mask_key_id`]).

use chrono::{DateTime, Utc};
use std::fmt;

mod chain;
mod ecs;
mod profile;

pub use chain::{
    CredentialChain, ACCESS_KEY_ID_VARS, ACCESS_KEY_SECRET_VARS, DEFAULT_ROLE_SESSION_NAME,
    PROFILE_VARS, REGION_VARS, SECURITY_TOKEN_VARS,
};
pub use ecs::DEFAULT_ECS_METADATA_BASE;
pub(crate) use ecs::{ecs_metadata_http_client, fetch_ecs_role_credentials};
pub(crate) use profile::ProfileFile;

/// A string that must never be shown: `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for signing. Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An access key pair, with a security token and expiry when it is temporary (STS).
#[derive(Clone)]
pub struct Credentials {
    /// The access key id (shown masked).
    pub access_key_id: String,
    /// Its secret.
    pub access_key_secret: Secret,
    /// The security token of STS keys.
    pub security_token: Option<Secret>,
    /// When temporary credentials stop working; `None` for long-term keys.
    pub expiration: Option<DateTime<Utc>>,
}

impl Credentials {
    /// Long-term keys.
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: Secret::new(access_key_secret),
            security_token: None,
            expiration: None,
        }
    }

    /// The same keys with an STS security token.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(Secret::new(token));
        self
    }

    /// The values that must never be shown: the secret, and the security token when there is one.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.access_key_secret.expose())
            .chain(self.security_token.as_ref().map(Secret::expose))
    }

    /// The key id with its middle masked (`LTAI****d01`), for messages that must say which key.
    pub fn masked_key_id(&self) -> String {
        mask_key_id(&self.access_key_id)
    }

    /// Whether these credentials stop working within `d` from now (already expired counts).
    /// Always `false` for long-term keys (no expiration).
    pub fn expires_within(&self, d: chrono::Duration) -> bool {
        self.expires_within_at(Utc::now(), d)
    }

    /// [`Credentials::expires_within`] with an explicit "now", for tests and callers with a clock.
    pub fn expires_within_at(&self, now: DateTime<Utc>, d: chrono::Duration) -> bool {
        match self.expiration {
            Some(expiration) => expiration - now <= d,
            None => false,
        }
    }
}

/// Masks all but the first 4 and last 3 characters of an access key id.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "****".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}****{tail}")
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.masked_key_id())
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token)
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "access key {}", self.masked_key_id())?;
        if self.security_token.is_some() {
            f.write_str(" (temporary)")?;
        }
        Ok(())
    }
}

/// Where credentials come from, once resolved. Temporary kinds are turned into [`Credentials`]
/// (and refreshed shortly before they expire) by the client.
#[derive(Clone, Debug)]
pub enum CredentialSource {
    /// Long-term keys, or STS keys with a token, used as they are.
    Static(Credentials),
    /// Assume a RAM role with STS `AssumeRole`, signed with `base`.
    RamRoleArn {
        /// The keys that sign `AssumeRole`.
        base: Credentials,
        /// The role to assume.
        role_arn: String,
        /// Its `RoleSessionName`.
        session_name: String,
        /// Its `DurationSeconds`.
        duration_seconds: u32,
        /// Its `ExternalId`, when the role's trust policy asks for one.
        external_id: Option<String>,
    },
    /// The ECS instance RAM role, from the instance metadata service.
    EcsRamRole {
        /// `None`: ask the metadata service which role the instance has.
        role_name: Option<String>,
    },
}

impl CredentialSource {
    /// The keys the source itself signs with (for a role, the keys that sign `AssumeRole`);
    /// `None` for the ECS instance role, whose keys come from the metadata service.
    pub fn signing_keys(&self) -> Option<&Credentials> {
        match self {
            CredentialSource::Static(c) => Some(c),
            CredentialSource::RamRoleArn { base, .. } => Some(base),
            CredentialSource::EcsRamRole { .. } => None,
        }
    }
}

impl CredentialSource {
    /// Everything that tells this source's identity apart, secrets included, as parts for a
    /// digest (a cache scope): two sources with the same parts sign as the same identity.
    pub fn identity_parts(&self) -> Vec<&[u8]> {
        fn keys(c: &Credentials) -> [&[u8]; 3] {
            [
                c.access_key_id.as_bytes(),
                c.access_key_secret.expose().as_bytes(),
                c.security_token
                    .as_ref()
                    .map_or(&b""[..], |t| t.expose().as_bytes()),
            ]
        }
        match self {
            CredentialSource::Static(c) => [&b"static"[..]].into_iter().chain(keys(c)).collect(),
            CredentialSource::RamRoleArn {
                base,
                role_arn,
                session_name,
                external_id,
                ..
            } => [&b"role"[..]]
                .into_iter()
                .chain(keys(base))
                .chain([
                    role_arn.as_bytes(),
                    session_name.as_bytes(),
                    external_id.as_deref().unwrap_or("").as_bytes(),
                ])
                .collect(),
            CredentialSource::EcsRamRole { role_name } => {
                vec![b"ecs", role_name.as_deref().unwrap_or("").as_bytes()]
            }
        }
    }
}

/// A one-line description without secrets: the kind of source and the masked key id.
impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Static(c) => write!(f, "static credentials, {c}"),
            CredentialSource::RamRoleArn {
                base,
                role_arn,
                session_name,
                duration_seconds,
                external_id,
            } => write!(
                f,
                "RAM role {role_arn} (session {session_name}, {duration_seconds} s{}) assumed with {base}",
                if external_id.is_some() { ", with an external id" } else { "" }
            ),
            CredentialSource::EcsRamRole { role_name: Some(r) } => {
                write!(f, "ECS instance RAM role {r}")
            }
            CredentialSource::EcsRamRole { role_name: None } => {
                f.write_str("ECS instance RAM role (asked from the metadata service)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn secrets_and_signing_keys() {
        let c = Credentials::new("LTAI5tExampleKeyId", "hush");
        assert_eq!(c.secrets().collect::<Vec<_>>(), ["hush"]);
        let sts = c.clone().with_security_token("tok");
        assert_eq!(sts.secrets().collect::<Vec<_>>(), ["hush", "tok"]);
        let role = CredentialSource::RamRoleArn {
            base: sts,
            role_arn: "acs:ram::1:role/r".into(),
            session_name: "s".into(),
            duration_seconds: 3600,
            external_id: None,
        };
        assert_eq!(
            role.signing_keys().map(|k| k.access_key_id.as_str()),
            Some("LTAI5tExampleKeyId")
        );
        assert!(CredentialSource::Static(c).signing_keys().is_some());
        assert!(CredentialSource::EcsRamRole { role_name: None }
            .signing_keys()
            .is_none());
    }

    #[test]
    fn expires_within_is_false_for_long_term_keys() {
        let c = Credentials::new("LTAI5tExampleKeyId", "secret");
        assert!(!c.expires_within(chrono::Duration::days(3650)));
        assert!(!c.expires_within(chrono::Duration::zero()));
    }

    #[test]
    fn expires_within_compares_with_the_expiration() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
        let mut c = Credentials::new("STS.ExampleKeyId", "secret").with_security_token("tok");
        c.expiration = Some(now + chrono::Duration::minutes(10));
        assert!(!c.expires_within_at(now, chrono::Duration::minutes(5)));
        assert!(c.expires_within_at(now, chrono::Duration::minutes(10)));
        assert!(c.expires_within_at(now, chrono::Duration::minutes(15)));
        // Already expired.
        assert!(c.expires_within_at(now + chrono::Duration::hours(1), chrono::Duration::zero()));
        // The real-clock variant agrees for far-away expirations.
        c.expiration = Some(Utc::now() + chrono::Duration::hours(1));
        assert!(!c.expires_within(chrono::Duration::minutes(5)));
        assert!(c.expires_within(chrono::Duration::hours(2)));
    }

    #[test]
    fn credential_source_display_masks_and_redacts() {
        let base = Credentials::new("LTAI5tExampleKeyId", "very-secret-value");
        let sources = [
            CredentialSource::Static(base.clone().with_security_token("very-secret-token")),
            CredentialSource::RamRoleArn {
                base,
                role_arn: "acs:ram::123:role/x".into(),
                session_name: "s".into(),
                duration_seconds: 3600,
                external_id: None,
            },
            CredentialSource::EcsRamRole { role_name: None },
            CredentialSource::EcsRamRole {
                role_name: Some("myrole".into()),
            },
        ];
        for s in &sources {
            for text in [format!("{s}"), format!("{s:?}"), format!("{s:#?}")] {
                assert!(!text.contains("very-secret"), "{text}");
                assert!(!text.contains("LTAI5tExampleKeyId"), "{text}");
            }
        }
        assert_eq!(
            sources[0].to_string(),
            "static credentials, access key LTAI****yId (temporary)"
        );
        assert_eq!(sources[3].to_string(), "ECS instance RAM role myrole");
    }
}
