//! The caller and the supervisor of one `bocker run`: one way a container lives.
//!
//! [`split`] forks once: the caller (the `bocker run` the user started) stays in the
//! foreground; the supervisor is its child in a session of its own (`setsid`), not a
//! child of the caller's shell, its stdin/stdout on /dev/null. Once the caller is gone
//! (at once with `-d`) the supervisor is reparented like any orphan, so it never becomes
//! the shell's. The supervisor creates, starts and waits for the container, writes its
//! log and does the cleanup; the live entry names it (its own pid and start time).
//!
//! One fork, not the classic two: the second fork only keeps a daemon from being a
//! session leader that could acquire a controlling terminal by opening one, and the
//! supervisor opens no terminal (the container's pty is opened by the container's own
//! process, in its devpts). Each process on the path costs a fork and a wake-up on
//! every start (`docs/BENCHMARKS.md`).
//!
//! They talk over pipes:
//! - `status` (supervisor → caller), text lines: `started <ps_id>` once the container
//!   runs (`-d` only: a foreground caller has nothing to do with it), then
//!   `exit <code>` once it is cleaned up;
//! - `out`, `err` (supervisor → caller, foreground only): the container's output;
//! - `hold` (caller → supervisor, never written): its hang-up tells the supervisor that
//!   the caller is gone; the supervisor then detaches (drops `out`/`err`, its stderr to
//!   /dev/null) and the container goes on as if started with `-d` (Docker's behaviour);
//! - `stdin` (caller → container, `-i` only): the container's stdin is a pipe, never the
//!   caller's terminal.
//!
//! Until the container runs, the supervisor's stderr is the caller's, so start errors
//! read as before; with `-d` it moves to /dev/null before `started` is sent.
//!
//! `bocker attach` ([`Caller::connect`]): a detached supervisor listens on
//! `containers/<id>/attach.sock` ([`Link::listen`]), a foreground one from the moment
//! its caller has gone (detach keys, a closed terminal: Docker's containers can be
//! attached again then); an attaching caller makes the same
//! pipes as `split` and sends the supervisor's ends over the socket (SCM_RIGHTS, in a
//! fixed order: status, out, err, hold, keys, ctl), then relays like a foreground `run`.
//! One caller at a time. With `-d -i` the supervisor holds the write end of the
//! container's stdin pipe, so the container's stdin stays open for a later attach
//! (Docker's `OpenStdin`), and copies an attached caller's keys into it.

use crate::exit_code;
use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Which side of the fork we are on.
pub enum Role {
    Caller(Caller),
    Supervisor(Link),
}

/// The supervisor's end of the channel to its caller.
pub struct Link {
    status: Option<OwnedFd>,
    /// Where the container's stdout/stderr go besides the log (foreground, attached).
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
    /// Hangs up when the caller is gone.
    pub hold: Option<OwnedFd>,
    /// `-t`: window sizes from the caller (4 bytes each: rows, columns as native u16).
    pub ctl: Option<OwnedFd>,
    /// `-i`: our stdin is the caller's keys, for the container.
    pub stdin: bool,
    detach: bool,
    /// Where `bocker attach` callers connect ([`Link::listen`]): bound at start with
    /// `-d`, once the caller has gone for a foreground run.
    pub listener: Option<std::os::unix::net::UnixListener>,
    /// The socket's path, kept until a foreground caller goes ([`Link::listen_late`]).
    attach_path: Option<std::path::PathBuf>,
    /// `-d -i`: the write end of the container's stdin pipe, held open for attachers.
    pub stdin_w: Option<OwnedFd>,
    /// An attached caller's keys, for the container's stdin (or its pty).
    pub keys: Option<OwnedFd>,
}

/// The caller's end: what it relays until the container's exit.
pub struct Caller {
    /// The supervisor's pid (our child until we exit): where signals are forwarded.
    supervisor: libc::pid_t,
    status: OwnedFd,
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    _hold: OwnedFd,
    stdin: Option<OwnedFd>,
    ctl: Option<OwnedFd>,
    detach: bool,
    /// `--detach-keys` as bytes (Docker's default: Ctrl-P Ctrl-Q); `-t` only.
    keys: Vec<u8>,
    /// Pass SIGINT/SIGTERM/SIGHUP/SIGQUIT on to the container (Docker's `--sig-proxy`,
    /// default true); without it they act on us alone.
    sig_proxy: bool,
}

