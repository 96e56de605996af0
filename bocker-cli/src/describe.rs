//! Shell completions and man pages from the verbs' own clap definitions.
//!
//! Every verb answers two hidden first arguments through [`crate::parse`]:
//! `--bocker-man` prints its man page (clap_mangen, roff) and `--bocker-spec` prints its
//! flags and subcommands as tab-separated lines ([`spec`]). `bocker completion SHELL`
//! reads every verb's spec, rebuilds one `bocker` command from them ([`command`]) and
//! has clap_complete write the script, so completions follow the definitions without a
//! list kept by hand.

use std::io::Write;

/// Hidden first argument: print the verb's man page.
pub const MAN_FLAG: &str = "--bocker-man";
/// Hidden first argument: print the verb's [`spec`].
pub const SPEC_FLAG: &str = "--bocker-spec";

/// Answers [`MAN_FLAG`] / [`SPEC_FLAG`] for `cmd` (named `bocker <verb>`) and exits;
/// returns for any other arguments.
pub fn intercept(cmd: &clap::Command) {
    let first = std::env::args_os().nth(1);
    let out = match first.as_ref().and_then(|a| a.to_str()) {
        Some(MAN_FLAG) => man(cmd),
        Some(SPEC_FLAG) => spec(cmd).into_bytes(),
        _ => return,
    };
    let _ = std::io::stdout().lock().write_all(&out);
    std::process::exit(0);
}

/// The man page of `cmd` (section 1), titled `bocker-<verb>` as `man bocker-run` finds it.
pub fn man(cmd: &clap::Command) -> Vec<u8> {
    let title = cmd.get_name().replace(' ', "-");
    let title: &'static str = Box::leak(title.into_boxed_str());
    let mut out = Vec::new();
    let _ = clap_mangen::Man::new(cmd.clone().name(title)).render(&mut out);
    out
}

/// One line per flag (`arg \t <subcommand or empty> \t <short> \t <long> \t <0|1 takes
/// a value> \t <help>`) and per subcommand (`sub \t <name> \t <about>`); positional
/// arguments are left to the shell's default (file names).
pub fn spec(cmd: &clap::Command) -> String {
    let mut out = String::new();
    let clean = |s: String| s.replace(['\t', '\n'], " ");
    let args = |out: &mut String, sub: &str, c: &clap::Command| {
        for a in c
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_hide_set())
        {
            let takes = a.get_action().takes_values();
            out.push_str(&format!(
                "arg\t{sub}\t{}\t{}\t{}\t{}\n",
                a.get_short().map(String::from).unwrap_or_default(),
                a.get_long().unwrap_or_default(),
                u8::from(takes),
                clean(a.get_help().map(ToString::to_string).unwrap_or_default()),
            ));
        }
    };
    args(&mut out, "", cmd);
    for s in cmd.get_subcommands() {
        out.push_str(&format!(
            "sub\t{}\t{}\n",
            s.get_name(),
            clean(s.get_about().map(ToString::to_string).unwrap_or_default())
        ));
        args(&mut out, s.get_name(), s);
    }
    out
}

/// Rebuilds the command of verb `verb` (with help `about`) from its [`spec`] text.
pub fn command(verb: &str, about: &str, spec: &str) -> clap::Command {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let mut cmd = clap::Command::new(leak(verb)).about(leak(about));
    let mut subs: Vec<clap::Command> = Vec::new();
    for line in spec.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["sub", name, about] => {
                subs.push(clap::Command::new(leak(name)).about(leak(about)));
            }
            ["arg", sub, short, long, takes, help] => {
                if long.is_empty() || matches!(*long, "help" | "version") {
                    continue;
                }
                let mut a = clap::Arg::new(leak(long)).long(leak(long)).help(leak(help));
                if let Some(c) = short.chars().next() {
                    a = a.short(c);
                }
                if *short == "h" && sub.is_empty() {
                    // `-h` is a flag of its own (`run -h` is --hostname): --help stays.
                    let help = clap::Arg::new("help").long("help");
                    cmd = cmd
                        .disable_help_flag(true)
                        .arg(help.action(clap::ArgAction::Help));
                }
                a = if *takes == "1" {
                    a.num_args(1).action(clap::ArgAction::Append)
                } else {
                    a.action(clap::ArgAction::SetTrue)
                };
                match subs.iter_mut().find(|s| s.get_name() == *sub) {
                    Some(s) if !sub.is_empty() => *s = s.clone().arg(a),
                    _ => cmd = cmd.arg(a),
                }
            }
            _ => {}
        }
    }
    cmd.subcommands(subs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_rebuilds_the_flags() {
        let verb = clap::Command::new("bocker ps")
            .arg(
                clap::Arg::new("quiet")
                    .short('q')
                    .long("quiet")
                    .action(clap::ArgAction::SetTrue),
            )
            .arg(
                clap::Arg::new("format")
                    .long("format")
                    .help("Output\tformat"),
            )
            .subcommand(
                clap::Command::new("prune").about("Remove").arg(
                    clap::Arg::new("force")
                        .short('f')
                        .long("force")
                        .action(clap::ArgAction::SetTrue),
                ),
            );
        let rebuilt = command("ps", "List", &spec(&verb));
        let longs: Vec<_> = rebuilt
            .get_arguments()
            .filter_map(|a| a.get_long())
            .collect();
        assert_eq!(longs, ["quiet", "format"]);
        let prune = rebuilt.find_subcommand("prune").unwrap();
        assert_eq!(prune.get_arguments().next().unwrap().get_short(), Some('f'));
        assert!(String::from_utf8(man(&verb))
            .unwrap()
            .contains(".TH bocker-ps"));
    }
}
