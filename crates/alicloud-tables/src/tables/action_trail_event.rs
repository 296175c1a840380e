//! `alicloud_action_trail_event`: one row per ActionTrail event of the last 90 days (who did what,
//! when, from where), from `LookupEvents` in each region called.
//!
//! Conditions on `event_time` become the window (`StartTime`, `EndTime`); equality on a column
//! with a lookup attribute becomes at most two `LookupAttribute`s, of a documented pair only; `IN`
//! becomes one listing per value. Without a condition on `event_time` the window is the whole
//! retention, so that a scan never silently reads less than the table holds. Every condition is
//! rechecked on the rows, so widening is always safe.
//!
//! What the documentation leaves open is probed, not assumed: a window the API refuses as too long
//! is read again in 30-day slices, newest first, and a pair of attributes it refuses is sent as
//! its first attribute only. Which variant applies is carried in this listing's own page token,
//! so that every page of a listing is asked the same way.

use crate::listing::{Deferred, Listing, Page, Params};
use crate::pace::Pace;
use crate::plan::{narrow, Constraint, Op};
use crate::table::{self, col, ColumnDef, ColumnType, Order, Pushdown, RowSource, TableDef, Value};
use alicloud_api::{
    format_time, CallReport, Client, Error, LookupEventsRequest, LookupKey, Outcome,
    CALLS_PER_SECOND, MAX_RESULTS, OLD_WINDOW_CAP, RETENTION,
};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

/// The table's declaration.
pub static TABLE: TableDef = TableDef {
    name: "alicloud_action_trail_event",
    description: "ActionTrail events of the account in the last 90 days: who did what, when and \
                  from where, one row per event (an event listed by several regions is one row).",
    columns: COLUMNS,
    listing: &LookupEvents,
    unique: Some(0),
    order: Some(Order {
        column: 1,
        descending: true,
    }),
    // A busy account has thousands of events a day; a quiet one, a few.
    rows_per_region: 1000.0,
};

/// The listing's `Params` keys of the window.
const START: &str = "StartTime";
const END: &str = "EndTime";
/// The most listings one scan makes per region for `IN` lists of attribute values.
const MAX_LISTINGS: usize = 16;
/// How many more turns a call takes when it is still throttled after the client's retries (a
/// scan of another process that does not share the turns, or the API's own count).
const THROTTLED_TURNS: u32 = 4;

fn identity<'a>(r: &RowSource<'a>, field: &str) -> Value<'a> {
    Value::text(r.item.object("userIdentity").text(field))
}

use ColumnType::{Boolean, Json, Text, Timestamp};