/// Fork the supervisor (which calls `setsid`), set up the pipes; `detach`: `-d`,
/// `interactive`: `-i` (the container reads a pipe the caller feeds from its stdin).
/// Must be called while single-threaded.
pub fn split(detach: bool, interactive: bool, tty: bool) -> io::Result<Role> {
    let (status_r, status_w) = sys::pipe()?;
    let (hold_r, hold_w) = sys::pipe()?;
    let out = (!detach).then(sys::pipe).transpose()?;
    let err = (!detach).then(sys::pipe).transpose()?;
    let stdin = interactive.then(sys::pipe).transpose()?;
    let ctl = (tty && !detach).then(sys::pipe).transpose()?;
    let supervisor = sys::fork()?;
    if supervisor != 0 {
        return Ok(Role::Caller(Caller {
            supervisor,
            status: status_r,
            out: out.map(|p| p.0),
            err: err.map(|p| p.0),
            _hold: hold_w,
            stdin: if detach { None } else { stdin.map(|p| p.1) },
            ctl: ctl.map(|p| p.1),
            detach,
            keys: vec![0x10, 0x11],
            sig_proxy: true,
        }));
    }
    // A session of its own: the caller's terminal signals (^C) are the caller's to
    // forward, and the supervisor outlives the caller's session.
    if sys::setsid().is_err() {
        sys::exit_now(exit_code::ENGINE);
    }
    drop((status_r, hold_w));
    let null = sys::open(c"/dev/null", libc::O_RDWR)?;
    // `-d -i`: the write end stays with us, so the container's stdin stays open for a
    // later `bocker attach` (Docker's behaviour).
    let (stdin_r, stdin_w) = match stdin {
        Some((r, w)) => (Some(r), detach.then_some(w)),
        None => (None, None),
    };
    sys::dup2(stdin_r.as_ref().unwrap_or(&null).as_raw_fd(), 0)?;
    sys::dup2(null.as_raw_fd(), 1)?;
    let link = Link {
        status: Some(status_w),
        out: out.map(|p| p.1),
        err: err.map(|p| p.1),
        hold: Some(hold_r),
        ctl: ctl.map(|p| p.0),
        stdin: interactive && !detach,
        detach,
        listener: None,
        attach_path: None,
        stdin_w,
        keys: None,
    };
    Ok(Role::Supervisor(link))
}

impl Link {
    /// A link to nobody: the container runs in this process and writes to our stdio.
    pub fn none() -> Link {
        Link {
            status: None,
            out: None,
            err: None,
            hold: None,
            ctl: None,
            stdin: false,
            detach: false,
            listener: None,
            attach_path: None,
            stdin_w: None,
            keys: None,
        }
    }

    /// Listen for `bocker attach` callers at `path` (a socket beside the record,
    /// replacing a stale one of an earlier run): now with `-d`; for a foreground run
    /// once its caller has gone (detach keys, a closed terminal), so it can be attached
    /// again as Docker's can ([`Link::listen_late`]). A failure only means no attach.
    pub fn listen(&mut self, path: &std::path::Path) {
        if !self.detach {
            self.attach_path = Some(path.to_path_buf());
            return;
        }
        self.bind(path);
    }

    /// The foreground caller has gone: listen at the path [`Link::listen`] kept; the
    /// socket's fd, to poll (-1 when there is none).
    pub fn listen_late(&mut self) -> RawFd {
        if let Some(path) = self.attach_path.take() {
            self.bind(&path);
        }
        self.listener.as_ref().map_or(-1, |l| l.as_raw_fd())
    }

    fn bind(&mut self, path: &std::path::Path) {
        let _ = std::fs::remove_file(path);
        let listener = std::os::unix::net::UnixListener::bind(path)
            .and_then(|l| l.set_nonblocking(true).map(|()| l));
        self.listener = listener.ok();
    }

    /// A caller knocks on [`Link::listen`]'s socket: take its pipes (see the module doc)
    /// unless one is attached already. Returns whether a caller was taken.
    pub fn accept(&mut self) -> bool {
        let Some(Ok((conn, _))) = self.listener.as_ref().map(|l| l.accept()) else {
            return false;
        };
        if self.hold.is_some() {
            return false; // one caller at a time: the newcomer sees its socket close
        }
        // A caller that stalls cannot hold the supervisor up for long.
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let mut fds = Vec::with_capacity(6);
        for _ in 0..6 {
            match sys::tty::recv_fd(conn.as_raw_fd()) {
                Ok(Some(fd)) => fds.push(fd),
                _ => return false,
            }
        }
        let mut fds = fds.into_iter();
        self.status = fds.next();
        self.out = fds.next();
        self.err = fds.next();
        self.hold = fds.next();
        self.keys = fds.next();
        self.ctl = fds.next();
        true
    }

