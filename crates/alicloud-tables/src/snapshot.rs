//! One statement's view of the API: every complete answer a statement's scans got, so that all of
//! them see the same rows and no request is made twice. A front end keeps one [`Snapshot`] per
//! statement (PostgreSQL: per top-level statement and transaction; SQLite: while any cursor is
//! open; the CLI: per run) and drops it when the statement ends.
//!
//! A request is answered from the snapshot when an answer already held covers it, as the table's
//! listing decides ([`Listing::narrow`]): the full listing of a region covers any `NameList` in
//! that region, and a `NameList` answer covers any subset of its names.

use crate::cache::ScopeId;
use crate::listing::{Listing, Params};
use alicloud_api::Items;
use std::collections::HashMap;
use std::sync::Mutex;

/// Answers held for one statement.
#[derive(Debug, Default)]
pub struct Snapshot {
    inner: Mutex<Held>,
}

/// Whose answers, to which action, in which region.
type Key = (ScopeId, &'static str, String);

#[derive(Debug, Default)]
struct Held {
    /// Per key: each request answered, with its pages.
    listings: HashMap<Key, Vec<(Params, Vec<Items>)>>,
    account_ids: HashMap<ScopeId, String>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer to `wanted` of `listing` in `region`, when an answer held covers it.
    pub fn answer(
        &self,
        scope: &ScopeId,
        listing: &dyn Listing,
        region: &str,
        wanted: &Params,
    ) -> Option<Vec<Items>> {
        let held = self.held();
        let answers = held
            .listings
            .get(&(*scope, listing.action(), region.to_string()))?;
        answers
            .iter()
            .find_map(|(asked, pages)| listing.narrow(asked, wanted, pages))
    }

    /// Whether an answer to another request than `wanted` of `action` in `region` is held (a
    /// second, different request is better asked widened).
    pub fn holds_other(
        &self,
        scope: &ScopeId,
        action: &'static str,
        region: &str,
        wanted: &Params,
    ) -> bool {
        self.held()
            .listings
            .get(&(*scope, action, region.to_string()))
            .is_some_and(|answers| answers.iter().any(|(asked, _)| asked != wanted))
    }

    /// Keeps a complete answer to `request` of `action` in `region`.
    pub fn keep(
        &self,
        scope: &ScopeId,
        action: &'static str,
        region: &str,
        request: Params,
        pages: Vec<Items>,
    ) {
        self.held()
            .listings
            .entry((*scope, action, region.to_string()))
            .or_default()
            .push((request, pages));
    }

    /// The account id held for `scope`.
    pub fn account_id(&self, scope: &ScopeId) -> Option<String> {
        self.held().account_ids.get(scope).cloned()
    }

    /// Keeps the account id of `scope`.
    pub fn keep_account_id(&self, scope: &ScopeId, account_id: String) {
        self.held().account_ids.insert(*scope, account_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::ScopeBuilder;
    use crate::tables::action_trail::TABLE;

    fn list(names: &[&str]) -> Vec<Items> {
        let items: Vec<String> = names
            .iter()
            .map(|n| format!("{{\"Name\":\"{n}\"}}"))
            .collect();
        let body = format!("{{\"TrailList\":[{}]}}", items.join(","));
        vec![Items::from_text(body, alicloud_api::TRAIL_LIST).unwrap()]
    }

    fn names(pages: &[Items]) -> Vec<String> {
        pages[0]
            .items()
            .filter_map(|t| t.text("Name").map(String::from))
            .collect()
    }

    fn req(names: Option<&str>) -> Params {
        names
            .map(|n| Params::from([("NameList".to_string(), n.to_string())]))
            .unwrap_or_default()
    }

    #[test]
    fn covered_requests_are_answered_and_filtered() {
        let s = Snapshot::new();
        let l = TABLE.listing;
        let alice = ScopeBuilder::default().part(b"alice").finish();
        let bob = ScopeBuilder::default().part(b"bob").finish();
        let action = l.action();
        assert!(s.answer(&alice, l, "cn-beijing", &req(None)).is_none());
        s.keep(
            &alice,
            action,
            "cn-beijing",
            req(Some("a,b")),
            list(&["a", "b"]),
        );
        assert!(s.holds_other(&alice, action, "cn-beijing", &req(Some("c"))));
        assert!(!s.holds_other(&alice, action, "cn-beijing", &req(Some("a,b"))));
        assert!(
            s.answer(&alice, l, "cn-beijing", &req(None)).is_none(),
            "a NameList answer is not a full listing"
        );
        assert_eq!(
            names(&s.answer(&alice, l, "cn-beijing", &req(Some("b"))).unwrap()),
            ["b"]
        );
        assert!(s.answer(&alice, l, "cn-beijing", &req(Some("c"))).is_none());
        s.keep(
            &alice,
            action,
            "cn-beijing",
            req(None),
            list(&["a", "b", "c"]),
        );
        assert_eq!(
            names(
                &s.answer(&alice, l, "cn-beijing", &req(Some("c,x")))
                    .unwrap()
            ),
            ["c"]
        );
        assert_eq!(
            names(&s.answer(&alice, l, "cn-beijing", &req(None)).unwrap()),
            ["a", "b", "c"]
        );
        // Other scopes and regions see nothing.
        assert!(s.answer(&bob, l, "cn-beijing", &req(None)).is_none());
        assert!(s.answer(&alice, l, "cn-hangzhou", &req(None)).is_none());
        s.keep_account_id(&alice, "123".into());
        assert_eq!(s.account_id(&alice).as_deref(), Some("123"));
        assert_eq!(s.account_id(&bob), None);
    }
}
