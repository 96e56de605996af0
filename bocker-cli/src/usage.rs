//! A clap usage error as bocker prints it: one line `bocker <verb>: <what>`, then
//! `see 'bocker <verb> --help'`, with Docker's status. Never clap's usage block, its
//! "to pass '-x' as a value, use '-- -x'" tip, or its "a similar argument exists" guess.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::{docker, status};

/// What to print and which status to exit with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The one line after `bocker <verb>: `.
    pub what: String,
    /// [`status::USAGE`] for flag errors, [`status::FAILURE`] for positional ones (Docker).
    pub status: u8,
}

impl Usage {
    /// The two lines on stderr: `bocker <verb>: <what>` and the pointer to help.
    pub fn render(&self, verb: &str) -> String {
        format!("bocker {verb}: {}\nsee 'bocker {verb} --help'", self.what)
    }
}

/// Classifies clap's error `e` for `verb` in Docker's words (Docker's wording recorded
/// from docker CLI 28.2.2: `unknown flag: --bogus`, `unknown shorthand flag: 'x' in -x`,
/// `flag needs an argument: --format`).
pub fn classify(verb: &str, e: &clap::Error) -> Usage {
    let flag = |what: String| Usage {
        what,
        status: status::USAGE,
    };
    match e.kind() {
        ErrorKind::UnknownArgument => {
            let arg = context(e, ContextKind::InvalidArg).unwrap_or_default();
            if arg.starts_with('-') && arg.len() > 1 && docker::has_flag(verb, &arg) {
                let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
                flag(format!("{name} is not supported"))
            } else if let Some(long) = arg.strip_prefix("--") {
                flag(format!(
                    "unknown flag: --{}",
                    long.split_once('=').map_or(long, |(n, _)| n)
                ))
            } else if let Some(c) = arg.strip_prefix('-').and_then(|s| s.chars().next()) {
                flag(format!("unknown shorthand flag: '{c}' in {arg}"))
            } else {
                Usage {
                    what: format!("unexpected argument '{arg}'"),
                    status: status::FAILURE,
                }
            }
        }
        ErrorKind::InvalidValue
            if context(e, ContextKind::InvalidValue).is_some_and(|v| v.is_empty()) =>
        {
            let arg = context(e, ContextKind::InvalidArg).unwrap_or_default();
            let name = arg.split_whitespace().next().unwrap_or_default();
            flag(format!("flag needs an argument: {name}"))
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Usage {
                what: "requires a subcommand".into(),
                status: status::FAILURE,
            }
        }
        ErrorKind::MissingRequiredArgument | ErrorKind::InvalidSubcommand => Usage {
            what: first_paragraph(&e.render().to_string()),
            status: status::FAILURE,
        },
        _ => flag(first_paragraph(&e.render().to_string())),
    }
}

/// A piece of the error's context as text (clap's own list renders as `a, b`).
fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// clap's rendered message up to its first blank line, on one line, without `error: `
/// and without tips.
fn first_paragraph(rendered: &str) -> String {
    let what: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .filter(|l| !l.starts_with("tip:") && !l.starts_with("For more information"))
        .collect();
    let what = what.join(" ");
    what.strip_prefix("error: ").unwrap_or(&what).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "bocker rm")]
    struct Rm {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(short, long)]
        force: bool,
        #[arg(long)]
        init: bool,
        #[arg(long)]
        format: Option<String>,
    }

    fn usage(verb: &str, args: &[&str]) -> Usage {
        let e = Rm::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap_err();
        classify(verb, &e)
    }

    #[test]
    fn flag_errors_in_dockers_words_and_status() {
        let u = usage("rm", &["--bogus", "a"]);
        assert_eq!(u.what, "unknown flag: --bogus");
        assert_eq!(u.status, 125);
        assert_eq!(
            usage("rm", &["--bogus=3", "a"]).what,
            "unknown flag: --bogus"
        );
        assert_eq!(
            usage("rm", &["-x", "a"]).what,
            "unknown shorthand flag: 'x' in -x"
        );
        assert_eq!(
            usage("rm", &["a", "--format"]).what,
            "flag needs an argument: --format"
        );
    }

    #[test]
    fn never_a_guess_at_a_similar_flag() {
        // clap would answer "--ulimit" with "a similar argument exists: '--init'".
        let u = usage("run", &["--ulimit", "a"]);
        assert_eq!(u.what, "--ulimit is not supported");
        assert_eq!(u.status, 125);
        assert_eq!(usage("run", &["-t", "a"]).what, "-t is not supported");
    }

    #[test]
    fn positional_errors_exit_1_on_one_line() {
        let u = usage("rm", &[]);
        assert_eq!(
            u.what,
            "the following required arguments were not provided: <IDS>..."
        );
        assert_eq!(u.status, 1);
        assert_eq!(
            u.render("rm"),
            "bocker rm: the following required arguments were not provided: <IDS>...\n\
             see 'bocker rm --help'"
        );
    }
}