    /// Whether a caller is attached and wants the container's output.
    pub fn attached(&self) -> bool {
        self.status.is_some() && !self.detach && self.hold.is_some()
    }

    /// Whether this link has a caller at all (else output goes to our own stdio).
    pub fn has_caller(&self) -> bool {
        self.status.is_some()
    }

    fn send(&self, line: &str) {
        if let Some(s) = &self.status {
            // The caller may be gone: nothing to tell then.
            let _ = sys::write_all(s.as_raw_fd(), format!("{line}\n").as_bytes());
        }
    }

    /// The container runs: with `-d`, our stderr leaves the caller's and the caller
    /// hears the id. A foreground caller is not told (one wake-up fewer on the start).
    pub fn started(&mut self, id: &str) {
        if self.detach {
            self.detach_stdio();
            self.send(&format!("started {id}"));
        }
    }

    /// The caller is gone (or never wanted output): output goes to the log only, and
    /// nothing of ours keeps the caller's stderr open.
    pub fn detach_stdio(&mut self) {
        self.out = None;
        self.err = None;
        self.hold = None;
        self.keys = None;
        if self.status.is_some() {
            if let Ok(null) = sys::open(c"/dev/null", libc::O_RDWR) {
                let _ = sys::dup2(null.as_raw_fd(), 2);
            }
        }
    }

    /// The container is gone and cleaned up: its status, the last message.
    pub fn exit(mut self, code: i32) {
        self.out = None;
        self.err = None;
        self.send(&format!("exit {code}"));
    }
}

/// What the caller saw of the supervisor's status lines.
#[derive(Default)]
struct Status {
    started: Option<String>,
    exit: Option<i32>,
    buf: Vec<u8>,
}

impl Status {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line[..i]).into_owned();
            match line.split_once(' ') {
                Some(("started", id)) => self.started = Some(id.to_string()),
                Some(("exit", c)) => self.exit = c.parse().ok(),
                _ => {}
            }
        }
    }
}

/// Signals the foreground caller passes to the supervisor (which passes them on).
const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// How many SIGINT/SIGTERM make the caller give up and detach (Docker's CLI: 3).
const FORCE_AFTER: u32 = 3;

/// The caller's terminal in raw mode while `-t` is attached; restored on drop (every
/// return path of [`Caller::attach`]).
struct RawMode(libc::termios);

impl RawMode {
    fn enter(fd: RawFd) -> Option<RawMode> {
        let saved = sys::tty::termios(fd).ok()?;
        sys::tty::set_termios(fd, &sys::tty::raw(&saved)).ok()?;
        Some(RawMode(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = sys::tty::set_termios(0, &self.0);
    }
}

/// `--detach-keys`: Docker's form, comma-separated `ctrl-<letter>`, `ctrl-@ [ \\ ] ^ _`
/// or single characters (`ctrl-p,ctrl-q` by default). `None` when malformed.
pub fn parse_detach_keys(spec: &str) -> Option<Vec<u8>> {
    spec.split(',')
        .map(|k| match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 => {
                let b = c.as_bytes()[0].to_ascii_uppercase();
                (b'@'..=b'_').contains(&b).then_some(b - b'@')
            }
            Some(_) => None,
            None => (k.len() == 1).then(|| k.as_bytes()[0]),
        })
        .collect()
}

/// The caller's window size (its stdin's terminal, else stdout's) as a `ctl` message.
fn window_message() -> Option<[u8; 4]> {
    let ws = [0, 1]
        .into_iter()
        .find_map(|fd| sys::tty::window_size(fd).ok())?;
    let (r, c) = (ws.ws_row.to_ne_bytes(), ws.ws_col.to_ne_bytes());
    Some([r[0], r[1], c[0], c[1]])
}

impl Caller {
    /// `bocker attach`: connect to the supervisor listening at `path` and hand it the
    /// supervisor's ends of our pipes (module doc); `stdin`: our stdin goes to the
    /// container, `tty`: it has a terminal (window sizes, raw mode, detach keys).
    /// Errors: nobody listens there (a foreground run whose caller is still attached,
    /// or the container has exited), or the hand-over failed.
    pub fn connect(path: &std::path::Path, stdin: bool, tty: bool) -> io::Result<Caller> {
        let conn = std::os::unix::net::UnixStream::connect(path)?;
        let (status_r, status_w) = sys::pipe()?;
        let (out_r, out_w) = sys::pipe()?;
        let (err_r, err_w) = sys::pipe()?;
        let (hold_r, hold_w) = sys::pipe()?;
        let null = || sys::open(c"/dev/null", libc::O_RDONLY);
        let (keys_r, keys_w) = match stdin {
            true => sys::pipe().map(|(r, w)| (r, Some(w)))?,
            false => (null()?, None),
        };
        let (ctl_r, ctl_w) = match tty {
            true => sys::pipe().map(|(r, w)| (r, Some(w)))?,
            false => (null()?, None),
        };
        for fd in [&status_w, &out_w, &err_w, &hold_r, &keys_r, &ctl_r] {
            sys::tty::send_fd(conn.as_raw_fd(), fd.as_raw_fd())?;
        }
        // The supervisor listening there: where our signals are forwarded.
        let supervisor = sys::peer_pid(conn.as_raw_fd())?;
        Ok(Caller {
            supervisor,
            status: status_r,
            out: Some(out_r),
            err: Some(err_r),
            _hold: hold_w,
            stdin: keys_w,
            ctl: ctl_w,
            detach: false,
            keys: vec![0x10, 0x11],
            sig_proxy: true,
        })
    }

