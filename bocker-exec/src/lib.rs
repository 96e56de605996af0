//! bocker-exec: run a command inside a running container. `bocker-exec` (src/main.rs)
//! reads like the seed's `bocker_exec`: find the container, enter it, run the command,
//! pass its status through.
//!
//! - [`target`]: find the container and pin its first process (pidfd, verified)
//! - [`spec`]: what to run (record + `-e`/`-w`/`-u`)
//! - [`enter`]: join its cgroups and namespaces
//! - [`identity`]: `-u` against the container's /etc/passwd and /etc/group
//! - [`tty`]: `-t`, a pty of the container's devpts; raw mode on ours
//! - [`process`]: fork and the child's privilege sequence up to `execve`
//! - [`attach`]: relay I/O and signals, wait, exit status
//! - [`runtime`]: what is used of bocker-run; [`sys`]: raw syscalls

pub mod attach;
pub mod cli;
pub mod enter;
pub mod identity;
pub mod process;
pub mod runtime;
pub mod spec;
pub mod sys;
pub mod target;
pub mod tty;
