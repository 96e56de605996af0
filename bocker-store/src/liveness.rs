//! Whether a container's supervisor still lives, from its record alone.
//!
//! A supervisor is named by its pid plus its start time (field 22 of `/proc/<pid>/stat`),
//! so a recycled pid is never mistaken for it. This module reads nothing but procfs:
//! a container's processes and cgroups belong to the runtime and bocker-cgroups, which
//! alone look at them (SPEC §1, docs/ARCHITECTURE.md).

use std::fs;

use crate::record::{ContainerRecord, Status};

/// Start time of process `pid` in clock ticks after boot (`/proc/<pid>/stat` field 22,
/// proc(5)); `None` when there is no such process or it is dead (a zombie nobody reaped
/// yet: a detached supervisor's parent is whatever init the host has).
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
/// and may itself hold spaces and parentheses: fields are counted after the last ')'.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state): field 22 is the 20th word after it.
    let mut fields = rest.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// The calling process's own start time (what a supervisor records about itself).
pub fn own_start_time() -> Option<u64> {
    start_time(std::process::id() as i32)
}

/// True while the process `pid`, started at `start` (if known), exists. Without a start
/// time (records written before it was kept) only the pid is checked.
pub fn process_alive(pid: Option<i32>, start: Option<u64>) -> bool {
    match pid {
        Some(p) if p > 0 => match (start_time(p), start) {
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
            (None, _) => false,
        },
        _ => false,
    }
}

/// True when the record's supervisor is still alive.
pub fn supervisor_alive(rec: &ContainerRecord) -> bool {
    process_alive(rec.state.supervisor_pid, rec.state.supervisor_start)
}

/// True when the container is recorded as running and its supervisor lives (the
/// supervisor outlives the container's processes: they are in its care).
pub fn is_running(rec: &ContainerRecord) -> bool {
    rec.state.status == Status::Running && supervisor_alive(rec)
}

/// `ps` status: the record's, except `dead` for a "running" container whose supervisor is
/// gone (the next `run` or `rm` reclaims it).
pub fn status_text(rec: &ContainerRecord) -> String {
    if rec.state.status == Status::Running && !supervisor_alive(rec) {
        "dead".into()
    } else {
        rec.status_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_command_names() {
        let stat =
            "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987654));
        assert_eq!(parse_start_time("garbage"), None);
        // A zombie (SIGKILLed, not reaped yet) is dead.
        let zombie = stat.replace(" S ", " Z ");
        assert_eq!(parse_start_time(&zombie), None);
    }

    #[test]
    fn a_recycled_pid_is_not_the_supervisor() {
        let me = std::process::id() as i32;
        let start = own_start_time().expect("own start time");
        assert!(process_alive(Some(me), Some(start)));
        assert!(
            !process_alive(Some(me), Some(start + 1)),
            "another process with the same pid counted as the supervisor"
        );
        assert!(!process_alive(None, None));
        assert!(!process_alive(Some(0), None));
        assert!(
            !process_alive(Some(-1), None),
            "pid -1 addresses every process"
        );
    }

    #[test]
    fn a_running_record_without_its_supervisor_is_dead() {
        let mut r: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "ps_0123456789ab", "image": "img_0123456789ab", "command": ["true"],
            "created": "2026-11-22T20:00:00Z", "driver": "overlay", "layers": [],
            "rootfs": "/nonexistent", "state": {"status": "running"}
        }))
        .unwrap();
        assert_eq!(status_text(&r), "dead");
        r.state.supervisor_pid = Some(std::process::id() as i32);
        r.state.supervisor_start = own_start_time();
        assert_eq!(status_text(&r), "running");
        assert!(is_running(&r));
    }
}
