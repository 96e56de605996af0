//! Human rendering of sizes and tables for the listing verbs.

use std::io::{self, Write};

/// Size with decimal units as Docker prints them (go-units `HumanSizeWithPrecision(_, 3)`,
/// Go's `%.3g`: three significant digits, trailing zeros dropped): `5.2MB`, `20kB`, `0B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let digits = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    let mut n = format!("{v:.digits$}");
    if n.contains('.') {
        n = n.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{n}{}", UNITS[u])
}

/// A cell on one line: control characters (a newline in a command, an escape sequence
/// in a directory name) are shown escaped, never sent to the terminal or split a row.
fn one_line_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if !cell.chars().any(char::is_control) {
        return cell.into();
    }
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Writes `rows` under `header` in columns separated by two spaces (last column unpadded).
pub fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let rows: Vec<Vec<std::borrow::Cow<'_, str>>> = rows
        .iter()
        .map(|r| r.iter().map(|c| one_line_cell(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                s.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    out.write_all(line(header.to_vec()).as_bytes())?;
    for row in &rows {
        out.write_all(line(row.iter().map(|c| c.as_ref()).collect()).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_render_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1_234_000), "1.23MB");
        assert_eq!(human_size(52_400_000), "52.4MB");
        assert_eq!(human_size(812_000), "812kB");
        // Docker 20.10's `history` of a 1500- and a 20000-byte layer.
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(20_000), "20kB");
        assert_eq!(human_size(21_500), "21.5kB");
    }

    #[test]
    fn table_aligns_columns_and_starts_with_the_header() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["IMAGE_ID", "SOURCE"],
            &[vec!["img_0123456789ab".into(), "/tmp/x".into()]],
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines[0].starts_with("IMAGE_ID  "), "{s}");
        assert_eq!(lines[0].find("SOURCE"), lines[1].find("/tmp/x"));
    }

    #[test]
    fn a_cell_never_splits_a_row_or_reaches_the_terminal_raw() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["CONTAINER_ID", "COMMAND"],
            &[vec![
                "ps_0123456789ab".into(),
                "sh -c 'a\nb\u{1b}[2J'".into(),
            ]],
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.lines().count(), 2, "{s}");
        assert!(!s.contains('\u{1b}'), "{s}");
        assert!(s.contains("a\\nb"), "{s}");
    }
}
