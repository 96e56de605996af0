//! "Did you mean": the known verb nearest to a mistyped one.

/// Edit distance between `a` and `b` (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest of `known` to `typed`, if it is close enough to be a typo.
pub fn nearest<'a>(typed: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (distance(typed, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let known: Vec<String> = ["images", "init", "inspect", "ps", "rm", "rmi"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("imgaes", &known), Some("images"));
        assert_eq!(nearest("inspcet", &known), Some("inspect"));
        assert_eq!(nearest("rmm", &known), Some("rm"));
        assert_eq!(nearest("zzzzzzzz", &known), None);
    }
}
