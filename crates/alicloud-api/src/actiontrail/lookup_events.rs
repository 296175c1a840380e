//! ActionTrail `LookupEvents`: an account's event history (the last 90 days), newest first, in
//! pages. The request is what the API documents; what the documentation leaves open (a cap on
//! the window, how many attributes a request takes) is left to the caller to probe, with the
//! limits named here.

use super::SERVICE;
use crate::client::{Client, Outcome};
use crate::error::{Call, Error};
use crate::json::{Items, ListShape};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// Where a `LookupEvents` answer lists its events.
pub const EVENT_LIST: ListShape = ListShape {
    field: "Events",
    wrapper: "Event",
};

/// The largest page (`MaxResults`).
pub const MAX_RESULTS: u32 = 50;
/// How many lookup attributes a request may carry.
pub const MAX_ATTRIBUTES: usize = 2;
/// How long the service keeps events.
pub const RETENTION: TimeDelta = TimeDelta::days(90);
/// The longest window an older version of the documentation allowed.
pub const OLD_WINDOW_CAP: TimeDelta = TimeDelta::days(30);
/// The documented rate: calls per second.
pub const CALLS_PER_SECOND: u32 = 2;

/// A lookup attribute's key: what an event is filtered on, exactly and case-sensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LookupKey {
    /// The service (`Ecs`, `Actiontrail`, ...).
    ServiceName,
    /// The API action or console operation.
    EventName,
    /// The caller's user name.
    User,
    /// The event's id.
    EventId,
    /// One of the event's resource types.
    ResourceType,
    /// One of the event's resource names.
    ResourceName,
    /// `Read` or `Write`.
    EventRw,
    /// The caller's AccessKey id.
    EventAccessKeyId,
    /// Whether the action is sensitive (`true`/`false`).
    SensitiveAction,
    /// The caller's IP address.
    SourceIpAddress,
    /// `ApiCall`, `ConsoleOperation`, ...
    EventType,
    /// The RAM role the caller acted as.
    RoleName,
}

impl LookupKey {
    /// The key as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            LookupKey::ServiceName => "ServiceName",
            LookupKey::EventName => "EventName",
            LookupKey::User => "User",
            LookupKey::EventId => "EventId",
            LookupKey::ResourceType => "ResourceType",
            LookupKey::ResourceName => "ResourceName",
            LookupKey::EventRw => "EventRW",
            LookupKey::EventAccessKeyId => "EventAccessKeyId",
            LookupKey::SensitiveAction => "SensitiveAction",
            LookupKey::SourceIpAddress => "SourceIpAddress",
            LookupKey::EventType => "EventType",
            LookupKey::RoleName => "RoleName",
        }
    }

    /// The key spelt `name`.
    pub fn from_name(name: &str) -> Option<LookupKey> {
        LookupKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every key.
    pub const ALL: [LookupKey; 12] = [
        LookupKey::ServiceName,
        LookupKey::EventName,
        LookupKey::User,
        LookupKey::EventId,
        LookupKey::ResourceType,
        LookupKey::ResourceName,
        LookupKey::EventRw,
        LookupKey::EventAccessKeyId,
        LookupKey::SensitiveAction,
        LookupKey::SourceIpAddress,
        LookupKey::EventType,
        LookupKey::RoleName,
    ];

    /// Whether the documentation names `self` and `other` as a pair one request may carry
    /// (`ServiceName` with most keys, `ResourceName` with a few, `EventType` with `EventName`).
    /// What another pair does is undocumented, so it is never sent.
    pub fn pairs_with(self, other: LookupKey) -> bool {
        use LookupKey::*;
        let one_way = |a: LookupKey, b: LookupKey| match a {
            ServiceName => matches!(
                b,
                EventName | User | RoleName | ResourceName | EventRw | SensitiveAction | EventType
            ),
            ResourceName => matches!(b, ResourceType | EventName | User | RoleName | ServiceName),
            EventType => b == EventName,
            _ => false,
        };
        one_way(self, other) || one_way(other, self)
    }
}

