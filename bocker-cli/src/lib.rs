//! The command-line conventions every bocker verb shares (SPEC: one behaviour for all
//! verbs, Docker's where Docker has one):
//!
//! - [`parse`]: a usage error is `bocker <verb>: <what>` and `see 'bocker <verb> --help'`
//!   on stderr, with Docker's status ([`usage`]); `--version` on every verb.
//! - [`exit`] / [`report`]: any other error is one line `bocker <verb>: <cause: cause…>`;
//!   a permission error of a non-root user says that bocker needs root. [`warn`]: the
//!   same shape for what a verb reports without failing (library code prints through it).
//! - [`status`]: the exit statuses (table in docs/CLI.md).
//!
//! - [`describe`]: man pages and the flags shell completions are generated from.
//!
//! Depends on clap (with clap_complete, clap_mangen) and anyhow only: no store, no
//! async, so every verb can link it.

pub mod completion;
pub mod describe;
pub mod docker;
pub mod status;
pub mod usage;

use std::io::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

/// The verb this process runs, set by [`parse`] (`rm` for `bocker rm`/`bocker-rm`).
static VERB: OnceLock<String> = OnceLock::new();

/// What a non-root user is told instead of a bare "Permission denied".
pub const NEEDS_ROOT: &str = "bocker needs root (rootless mode is not supported yet)";

/// The verb set by [`parse`] or [`set_verb`], if any.
pub fn verb() -> Option<&'static str> {
    VERB.get().map(String::as_str)
}

/// Names the verb for messages, for a binary that does not go through [`parse`].
pub fn set_verb(verb: &str) {
    let _ = VERB.set(verb.to_string());
}

/// The verb named by a clap command name: `bocker rm`, `bocker-rm` and `rm` give `rm`.
pub fn verb_of(command_name: &str) -> &str {
    command_name
        .strip_prefix("bocker ")
        .or_else(|| command_name.strip_prefix("bocker-"))
        .unwrap_or(command_name)
}

/// Parses this process's arguments into `T` with bocker's conventions: the command is
/// named `bocker <verb>` in help, `--version` prints `bocker <verb> <version>`, and a
/// usage error prints two lines (see [`usage`]) and exits with Docker's status.
pub fn parse<T: clap::Parser>() -> T {
    // One `Command` for the whole parse: building a verb's (`run` has ~100 flags) is
    // most of a parse's time.
    let mut cmd = named::<T>();
    describe::intercept(&cmd);
    match parse_with::<T, _>(&mut cmd, std::env::args_os()) {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
            if matches!(e.kind(), DisplayHelp | DisplayVersion) {
                e.exit();
            }
            let verb = verb().unwrap_or("?").to_string();
            let mut u = usage::classify(&verb, &e);
            if u.what == "requires a subcommand" {
                let subs: Vec<String> = cmd
                    .get_subcommands()
                    .map(|s| s.get_name().to_string())
                    .collect();
                u.what = format!("requires a subcommand: {}", subs.join(", "));
            }
            let _ = writeln!(std::io::stderr().lock(), "{}", u.render(&verb));
            std::process::exit(i32::from(u.status));
        }
    }
}

/// [`parse`] without its exits: the error instead (for tests and for verbs that
/// parse something else than this process's arguments).
pub fn try_parse_from<T, I>(args: I) -> Result<T, clap::Error>
where
    T: clap::Parser,
    I: IntoIterator,
    I::Item: Into<std::ffi::OsString> + Clone,
{
    parse_with::<T, I>(&mut named::<T>(), args)
}

/// `T`'s command named `bocker <verb>` (help, `--version`); sets [`verb`].
fn named<T: clap::Parser>() -> clap::Command {
    let cmd = T::command();
    let verb = verb_of(cmd.get_name()).to_string();
    set_verb(&verb);
    // Leaked once per process: clap names are 'static without its "string" feature.
    let name: &'static str = Box::leak(format!("bocker {verb}").into_boxed_str());
    cmd.name(name)
        .bin_name(name)
        .version(env!("CARGO_PKG_VERSION"))
}

