//! What every verb binary shares: error reporting with exit codes, and `--format`.

use std::io::Write;
use std::process::ExitCode;

/// Output format of listing verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns under a header.
    #[default]
    Table,
    /// One JSON object per line.
    Json,
}

/// Parses the verb's arguments; a usage error is one line on stderr and status 2 (help
/// and version print as usual).
pub fn parse<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            if matches!(e.kind(), DisplayHelp | DisplayVersion) || !e.use_stderr() {
                e.exit();
            }
            let verb = T::command().get_name().to_string();
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}",
                usage_line(&verb, &e.render().to_string())
            );
            std::process::exit(2);
        }
    }
}

/// clap's multi-line usage error as one line: `bocker rm: <what is wrong> (see 'bocker rm --help')`.
fn usage_line(verb: &str, rendered: &str) -> String {
    let what: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    format!("{verb}: {what} (see '{verb} --help')")
}

/// Turns a verb's result into its exit status, printing the error chain on one line.
pub fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Prints `e` (with its causes) as one line on stderr.
pub fn report(e: &anyhow::Error) {
    let _ = writeln!(std::io::stderr().lock(), "{}", one_line(e));
}

/// `e` and its causes joined by `: `, leaving out a cause whose text the message already
/// ends with (library errors such as `StoreError::Io` print their source themselves).
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
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
    // SAFETY: sets a signal disposition; called first thing in main, before any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints one line of a mutating verb's report on stdout. A reader that went away must
/// not abort the verb half-way (a removal of several ids goes on), so a broken pipe is
/// ignored; any other write error is reported on stderr.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}") {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            report(&anyhow::Error::new(e).context("writing to stdout"));
        }
    }
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
    fn usage_errors_are_one_line() {
        #[derive(clap::Parser, Debug)]
        #[command(name = "bocker rm")]
        struct A {
            #[arg(required = true)]
            ids: Vec<String>,
        }
        let e = <A as clap::Parser>::try_parse_from(["bocker-rm"]).unwrap_err();
        let line = usage_line("bocker rm", &e.render().to_string());
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with(
                "bocker rm: the following required arguments were not provided: <IDS>"
            ) && line.ends_with("(see 'bocker rm --help')"),
            "{line}"
        );
    }

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
