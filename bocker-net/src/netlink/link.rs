//! Links: the bridge, veth pairs, up/down, lookups.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::Rtnl;

/// What we need to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub up: bool,
    pub master: Option<u32>,
    /// The link-layer address (empty if the link has none).
    pub mac: Vec<u8>,
}

impl Link {
    fn from_message(m: &LinkMessage) -> Link {
        let mut link = Link {
            index: m.header.index,
            name: String::new(),
            up: m.header.flags.contains(LinkFlags::Up),
            master: None,
            mac: Vec::new(),
        };
        for attr in &m.attributes {
            match attr {
                LinkAttribute::IfName(n) => link.name = n.clone(),
                LinkAttribute::Controller(i) => link.master = Some(*i),
                LinkAttribute::Address(a) => link.mac = a.clone(),
                _ => {}
            }
        }
        link
    }
}

fn up_header(msg: &mut LinkMessage) {
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
}

/// Look a link up by name in the socket's namespace.
pub fn link_by_name(nl: &mut Rtnl, name: &str) -> io::Result<Option<Link>> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    match nl.get(RouteNetlinkMessage::GetLink(msg))? {
        Some(RouteNetlinkMessage::NewLink(m)) => Ok(Some(Link::from_message(&m))),
        _ => Ok(None),
    }
}

/// Every link enslaved to the bridge with this index.
pub fn links_with_master(nl: &mut Rtnl, master: u32) -> io::Result<Vec<Link>> {
    let mut msg = LinkMessage::default();
    // The kernel filters the dump by IFLA_MASTER for us.
    msg.attributes.push(LinkAttribute::Controller(master));
    let links = nl
        .dump(RouteNetlinkMessage::GetLink(msg))?
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(Link::from_message(l)),
            _ => None,
        })
        .filter(|l| l.master == Some(master))
        .collect();
    Ok(links)
}

/// Create a bridge (down; the caller brings it up once it is configured) with a MAC of
/// its own: a bridge whose address was set keeps it, instead of taking the lowest MAC
/// of its ports as they come and go (which leaves containers with a stale gateway MAC).
pub fn create_bridge(nl: &mut Rtnl, name: &str, mac: [u8; 6]) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    msg.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    nl.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
}

/// Set a link's MAC address (pins a bridge's, see [`create_bridge`]).
pub fn set_mac(nl: &mut Rtnl, index: u32, mac: [u8; 6]) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    nl.request(RouteNetlinkMessage::SetLink(msg), 0)
}

/// Bring a link up.
pub fn set_up(nl: &mut Rtnl, index: u32) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    up_header(&mut msg);
    nl.request(RouteNetlinkMessage::SetLink(msg), 0)
}

/// Delete a link. Slow (the kernel waits for the network to quiesce): keep it
/// off hot paths.
pub fn delete_link(nl: &mut Rtnl, index: u32) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    match nl.request(RouteNetlinkMessage::DelLink(msg), 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
        other => other,
    }
}

/// A veth pair whose host end joins a bridge and whose peer is born inside
/// another network namespace, in one netlink request; the host end is born up.
pub struct VethSpec<'a> {
    pub host_name: &'a str,
    pub bridge_index: u32,
    pub peer_name: &'a str,
    pub peer_mac: [u8; 6],
    pub peer_netns: BorrowedFd<'a>,
}

pub fn create_veth(nl: &mut Rtnl, spec: &VethSpec) -> io::Result<()> {
    // The peer cannot be born up: it is opened before the pair is linked
    // (veth_open says ENOTCONN). The caller brings it up inside the namespace.
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(spec.peer_name.to_string()));
    peer.attributes
        .push(LinkAttribute::Address(spec.peer_mac.to_vec()));
    peer.attributes
        .push(LinkAttribute::NetNsFd(spec.peer_netns.as_raw_fd()));

    let mut msg = LinkMessage::default();
    up_header(&mut msg);
    msg.attributes
        .push(LinkAttribute::IfName(spec.host_name.to_string()));
    msg.attributes
        .push(LinkAttribute::Controller(spec.bridge_index));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    nl.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)?;
    set_hairpin(nl, spec.host_name)
}

/// Hairpin mode on a bridge port (`ip link set X type bridge_slave hairpin on`): a
/// container calling its own published port has its DNATed packet sent back out of
/// the port it came in by (with br_netfilter the re-routed frame is bridged), which a
/// bridge refuses unless the port is in hairpin mode. Docker does the same.
fn set_hairpin(nl: &mut Rtnl, name: &str) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::PortKind(InfoPortKind::Bridge),
        LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
            true,
        )])),
    ]));
    nl.request(RouteNetlinkMessage::NewLink(msg), 0)
}
