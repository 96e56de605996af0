//! execve(2) of the container command: looking it up in the container's PATH and exec'ing
//! it, with Docker's error statuses (127 not found, 126 cannot invoke).

use crate::exit_code;
use crate::sys::{self, cstr};
use std::ffi::CString;

/// A failed start: the exit status to report and a one-line message.
#[derive(Debug)]
pub struct StartFailure {
    pub code: i32,
    pub message: String,
}

impl StartFailure {
    pub fn engine(message: impl Into<String>) -> Self {
        StartFailure {
            code: exit_code::ENGINE,
            message: message.into(),
        }
    }
}

fn is_executable_file(path: &str) -> bool {
    cstr(path).is_ok_and(|c| sys::is_executable_file(&c))
}

/// Resolve `argv0` as execvp would, using the PATH from `env`.
pub fn lookup(argv0: &str, env: &[String]) -> Result<String, StartFailure> {
    if argv0.is_empty() {
        return Err(StartFailure {
            code: exit_code::NOT_FOUND,
            message: "no command specified".into(),
        });
    }
    if argv0.contains('/') {
        return Ok(argv0.to_string());
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::spec::image_rules::DEFAULT_PATH);
    path.split(':')
        .map(|dir| format!("{}/{argv0}", if dir.is_empty() { "." } else { dir }))
        .find(|p| is_executable_file(p))
        .ok_or_else(|| StartFailure {
            code: exit_code::NOT_FOUND,
            message: format!("exec: \"{argv0}\": executable file not found in $PATH"),
        })
}

pub fn to_cstrings(v: &[String]) -> Result<Vec<CString>, StartFailure> {
    v.iter()
        .map(|s| cstr(s).map_err(|_| StartFailure::engine(format!("NUL byte in {s:?}"))))
        .collect()
}

/// `execve`; only returns on failure.
pub fn execve(path: &str, argv: &[CString], env: &[CString]) -> StartFailure {
    let Ok(p) = cstr(path) else {
        return StartFailure::engine("NUL byte in command");
    };
    let err = sys::execve(&p, argv, env);
    StartFailure {
        code: exit_code::for_exec_errno(err.raw_os_error().unwrap_or(0)),
        message: format!("exec {path}: {err}"),
    }
}
