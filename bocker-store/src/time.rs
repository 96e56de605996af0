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
}
