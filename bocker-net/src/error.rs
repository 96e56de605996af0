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

    #[error("invalid port mapping '{0}': {1} (expected [HOSTIP:]HOSTPORT[-END]:CTRPORT[-END][/tcp|/udp])")]
    BadPortMapping(String, &'static str),

    #[error("bridge '{0}' does not exist (run `bocker-net setup`)")]
    NoBridge(String),

    #[error("subnet {subnet} overlaps {other}, already in use on this host (Pool overlaps with other one on this address space)")]
    SubnetOverlap { subnet: String, other: String },

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

    #[error("host port {port}/{proto} is already allocated (published by {owner})")]
    PortTaken {
        port: u16,
        proto: String,
        owner: String,
    },

    #[error("cannot publish {addr}: {why}")]
    PortBusy { addr: String, why: String },

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

/// For callers that speak `io::Result` (the runtime): keeps the errno of an
/// underlying I/O error and the whole message chain.
impl From<NetError> for io::Error {
    fn from(e: NetError) -> io::Error {
        let kind = match &e {
            NetError::Io { source, .. } => source.kind(),
            NetError::BadConfig(_) | NetError::BadOwner(_) | NetError::BadPortMapping(..) => {
                io::ErrorKind::InvalidInput
            }
            NetError::PortTaken { .. }
            | NetError::PortBusy { .. }
            | NetError::AlreadyAttached { .. } => io::ErrorKind::AlreadyExists,
            NetError::NotAttached(_) | NetError::NoBridge(_) => io::ErrorKind::NotFound,
            _ => io::ErrorKind::Other,
        };
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        io::Error::new(kind, msg)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_conversion_keeps_kind_and_cause() {
        let e = NetError::io("opening /x", io::Error::from_raw_os_error(libc::ENOENT));
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert!(io.to_string().starts_with("opening /x: "), "{io}");
        let full: io::Error = NetError::SubnetFull {
            bridge: "b".into(),
            subnet: "s".into(),
        }
        .into();
        assert!(full.to_string().contains("no free address"));
    }
}
