//! Docker's `--filter` of the prunes: `until=` (a timestamp, or a duration before now:
//! objects created before it go) and `label=` / `label!=` (`KEY` or `KEY=VALUE`: every
//! `label` must match, no `label!` may). `container prune`, `image prune` and `system
//! prune` take both; `volume prune` only the labels (Docker 20.10: `Invalid filter
//! 'until'`). Messages are Docker 20.10's daemon's.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a prune removes: which filters apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Container,
    Image,
    Volume,
}

/// A filter Docker refuses, in its words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("Invalid filter '{0}'")]
    Invalid(String),
    #[error("failed to parse value as time or duration: {0:?}")]
    Time(String),
}

/// The parsed `--filter` values of one prune; the default keeps every candidate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only objects created before this instant.
    pub until: Option<SystemTime>,
    /// `label=` values (all must match).
    pub labels: Vec<String>,
    /// `label!=` values (none may match).
    pub not_labels: Vec<String>,
}

impl Filter {
    /// Parses `KEY=VALUE` filters for a prune of `object`.
    pub fn parse(filters: &[String], object: Object) -> Result<Filter, FilterError> {
        Filter::parse_at(filters, object, SystemTime::now())
    }

    fn parse_at(
        filters: &[String],
        object: Object,
        now: SystemTime,
    ) -> Result<Filter, FilterError> {
        let mut out = Filter::default();
        for f in filters {
            let (key, value) = f.split_once('=').unwrap_or((f, ""));
            match key {
                "label" => out.labels.push(value.to_string()),
                "label!" => out.not_labels.push(value.to_string()),
                "until" if object != Object::Volume => {
                    out.until = Some(parse_time(value, now)?);
                }
                _ => return Err(FilterError::Invalid(key.to_string())),
            }
        }
        Ok(out)
    }

    /// Whether an object created at `created` (RFC 3339) with `labels` may be pruned.
    /// An unreadable creation time never passes an `until`.
    pub fn matches(&self, created: &str, labels: &BTreeMap<String, String>) -> bool {
        if let Some(until) = self.until {
            match humantime::parse_rfc3339_weak(created) {
                Ok(t) if t < until => {}
                _ => return false,
            }
        }
        self.labels.iter().all(|l| has_label(labels, l))
            && !self.not_labels.iter().any(|l| has_label(labels, l))
    }
}

/// `KEY` (present) or `KEY=VALUE` (equal).
fn has_label(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}

/// Docker's `until` values: a Go duration before `now` (`10m`, `1h30m`, `90s`), Unix
/// seconds (`1700000000`, `1700000000.5`), or a date / RFC 3339 time (UTC when it has
/// no zone).
fn parse_time(value: &str, now: SystemTime) -> Result<SystemTime, FilterError> {
    let bad = || FilterError::Time(value.to_string());
    if let Some(d) = go_duration(value) {
        return now.checked_sub(d).ok_or_else(bad);
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(UNIX_EPOCH + Duration::from_secs_f64(secs));
        }
        return Err(bad());
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(value) {
        return Ok(t);
    }
    // A bare date: its midnight (UTC).
    humantime::parse_rfc3339_weak(&format!("{value}T00:00:00")).map_err(|_| bad())
}

/// A Go `time.ParseDuration` string (units ns, us, µs, ms, s, m, h; decimals allowed;
/// at least one unit), or `None`.
fn go_duration(s: &str) -> Option<Duration> {
    const UNITS: &[(&str, f64)] = &[
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    let mut rest = s;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // Longest unit first: `ms` before `m`.
        let (unit, scale) = UNITS
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())?;
        rest = &rest[unit.len()..];
        total += number * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(f: &[&str], o: Object) -> Result<Filter, FilterError> {
        let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        Filter::parse_at(&f, o, UNIX_EPOCH + Duration::from_secs(10_000))
    }

    #[test]
    fn until_takes_durations_and_times() {
        let at = |s| parse(&[s], Object::Container).unwrap().until.unwrap();
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs(at("until=1h")), 10_000 - 3600);
        assert_eq!(secs(at("until=1h30m")), 10_000 - 5400);
        assert_eq!(secs(at("until=90s")), 10_000 - 90);
        assert_eq!(secs(at("until=1700000000")), 1_700_000_000);
        assert_eq!(secs(at("until=1970-01-02T00:00:00Z")), 86_400);
        assert_eq!(secs(at("until=1970-01-02")), 86_400);
    }

    #[test]
    fn refusals_are_dockers() {
        // Docker 20.10's daemon, word for word.
        assert_eq!(
            parse(&["until=zz"], Object::Container)
                .unwrap_err()
                .to_string(),
            "failed to parse value as time or duration: \"zz\""
        );
        assert_eq!(
            parse(&["bogus=1"], Object::Image).unwrap_err().to_string(),
            "Invalid filter 'bogus'"
        );
        assert_eq!(
            parse(&["until=1h"], Object::Volume)
                .unwrap_err()
                .to_string(),
            "Invalid filter 'until'"
        );
    }

    #[test]
    fn labels_all_match_and_negations_exclude() {
        let f = parse(&["label=a", "label!=b=2"], Object::Volume).unwrap();
        let l = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(f.matches("", &l(&[("a", "1")])));
        assert!(f.matches("", &l(&[("a", "1"), ("b", "3")])));
        assert!(!f.matches("", &l(&[("a", "1"), ("b", "2")])));
        assert!(!f.matches("", &l(&[("c", "1")])));
        let f = parse(&["until=1h"], Object::Container).unwrap();
        assert!(f.matches("1970-01-01T00:00:00Z", &l(&[])));
        assert!(
            !f.matches("1970-01-01T02:30:00Z", &l(&[])),
            "newer than until"
        );
        assert!(!f.matches("garbage", &l(&[])));
    }
}
