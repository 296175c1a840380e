//! STS (API version 2015-04-01): `GetCallerIdentity` and `AssumeRole`, typed, and the client's
//! operations for them.

use crate::client::{read_json, Client, Outcome, Service};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::fields::{parse_text, parse_time};
use serde_json::Value;
use std::collections::BTreeMap;

/// The API version these operations speak.
pub const VERSION: &str = "2015-04-01";

/// STS, as the client calls it.
pub(crate) const SERVICE: Service = Service {
    version: VERSION,
    endpoint: |config| &config.sts_endpoint,
};

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The Alibaba Cloud account id.
    pub account_id: String,
    /// The identity's ARN.
    pub arn: Option<String>,
    /// `Account`, `RAMUser` or `AssumedRoleUser`.
    pub identity_type: Option<String>,
    /// The principal id.
    pub principal_id: Option<String>,
    /// The RAM user id.
    pub user_id: Option<String>,
    /// The answer's request id.
    pub request_id: Option<String>,
}

impl Client {
    /// STS `GetCallerIdentity`: whose credentials these are.
    pub async fn caller_identity(&self) -> Outcome<CallerIdentity> {
        self.global_call(
            SERVICE,
            "GetCallerIdentity",
            BTreeMap::new(),
            parse_caller_identity,
        )
        .await
    }

    /// STS `AssumeRole`, signed with `base`; `external_id` when the role's trust policy asks
    /// for one.
    pub async fn assume_role(
        &self,
        base: &Credentials,
        role_arn: &str,
        session_name: &str,
        duration_seconds: u32,
        external_id: Option<&str>,
    ) -> Result<Credentials> {
        let mut params = BTreeMap::new();
        params.insert("RoleArn".to_string(), role_arn.to_string());
        params.insert("RoleSessionName".to_string(), session_name.to_string());
        params.insert("DurationSeconds".to_string(), duration_seconds.to_string());
        if let Some(id) = external_id {
            params.insert("ExternalId".to_string(), id.to_string());
        }
        let region = self.config().global_region.clone();
        let body = self
            .call(SERVICE, "AssumeRole", &region, params, base)
            .await
            .result?;
        read_json(&body, parse_assume_role).map_err(|m| Error::Credentials {
            message: format!("AssumeRole of {role_arn} answered without usable credentials: {m}"),
        })
    }
}

/// Reads a `GetCallerIdentity` answer.
pub fn parse_caller_identity(body: &Value) -> Result<CallerIdentity, String> {
    Ok(CallerIdentity {
        account_id: parse_text(body.get("AccountId"))
            .ok_or_else(|| "no AccountId field".to_string())?,
        arn: parse_text(body.get("Arn")),
        identity_type: parse_text(body.get("IdentityType")),
        principal_id: parse_text(body.get("PrincipalId")),
        user_id: parse_text(body.get("UserId")),
        request_id: parse_text(body.get("RequestId")),
    })
}

/// Reads `AssumeRole`'s `Credentials{AccessKeyId,AccessKeySecret,SecurityToken,Expiration}`.
/// Error messages name missing fields only, never values.
pub fn parse_assume_role(body: &Value) -> Result<Credentials, String> {
    let c = body
        .get("Credentials")
        .ok_or_else(|| "no Credentials field".to_string())?;
    let field = |k: &str| parse_text(c.get(k)).ok_or_else(|| format!("no Credentials.{k} field"));
    let mut creds = Credentials::new(field("AccessKeyId")?, field("AccessKeySecret")?)
        .with_security_token(field("SecurityToken")?);
    creds.expiration = parse_time(c.get("Expiration"));
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caller_identity() {
        let id = parse_caller_identity(&json!({"AccountId": "123", "Arn": "acs:ram::123:root",
            "IdentityType": "Account", "RequestId": "r"}))
        .unwrap();
        assert_eq!(id.account_id, "123");
        assert_eq!(id.identity_type.as_deref(), Some("Account"));
        assert!(parse_caller_identity(&json!({"Arn": "x"})).is_err());
    }

    #[test]
    fn assume_role() {
        let c = parse_assume_role(&json!({"Credentials": {"AccessKeyId": "STS.abc",
            "AccessKeySecret": "sek", "SecurityToken": "tok", "Expiration": "2030-01-01T00:00:00Z"}}))
        .unwrap();
        assert_eq!(c.access_key_id, "STS.abc");
        assert_eq!(c.access_key_secret.expose(), "sek");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "tok");
        assert_eq!(
            c.expiration.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00+00:00"
        );
        let e = parse_assume_role(&json!({"Credentials": {"AccessKeyId": "STS.abc",
            "AccessKeySecret": "sek"}}))
        .unwrap_err();
        assert!(!e.contains("sek"));
    }
}
