//! What the store's verb binaries share: bocker-cli's conventions (re-exported, so a
//! verb writes `cli::parse`, `cli::exit`), `--format`, JSON lines, and removal of many
//! targets.

use std::io::Write;
use std::process::ExitCode;

pub use bocker_cli::{exit, one_line, parse, report, say, set_verb};

/// Output format of listing verbs (`--format`), as Docker reads it: `table` (the
/// default), `json`, or a Go template (`{{.ID}}`, `table {{.ID}}\t{{.Names}}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns under a header.
    #[default]
    Table,
    /// One JSON object per line.
    Json,
    /// A Go template, checked when parsed.
    Template(String),
}

impl std::str::FromStr for Format {
    type Err = String;

    /// Refuses a template that does not parse, so the error is a usage error.
    fn from_str(s: &str) -> Result<Format, String> {
        Ok(match s {
            "" | "table" => Format::Table,
            "json" => Format::Json,
            t => {
                bocker_template::Template::parse(t).map_err(|e| e.to_string())?;
                Format::Template(t.to_string())
            }
        })
    }
}

/// Prints `rows` through the Go template `src` (a header from `headers` first for a
/// `table` template), as `docker ps --format` does.
pub fn print_template(
    src: &str,
    headers: &serde_json::Value,
    rows: &[serde_json::Value],
) -> anyhow::Result<()> {
    let t = bocker_template::Template::parse(src)?;
    let text = t.render_rows(headers, rows)?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

/// Prints one JSON value per line on stdout.
pub fn print_json_line(value: &serde_json::Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")
}

/// Restores the default SIGPIPE action for listing verbs, as Unix filters expect:
/// `bocker images | head -1` ends quietly instead of reporting a broken pipe.
pub fn quiet_sigpipe() {
    // Called first thing in main, before any thread; SIG_DFL cannot fail for SIGPIPE.
    let _ = bocker_sys::sys::default_signal_action(libc::SIGPIPE);
}

/// Runs `remove` on every target (reporting each failure and going on, as Docker does),
/// then lets the collector drop layers nobody uses any more; failure if any target failed.
pub fn remove_each(
    targets: &[String],
    remove: impl Fn(&crate::Store, &str) -> anyhow::Result<()>,
) -> ExitCode {
    use anyhow::Context;
    let store = match crate::Store::open().context("opening the store") {
        Ok(s) => s,
        Err(e) => return exit(Err(e)),
    };
    let mut failed = false;
    for t in targets {
        if let Err(e) = remove(&store, t) {
            report(&e);
            failed = true;
        }
    }
    let _ = store.collect_layers();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_printed_once() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = anyhow::Error::new(crate::StoreError::io("creating store", "/x", io))
            .context("opening the store");
        let line = one_line(&e);
        assert_eq!(line.matches("ermission denied").count(), 1, "{line}");
        assert!(
            line.starts_with("opening the store: creating store /x: "),
            "{line}"
        );
    }
}
