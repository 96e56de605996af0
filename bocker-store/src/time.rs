//! Timestamps as RFC 3339 UTC strings, and their human rendering for tables.

use std::time::{Duration, SystemTime};

/// Now, as RFC 3339 with second precision (`2026-11-22T20:00:00Z`).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Now, as RFC 3339 with nanosecond precision (for log lines).
pub fn now_precise() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

/// "3 minutes ago" style rendering of an RFC 3339 timestamp; the input itself if unparsable.
pub fn ago(ts: &str) -> String {
    let Ok(t) = humantime::parse_rfc3339_weak(ts) else {
        return ts.to_string();
    };
    let secs = SystemTime::now()
        .duration_since(t)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        _ => (secs / 2_592_000, "month"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// Docker's "6 years ago" rendering of an RFC 3339 timestamp (go-units `HumanDuration`
/// plus " ago", as `docker images` and `docker history` print CREATED, Docker 20.10):
/// seconds, "About a minute", minutes, "About an hour", hours under 48, days under two
/// weeks, weeks under two months, months under two years, then years. The input itself
/// if unparsable.
pub fn docker_ago(ts: &str) -> String {
    let Ok(t) = humantime::parse_rfc3339_weak(ts) else {
        return ts.to_string();
    };
    let d = SystemTime::now()
        .duration_since(t)
        .unwrap_or(Duration::ZERO);
    format!("{} ago", human_duration(d))
}

/// go-units' `HumanDuration` (Docker's rounding: hours to the nearest, days from hours).
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let minutes = secs / 60;
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    match () {
        _ if secs < 1 => "Less than a second".into(),
        _ if secs == 1 => "1 second".into(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_parses_back_and_renders() {
        let n = now();
        assert!(n.ends_with('Z'), "{n}");
        assert_eq!(ago(&n), "just now");
        let past = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(7200))
            .to_string();
        assert_eq!(ago(&past), "2 hours ago");
        assert_eq!(ago("garbage"), "garbage");
    }

    #[test]
    fn docker_units() {
        let h = |s: u64| human_duration(Duration::from_secs(s));
        assert_eq!(h(0), "Less than a second");
        assert_eq!(h(1), "1 second");
        assert_eq!(h(59), "59 seconds");
        assert_eq!(h(60), "About a minute");
        assert_eq!(h(59 * 60), "59 minutes");
        assert_eq!(h(3600), "About an hour");
        assert_eq!(h(47 * 3600), "47 hours");
        assert_eq!(h(13 * 86_400), "13 days");
        assert_eq!(h(20 * 86_400), "2 weeks");
        assert_eq!(h(90 * 86_400), "3 months");
        assert_eq!(h(6 * 365 * 86_400 + 86_400), "6 years");
    }
}
