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
    let _ = writeln!(std::io::stderr().lock(), "{e:#}");
}

/// Prints one JSON value per line on stdout.
pub fn print_json_line(value: &serde_json::Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")
}