/// The parameters of a `LookupEvents` call. Resend it unchanged with each page's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupEventsRequest {
    /// The window's start, sent at second precision (the fraction is dropped).
    pub start: DateTime<Utc>,
    /// Its end, likewise.
    pub end: DateTime<Utc>,
    /// At most [`MAX_ATTRIBUTES`] attributes, each key once; more are not sent.
    pub attributes: Vec<(LookupKey, String)>,
    /// The page size, 1 to [`MAX_RESULTS`].
    pub max_results: u32,
}

/// `2021-07-13T07:33:46Z`, the API's time format.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl LookupEventsRequest {
    /// The operation's query parameters, with the token of the page wanted.
    pub fn params(&self, token: Option<&str>) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        p.insert("StartTime".to_string(), format_time(self.start));
        p.insert("EndTime".to_string(), format_time(self.end));
        p.insert(
            "MaxResults".to_string(),
            self.max_results.clamp(1, MAX_RESULTS).to_string(),
        );
        for (i, (key, value)) in self.attributes.iter().take(MAX_ATTRIBUTES).enumerate() {
            p.insert(
                format!("LookupAttribute.{}.Key", i + 1),
                key.name().to_string(),
            );
            p.insert(format!("LookupAttribute.{}.Value", i + 1), value.clone());
        }
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            p.insert("NextToken".to_string(), t.to_string());
        }
        p
    }
}

/// One page of events.
#[derive(Debug, Clone)]
pub struct EventsPage {
    /// The events, as received.
    pub events: Items,
    /// The next page's token; `None` when the answer has none, or a null or empty one.
    pub next_token: Option<String>,
}

impl Client {
    /// ActionTrail `LookupEvents` in one region: the page of `request` that `token` names (the
    /// first without one).
    pub async fn lookup_events(
        &self,
        region: &str,
        request: &LookupEventsRequest,
        token: Option<&str>,
    ) -> Outcome<EventsPage> {
        let call = Call::new("LookupEvents", region);
        let params = request.params(token);
        self.call_with_own_credentials(SERVICE, &call.action, region, params, |body| {
            let events = Items::from_body(body, EVENT_LIST)
                .map_err(|(why, body)| Error::decode(&call, 200, why, &body))?;
            let next_token = events.member_text("NextToken");
            Ok(EventsPage { events, next_token })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_whole_seconds_and_numbered_attributes() {
        let r = LookupEventsRequest {
            start: "2026-11-01T00:00:00.750Z".parse().unwrap(),
            end: "2026-11-02T10:20:30Z".parse().unwrap(),
            attributes: vec![
                (LookupKey::ServiceName, "Actiontrail".into()),
                (LookupKey::EventName, "StopLogging".into()),
                (LookupKey::User, "never sent".into()),
            ],
            max_results: 500,
        };
        let p = r.params(Some("tok"));
        let got: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            got,
            [
                "EndTime=2026-11-02T10:20:30Z",
                "LookupAttribute.1.Key=ServiceName",
                "LookupAttribute.1.Value=Actiontrail",
                "LookupAttribute.2.Key=EventName",
                "LookupAttribute.2.Value=StopLogging",
                "MaxResults=50",
                "NextToken=tok",
                "StartTime=2026-11-01T00:00:00Z",
            ]
        );
        assert!(!r.params(Some("")).contains_key("NextToken"));
    }

    #[test]
    fn documented_pairs_only() {
        use LookupKey::*;
        assert!(ServiceName.pairs_with(EventName) && EventName.pairs_with(ServiceName));
        assert!(EventType.pairs_with(EventName) && ResourceName.pairs_with(ResourceType));
        assert!(!EventName.pairs_with(User) && !EventId.pairs_with(EventName));
        assert!(!ServiceName.pairs_with(ServiceName));
        for k in LookupKey::ALL {
            assert_eq!(LookupKey::from_name(k.name()), Some(k));
        }
    }
}