static COLUMNS: &[ColumnDef] = &[
    col("event_id", Text, "Id of the event (usually a UUID), the same in every region that lists it.", |r| r.text("eventId")).pushed(Pushdown::Equal),
    col("event_time", Timestamp, "When the event happened, to the second.", |r| r.time("eventTime")).pushed(Pushdown::Range),
    col("event_name", Text, "The API action or console operation, e.g. StopLogging.", |r| r.text("eventName")).pushed(Pushdown::Equal),
    col("event_type", Text, "ApiCall, ConsoleOperation, ConsoleSignin, AliyunServiceEvent, ...", |r| r.text("eventType")).pushed(Pushdown::Equal),
    col("event_category", Text, "Management or Data.", |r| r.text("eventCategory")),
    col("event_rw", Text, "Read or Write.", |r| r.text("eventRW")).pushed(Pushdown::Equal),
    col("event_source", Text, "Host the request was sent to.", |r| r.text("eventSource")),
    col("service_name", Text, "Service that recorded the event, e.g. Ecs, Actiontrail.", |r| r.text("serviceName")).pushed(Pushdown::Equal),
    col("acs_region", Text, "Region the event happened in, as the event states it.", |r| r.text("acsRegion")),
    col("api_version", Text, "API version of the call.", |r| r.text("apiVersion")),
    col("request_id", Text, "Request id of the call the event records.", |r| r.text("requestId")),
    col("source_ip_address", Text, "IP address the request came from.", |r| r.text("sourceIpAddress")).pushed(Pushdown::Equal),
    col("user_agent", Text, "Client that made the request.", |r| r.text("userAgent")),
    col("error_code", Text, "Error code when the call failed; NULL when it succeeded.", |r| r.text("errorCode")),
    col("error_message", Text, "Error message when the call failed (a console sign-in says success).", |r| r.text("errorMessage")),
    col("resource_type", Text, "Types of the resources concerned, separated by semicolons.", |r| r.text("resourceType")).pushed(Pushdown::Equal),
    col("resource_name", Text, "Names of the resources concerned: commas within a type, semicolons between types.", |r| r.text("resourceName")).pushed(Pushdown::Equal),
    col("is_global", Boolean, "Whether the event is a global one (identity management, console sign-in), kept in one region for the whole account.", |r| Value::boolean(r.item.boolean("isGlobal"))),
    col("user_type", Text, "Kind of caller: root-account, ram-user, assumed-role, system, ...", |r| identity(r, "type")),
    col("user_name", Text, "Name of the caller (RAM user, role session, root).", |r| identity(r, "userName")).pushed(Pushdown::Equal),
    col("principal_id", Text, "Principal id of the caller.", |r| identity(r, "principalId")),
    col("user_account_id", Text, "Account of the caller (another account's for cross-account calls).", |r| identity(r, "accountId")),
    col("access_key_id", Text, "AccessKey id the call was signed with; NULL for console and service calls.", |r| identity(r, "accessKeyId")).pushed(Pushdown::Equal),
    col("user_identity", Json, "The caller's identity as the event records it, session context included.", |r| r.json("userIdentity")),
    col("request_parameters", Json, "Parameters of the request.", |r| r.json("requestParameters")),
    col("response_elements", Json, "Elements of the response.", |r| r.json("responseElements")),
    col("additional_event_data", Json, "Further data the service recorded (e.g. the login account of a sign-in).", |r| r.json("additionalEventData")),
    col("referenced_resources", Json, "Resources concerned, as an object of resource type to an array of names.", |r| r.json("referencedResources")),
    col("event_attributes", Json, "Attributes of the event, e.g. SensitiveAction.", |r| r.json("eventAttributes")),
    ColumnDef::region("Region whose ActionTrail endpoint returned the event: its acs_region, or the region that keeps global events."),
    ColumnDef::account_id("Alibaba Cloud account the credentials belong to (from STS GetCallerIdentity)."),
    col("title", Text, "Display title of the row: the event name.", |r| r.text("eventName")),
    ColumnDef::raw("The event exactly as the API sent it, fields this table does not know included."),
    table::SP_CONNECTION_NAME,
    table::SP_CTX,
    table::CTX,
];

/// The columns whose equality becomes a lookup attribute, most selective first.
const ATTRIBUTES: &[(&str, LookupKey)] = &[
    ("event_id", LookupKey::EventId),
    ("resource_name", LookupKey::ResourceName),
    ("event_name", LookupKey::EventName),
    ("access_key_id", LookupKey::EventAccessKeyId),
    ("user_name", LookupKey::User),
    ("source_ip_address", LookupKey::SourceIpAddress),
    ("resource_type", LookupKey::ResourceType),
    ("service_name", LookupKey::ServiceName),
    ("event_type", LookupKey::EventType),
    ("event_rw", LookupKey::EventRw),
];

/// Whether a value can be sent as `key`'s attribute: the resource columns join several names, and
/// an attribute matches one of them, so a value holding a separator is filtered locally only.
fn sendable(key: LookupKey, value: &str) -> bool {
    !matches!(key, LookupKey::ResourceName | LookupKey::ResourceType) || !value.contains([';', ','])
}

/// `t`, its fraction dropped.
fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

/// The end of every window: now, rounded up to the minute, so that the statements of one minute
/// ask (and cache) the same listing.
fn edge(now: DateTime<Utc>) -> DateTime<Utc> {
    let minute = TimeDelta::minutes(1);
    match now.duration_trunc(minute) {
        Ok(t) if t == now => t,
        Ok(t) => t + minute,
        Err(_) => now,
    }
}

/// A bound of the window: an instant, and whether it is excluded.
type Bound = (DateTime<Utc>, bool);

