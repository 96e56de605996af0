//! What Docker has that bocker may not: the flags of Docker's verbs, so that a flag
//! bocker lacks is reported as "not supported" instead of unknown (or, worse, answered
//! with clap's "a similar argument exists" for an unrelated flag).
//!
//! Lists taken from `docker <verb> --help` of docker CLI 28.2.2 (engine package 20.10),
//! 2026-11-29. Long names without dashes; short ones as one letter.

/// Docker's flags of `verb` as `(short, long)`; empty for a verb Docker does not have.
pub fn flags(verb: &str) -> &'static [(Option<char>, &'static str)] {
    match verb {
        "run" | "create" => RUN,
        "exec" => EXEC,
        "ps" => PS,
        "images" => IMAGES,
        "inspect" => INSPECT,
        "logs" => LOGS,
        "rm" => RM,
        "rmi" => RMI,
        "pull" => PULL,
        "history" => HISTORY,
        "save" => SAVE,
        "load" => LOAD,
        "stop" | "restart" => STOP,
        "kill" => KILL,
        "stats" => STATS,
        "push" => PUSH,
        "login" => LOGIN,
        _ => &[],
    }
}

/// Whether `arg` (`--gpus`, `--gpus=all`, `-t`) names one of Docker's flags of `verb`.
pub fn has_flag(verb: &str, arg: &str) -> bool {
    let table = flags(verb);
    if let Some(long) = arg.strip_prefix("--") {
        let long = long.split_once('=').map_or(long, |(n, _)| n);
        table.iter().any(|(_, l)| *l == long)
    } else if let Some(short) = arg.strip_prefix('-') {
        let mut chars = short.chars();
        chars
            .next()
            .is_some_and(|c| table.iter().any(|(s, _)| *s == Some(c)))
    } else {
        false
    }
}

const RUN: &[(Option<char>, &str)] = &[
    (None, "add-host"),
    (None, "annotation"),
    (Some('a'), "attach"),
    (None, "blkio-weight"),
    (None, "blkio-weight-device"),
    (None, "cap-add"),
    (None, "cap-drop"),
    (None, "cgroup-parent"),
    (None, "cgroupns"),
    (None, "cidfile"),
    (None, "cpu-count"),
    (None, "cpu-percent"),
    (None, "cpu-period"),
    (None, "cpu-quota"),
    (None, "cpu-rt-period"),
    (None, "cpu-rt-runtime"),
    (Some('c'), "cpu-shares"),
    (None, "cpus"),
    (None, "cpuset-cpus"),
    (None, "cpuset-mems"),
    (Some('d'), "detach"),
    (None, "detach-keys"),
    (None, "device"),
    (None, "device-cgroup-rule"),
    (None, "device-read-bps"),
    (None, "device-read-iops"),
    (None, "device-write-bps"),
    (None, "device-write-iops"),
    (None, "disable-content-trust"),
    (None, "dns"),
    (None, "dns-option"),
    (None, "dns-search"),
    (None, "domainname"),
    (None, "entrypoint"),
    (Some('e'), "env"),
    (None, "env-file"),
    (None, "expose"),
    (None, "gpus"),
    (None, "group-add"),
    (None, "health-cmd"),
    (None, "health-interval"),
    (None, "health-retries"),
    (None, "health-start-interval"),
    (None, "health-start-period"),
    (None, "health-timeout"),
    (Some('h'), "hostname"),
    (None, "init"),
    (Some('i'), "interactive"),
    (None, "io-maxbandwidth"),
    (None, "io-maxiops"),
    (None, "ip"),
    (None, "ip6"),
    (None, "ipc"),
    (None, "isolation"),
    (None, "kernel-memory"),
    (Some('l'), "label"),
    (None, "label-file"),
    (None, "link"),
    (None, "link-local-ip"),
    (None, "log-driver"),
    (None, "log-opt"),
    (None, "mac-address"),
    (Some('m'), "memory"),
    (None, "memory-reservation"),
    (None, "memory-swap"),
    (None, "memory-swappiness"),
    (None, "mount"),
    (None, "name"),
    (None, "network"),
    (None, "net"),
    (None, "network-alias"),
    (None, "no-healthcheck"),
    (None, "oom-kill-disable"),
    (None, "oom-score-adj"),
    (None, "pid"),
    (None, "pids-limit"),
    (None, "platform"),
    (None, "privileged"),
    (Some('p'), "publish"),
    (Some('P'), "publish-all"),
    (None, "pull"),
    (Some('q'), "quiet"),
    (None, "read-only"),
    (None, "restart"),
    (None, "rm"),
    (None, "runtime"),
    (None, "security-opt"),
    (None, "shm-size"),
    (None, "sig-proxy"),
    (None, "stop-signal"),
    (None, "stop-timeout"),
    (None, "storage-opt"),
    (None, "sysctl"),
    (None, "tmpfs"),
    (Some('t'), "tty"),
    (None, "ulimit"),
    (None, "use-api-socket"),
    (Some('u'), "user"),
    (None, "userns"),
    (None, "uts"),
    (Some('v'), "volume"),
    (None, "volume-driver"),
    (None, "volumes-from"),
    (Some('w'), "workdir"),
];

