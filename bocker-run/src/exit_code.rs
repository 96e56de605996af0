//! Docker's exit-status conventions.

/// The engine itself failed.
pub const ENGINE: i32 = 125;
/// The command was found but cannot be invoked.
pub const CANNOT_INVOKE: i32 = 126;
/// The command was not found.
pub const NOT_FOUND: i32 = 127;

/// A `wait` status as a shell would report it: the code, or 128+N after signal N.
pub fn from_wait_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        ENGINE
    }
}

/// The status for an `execve` that failed with `errno`.
pub fn for_exec_errno(errno: i32) -> i32 {
    if errno == libc::ENOENT || errno == libc::ENOTDIR {
        NOT_FOUND
    } else {
        CANNOT_INVOKE
    }
}
