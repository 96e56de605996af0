//! The userland relay for published ports on IPv6 host addresses.
//!
//! Containers on a bocker bridge have IPv4 only, and the kernel cannot DNAT IPv6 to
//! IPv4, so a port published on `[::1]` or `[::]` is served as Docker's docker-proxy
//! serves it: the held IPv6 socket accepts, and the relay copies bytes to the
//! container's IPv4 address and port (TCP: one upstream connection per accepted one;
//! UDP: one upstream socket per client address, forgotten after [`UDP_IDLE`] without
//! traffic, as docker-proxy's 90 s). IPv4 stays on the kernel's DNAT path.
//!
//! One thread per [`Relay`] runs a `poll(2)` loop over non-blocking sockets: no
//! async runtime, no thread per connection, and nothing a client does (connect and never
//! read, send half a request and stall) can block it. It is born with every signal
//! blocked, so a signal sent to the process (SIGTERM to the supervisor) is never taken
//! by it: it stays pending for the thread that waits for it (the supervisor's
//! signalfd). Dropping the [`Relay`] wakes the thread through a socketpair, joins it
//! and closes every socket; the process exiting does the same.
//!
//! A relay lives in the process that called [`Relay::start`]: a `fork(2)` afterwards
//! does not carry the thread into the child.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};

/// A UDP client forgotten after this long without a datagram either way (docker-proxy: 90 s).
pub const UDP_IDLE: Duration = Duration::from_secs(90);
/// Open TCP connections per relay; more wait in the listener's backlog.
const MAX_CONNS: usize = 1024;
/// UDP clients tracked per relay; datagrams from further clients are dropped.
const MAX_FLOWS: usize = 1024;
/// Bytes buffered per direction of a TCP connection.
const PIPE_BUF: usize = 16 * 1024;

/// A held socket and the container address its traffic goes to.
pub enum Route {
    Tcp(TcpListener, SocketAddrV4),
    Udp(UdpSocket, SocketAddrV4),
}