fn parse_with<T, I>(cmd: &mut clap::Command, args: I) -> Result<T, clap::Error>
where
    T: clap::Parser,
    I: IntoIterator,
    I::Item: Into<std::ffi::OsString> + Clone,
{
    let matches = cmd.try_get_matches_from_mut(args)?;
    T::from_arg_matches(&matches).map_err(|e| e.format(cmd))
}

/// Turns a verb's result into its exit status: success, or the error on one line and
/// [`status::FAILURE`].
pub fn exit(result: anyhow::Result<()>) -> ExitCode {
    exit_with(result, status::FAILURE)
}

/// [`exit`] with the status an error gets (`run` uses [`status::USAGE`], as Docker).
pub fn exit_with(result: anyhow::Result<()>, failure: u8) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(failure)
        }
    }
}

/// Prints `e` as one line on stderr: `bocker <verb>: <cause: cause…>`.
pub fn report(e: &anyhow::Error) {
    let _ = writeln!(std::io::stderr().lock(), "{}", message(e));
}

/// The line [`report`] prints: the verb prefix, then [`NEEDS_ROOT`] for a permission
/// error of a non-root user, else [`one_line`].
pub fn message(e: &anyhow::Error) -> String {
    let text = if is_permission_error(e) && !is_root() {
        NEEDS_ROOT.to_string()
    } else {
        one_line(e)
    };
    match verb() {
        Some(v) => format!("bocker {v}: {text}"),
        None => format!("bocker: {text}"),
    }
}

/// `e` and its causes joined by `: `, leaving out a cause whose text the message already
/// ends with (library errors that print their source themselves).
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
    line.replace('\n', " ")
}

/// Whether any cause is EACCES/EPERM (as an `io::Error`, or in the text of an error
/// type that keeps only its message).
fn is_permission_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
            || {
                let t = c.to_string();
                t.contains("Permission denied") || t.contains("Operation not permitted")
            }
    })
}

/// Whether the effective user is root: `/proc/self` belongs to the effective uid.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(true, |m| m.uid() == 0)
}

/// Prints one line on stderr that is not the verb's failure (something left behind, a
/// limit not enforced): `bocker <verb>: <line>`, as [`report`] does, so library code
/// never names the binary it runs in. Newlines in `line` become spaces.
pub fn warn(line: &str) {
    let line = line.replace('\n', " ");
    let text = match verb() {
        Some(v) => format!("bocker {v}: {line}"),
        None => format!("bocker: {line}"),
    };
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Prints one line of a verb's report on stdout. A reader that went away must not abort
/// the verb half-way (a removal of several ids goes on), so a broken pipe is ignored;
/// any other write error is reported on stderr.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}") {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            report(&anyhow::Error::new(e).context("writing to stdout"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    #[command(name = "bocker-run")]
    struct Run {
        image: String,
    }

    #[test]
    fn verbs_are_named_bocker_verb() {
        assert_eq!(verb_of("bocker rm"), "rm");
        assert_eq!(verb_of("bocker-run"), "run");
        let e = try_parse_from::<Run, _>(["bocker-run", "--version"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(
            e.render().to_string().trim(),
            format!("bocker run {}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn a_cause_is_printed_once_on_one_line() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(io)
            .context("writing /x: disk on fire")
            .context("opening the store");
        assert_eq!(one_line(&e), "opening the store: writing /x: disk on fire");
        let e = anyhow::anyhow!("two\nlines");
        assert_eq!(one_line(&e), "two lines");
    }

    #[test]
    fn permission_errors_are_recognised() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(is_permission_error(
            &anyhow::Error::new(io).context("opening")
        ));
        assert!(is_permission_error(&anyhow::anyhow!(
            "mkdir /var/bocker: EACCES: Permission denied"
        )));
        assert!(!is_permission_error(&anyhow::anyhow!("no such image")));
    }
}