    /// `--sig-proxy=false`: signals end us, never reach the container.
    pub fn set_sig_proxy(&mut self, on: bool) {
        self.sig_proxy = on;
    }

    /// Use `keys` (from [`parse_detach_keys`]) to detach a `-t` session.
    pub fn set_detach_keys(&mut self, keys: Vec<u8>) {
        self.keys = keys;
    }

    fn send_window(&self) {
        if let (Some(ctl), Some(m)) = (&self.ctl, window_message()) {
            let _ = sys::write_all(ctl.as_raw_fd(), &m);
        }
    }

    /// `-d`: wait until the container runs, print its id; the exit status of a start
    /// that failed (its message was printed by the supervisor) otherwise.
    pub fn wait_started(self) -> i32 {
        match self.started() {
            Ok(id) => {
                println!("{id}");
                0
            }
            Err(code) => code,
        }
    }

    /// Wait until the container runs: its id, or the exit status of a start that failed
    /// (its message was printed by the supervisor).
    pub fn started(self) -> Result<String, i32> {
        let mut st = Status::default();
        let mut buf = [0u8; 512];
        while st.started.is_none() && st.exit.is_none() {
            match sys::read(self.status.as_raw_fd(), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => st.feed(&buf[..n]),
            }
        }
        match (st.started, st.exit) {
            (Some(id), _) => Ok(id),
            (None, Some(code)) => Err(code),
            (None, None) => {
                eprintln!("bocker-run: the container's supervisor died before it started");
                Err(exit_code::ENGINE)
            }
        }
    }