const EXEC: &[(Option<char>, &str)] = &[
    (Some('d'), "detach"),
    (None, "detach-keys"),
    (Some('e'), "env"),
    (None, "env-file"),
    (Some('i'), "interactive"),
    (None, "privileged"),
    (Some('t'), "tty"),
    (Some('u'), "user"),
    (Some('w'), "workdir"),
];

const PS: &[(Option<char>, &str)] = &[
    (Some('a'), "all"),
    (Some('f'), "filter"),
    (None, "format"),
    (Some('n'), "last"),
    (Some('l'), "latest"),
    (None, "no-trunc"),
    (Some('q'), "quiet"),
    (Some('s'), "size"),
];

const IMAGES: &[(Option<char>, &str)] = &[
    (Some('a'), "all"),
    (None, "digests"),
    (Some('f'), "filter"),
    (None, "format"),
    (None, "no-trunc"),
    (Some('q'), "quiet"),
    (None, "tree"),
];

const INSPECT: &[(Option<char>, &str)] =
    &[(Some('f'), "format"), (Some('s'), "size"), (None, "type")];

const LOGS: &[(Option<char>, &str)] = &[
    (None, "details"),
    (Some('f'), "follow"),
    (None, "since"),
    (Some('n'), "tail"),
    (Some('t'), "timestamps"),
    (None, "until"),
];

const RM: &[(Option<char>, &str)] = &[
    (Some('f'), "force"),
    (Some('l'), "link"),
    (Some('v'), "volumes"),
];

const HISTORY: &[(Option<char>, &str)] = &[
    (None, "format"),
    (Some('H'), "human"),
    (None, "no-trunc"),
    (None, "platform"),
    (Some('q'), "quiet"),
];

const RMI: &[(Option<char>, &str)] =
    &[(Some('f'), "force"), (None, "no-prune"), (None, "platform")];

const PULL: &[(Option<char>, &str)] = &[
    (Some('a'), "all-tags"),
    (None, "disable-content-trust"),
    (None, "platform"),
    (Some('q'), "quiet"),
];

const SAVE: &[(Option<char>, &str)] = &[(Some('o'), "output"), (None, "platform")];

const LOAD: &[(Option<char>, &str)] = &[
    (Some('i'), "input"),
    (None, "platform"),
    (Some('q'), "quiet"),
];

const STOP: &[(Option<char>, &str)] = &[(Some('s'), "signal"), (Some('t'), "timeout")];

const KILL: &[(Option<char>, &str)] = &[(Some('s'), "signal")];

const STATS: &[(Option<char>, &str)] = &[
    (Some('a'), "all"),
    (None, "format"),
    (None, "no-stream"),
    (None, "no-trunc"),
];

const PUSH: &[(Option<char>, &str)] = &[
    (Some('a'), "all-tags"),
    (None, "disable-content-trust"),
    (None, "platform"),
    (Some('q'), "quiet"),
];

const LOGIN: &[(Option<char>, &str)] = &[
    (Some('p'), "password"),
    (None, "password-stdin"),
    (Some('u'), "username"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_flags_are_recognised_in_every_spelling() {
        assert!(has_flag("run", "--gpus"));
        assert!(has_flag("run", "--gpus=all"));
        assert!(has_flag("run", "-t"));
        assert!(has_flag("run", "-tP"));
        assert!(!has_flag("run", "--bogus"));
        assert!(!has_flag("ps", "--gpus"));
        assert!(!has_flag("frobnicate", "--all"));
        assert!(!has_flag("run", "gpus"));
    }
}
