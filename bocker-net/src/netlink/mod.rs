//! A small synchronous rtnetlink socket: send one request, read its answer.
//!
//! The message types come from `netlink-packet-route`; this wrapper only does
//! the socket round trips, so no async runtime is linked.

mod addr;
mod link;

pub use addr::{
    add_address, add_default_route, all_ipv4_addresses, ipv4_addresses, main_ipv4_routes,
};
pub use link::{
    create_bridge, create_veth, delete_link, link_by_name, links_with_master, set_mac, set_up,
    Link, VethSpec,
};

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

const RECV_BUF: usize = 64 * 1024;

/// A route netlink socket bound in the network namespace of the thread that opened it.
pub struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    pub fn open() -> io::Result<Rtnl> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Errors come back with our request's header only, not the whole request.
        let _ = sock.set_cap_ack(true);
        Ok(Rtnl {
            sock,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.sock.send(&bytes, 0)?;
        Ok(self.seq)
    }

    /// Read datagrams until `on_message` says the answer to `seq` is complete.
    fn receive(
        &mut self,
        seq: u32,
        mut on_message: impl FnMut(NetlinkPayload<RouteNetlinkMessage>) -> io::Result<bool>,
    ) -> io::Result<()> {
        loop {
            self.buf.clear();
            self.sock.recv(&mut self.buf, 0)?;
            let mut offset = 0;
            while offset + 16 <= self.buf.len() {
                let len = u32::from_ne_bytes([
                    self.buf[offset],
                    self.buf[offset + 1],
                    self.buf[offset + 2],
                    self.buf[offset + 3],
                ]) as usize;
                if len < 16 || offset + len > self.buf.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "truncated netlink message",
                    ));
                }
                let bytes = &self.buf[offset..offset + len];
                offset += (len + 3) & !3;
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                if msg.header.sequence_number != seq {
                    continue; // a late answer to an earlier request
                }
                if on_message(msg.payload)? {
                    return Ok(());
                }
            }
        }
    }

    /// Send a change (new/set/del) and wait for the kernel's acknowledgement.
    pub fn request(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        let seq = self.send(msg, flags | NLM_F_ACK)?;
        self.receive(seq, |payload| match payload {
            NetlinkPayload::Error(e) => match e.code {
                None => Ok(true),
                Some(_) => Err(e.to_io()),
            },
            NetlinkPayload::Done(_) => Ok(true),
            _ => Ok(false),
        })
    }

    /// A single get: `Ok(None)` when the kernel says there is no such object.
    pub fn get(&mut self, msg: RouteNetlinkMessage) -> io::Result<Option<RouteNetlinkMessage>> {
        let seq = self.send(msg, 0)?;
        let mut answer = None;
        let res = self.receive(seq, |payload| match payload {
            NetlinkPayload::InnerMessage(m) => {
                answer = Some(m);
                Ok(true)
            }
            NetlinkPayload::Error(e) => match e.code {
                None => Ok(true),
                Some(_) => Err(e.to_io()),
            },
            _ => Ok(true),
        });
        match res {
            Ok(()) => Ok(answer),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A dump: every object of the requested kind.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let mut all = Vec::new();
        self.receive(seq, |payload| match payload {
            NetlinkPayload::InnerMessage(m) => {
                all.push(m);
                Ok(false)
            }
            NetlinkPayload::Done(_) => Ok(true),
            NetlinkPayload::Error(e) => match e.code {
                None => Ok(true),
                Some(_) => Err(e.to_io()),
            },
            _ => Ok(false),
        })?;
        Ok(all)
    }
}
