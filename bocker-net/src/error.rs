//! The one error type of the library: callers branch on the variants that are
//! about their input (a full subnet, a taken port, a missing bridge).

use std::io;
use std::net::Ipv4Addr;

pub type Result<T> = std::result::Result<T, NetError>;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("invalid network configuration: {0}")]
    BadConfig(String),

    #[error(
        "'{0}' is not a valid owner id (1-64 characters of [A-Za-z0-9_.-], not starting with '.')"
    )]
    BadOwner(String),

    #[error("invalid port mapping '{0}': {1} (expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp])")]
    BadPortMapping(String, &'static str),

    #[error("bridge '{0}' does not exist (run `bocker-net setup`)")]
    NoBridge(String),

    #[error("no free address left in {subnet} on bridge {bridge}")]
    SubnetFull { bridge: String, subnet: String },

    #[error("'{owner}' is already attached to bridge {bridge} with address {ip}")]
    AlreadyAttached {
        owner: String,
        bridge: String,
        ip: Ipv4Addr,
    },

    #[error("'{0}' has no network attachment")]
    NotAttached(String),

    #[error("host port {port}/{proto} is already published by {owner}")]
    PortTaken {
        port: u16,
        proto: String,
        owner: String,
    },

    #[error("bridge '{bridge}' still has {count} lease(s); detach them first or use --force")]
    InUse { bridge: String, count: usize },

    #[error("the target process shares this host's network namespace; attach only processes in a namespace of their own (e.g. started with `unshare -n`)")]
    HostNamespace,

    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },

    #[error("{0}")]
    Firewall(String),
}

impl NetError {
    /// Wrap an I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        NetError::Io {
            what: what.into(),
            source,
        }
    }
}

/// `result.ctx(|| "doing X to Y")?` for io::Result.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, what: F) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, what: F) -> Result<T> {
        self.map_err(|e| NetError::io(what(), e))
    }
}
