//! IPv4 addresses and the default route.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Rtnl;

/// Add `ip/prefix_len` (with its broadcast address) to a link.
pub fn add_address(nl: &mut Rtnl, index: u32, ip: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    let host_mask = if prefix_len >= 32 {
        0
    } else {
        u32::MAX >> prefix_len
    };
    let broadcast = Ipv4Addr::from(u32::from(ip) | host_mask);
    msg.attributes.push(AddressAttribute::Local(IpAddr::V4(ip)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(ip)));
    msg.attributes.push(AddressAttribute::Broadcast(broadcast));
    nl.request(
        RouteNetlinkMessage::NewAddress(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}

/// The IPv4 addresses (with prefix length) on a link.
pub fn ipv4_addresses(nl: &mut Rtnl, index: u32) -> io::Result<Vec<(Ipv4Addr, u8)>> {
    Ok(all_ipv4_addresses(nl)?
        .into_iter()
        .filter(|(i, _, _)| *i == index)
        .map(|(_, ip, len)| (ip, len))
        .collect())
}

/// Every IPv4 address of the namespace as (link index, address, prefix length).
pub fn all_ipv4_addresses(nl: &mut Rtnl) -> io::Result<Vec<(u32, Ipv4Addr, u8)>> {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    let mut out = Vec::new();
    for m in nl.dump(RouteNetlinkMessage::GetAddress(msg))? {
        let RouteNetlinkMessage::NewAddress(a) = m else {
            continue;
        };
        for attr in &a.attributes {
            if let AddressAttribute::Local(IpAddr::V4(ip)) = attr {
                out.push((a.header.index, *ip, a.header.prefix_len));
            }
        }
    }
    Ok(out)
}

/// The main table's IPv4 routes with a destination (not the default route), as
/// (destination, prefix length, output link index if any).
pub fn main_ipv4_routes(nl: &mut Rtnl) -> io::Result<Vec<(Ipv4Addr, u8, Option<u32>)>> {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    let mut out = Vec::new();
    for m in nl.dump(RouteNetlinkMessage::GetRoute(msg))? {
        let RouteNetlinkMessage::NewRoute(r) = m else {
            continue;
        };
        if r.header.table != RouteHeader::RT_TABLE_MAIN || r.header.destination_prefix_length == 0 {
            continue;
        }
        let mut dst = None;
        let mut oif = None;
        for attr in &r.attributes {
            match attr {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => dst = Some(*ip),
                RouteAttribute::Oif(i) => oif = Some(*i),
                _ => {}
            }
        }
        if let Some(ip) = dst {
            out.push((ip, r.header.destination_prefix_length, oif));
        }
    }
    Ok(out)
}

/// `default via <gateway>` in the main table.
pub fn add_default_route(nl: &mut Rtnl, gateway: Ipv4Addr) -> io::Result<()> {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.protocol = RouteProtocol::Boot;
    msg.header.scope = RouteScope::Universe;
    msg.header.kind = RouteType::Unicast;
    msg.attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    nl.request(
        RouteNetlinkMessage::NewRoute(msg),
        NLM_F_CREATE | NLM_F_EXCL,
    )
}
