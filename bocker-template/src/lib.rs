//! Docker's `--format` templates: the part of Go's `text/template` that `docker ps`,
//! `images` and `inspect` users write, evaluated over JSON values.
//!
//! Supported: text, `{{.Field.Sub}}`, `{{.}}`, `$` and `$var`, pipes (`{{.Names | lower}}`),
//! `{{range [$k, $v :=] …}}…{{else}}…{{end}}`, `{{if}}`/`{{else if}}`/`{{else}}`,
//! `{{with}}`, `{{- trim -}}`, comments, string/number/bool literals, `(sub pipelines)`;
//! functions in [`funcs`]. A `table` prefix makes [`Template::render_table`] print a
//! header row and align columns as Docker does (Go's tabwriter: minimum width 10,
//! padding 3). Fields are looked up as written, then ignoring case and underscores.
//!
//! Written here rather than taken from crates.io: the one Go-template crate (`gtmpl`)
//! has had no release since 2021 and needs its own value type; this is the small,
//! tested subset Docker's fields need (docs/CLI.md).

pub mod exec;
pub mod funcs;
pub mod parse;

use serde_json::Value;

/// A template that cannot be parsed or executed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// The template text is malformed.
    #[error("template parsing error: {0}")]
    Parse(String),
    /// Executing it failed (a missing field, a bad function call).
    #[error("template: executing: {0}")]
    Exec(String),
}

/// A parsed `--format` template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
    table: bool,
}

impl Template {
    /// Parses `src`; a leading `table` asks for a header and aligned columns.
    pub fn parse(src: &str) -> Result<Template, Error> {
        let (table, body) = match src.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (true, rest.trim_start())
            }
            _ => (false, src),
        };
        // Docker turns the two-character escapes `\t` and `\n` typed in a shell into the characters.
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        Ok(Template {
            nodes: parse::parse(&body)?,
            table,
        })
    }

    /// Whether the template began with `table`.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// The template executed with dot = `value`.
    pub fn render(&self, value: &Value) -> Result<String, Error> {
        let mut out = String::new();
        exec::run(&self.nodes, value, &mut out)?;
        Ok(out)
    }

    /// Every row rendered on its own line; for a `table` template, the header first
    /// (the template rendered over `headers`, an object of column titles by field) and
    /// the tab-separated cells aligned.
    pub fn render_rows(&self, headers: &Value, rows: &[Value]) -> Result<String, Error> {
        let mut lines = Vec::new();
        if self.table {
            lines.push(self.render(headers)?);
        }
        for r in rows {
            lines.push(self.render(r)?);
        }
        if self.table {
            return Ok(align(&lines));
        }
        Ok(lines.into_iter().map(|l| l + "\n").collect())
    }
}

/// Aligns tab-terminated cells as Go's `tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)` that
/// Docker uses: each column as wide as its widest cell plus 3, at least 10; the last
/// cell of a line is not padded.
fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .flat_map(|l| l.split('\n'))
        .map(|l| l.split('\t').collect())
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            let w = (c.chars().count() + 3).max(10);
            if widths.len() <= i {
                widths.push(w);
            } else {
                widths[i] = widths[i].max(w);
            }
        }
    }
    let mut out = String::new();
    for r in &rows {
        let last = r.len().saturating_sub(1);
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i < last {
                out.push_str(&" ".repeat(widths[i] - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
