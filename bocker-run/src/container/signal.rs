//! Signal names and numbers as Docker parses them (`kill -s`, `stop -s`, an image's
//! `StopSignal`): a number (`9`), or a name in any case with or without `SIG` (`KILL`,
//! `sigusr1`, `RTMIN+3`). Docker's `signal.ParseSignal` (moby/sys/signal).

/// Standard Linux signal names, without `SIG`, and their numbers (signal(7)).
const NAMES: &[(&str, libc::c_int)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// Real-time signals as Docker numbers them: `RTMIN` is 34, `RTMAX` 64 (glibc keeps
/// 32 and 33 for itself).
const RTMIN: libc::c_int = 34;
const RTMAX: libc::c_int = 64;

/// Why a signal was refused; the message is Docker's.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid signal: {0}")]
pub struct InvalidSignal(pub String);

/// Parses `raw` as Docker does. Errors: 0, a number above 64, or an unknown name.
pub fn parse(raw: &str) -> Result<libc::c_int, InvalidSignal> {
    let bad = || InvalidSignal(raw.to_string());
    if let Ok(n) = raw.parse::<i64>() {
        return match n {
            1..=64 => Ok(n as libc::c_int),
            _ => Err(bad()),
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some((_, n)) = NAMES.iter().find(|(s, _)| *s == name) {
        return Ok(*n);
    }
    let rt = |base: libc::c_int, off: Option<&str>, sign: libc::c_int| {
        let off: libc::c_int = match off {
            None => 0,
            Some(o) => o.parse().ok().filter(|o| (1..=15).contains(o))?,
        };
        Some(base + sign * off)
    };
    let found = match name {
        "RTMIN" => Some(RTMIN),
        "RTMAX" => Some(RTMAX),
        n => match (n.strip_prefix("RTMIN+"), n.strip_prefix("RTMAX-")) {
            (Some(o), _) => rt(RTMIN, Some(o), 1),
            (_, Some(o)) => rt(RTMAX, Some(o), -1),
            _ => None,
        },
    };
    found.ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_parse_as_docker_parses_them() {
        assert_eq!(parse("9"), Ok(libc::SIGKILL));
        assert_eq!(parse("KILL"), Ok(libc::SIGKILL));
        assert_eq!(parse("sigusr1"), Ok(libc::SIGUSR1));
        assert_eq!(parse("SIGTERM"), Ok(libc::SIGTERM));
        assert_eq!(parse("Hup"), Ok(libc::SIGHUP));
        assert_eq!(parse("RTMIN+3"), Ok(37));
        assert_eq!(parse("RTMAX-1"), Ok(63));
        for bad in ["0", "65", "-1", "", "SIG", "FOO", "RTMIN+16", "TERM "] {
            assert_eq!(
                parse(bad),
                Err(InvalidSignal(bad.into())),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(
            parse("nope").unwrap_err().to_string(),
            "Invalid signal: nope"
        );
    }
}