/// The window the conditions on `event_time` allow, as the API is asked it: whole seconds,
/// widened by one on each side (so that whichever way the API counts its ends, no event the
/// conditions allow is left out), and within the retention. `None`: no event can match.
fn window(
    constraints: &[&Constraint],
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let mut lo: Option<Bound> = None;
    let mut hi: Option<Bound> = None;
    let tighter_lo = |cur: Option<Bound>, b: Bound| match cur {
        Some(c) if c.0 > b.0 || (c.0 == b.0 && c.1) => Some(c),
        _ => Some(b),
    };
    let tighter_hi = |cur: Option<Bound>, b: Bound| match cur {
        Some(c) if c.0 < b.0 || (c.0 == b.0 && c.1) => Some(c),
        _ => Some(b),
    };
    for c in constraints {
        let times: Option<Vec<DateTime<Utc>>> = c.values.iter().map(|v| v.time()).collect();
        // A value that is not an instant narrows nothing here (the front end filters).
        let Some(times) = times else { continue };
        match (c.op, times.iter().min(), times.iter().max()) {
            (Op::Eq, Some(min), Some(max)) => {
                lo = tighter_lo(lo, (*min, false));
                hi = tighter_hi(hi, (*max, false));
            }
            (Op::Eq, _, _) => return None,
            (Op::Gt, Some(v), _) => lo = tighter_lo(lo, (*v, true)),
            (Op::Ge, Some(v), _) => lo = tighter_lo(lo, (*v, false)),
            (Op::Lt, Some(v), _) => hi = tighter_hi(hi, (*v, true)),
            (Op::Le, Some(v), _) => hi = tighter_hi(hi, (*v, false)),
            _ => {}
        }
    }
    if let (Some(l), Some(h)) = (lo, hi) {
        if l.0 > h.0 || (l.0 == h.0 && (l.1 || h.1)) {
            return None;
        }
    }
    let edge = edge(now);
    let oldest = edge - RETENTION;
    let second = TimeDelta::seconds(1);
    let start = lo
        .map_or(oldest, |(t, _)| whole_second(t) - second)
        .max(oldest);
    let end = hi.map_or(edge, |(t, _)| whole_second(t) + second).min(edge);
    (start < end).then_some((start, end))
}

/// The attributes to send for the equality conditions: each request's (key, value) list, one
/// request per combination of values. The best documented pair, else the best single key, within
/// [`MAX_LISTINGS`] requests; none when nothing fits. `None`: no event can match.
fn attributes(
    table: &TableDef,
    constraints: &[&Constraint],
) -> Option<Vec<Vec<(LookupKey, String)>>> {
    let mut candidates: Vec<(usize, LookupKey, Vec<String>)> = Vec::new();
    for (rank, (column, key)) in ATTRIBUTES.iter().enumerate() {
        let mut wanted: Option<Vec<String>> = None;
        for c in constraints
            .iter()
            .filter(|c| table.columns[c.column].name == *column)
        {
            // An empty text is NULL in these columns, so '' matches nothing.
            let values = c
                .texts()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect();
            wanted = Some(narrow(wanted, values));
        }
        match wanted {
            Some(v) if v.is_empty() => return None,
            Some(v) if v.iter().all(|v| sendable(*key, v)) => candidates.push((rank, *key, v)),
            _ => {}
        }
    }
    let mut options: Vec<Vec<&(usize, LookupKey, Vec<String>)>> =
        candidates.iter().map(|c| vec![c]).collect();
    for (i, a) in candidates.iter().enumerate() {
        for b in &candidates[i + 1..] {
            if a.1.pairs_with(b.1) {
                options.push(vec![a, b]);
            }
        }
    }
    let requests = |o: &Vec<&(usize, LookupKey, Vec<String>)>| -> usize {
        o.iter().map(|c| c.2.len()).product()
    };
    let best = options
        .into_iter()
        .filter(|o| requests(o) <= MAX_LISTINGS)
        .min_by_key(|o| {
            let ranks: usize = o.iter().map(|c| c.0).sum();
            (std::cmp::Reverse(o.len()), requests(o), ranks)
        });
    let Some(best) = best else {
        return Some(vec![Vec::new()]);
    };
    let mut combos: Vec<Vec<(LookupKey, String)>> = vec![Vec::new()];
    for (_, key, values) in best {
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                values.iter().map(move |v| {
                    let mut c = combo.clone();
                    c.push((*key, v.clone()));
                    c
                })
            })
            .collect();
    }
    Some(combos)
}

