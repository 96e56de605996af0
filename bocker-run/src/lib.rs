//! bocker-run: the container runtime. `bocker-run` (src/main.rs) reads like the seed's
//! `bocker_run`: resolve the image, create the container, then [`container::run`]:
//! cgroup, clone into namespaces, network step, supervise, record the exit, clean up.

pub mod cgroup_step;
pub mod cli;
pub mod config;
pub mod container;
pub mod etc_files;
pub mod exec;
pub mod exit_code;
pub mod init;
pub mod network;
pub mod plan;
pub mod process;
pub mod reclaim;
pub mod rootfs;
pub mod safepath;
pub mod seccomp;
pub mod security;
pub mod spec;
pub mod supervisor;
pub mod sys;
pub mod user;
