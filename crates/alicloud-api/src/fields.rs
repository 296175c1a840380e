//! Lenient parsing of the API's loosely typed fields.
//!
//! The wire format of the four trail time fields is unverified against the live service (see
//! `docs/api-notes.md`): epoch milliseconds as a number or a string, ISO-8601, or the Java
//! `Date.toString()` form `Wed Dec 02 15:41:06 CST 2015` (CST = China Standard Time, UTC+8) have all
//! been seen. Every one of them is accepted; missing, null, empty or zero is `None`.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// Epoch values below this are taken as seconds, at or above it as milliseconds
/// (1e11 s is the year 5138; 1e11 ms is March 1973).
const SECONDS_OR_MILLIS_CUTOFF: i64 = 100_000_000_000;

/// Parses a time field in any of the accepted formats; `None` for absent, empty, zero or unreadable.
pub fn parse_time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    match value? {
        Value::Number(n) => {
            let v = n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?;
            from_epoch(v)
        }
        Value::String(s) => parse_time_str(s),
        _ => None,
    }
}

/// Parses a time given as text in any of the accepted formats.
pub fn parse_time_str(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return from_epoch(s.parse().ok()?);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // ISO-8601 without an offset ("2021-03-01T06:27:28", "2021-03-01 06:27:28"): taken as UTC.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    // "2021-03-01T06:27Z" (no seconds), as some Alibaba APIs write.
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ") {
        return Some(Utc.from_utc_datetime(&t));
    }
    parse_java_date(s)
}

/// `Wed Dec 02 15:41:06 CST 2015`: weekday, month, day, time, zone abbreviation, year.
fn parse_java_date(s: &str) -> Option<DateTime<Utc>> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_weekday, month, day, time, zone, year] = parts.as_slice() else {
        return None;
    };
    let offset_hours = match *zone {
        "CST" => 8, // China Standard Time: the zone Alibaba's Java services print.
        "UTC" | "GMT" | "Z" => 0,
        _ => return None,
    };
    let naive =
        NaiveDateTime::parse_from_str(&format!("{month} {day} {year} {time}"), "%b %d %Y %H:%M:%S")
            .ok()?;
    let offset = FixedOffset::east_opt(offset_hours * 3600)?;
    Some(
        offset
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

fn from_epoch(v: i64) -> Option<DateTime<Utc>> {
    if v <= 0 {
        return None;
    }
    if v < SECONDS_OR_MILLIS_CUTOFF {
        DateTime::from_timestamp(v, 0)
    } else {
        DateTime::from_timestamp_millis(v)
    }
}

/// Parses a boolean given as a JSON boolean, `"true"`/`"false"` (any case), or 0/1.
pub fn parse_bool(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// Reads a text field: strings as they are, numbers and booleans as text; absent, null or empty is
/// `None` (the API sends `""` for a field that is not set).
pub fn parse_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn every_time_format() {
        let want = utc("2021-03-01T06:27:28Z");
        assert_eq!(parse_time(Some(&json!(1614580048000i64))), want);
        assert_eq!(parse_time(Some(&json!("1614580048000"))), want);
        assert_eq!(parse_time(Some(&json!(1614580048))), want, "epoch seconds");
        assert_eq!(parse_time(Some(&json!(1614580048000.0))), want);
        assert_eq!(parse_time(Some(&json!("2021-03-01T06:27:28Z"))), want);
        assert_eq!(parse_time(Some(&json!("2021-03-01T14:27:28+08:00"))), want);
        assert_eq!(parse_time(Some(&json!("2021-03-01T06:27:28.000Z"))), want);
        assert_eq!(parse_time(Some(&json!("2021-03-01T06:27:28"))), want);
        assert_eq!(parse_time(Some(&json!("2021-03-01 06:27:28"))), want);
        assert_eq!(
            parse_time(Some(&json!("2021-03-01T06:27Z"))),
            utc("2021-03-01T06:27:00Z")
        );
        assert_eq!(
            parse_time(Some(&json!("Wed Dec 02 15:41:06 CST 2015"))),
            utc("2015-12-02T07:41:06Z")
        );
        assert_eq!(
            parse_time(Some(&json!("Wed Dec 02 15:41:06 UTC 2015"))),
            utc("2015-12-02T15:41:06Z")
        );
    }

    #[test]
    fn empty_zero_missing_and_garbage_are_none() {
        for v in [
            json!(""),
            json!("  "),
            json!(0),
            json!("0"),
            json!(null),
            json!(-5),
            json!("yesterday"),
            json!(true),
            json!({}),
        ] {
            assert_eq!(parse_time(Some(&v)), None, "{v}");
        }
        assert_eq!(parse_time(None), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(Some(&json!(true))), Some(true));
        assert_eq!(parse_bool(Some(&json!(false))), Some(false));
        assert_eq!(parse_bool(Some(&json!("true"))), Some(true));
        assert_eq!(parse_bool(Some(&json!("False"))), Some(false));
        assert_eq!(parse_bool(Some(&json!(1))), Some(true));
        assert_eq!(parse_bool(Some(&json!(0))), Some(false));
        assert_eq!(parse_bool(Some(&json!("maybe"))), None);
        assert_eq!(parse_bool(Some(&json!(2))), None);
        assert_eq!(parse_bool(Some(&json!(null))), None);
        assert_eq!(parse_bool(None), None);
    }

    #[test]
    fn text() {
        assert_eq!(parse_text(Some(&json!("a"))), Some("a".into()));
        assert_eq!(parse_text(Some(&json!(""))), None);
        assert_eq!(parse_text(Some(&json!(12))), Some("12".into()));
        assert_eq!(parse_text(Some(&json!(null))), None);
        assert_eq!(parse_text(Some(&json!([1]))), None);
    }
}