/// The listing's request for `params` (what [`Listing::requests`] made).
fn request_of(params: &Params) -> Option<LookupEventsRequest> {
    let time = |k: &str| -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(params.get(k)?)
            .ok()
            .map(|t| t.to_utc())
    };
    let mut attributes: Vec<(LookupKey, String)> = params
        .iter()
        .filter_map(|(k, v)| Some((LookupKey::from_name(k)?, v.clone())))
        .collect();
    attributes.sort_by_key(|(k, _)| ATTRIBUTES.iter().position(|(_, a)| a == k));
    Some(LookupEventsRequest {
        start: time(START)?,
        end: time(END)?,
        attributes,
        max_results: MAX_RESULTS,
    })
}

/// Where a listing is: which window slice (`None`: the whole window in one listing), how many of
/// its attributes are sent, and the API's token within the slice. Encoded as this listing's page
/// token: `w.2.<api token>` or `<slice>.<attributes>.<api token>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    slice: Option<u32>,
    attributes: usize,
    api: Option<String>,
}

impl Cursor {
    fn first(request: &LookupEventsRequest) -> Cursor {
        Cursor {
            slice: None,
            attributes: request.attributes.len(),
            api: None,
        }
    }

    fn decode(token: &str) -> Option<Cursor> {
        let mut parts = token.splitn(3, '.');
        let slice = match parts.next()? {
            "w" => None,
            n => Some(n.parse().ok()?),
        };
        let attributes = parts.next()?.parse().ok()?;
        let api = Some(parts.next()?.to_string()).filter(|t| !t.is_empty());
        Some(Cursor {
            slice,
            attributes,
            api,
        })
    }

    fn encode(&self) -> String {
        let slice = self.slice.map_or("w".to_string(), |s| s.to_string());
        format!(
            "{slice}.{}.{}",
            self.attributes,
            self.api.as_deref().unwrap_or("")
        )
    }

    /// The API request of this listing's position: its slice of the window, its attributes.
    fn apply(&self, request: &LookupEventsRequest) -> LookupEventsRequest {
        let mut r = request.clone();
        if let Some(k) = self.slice {
            let (start, end) = slice(request, k);
            r.start = start;
            r.end = end;
        }
        r.attributes.truncate(self.attributes);
        r
    }

    /// The position after a page whose API token was `next`: the next page of the slice, else
    /// the next (older) slice, else the end.
    fn after(&self, next: Option<String>, request: &LookupEventsRequest) -> Option<Cursor> {
        match (next, self.slice) {
            (Some(t), _) => Some(Cursor {
                api: Some(t),
                ..self.clone()
            }),
            (None, Some(k)) if slice(request, k).0 > request.start => Some(Cursor {
                slice: Some(k + 1),
                api: None,
                ..self.clone()
            }),
            _ => None,
        }
    }
}

/// The `k`th slice of the window, newest first, each at most [`OLD_WINDOW_CAP`] long.
fn slice(request: &LookupEventsRequest, k: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = request.end - OLD_WINDOW_CAP * k as i32;
    let start = (end - OLD_WINDOW_CAP).max(request.start);
    (start, end.max(start))
}

/// Whether the API refused the request's form (a window or a pair it does not take), as opposed
/// to failing: the codes it documents for parameters.
fn refused(e: &Error) -> bool {
    e.code()
        .is_some_and(|c| c.starts_with("InvalidParameter") || c == "InvalidQueryParameter")
}

/// Whether the API refused the call for its rate.
fn throttled(e: &Error) -> bool {
    e.code().is_some_and(|c| c.starts_with("Throttling"))
}

/// `LookupEvents`, 50 events a page, newest first, paced to the documented rate.
struct LookupEvents;

