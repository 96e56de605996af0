//! `run`'s recorded settings and process limits into the bundle: `-l`/`--label-file`
//! (the record's `labels`), `--ulimit` (`process.rlimits`), `--shm-size` (the /dev/shm
//! tmpfs), `--stop-signal` and `--stop-timeout` (the record, read by `stop`).

use super::security::FlagError;
use super::Bundle;
use crate::cli::config::ConfigArgs;
use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};
use serde_json::{Map, Value};

/// Apply the settings flags to a planned bundle.
pub fn apply(args: &ConfigArgs, bundle: &mut Bundle) -> Result<(), FlagError> {
    let labels = labels(args)?;
    let ulimits = args
        .ulimit
        .iter()
        .map(|u| ulimit(u))
        .collect::<Result<Vec<_>, _>>()?;
    if !args.ulimit.is_empty() {
        // inspect's HostConfig.Ulimits: Docker's `{"Name","Hard","Soft"}` (-1: unlimited).
        let docker: Vec<Value> = args
            .ulimit
            .iter()
            .zip(&ulimits)
            .map(|(flag, r)| {
                let num = |v: u64| i64::try_from(v).unwrap_or(-1);
                let name = flag.split('=').next().unwrap_or_default();
                serde_json::json!({"Name": name, "Hard": num(r.hard()), "Soft": num(r.soft())})
            })
            .collect();
        bundle
            .extras
            .record
            .insert("ulimits".into(), Value::Array(docker));
    }
    if let Some(p) = bundle
        .spec
        .process_mut()
        .as_mut()
        .filter(|_| !ulimits.is_empty())
    {
        let mut rl = p.rlimits().clone().unwrap_or_default();
        for u in ulimits {
            rl.retain(|r| r.typ() != u.typ());
            rl.push(u);
        }
        p.set_rlimits(Some(rl));
    }
    if let Some(size) = &args.shm_size {
        let bytes = shm_size(size)?;
        bundle.extras.record.insert("shm_size".into(), bytes.into());
        let shm = bundle.spec.mounts_mut().iter_mut().flatten();
        for m in shm.filter(|m| m.destination().as_os_str() == "/dev/shm") {
            let opts = m.options_mut().get_or_insert_with(Vec::new);
            opts.retain(|o| !o.starts_with("size="));
            opts.push(format!("size={bytes}"));
        }
    }
    if let Some(s) = &args.stop_signal {
        // Docker refuses an unknown signal at create (`invalid signal: FOO`).
        crate::container::signal::parse(s).map_err(|e| FlagError::Invalid(e.to_string()))?;
        bundle.extras.stop_signal = Some(s.clone());
    }
    let record = &mut bundle.extras.record;
    if let Some(t) = args.stop_timeout {
        record.insert("stop_timeout".into(), t.into());
    }
    if !labels.is_empty() {
        record.insert("labels".into(), Value::Object(labels));
    }
    Ok(())
}

/// `--label-file` lines, then `-l` (later wins): `KEY[=VALUE]`, blank and `#` lines
/// skipped (Docker's `ReadKVStrings`).
fn labels(args: &ConfigArgs) -> Result<Map<String, Value>, FlagError> {
    let mut all = Vec::new();
    for f in &args.label_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| FlagError::Invalid(format!("open {}: {e}", f.display())))?;
        all.extend(
            text.lines()
                .map(str::trim_start)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    all.extend(args.label.iter().cloned());
    let mut out = Map::new();
    for l in all {
        let (k, v) = l.split_once('=').unwrap_or((&l, ""));
        if k.is_empty() {
            // Docker CLI 28.2.2's message.
            return Err(FlagError::Invalid(format!(
                "invalid argument \"{l}\" for \"-l, --label\" flag: invalid label '{l}': empty name"
            )));
        }
        out.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(out)
}

/// Docker's `--ulimit` names (go-units `ulimitNameMapping`).
fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => return None,
    })
}

/// `NAME=SOFT[:HARD]` (go-units `ParseUlimit`; -1 is unlimited). Messages are Docker
/// CLI's. Hard limits above bocker's own cannot be set without CAP_SYS_RESOURCE: the
/// runtime then keeps its own hard limit (see `security::rlimits`).
fn ulimit(flag: &str) -> Result<PosixRlimit, FlagError> {
    let wrap = |why: String| {
        FlagError::Invalid(format!(
            "invalid argument \"{flag}\" for \"--ulimit\" flag: {why}"
        ))
    };
    let (name, values) = flag
        .split_once('=')
        .ok_or_else(|| wrap(format!("invalid ulimit argument: {flag}")))?;
    let typ = rlimit_type(name).ok_or_else(|| wrap(format!("invalid ulimit type: {name}")))?;
    let (soft, hard) = values.split_once(':').unwrap_or((values, values));
    let num = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| wrap(format!("invalid ulimit argument: {flag}")))
    };
    let (soft, hard) = (num(soft)?, num(hard)?);
    if soft > hard && hard != -1 {
        return Err(wrap(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        )));
    }
    let limit = |v: i64| u64::try_from(v).unwrap_or(u64::MAX);
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(limit(soft))
        .hard(limit(hard))
        .build()
        .map_err(|e| wrap(e.to_string()))
}

/// `--shm-size` in bytes (Docker's `RAMInBytes`; 0 keeps the default 64 MiB).
fn shm_size(s: &str) -> Result<u64, FlagError> {
    let bad = || {
        FlagError::Invalid(format!(
            "invalid argument \"{s}\" for \"--shm-size\" flag: invalid size: '{s}'"
        ))
    };
    match bocker_cgroups::parse_memory(s).map_err(|_| bad())? {
        0 => Ok(64 << 20),
        b => Ok(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_as_docker_parses_them() {
        let r = ulimit("nofile=100:200").unwrap();
        assert_eq!(
            (r.typ(), r.soft(), r.hard()),
            (PosixRlimitType::RlimitNofile, 100, 200)
        );
        let r = ulimit("core=-1").unwrap();
        assert_eq!((r.soft(), r.hard()), (u64::MAX, u64::MAX));
        // Docker CLI 28.2.2's messages.
        assert_eq!(
            ulimit("foo=1").unwrap_err().to_string(),
            "invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo"
        );
        assert!(ulimit("nofile=200:100")
            .unwrap_err()
            .to_string()
            .ends_with("ulimit soft limit must be less than or equal to hard limit: 200 > 100"));
        assert!(ulimit("nofile").is_err());
        assert!(ulimit("nofile=x").is_err());
    }

    #[test]
    fn shm_sizes() {
        assert_eq!(shm_size("1m").unwrap(), 1 << 20);
        assert_eq!(shm_size("0").unwrap(), 64 << 20);
        assert!(shm_size("lots").is_err());
    }
}
