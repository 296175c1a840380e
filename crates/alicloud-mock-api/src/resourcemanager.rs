//! Resource Manager's `ListAccounts`: the accounts of the resource directory the caller's account
//! manages, paged.

use crate::answer::{new_request_id, Answer};
use crate::auth::Identity;
use crate::errors::ApiFailure;
use crate::state::Shared;
use serde_json::json;
use std::collections::BTreeMap;

/// `PageSize` when the request gives none, and the most it may be.
const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 100;

pub(crate) fn list_accounts(
    shared: &Shared,
    params: &BTreeMap<String, String>,
    identity: &Identity,
) -> Result<Answer, ApiFailure> {
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiFailure> {
        match params.get(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiFailure::new(
                    400,
                    "InvalidParameter",
                    format!("The specified parameter {name} is invalid."),
                )),
            },
        }
    };
    let page = number("PageNumber", 1, usize::MAX)?;
    let size = number("PageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let members: Vec<_> = shared
        .fixture
        .directory
        .iter()
        .filter(|a| a.management_account_id == identity.account_id)
        .collect();
    if members.is_empty() {
        return Err(ApiFailure::new(
            404,
            "EntityNotExists.ResourceDirectory",
            "The resource directory does not exist or the caller does not manage one.",
        ));
    }
    let accounts: Vec<_> = members
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .map(|a| {
            json!({
                "AccountId": a.account_id,
                "DisplayName": a.display_name,
                "Status": a.status,
                "Type": "ResourceAccount",
                "ResourceDirectoryId": "rd-mock01",
            })
        })
        .collect();
    Ok(Answer::json(&json!({
        "RequestId": new_request_id(),
        "TotalCount": members.len(),
        "PageNumber": page,
        "PageSize": size,
        "Accounts": {"Account": accounts},
    })))
}
