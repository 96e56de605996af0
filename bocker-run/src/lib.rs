//! bocker-run: the container runtime. `bocker-run` (src/main.rs) reads like the seed's
//! `bocker_run`: resolve the image, plan the run into an OCI runtime spec ([`spec`]),
//! create the container, then [`container::run`]: cgroup, clone into namespaces, network
//! step, supervise, record the exit, clean up.
//!
//! Grouped by concern, as youki's libcontainer is:
//! - container lifecycle: [`container`], [`reclaim`], [`cgroup_step`];
//! - [`spec`]: planning image config + flags into the runtime's one input, a
//!   [`spec::Bundle`] (an OCI runtime spec and bocker's extras);
//! - [`process`]: clone, the child's init sequence, execve, the `--init` reaper, the
//!   supervisor;
//! - [`rootfs`]: mount steps computed from the spec, applied, `pivot_root`, working
//!   directory;
//! - [`security`]: capabilities, seccomp, `no_new_privs`, rlimits, the user;
//! - network: [`network`], [`etc_files`]; syscalls and paths: [`sys`], [`safepath`].

pub mod cgroup_step;
pub mod cli;
pub mod container;
pub mod etc_files;
pub mod exit_code;
pub mod network;
pub mod oci;
pub mod process;
pub mod reclaim;
pub mod rootfs;
/// Image- and user-supplied paths resolved inside a rootfs: the one safe-path layer, `bocker-sys`.
pub use bocker_sys::path as safepath;
pub mod security;
pub mod spec;
pub mod sys;
