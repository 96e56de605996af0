//! `bocker top <ctr> [ps options]`: the host's `ps` with the given options (default
//! `-ef`), keeping the header and the rows whose PID is in the container's own cgroup,
//! as Docker's `top` does (moby daemon/top_unix.go: run ps, filter on the PID column).

use std::process::Command;

use bocker_store::{liveness, ContainerRecord};

use super::cgroups;

/// Why there is no listing. Messages are Docker's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Couldn't find PID field in ps output")]
    NoPidColumn,
    #[error("running ps: {0}")]
    Spawn(std::io::Error),
    #[error("ps failed: {0}")]
    Ps(String),
}

/// The lines of `ps <args>` that are the container's processes, header first.
pub fn top(rec: &ContainerRecord, args: &[String]) -> Result<String, TopError> {
    if !liveness::is_running(rec) {
        return Err(TopError::NotRunning(rec.id.clone()));
    }
    let pids = cgroups::pids(rec);
    let args: Vec<&str> = match args {
        [] => vec!["-ef"],
        a => a.iter().map(String::as_str).collect(),
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(TopError::Spawn)?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(TopError::Ps(err.lines().next().unwrap_or("").to_string()));
    }
    filter(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// The header of `ps_output` and its rows whose PID column holds one of `pids`.
fn filter(ps_output: &str, pids: &[i32]) -> Result<String, TopError> {
    let mut lines = ps_output.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or(TopError::NoPidColumn)?;
    let mut text = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            text.push_str(line);
            text.push('\n');
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rows_of_the_given_pids_are_kept() {
        let ps = "UID  PID  PPID  CMD\nroot 1 0 init\nroot 42 7 sleep 60\nroot 420 42 sh\n";
        assert_eq!(
            filter(ps, &[42]).unwrap(),
            "UID  PID  PPID  CMD\nroot 42 7 sleep 60\n"
        );
        assert!(matches!(
            filter("USER CMD\n", &[1]),
            Err(TopError::NoPidColumn)
        ));
    }
}
