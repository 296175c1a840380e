//! STS's actions: `GetCallerIdentity`, `AssumeRole`.

use crate::answer::{new_request_id, Answer};
use crate::auth::{self, Identity};
use crate::errors::ApiFailure;
use crate::state::Shared;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) fn get_caller_identity(identity: &Identity) -> Answer {
    let mut body = json!({
        "RequestId": new_request_id(),
        "AccountId": identity.account_id,
        "Arn": identity.arn,
        "IdentityType": identity.identity_type,
        "PrincipalId": identity.principal_id,
        "UserId": identity.user_id,
    });
    if let Some(role_id) = &identity.role_id {
        body["RoleId"] = Value::from(role_id.clone());
    }
    Answer::json(&body)
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'))
}

pub(crate) fn assume_role(
    shared: &Shared,
    params: &BTreeMap<String, String>,
    identity: &Identity,
) -> Result<Answer, ApiFailure> {
    let role_arn = params
        .get("RoleArn")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| auth::missing("RoleArn"))?;
    let session = params
        .get("RoleSessionName")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| auth::missing("RoleSessionName"))?;
    if !valid_session_name(session) {
        return Err(ApiFailure::new(
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ));
    }
    let duration = match params.get("DurationSeconds").filter(|v| !v.is_empty()) {
        None => 3600,
        Some(v) => match v.parse::<u64>() {
            Ok(d) if (900..=43200).contains(&d) => d,
            _ => {
                return Err(ApiFailure::new(
                    400,
                    "InvalidParameter.DurationSeconds",
                    "The parameter DurationSeconds is out of range: it must be between 900 and the MaxSessionDuration of the role.",
                ))
            }
        },
    };
    let role = shared.fixture.role(role_arn).ok_or_else(|| {
        ApiFailure::new(
            403,
            "EntityNotExist.Role",
            format!("The specified Role not exists: {role_arn}."),
        )
    })?;
    let external_id = params.get("ExternalId");
    if external_id.is_some_and(|id| !(2..=1224).contains(&id.chars().count())) {
        return Err(ApiFailure::new(
            400,
            "InvalidParameter.ExternalId",
            "The parameter ExternalId is wrongly formed.",
        ));
    }
    // A trust policy without an external id condition ignores one sent.
    let external_id_matches = match &role.external_id {
        None => true,
        Some(wanted) => external_id == Some(wanted),
    };
    let account_keys = identity.identity_type == "Account";
    if account_keys
        && shared
            .sts_refuse_account_keys
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(ApiFailure::new(
            403,
            "NoPermission",
            "You are not authorized to do this action. An Alibaba Cloud account's own AccessKey cannot call AssumeRole: use a RAM user's.",
        ));
    }
    if !role.assumable_by.contains(&identity.account_id) || !external_id_matches {
        return Err(ApiFailure::known("NoPermission"));
    }
    let account = role.account_id().unwrap_or_default().to_string();
    let role_name = role.name().unwrap_or_default().to_string();
    let lifetime = duration.min(shared.fixture.sts_credential_lifetime_seconds);
    let assumed = Identity::assumed_role(&account, &role_name, &role.role_id, session);
    let (key_id, cred) = shared.keys.issue(assumed, lifetime);
    Ok(Answer::json(&json!({
        "RequestId": new_request_id(),
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{account}:role/{role_name}/{session}"),
            "AssumedRoleId": format!("{}:{session}", role.role_id),
        },
        "Credentials": {
            "AccessKeyId": key_id,
            "AccessKeySecret": cred.secret,
            "SecurityToken": cred.token,
            "Expiration": auth::format_timestamp(cred.expires),
        },
    })))
}
