//! `bocker-runtime`: an OCI runtime with runc's command line, so that containerd's runc v2
//! shim can drive bocker through `options.BinaryName` (issue 14, SPEC §7;
//! docs/RUNTIME-OCI.md).
//!
//! - [`lifecycle`]: `create`, `start`, `kill [--all]`, `delete`, `run`, `ps`, the
//!   per-container lock and the hooks run outside the container, on bocker-run's OCI seam
//!   (`bocker_run::oci`);
//! - [`exec`]: `exec`, on bocker-exec's entering code;
//! - [`control`]: `pause`, `resume`, `events --stats`, `update`, on bocker-cgroups;
//!   [`events`]: the `events` stream (stats and OOM kills);
//! - [`state`]: the on-disk state and `state`/`list`; [`spec`]: `spec`; [`features`]:
//!   `features`; [`signal`]: signal names; [`log`]: runc's `--log`/`--log-format`;
//!   [`tty`]: `run` on a terminal of its own (no `--console-socket`).

pub mod control;
pub mod events;
pub mod exec;
pub mod features;
pub mod lifecycle;
pub mod log;
pub mod signal;
pub mod spec;
pub mod state;
pub mod tty;
