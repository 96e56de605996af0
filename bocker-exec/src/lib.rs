//! `bocker-exec`: enter a running container's namespaces and cgroup.
//!
//! This crate is a placeholder in the workspace shape of SPEC §1. The verb
//! needs the per-container supervisor (`run -d`), which a later issue builds;
//! until then the crate deliberately ships no binary, so `bocker --list` never
//! shows a verb that does nothing.
