//! bocker-net: bridge networking for bocker containers.
//!
//! The runtime's whole use of it:
//!
//! ```no_run
//! # fn demo(root: &std::path::Path, pid: i32) -> bocker_net::Result<()> {
//! let cfg = bocker_net::NetConfig::from_env()?;
//! bocker_net::ensure_setup(&cfg)?;                          // cheap when the bridge is up
//! let owner = bocker_net::container_owner(root, "ps_0123456789ab");
//! let att = bocker_net::attach(&cfg, &owner, pid, "eth0")?;
//! let ports = ["8080:80".parse()?];
//! bocker_net::publish(&cfg, &owner, att.ip, &ports)?;
//! // ... the container runs and exits ...
//! bocker_net::release(&cfg, &owner)?;                       // never waits on the veth
//! # Ok(()) }
//! ```

mod bridge;
mod config;
mod endpoint;
mod error;
mod firewall;
mod hosts;
mod ipam;
pub mod netlink;
mod netns;
mod ports;
mod record;
mod relay;
mod status;

pub use bridge::{ensure_setup, setup, teardown};
pub use config::{container_owner, NetConfig, DEFAULT_BRIDGE, DEFAULT_STATE_ROOT, DEFAULT_SUBNET};
pub use endpoint::{
    attach, detach, detach_if_attached, endpoints, host_veth_name, loopback_up, mac_to_string,
    publish, publish_held, reclaim, release, Attachment, PortHolds,
};
pub use error::{NetError, Result};
pub use hosts::hosts_file;
pub use ipam::{mac_for, Lease};
pub use netns::Netns;
pub use ports::{PortMapping, Proto};
pub use record::Endpoint;
pub use status::{status, LeaseStatus, Status};