    /// Foreground: relay output (and stdin with `-i`) and signals until the container
    /// has exited and been cleaned up; returns its status. Our stdout closing (`| head`)
    /// or three SIGINT/SIGTERM end the caller early; the container goes on.
    pub fn attach(mut self) -> i32 {
        if self.detach {
            return self.wait_started();
        }
        let tty = self.ctl.is_some();
        let mut handled_list = if self.sig_proxy {
            FORWARDED.to_vec()
        } else {
            Vec::new()
        };
        if tty {
            handled_list.push(libc::SIGWINCH);
        }
        let handled = sys::sigset(&handled_list);
        let sig = match sys::sigprocmask(libc::SIG_BLOCK, &handled)
            .and_then(|()| sys::signalfd(&handled))
        {
            Ok(fd) => fd,
            Err(e) => {
                eprintln!("bocker-run: signals: {e}");
                return exit_code::ENGINE;
            }
        };
        // `-it` on a terminal: raw, so every key (^C too) goes to the container's pty.
        let _raw = (tty && self.stdin.is_some() && sys::tty::isatty(0))
            .then(|| RawMode::enter(0))
            .flatten();
        self.send_window();
        let mut held = 0; // how much of the detach keys was typed last
        let mut st = Status::default();
        let mut forced = 0;
        let mut buf = vec![0u8; 64 * 1024];
        let fd = |o: &Option<OwnedFd>| o.as_ref().map_or(-1, |f| f.as_raw_fd());
        loop {
            let status_open = st.exit.is_none();
            if !status_open && self.out.is_none() && self.err.is_none() {
                return st.exit.unwrap_or(exit_code::ENGINE);
            }
            let mut fds = [
                pollfd(if status_open {
                    self.status.as_raw_fd()
                } else {
                    -1
                }),
                pollfd(fd(&self.out)),
                pollfd(fd(&self.err)),
                pollfd(if self.stdin.is_some() { 0 } else { -1 }),
                pollfd(sig.as_raw_fd()),
            ];
            if let Err(e) = sys::poll(&mut fds) {
                eprintln!("bocker-run: poll: {e}");
                return exit_code::ENGINE;
            }
            if fds[0].revents != 0 {
                match sys::read(self.status.as_raw_fd(), &mut buf) {
                    Ok(n) if n > 0 => st.feed(&buf[..n]),
                    _ => {
                        if st.exit.is_none() {
                            eprintln!("bocker-run: the container's supervisor died");
                            return exit_code::ENGINE;
                        }
                    }
                }
            }
            for (i, slot, to) in [(1, &mut self.out, 1), (2, &mut self.err, 2)] {
                if fds[i].revents == 0 {
                    continue;
                }
                let n = slot
                    .as_ref()
                    .map_or(0, |f| sys::read(f.as_raw_fd(), &mut buf).unwrap_or(0));
                if n == 0 {
                    *slot = None;
                } else if sys::write_all(to, &buf[..n]).is_err() {
                    // Our reader is gone (`| head`): leave like any pipeline member;
                    // the container goes on under its supervisor.
                    return 128 + libc::SIGPIPE;
                }
            }
            if fds[3].revents != 0 {
                let n = sys::read(0, &mut buf).unwrap_or(0);
                let mut keys = buf[..n].to_vec();
                if tty && !self.keys.is_empty() {
                    match detach_keys(&self.keys, &mut held, &keys) {
                        Some(pass) => keys = pass,
                        // Docker's detach keys: the container goes on, we leave.
                        None => return 0,
                    }
                }
                let sent = self
                    .stdin
                    .as_ref()
                    .is_some_and(|w| n > 0 && sys::write_all(w.as_raw_fd(), &keys).is_ok());
                if !sent {
                    self.stdin = None; // EOF to the container
                }
            }
            if fds[4].revents != 0 {
                if let Some(signo) = sys::read_signal(sig.as_raw_fd()) {
                    if signo == libc::SIGWINCH {
                        self.send_window();
                        continue;
                    }
                    let _ = sys::kill(self.supervisor, signo);
                    if signo == libc::SIGINT || signo == libc::SIGTERM {
                        forced += 1;
                        if forced >= FORCE_AFTER {
                            eprintln!("got 3 SIGTERM/SIGINTs, forcefully exiting");
                            return exit_code::ENGINE;
                        }
                    }
                }
            }
        }
    }
}

/// Pass `input` on, holding back a prefix of the detach `keys` until it is complete
/// (`None`: detach) or broken (then the held bytes go on too). `held`: how much of the
/// keys is pending from earlier reads.
fn detach_keys(keys: &[u8], held: &mut usize, input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    for &b in input {
        if b == keys[*held] {
            *held += 1;
            if *held == keys.len() {
                return None;
            }
            continue;
        }
        out.extend_from_slice(&keys[..*held]);
        *held = usize::from(b == keys[0]);
        if *held == 0 {
            out.push(b);
        }
    }
    Some(out)
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_are_held_back_and_detach_only_when_whole() {
        let keys = parse_detach_keys("ctrl-p,ctrl-q").unwrap();
        assert_eq!(keys, [0x10, 0x11]);
        let mut held = 0;
        assert_eq!(
            detach_keys(&keys, &mut held, b"ab\x10"),
            Some(b"ab".to_vec())
        );
        assert_eq!(detach_keys(&keys, &mut held, b"x"), Some(b"\x10x".to_vec()));
        assert_eq!(detach_keys(&keys, &mut held, b"\x10"), Some(vec![]));
        assert_eq!(detach_keys(&keys, &mut held, b"\x11"), None);
        assert_eq!(parse_detach_keys("ctrl-a,z"), Some(vec![1, b'z']));
        assert_eq!(parse_detach_keys("ctrl-"), None);
    }
}