impl Listing for LookupEvents {
    fn action(&self) -> &'static str {
        "LookupEvents"
    }

    fn calls(&self) -> &'static str {
        "ActionTrail LookupEvents, paged, newest first, at most 2 calls a second"
    }

    fn requests(&self, table: &TableDef, constraints: &[Constraint]) -> Option<Vec<Params>> {
        let on = |name: &str| -> Vec<&Constraint> {
            constraints
                .iter()
                .filter(|c| table.columns[c.column].name == name)
                .collect()
        };
        let (start, end) = window(&on("event_time"), Utc::now())?;
        let equalities: Vec<&Constraint> = constraints.iter().filter(|c| c.op == Op::Eq).collect();
        let combos = attributes(table, &equalities)?;
        Some(
            combos
                .into_iter()
                .map(|combo| {
                    let mut p = Params::new();
                    p.insert(START.to_string(), format_time(start));
                    p.insert(END.to_string(), format_time(end));
                    for (key, value) in combo {
                        p.insert(key.name().to_string(), value);
                    }
                    p
                })
                .collect(),
        )
    }

    fn page<'a>(
        &'a self,
        client: &'a Client,
        pace: &'a Pace,
        region: &'a str,
        params: &'a Params,
        token: Option<&'a str>,
    ) -> BoxFuture<'a, Outcome<Page>> {
        async move {
            let mut report = CallReport::default();
            let Some(request) = request_of(params) else {
                return Outcome {
                    result: Err(Error::config(format!(
                        "the LookupEvents request {params:?} lacks its window"
                    ))),
                    report,
                };
            };
            let mut cursor = match token {
                None => Cursor::first(&request),
                Some(t) => match Cursor::decode(t) {
                    Some(c) => c,
                    None => {
                        return Outcome {
                            result: Err(Error::config(format!(
                                "{t:?} is not a LookupEvents page token"
                            ))),
                            report,
                        }
                    }
                },
            };
            let mut throttled_turns = 0;
            loop {
                pace.turn(CALLS_PER_SECOND).await;
                let asked = cursor.apply(&request);
                let outcome = client
                    .lookup_events(region, &asked, cursor.api.as_deref())
                    .await;
                report.absorb(outcome.report);
                match outcome.result {
                    Ok(page) => {
                        let next = cursor.after(page.next_token, &request);
                        return Outcome {
                            result: Ok(Page {
                                items: page.events,
                                next: next.map(|c| c.encode()),
                            }),
                            report,
                        };
                    }
                    // Still throttled after the client's retries: wait for another turn.
                    Err(e) if throttled(&e) && throttled_turns < THROTTLED_TURNS => {
                        throttled_turns += 1;
                    }
                    // A first page refused for its form: a window too long for the API is read
                    // in slices; a pair it does not take is sent as its first attribute.
                    Err(e) if cursor.api.is_none() && refused(&e) => {
                        if cursor.slice.is_none() && asked.end - asked.start > OLD_WINDOW_CAP {
                            cursor.slice = Some(0);
                        } else if cursor.attributes > 1 {
                            cursor.attributes = 1;
                        } else {
                            return Outcome {
                                result: Err(e),
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
        }
        .boxed()
    }

    fn explain(&self, requests: &[Params], deferred: &[Deferred]) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        let times: Vec<String> = deferred
            .iter()
            .filter(|d| d.column.pushdown == Some(Pushdown::Range))
            .map(Deferred::condition)
            .collect();
        if let Some(first) = requests.first().and_then(request_of) {
            let whole = first.end - first.start == RETENTION;
            let window = match (whole, times.is_empty()) {
                (true, true) => format!(
                    "the last 90 days, all the service keeps ({} to {}): no condition on event_time",
                    format_time(first.start),
                    format_time(first.end)
                ),
                (true, false) => format!("from {}, when the scan starts", times.join(" and ")),
                (false, true) => format!("{} to {}", format_time(first.start), format_time(first.end)),
                (false, false) => format!(
                    "{} to {}, narrowed when the scan starts by {}",
                    format_time(first.start),
                    format_time(first.end),
                    times.join(" and ")
                ),
            };
            lines.push(("Window", window));
            let mut sent: Vec<(LookupKey, Vec<String>)> = Vec::new();
            for r in requests.iter().filter_map(request_of) {
                for (k, v) in r.attributes {
                    match sent.iter_mut().find(|(s, _)| *s == k) {
                        Some((_, vs)) if !vs.contains(&v) => vs.push(v),
                        Some(_) => {}
                        None => sent.push((k, vec![v])),
                    }
                }
            }
            let mut attributes: Vec<String> = sent
                .iter()
                .map(|(k, vs)| format!("{} = {}", k.name(), vs.join(" | ")))
                .collect();
            attributes.extend(
                deferred
                    .iter()
                    .filter(|d| d.column.pushdown == Some(Pushdown::Equal))
                    .map(|d| format!("{}, when the scan starts", d.condition())),
            );
            if !attributes.is_empty() {
                let mut line = attributes.join(" and ");
                if requests.len() > 1 {
                    line.push_str(&format!(" ({} listings per region)", requests.len()));
                }
                lines.push(("LookupAttribute", line));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Operand, ScanPlan};
    use alicloud_api::JsonObject;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn time(op: Op, t: &str) -> Constraint {
        Constraint {
            column: TABLE.column_index("event_time").unwrap(),
            op,
            values: vec![Operand::Time(at(t))],
        }
    }

    fn equal(column: &str, values: &[&str]) -> Constraint {
        Constraint::equal(
            TABLE.column_index(column).unwrap(),
            values.iter().map(|s| s.to_string()),
        )
    }

    const NOW: &str = "2026-12-05T10:20:30.5Z";

    fn window_of(cs: &[Constraint]) -> Option<(String, String)> {
        let refs: Vec<&Constraint> = cs.iter().collect();
        window(&refs, at(NOW)).map(|(s, e)| (format_time(s), format_time(e)))
    }

    #[test]
    fn the_window_is_whole_seconds_widened_and_within_the_retention() {
        let w = |s: &str, e: &str| Some((s.to_string(), e.to_string()));
        assert_eq!(
            window_of(&[]),
            w("2026-09-06T10:21:00Z", "2026-12-05T10:21:00Z")
        );
        assert_eq!(
            window_of(&[
                time(Op::Ge, "2026-12-01T00:00:00.250Z"),
                time(Op::Lt, "2026-12-02T00:00:00Z")
            ]),
            w("2026-11-30T23:59:59Z", "2026-12-02T00:00:01Z")
        );
        // Several conditions intersect; = is a window of its own instant.
        assert_eq!(
            window_of(&[
                time(Op::Gt, "2026-11-01T00:00:00Z"),
                time(Op::Gt, "2026-11-20T00:00:00Z"),
                time(Op::Le, "2026-11-25T00:00:00Z"),
                time(Op::Eq, "2026-11-21T08:00:00Z"),
            ]),
            w("2026-11-21T07:59:59Z", "2026-11-21T08:00:01Z")
        );
        // Older than the retention, or later than now, is cut.
        assert_eq!(
            window_of(&[
                time(Op::Gt, "2020-01-01T00:00:00Z"),
                time(Op::Lt, "2030-01-01T00:00:00Z")
            ]),
            window_of(&[])
        );
    }

    #[test]
    fn contradictions_and_empty_windows_call_nothing() {
        for cs in [
            vec![
                time(Op::Gt, "2026-12-01T00:00:00Z"),
                time(Op::Lt, "2026-12-01T00:00:00Z"),
            ],
            vec![
                time(Op::Ge, "2026-12-01T00:00:00Z"),
                time(Op::Lt, "2026-12-01T00:00:00Z"),
            ],
            vec![
                time(Op::Gt, "2026-12-02T00:00:00Z"),
                time(Op::Le, "2026-12-01T00:00:00Z"),
            ],
            vec![time(Op::Lt, "2020-01-01T00:00:00Z")],
            vec![time(Op::Gt, "2030-01-01T00:00:00Z")],
        ] {
            assert_eq!(window_of(&cs), None, "{cs:?}");
        }
        assert!(window_of(&[
            time(Op::Ge, "2026-12-01T00:00:00Z"),
            time(Op::Le, "2026-12-01T00:00:00Z")
        ])
        .is_some());
        for cs in [
            vec![equal("event_name", &["A"]), equal("event_name", &["B"])],
            vec![equal("event_name", &[""])],
        ] {
            assert!(ScanPlan::new(&TABLE, &cs).is_empty(), "{cs:?}");
        }
    }

    fn sent(cs: &[Constraint]) -> Vec<String> {
        ScanPlan::new(&TABLE, cs)
            .requests()
            .iter()
            .map(|p| {
                p.iter()
                    .filter(|(k, _)| *k != START && *k != END)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            })
            .collect()
    }

    #[test]
    fn attributes_are_a_documented_pair_at_most_and_in_lists_are_listings() {
        assert_eq!(sent(&[]), [""]);
        assert_eq!(
            sent(&[equal("event_name", &["StopLogging"])]),
            ["EventName=StopLogging"]
        );
        // A documented pair is sent whole.
        assert_eq!(
            sent(&[
                equal("event_name", &["StopLogging"]),
                equal("service_name", &["Actiontrail"])
            ]),
            ["EventName=StopLogging&ServiceName=Actiontrail"]
        );
        // No documented pair: the most selective key alone; the other is filtered locally.
        assert_eq!(
            sent(&[
                equal("event_name", &["StopLogging"]),
                equal("user_name", &["alice"])
            ]),
            ["EventName=StopLogging"]
        );
        // IN: one listing per value (two same-key attributes would keep only the last).
        assert_eq!(
            sent(&[equal("event_name", &["StopLogging", "DeleteTrail"])]),
            ["EventName=StopLogging", "EventName=DeleteTrail"]
        );
        // A list too long to send as listings is filtered locally.
        let many: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(sent(&[equal("event_name", &many)]), [""]);
        // A resource value holding a separator cannot be one attribute.
        assert_eq!(sent(&[equal("resource_name", &["a,b"])]), [""]);
    }

    #[test]
    fn the_cursor_slices_newest_first_and_keeps_its_form() {
        let request = LookupEventsRequest {
            start: at("2026-09-06T10:21:00Z"),
            end: at("2026-12-05T10:21:00Z"),
            attributes: vec![
                (LookupKey::ServiceName, "Ecs".into()),
                (LookupKey::EventName, "X".into()),
            ],
            max_results: 50,
        };
        let first = Cursor::first(&request);
        assert_eq!(first.apply(&request), request);
        let sliced = Cursor {
            slice: Some(0),
            attributes: 1,
            api: None,
        };
        let asked = sliced.apply(&request);
        assert_eq!(
            (asked.start, asked.end),
            (at("2026-11-05T10:21:00Z"), request.end)
        );
        assert_eq!(asked.attributes.len(), 1);
        let mut c = sliced.clone();
        let mut windows = Vec::new();
        while let Some(next) = c.after(None, &request) {
            windows.push(next.apply(&request).start);
            c = next;
        }
        assert_eq!(
            windows,
            [at("2026-10-06T10:21:00Z"), at("2026-09-06T10:21:00Z")]
        );
        let paged = sliced.after(Some("a.b".into()), &request).unwrap();
        assert_eq!(Cursor::decode(&paged.encode()), Some(paged.clone()));
        assert_eq!(paged.encode(), "0.1.a.b");
        assert_eq!(first.after(None, &request), None);
        assert_eq!(Cursor::decode("nonsense"), None);
    }

    #[test]
    fn values_are_the_events_own() {
        let raw = r#"{"eventId":"e-1","eventVersion":"1","eventName":"StopLogging","eventTime":"2026-12-01T08:00:00Z",
            "isGlobal":false,"requestParameters":{"Name":"t","N":1},"responseElements":null,
            "userIdentity":{"type":"ram-user","userName":"bob","accessKeyId":"LTAI5tX","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}}}"#;
        let event = JsonObject::parse(raw);
        let source = RowSource {
            item: &event,
            region: "cn-beijing",
            account_id: Some("1"),
            connection_name: "prod",
        };
        let get = |name: &str| (TABLE.column(name).unwrap().value)(&source);
        assert_eq!(
            get("event_time"),
            Value::Timestamp(at("2026-12-01T08:00:00Z"))
        );
        assert_eq!(get("user_name"), Value::Text("bob".into()));
        assert_eq!(get("access_key_id"), Value::Text("LTAI5tX".into()));
        assert_eq!(
            get("request_parameters"),
            Value::Json(r#"{"Name":"t","N":1}"#.into())
        );
        assert_eq!(get("response_elements"), Value::Null);
        assert_eq!(get("error_code"), Value::Null);
        assert_eq!(get("is_global"), Value::Boolean(false));
        assert_eq!(get("title"), Value::Text("StopLogging".into()));
        assert_eq!(TABLE.columns[TABLE.unique.unwrap()].name, "event_id");
        assert_eq!(
            TABLE.columns[TABLE.order.unwrap().column].name,
            "event_time"
        );
    }
}
