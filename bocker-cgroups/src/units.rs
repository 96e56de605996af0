//! Docker's memory size strings: `512m`, `1G`, `100000b`, `2048`.

use crate::error::{CgroupError, Result};

/// Parses a Docker memory size (`<number>[b|k|m|g]`, either case, 1024-based)
/// into bytes. A bare number is bytes. Fractions (`1.5g`) are allowed as Docker
/// allows them; the result is rounded down to a whole byte.
pub fn parse_memory(s: &str) -> Result<u64> {
    let bad = |reason| CgroupError::InvalidValue {
        what: "memory size",
        value: s.to_string(),
        reason,
    };
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        None => return Err(bad("empty")),
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult: u64 = match c.to_ascii_lowercase() {
                'b' => 1,
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                _ => return Err(bad("unit must be one of b, k, m, g")),
            };
            (&t[..i], mult)
        }
        Some(_) => (t, 1),
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad(
            "expected a number followed by an optional b, k, m or g",
        ));
    }
    if let Some((whole, frac)) = num.split_once('.') {
        if whole.is_empty() || frac.is_empty() || frac.contains('.') {
            return Err(bad("malformed number"));
        }
        let v: f64 = num.parse().map_err(|_| bad("malformed number"))?;
        let bytes = v * mult as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(bad("too large"));
        }
        return Ok(bytes as u64);
    }
    let v: u64 = num.parse().map_err(|_| bad("too large"))?;
    v.checked_mul(mult).ok_or_else(|| bad("too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_memory;

    #[test]
    fn units_are_1024_based_and_case_insensitive() {
        assert_eq!(parse_memory("512000000").unwrap(), 512_000_000);
        assert_eq!(parse_memory("100b").unwrap(), 100);
        assert_eq!(parse_memory("4k").unwrap(), 4096);
        assert_eq!(parse_memory("4K").unwrap(), 4096);
        assert_eq!(parse_memory("512m").unwrap(), 512 * 1024 * 1024);
        assert_eq!(parse_memory("512M").unwrap(), 512 * 1024 * 1024);
        assert_eq!(parse_memory("2g").unwrap(), 2 << 30);
        assert_eq!(parse_memory("1.5g").unwrap(), 3 << 29);
    }

    #[test]
    fn bad_values_are_errors() {
        for bad in [
            "",
            "m",
            "12x",
            "-5m",
            "1..5m",
            ".5m",
            "5.m",
            "1e3",
            "5 m",
            "99999999999999999999",
            "99999999999g",
        ] {
            assert!(parse_memory(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
