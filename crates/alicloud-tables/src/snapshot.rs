//! One statement's view of the API: every answer a statement's scans got, so that all of them see
//! the same rows and no request is made twice. A front end keeps one [`Snapshot`] per statement
//! (PostgreSQL: per top-level statement and transaction; SQLite: while any cursor is open; the CLI:
//! per run) and drops it when the statement ends.
//!
//! A request is answered from the snapshot when an answer already held covers it: the full listing
//! of a region covers any `NameList` in that region, and a `NameList` answer covers any subset of
//! its names. The answer is then filtered exactly as the API filters (`Name` equal to one of the
//! names).

use crate::cache::ScopeId;
use alicloud_api::TrailList;
use std::collections::HashMap;
use std::sync::Mutex;

/// Answers held for one statement.
#[derive(Debug, Default)]
pub struct Snapshot {
    inner: Mutex<Held>,
}

/// An answer with the names it was asked for (`None`: all trails).
type Answer = (Option<Vec<String>>, TrailList);

#[derive(Debug, Default)]
struct Held {
    /// Per scope and region: the answers held.
    trails: HashMap<(ScopeId, String), Vec<Answer>>,
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

    /// The trails of `region` restricted to `names` (`None`: all), when an answer held covers them.
    pub fn trails(
        &self,
        scope: &ScopeId,
        region: &str,
        names: Option<&[String]>,
    ) -> Option<TrailList> {
        let held = self.held();
        let answers = held.trails.get(&(*scope, region.to_string()))?;
        answers
            .iter()
            .find_map(|(asked, list)| match (asked, names) {
                (None, None) => Some(list.clone()),
                (None, Some(wanted)) => Some(list.only_names(wanted)),
                (Some(asked), Some(wanted)) if wanted.iter().all(|w| asked.contains(w)) => {
                    Some(if wanted.len() == asked.len() {
                        list.clone()
                    } else {
                        list.only_names(wanted)
                    })
                }
                _ => None,
            })
    }

    /// Whether a `NameList` answer of `region` is already held (a second, different one is better
    /// asked as the full listing, which then covers every later name).
    pub fn has_partial(&self, scope: &ScopeId, region: &str) -> bool {
        self.held()
            .trails
            .get(&(*scope, region.to_string()))
            .is_some_and(|answers| answers.iter().any(|(asked, _)| asked.is_some()))
    }

    /// Keeps an answer of `region` to `names`.
    pub fn keep_trails(
        &self,
        scope: &ScopeId,
        region: &str,
        names: Option<Vec<String>>,
        list: TrailList,
    ) {
        self.held()
            .trails
            .entry((*scope, region.to_string()))
            .or_default()
            .push((names, list));
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

    fn list(names: &[&str]) -> TrailList {
        let items: Vec<String> = names
            .iter()
            .map(|n| format!("{{\"Name\":\"{n}\"}}"))
            .collect();
        TrailList::from_text(format!("{{\"TrailList\":[{}]}}", items.join(","))).unwrap()
    }

    fn names(l: &TrailList) -> Vec<String> {
        l.trails()
            .filter_map(|t| t.text("Name").map(String::from))
            .collect()
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn covered_requests_are_answered_and_filtered() {
        let s = Snapshot::new();
        let alice = ScopeBuilder::default().part(b"alice").finish();
        let bob = ScopeBuilder::default().part(b"bob").finish();
        assert!(s.trails(&alice, "cn-beijing", None).is_none());
        s.keep_trails(
            &alice,
            "cn-beijing",
            Some(v(&["a", "b"])),
            list(&["a", "b"]),
        );
        assert!(s.has_partial(&alice, "cn-beijing"));
        assert!(
            s.trails(&alice, "cn-beijing", None).is_none(),
            "a NameList answer is not a full listing"
        );
        assert_eq!(
            names(&s.trails(&alice, "cn-beijing", Some(&v(&["b"]))).unwrap()),
            ["b"]
        );
        assert!(s.trails(&alice, "cn-beijing", Some(&v(&["c"]))).is_none());
        s.keep_trails(&alice, "cn-beijing", None, list(&["a", "b", "c"]));
        assert_eq!(
            names(
                &s.trails(&alice, "cn-beijing", Some(&v(&["c", "x"])))
                    .unwrap()
            ),
            ["c"]
        );
        assert_eq!(
            names(&s.trails(&alice, "cn-beijing", None).unwrap()),
            ["a", "b", "c"]
        );
        // Other scopes and regions see nothing.
        assert!(s.trails(&bob, "cn-beijing", None).is_none());
        assert!(s.trails(&alice, "cn-hangzhou", None).is_none());
        s.keep_account_id(&alice, "123".into());
        assert_eq!(s.account_id(&alice).as_deref(), Some("123"));
        assert_eq!(s.account_id(&bob), None);
    }
}
