//! `bocker-runtime`: an OCI runtime with runc's command line, so that containerd's runc v2
//! shim can drive bocker through `options.BinaryName` (issue 14, SPEC §7).
//!
//! This crate holds the verbs that need no container runtime: `spec` ([`spec`]),
//! `features` ([`features`]), `state` and `list` ([`state`], the on-disk state format the
//! lifecycle verbs will write), and runc's `--log`/`--log-format` ([`log`]). The lifecycle
//! (`create`, `start`, `kill`, `delete`, `exec`, …) is planned in docs/RUNTIME-OCI.md and
//! lands on bocker-run's OCI-spec seam; no verb here pretends to run a container.

pub mod control;
pub mod exec;
pub mod features;
pub mod lifecycle;
pub mod log;
pub mod signal;
pub mod spec;
pub mod state;