/// A running relay: its thread stops and its sockets close when this is dropped.
#[derive(Debug)]
pub struct Relay {
    stop: Option<UnixStream>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Start relaying every route on a thread of this process. The sockets are made
    /// non-blocking here.
    pub fn start(routes: Vec<Route>) -> io::Result<Relay> {
        for r in &routes {
            match r {
                Route::Tcp(l, _) => l.set_nonblocking(true)?,
                Route::Udp(s, _) => s.set_nonblocking(true)?,
            }
        }
        let (stop, wake) = UnixStream::pair()?;
        let thread = spawn_with_signals_blocked(move || Loop::new(routes, wake).run())?;
        Ok(Relay {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Closing our end is the stop signal: the loop sees its end readable (EOF).
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Spawn a thread whose signal mask is full from its first instruction: the caller's
/// mask is filled around `spawn` (a new thread inherits it) and then put back.
fn spawn_with_signals_blocked(f: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    let mut old = SigSet::empty();
    pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    )
    .map_err(io::Error::from)?;
    let spawned = std::thread::Builder::new()
        .name("bocker-relay".into())
        .spawn(f);
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).map_err(io::Error::from)?;
    spawned
}

/// One direction of a TCP connection: bytes read from one side, not yet written to the other.
struct Pipe {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    shut: bool,
}

impl Pipe {
    fn new() -> Pipe {
        Pipe {
            buf: vec![0; PIPE_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            shut: false,
        }
    }

    /// Move what can be moved now without blocking; at EOF with nothing left, pass the
    /// half-close on. Bounded, so one busy connection cannot starve the others.
    fn pump(&mut self, from: &mut TcpStream, to: &mut TcpStream) -> io::Result<()> {
        for _ in 0..16 {
            if self.start < self.end {
                match to.write(&self.buf[self.start..self.end]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.start += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            (self.start, self.end) = (0, 0);
            if self.eof {
                if !self.shut {
                    self.shut = true;
                    let _ = to.shutdown(Shutdown::Write);
                }
                return Ok(());
            }
            match from.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// What to poll for: (`from` readable, `to` writable).
    fn wants(&self) -> (bool, bool) {
        let pending = self.start < self.end;
        (!pending && !self.eof, pending)
    }

    fn done(&self) -> bool {
        self.shut
    }
}

/// An accepted connection and its upstream to the container.
struct Conn {
    client: TcpStream,
    upstream: TcpStream,
    connecting: bool,
    up: Pipe,
    down: Pipe,
}

impl Conn {
    /// Poll events for (client, upstream); 0 means "not polled".
    fn events(&self) -> (i16, i16) {
        if self.connecting {
            return (0, libc::POLLOUT);
        }
        let (up_read, up_write) = self.up.wants();
        let (down_read, down_write) = self.down.wants();
        let ev = |r: bool, w: bool| {
            (if r { libc::POLLIN } else { 0 }) | (if w { libc::POLLOUT } else { 0 })
        };
        (ev(up_read, down_write), ev(down_read, up_write))
    }

    /// Make progress; `false` once the connection is finished or broken.
    fn step(&mut self) -> bool {
        if self.connecting {
            match self.upstream.take_error() {
                Ok(None) => self.connecting = false,
                _ => return false,
            }
        }
        let up = self.up.pump(&mut self.client, &mut self.upstream);
        let down = self.down.pump(&mut self.upstream, &mut self.client);
        up.is_ok() && down.is_ok() && !(self.up.done() && self.down.done())
    }
}

/// One UDP client of a route: the upstream socket connected to the container.
struct Flow {
    upstream: UdpSocket,
    last: Instant,
}

/// The thread's state.
struct Loop {
    routes: Vec<Route>,
    wake: UnixStream,
    conns: Vec<Conn>,
    /// (route index, client address) -> flow.
    flows: HashMap<(usize, SocketAddr), Flow>,
    buf: Vec<u8>,
}

/// What a pollfd slot stands for.
#[derive(Clone, Copy)]
enum Slot {
    Wake,
    Route(usize),
    Conn(usize),
    Flow(usize, SocketAddr),
}

impl Loop {
    fn new(routes: Vec<Route>, wake: UnixStream) -> Loop {
        Loop {
            routes,
            wake,
            conns: Vec::new(),
            flows: HashMap::new(),
            buf: vec![0; 64 * 1024],
        }
    }

    fn run(mut self) {
        loop {
            let (mut fds, slots) = self.poll_set();
            let timeout = if self.flows.is_empty() { -1 } else { 5_000 };
            if let Err(e) = poll(&mut fds, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            let mut conns_ready = vec![false; self.conns.len()];
            for (fd, slot) in fds.iter().zip(&slots) {
                if fd.revents == 0 {
                    continue;
                }
                match *slot {
                    Slot::Wake => return,
                    Slot::Route(i) => self.route_ready(i),
                    Slot::Conn(i) => conns_ready[i] = true,
                    Slot::Flow(i, peer) => self.flow_ready(i, peer),
                }
            }
            let mut i = 0;
            self.conns.retain_mut(|c| {
                // Connections accepted in this round wait for their connect to finish.
                let keep = !conns_ready.get(i).copied().unwrap_or(false) || c.step();
                i += 1;
                keep
            });
            let now = Instant::now();
            self.flows
                .retain(|_, f| now.duration_since(f.last) < UDP_IDLE);
        }
    }

    fn poll_set(&self) -> (Vec<libc::pollfd>, Vec<Slot>) {
        let mut fds = Vec::new();
        let mut slots = Vec::new();
        let mut add = |fd: RawFd, events: i16, slot: Slot| {
            // A negative fd is skipped by poll: nothing is asked of that socket now.
            let fd = if events == 0 { -1 } else { fd };
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            slots.push(slot);
        };
        add(self.wake.as_raw_fd(), libc::POLLIN, Slot::Wake);
        for (i, r) in self.routes.iter().enumerate() {
            match r {
                Route::Tcp(l, _) if self.conns.len() < MAX_CONNS => {
                    add(l.as_raw_fd(), libc::POLLIN, Slot::Route(i))
                }
                Route::Tcp(..) => {}
                Route::Udp(s, _) => add(s.as_raw_fd(), libc::POLLIN, Slot::Route(i)),
            }
        }
        for (i, c) in self.conns.iter().enumerate() {
            let (client, upstream) = c.events();
            add(c.client.as_raw_fd(), client, Slot::Conn(i));
            add(c.upstream.as_raw_fd(), upstream, Slot::Conn(i));
        }
        for (&(i, peer), f) in &self.flows {
            add(f.upstream.as_raw_fd(), libc::POLLIN, Slot::Flow(i, peer));
        }
        (fds, slots)
    }

    fn route_ready(&mut self, i: usize) {
        match &self.routes[i] {
            Route::Tcp(listener, to) => {
                while self.conns.len() < MAX_CONNS {
                    let Ok((client, _)) = listener.accept() else {
                        return;
                    };
                    if let Ok(conn) = connect(client, *to) {
                        self.conns.push(conn);
                    }
                }
            }
            Route::Udp(sock, to) => {
                while let Ok((n, peer)) = sock.recv_from(&mut self.buf) {
                    if !self.flows.contains_key(&(i, peer)) {
                        if self.flows.len() >= MAX_FLOWS {
                            continue;
                        }
                        let Ok(upstream) = udp_upstream(*to) else {
                            continue;
                        };
                        self.flows.insert(
                            (i, peer),
                            Flow {
                                upstream,
                                last: Instant::now(),
                            },
                        );
                    }
                    if let Some(f) = self.flows.get_mut(&(i, peer)) {
                        f.last = Instant::now();
                        let _ = f.upstream.send(&self.buf[..n]);
                    }
                }
            }
        }
    }

    /// The container answered a UDP client: send it back from the held socket.
    fn flow_ready(&mut self, i: usize, peer: SocketAddr) {
        let (Some(f), Route::Udp(sock, _)) = (self.flows.get_mut(&(i, peer)), &self.routes[i])
        else {
            return;
        };
        while let Ok(n) = f.upstream.recv(&mut self.buf) {
            f.last = Instant::now();
            let _ = sock.send_to(&self.buf[..n], peer);
        }
    }
}

/// A non-blocking connect to the container for an accepted client.
fn connect(client: TcpStream, to: SocketAddrV4) -> io::Result<Conn> {
    client.set_nonblocking(true)?;
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    s.set_nonblocking(true)?;
    match s.connect(&to.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(Conn {
        client,
        upstream: s.into(),
        connecting: true,
        up: Pipe::new(),
        down: Pipe::new(),
    })
}

fn udp_upstream(to: SocketAddrV4) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0))?;
    s.connect(to)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()` pollfd
    // structs for the duration of the call; poll writes only their `revents`.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    fn v6_tcp() -> (TcpListener, u16) {
        let l = TcpListener::bind(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    }

    /// An IPv4 echo server on 127.0.0.1 standing in for the container.
    fn echo_v4() -> SocketAddrV4 {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = match l.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            _ => unreachable!(),
        };
        std::thread::spawn(move || {
            for s in l.incoming() {
                let mut s = s.unwrap();
                std::thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let _ = io::copy(&mut r, &mut s);
                });
            }
        });
        addr
    }

    #[test]
    fn tcp_is_relayed_both_ways_with_half_close_and_stops_on_drop() {
        let to = echo_v4();
        let (l, port) = v6_tcp();
        let relay = Relay::start(vec![Route::Tcp(l, to)]).unwrap();
        // A stalled client (connected, never reads or writes) does not hold anyone up.
        let _stalled = TcpStream::connect((Ipv6Addr::LOCALHOST, port)).unwrap();
        let mut c = TcpStream::connect((Ipv6Addr::LOCALHOST, port)).unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let writer = {
            let mut w = c.try_clone().unwrap();
            let big = big.clone();
            std::thread::spawn(move || {
                w.write_all(&big).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        assert_eq!(back, big);
        drop(relay);
        // The held port is closed with the relay.
        assert!(TcpStream::connect((Ipv6Addr::LOCALHOST, port)).is_err());
    }

    #[test]
    fn udp_is_relayed_per_client() {
        let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let to = match server.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            _ => unreachable!(),
        };
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = server.recv_from(&mut buf) {
                let mut reply = b"echo:".to_vec();
                reply.extend_from_slice(&buf[..n]);
                server.send_to(&reply, from).unwrap();
            }
        });
        let held = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let _relay = Relay::start(vec![Route::Udp(held, to)]).unwrap();
        for who in ["a", "b"] {
            let c = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c.connect((Ipv6Addr::LOCALHOST, port)).unwrap();
            c.send(who.as_bytes()).unwrap();
            let mut buf = [0u8; 64];
            let n = c.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], format!("echo:{who}").as_bytes());
        }
    }

    #[test]
    fn the_relay_thread_blocks_every_signal() {
        let mask = spawn_with_signals_blocked(|| {
            let mut m = SigSet::empty();
            pthread_sigmask(SigmaskHow::SIG_BLOCK, None, Some(&mut m)).unwrap();
            assert!(m.contains(nix::sys::signal::SIGTERM));
            assert!(m.contains(nix::sys::signal::SIGINT));
        })
        .unwrap();
        mask.join().unwrap();
        // ... and the caller's mask is back as it was.
        let mut m = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, None, Some(&mut m)).unwrap();
        assert!(!m.contains(nix::sys::signal::SIGUSR2));
    }
}
