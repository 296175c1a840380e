//! Resource Manager (API version 2020-03-31): `ListAccounts`, the member accounts of the caller's
//! resource directory, and the client's operation for it.

use crate::client::{Client, Outcome, Service};
use crate::error::Error;
use crate::fields::parse_text;
use serde_json::Value;
use std::collections::BTreeMap;

/// The API version these operations speak.
pub const VERSION: &str = "2020-03-31";

/// The most accounts a `ListAccounts` page holds.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The statuses of an account that has joined its directory (created in it, invited and
/// accepted, or promoted). Any other status (`PromoteVerifying`, `PromoteFailed`, ...) is an
/// account that is not, or not yet, a member.
pub const JOINED_STATUSES: &[&str] = &["CreateSuccess", "InviteSuccess", "PromoteSuccess"];

/// Resource Manager, as the client calls it.
pub(crate) const SERVICE: Service = Service {
    version: VERSION,
    endpoint: |config| &config.resourcemanager_endpoint,
};

/// One account of a resource directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryAccount {
    /// The account id.
    pub account_id: String,
    /// Its display name.
    pub display_name: Option<String>,
    /// Its status in the directory (see [`JOINED_STATUSES`]).
    pub status: Option<String>,
}

impl DirectoryAccount {
    /// Whether the account is a member of the directory now.
    pub fn joined(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| JOINED_STATUSES.contains(&s))
    }
}

/// One page of `ListAccounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsPage {
    /// The accounts of the page.
    pub accounts: Vec<DirectoryAccount>,
    /// How many accounts the directory has.
    pub total: u64,
}

/// Reads a `ListAccounts` answer: `{"TotalCount", "Accounts": {"Account": [...]}}` (the list
/// also taken bare). An account without an id is an error; every other member is optional.
pub fn parse_accounts(body: &Value) -> Result<AccountsPage, String> {
    let list = match body.get("Accounts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(o)) => match o.get("Account") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            Some(_) => return Err("Accounts.Account is not a list".to_string()),
        },
        Some(_) => return Err("Accounts is not a list".to_string()),
    };
    let accounts = list
        .iter()
        .map(|a| {
            Ok(DirectoryAccount {
                account_id: parse_text(a.get("AccountId"))
                    .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| "an account without a numeric AccountId".to_string())?,
                display_name: parse_text(a.get("DisplayName")),
                status: parse_text(a.get("Status")),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let total = body
        .get("TotalCount")
        .and_then(|t| t.as_u64().or_else(|| t.as_str()?.parse().ok()))
        .unwrap_or(accounts.len() as u64);
    Ok(AccountsPage { accounts, total })
}

impl Client {
    /// Resource Manager `ListAccounts`: page `page` (from 1) of `page_size` accounts of the
    /// directory the credentials manage.
    pub async fn list_accounts(&self, page: u32, page_size: u32) -> Outcome<AccountsPage> {
        let params = BTreeMap::from([
            ("PageNumber".to_string(), page.max(1).to_string()),
            (
                "PageSize".to_string(),
                page_size.clamp(1, MAX_PAGE_SIZE).to_string(),
            ),
        ]);
        self.global_call(SERVICE, "ListAccounts", params, parse_accounts)
            .await
    }

    /// Every account of the directory, page by page (at most 1,000 pages: a directory that never
    /// ends is an error).
    pub async fn directory_accounts(&self) -> Outcome<Vec<DirectoryAccount>> {
        let mut all = Vec::new();
        let mut report = crate::retry::CallReport::default();
        for page in 1..=1000u32 {
            let outcome = self.list_accounts(page, MAX_PAGE_SIZE).await;
            report.absorb(outcome.report);
            match outcome.result {
                Ok(p) => {
                    let n = p.accounts.len();
                    all.extend(p.accounts);
                    if n == 0 || all.len() as u64 >= p.total {
                        return Outcome {
                            result: Ok(all),
                            report,
                        };
                    }
                }
                Err(e) => {
                    return Outcome {
                        result: Err(e),
                        report,
                    }
                }
            }
        }
        Outcome {
            result: Err(Error::config(
                "ListAccounts returned more than 1,000 pages".to_string(),
            )),
            report,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accounts_in_either_shape_and_their_status() {
        let page = parse_accounts(&json!({
            "TotalCount": 3,
            "Accounts": {"Account": [
                {"AccountId": "111", "DisplayName": "prod", "Status": "CreateSuccess"},
                {"AccountId": "222", "Status": "PromoteVerifying"},
            ]}
        }))
        .unwrap();
        assert_eq!(page.total, 3);
        let joined: Vec<bool> = page.accounts.iter().map(DirectoryAccount::joined).collect();
        assert_eq!(joined, [true, false]);
        let bare = parse_accounts(&json!({"Accounts": [{"AccountId": "333"}]})).unwrap();
        assert_eq!(bare.total, 1);
        assert!(!bare.accounts[0].joined());
        assert!(parse_accounts(&json!({"Accounts": {"Account": [{"AccountId": "x1"}]}})).is_err());
        assert!(parse_accounts(&json!({})).unwrap().accounts.is_empty());
    }
}
