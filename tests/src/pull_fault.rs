//! A fault-injecting HTTP front for the test registry: it forwards each request to the
//! real `docker-registry` (or answers itself) and can cut, reset, stall or gzip the
//! answer, so real registries' and networks' misbehaviour is reproduced on 127.0.0.1.
//! It records every request, stops on drop and by itself after two minutes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target (a path, or a full URL / `host:port` when used as a proxy).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
pub enum Action {
    /// Relay the registry's answer unchanged.
    Forward,
    /// Relay the status line, headers and the first `n` body bytes, then reset the
    /// connection (RST, as a dropped network path looks to the client).
    ResetAfter(usize),
    /// Relay the headers and the first `n` body bytes, then send nothing for `secs`.
    StallAfter(usize, u64),
    /// Relay the answer with its body gzip-encoded (`Content-Encoding: gzip`).
    Gzip,
    /// Answer with this raw status, extra headers and body.
    Respond(u16, Vec<(String, String)>, Vec<u8>),
    /// Close the connection without answering.
    Close,
}

type Handler = dyn Fn(&Request, usize) -> Action + Send + Sync;

/// The fault server; `addr` is `127.0.0.1:port`.
pub struct Fault {
    pub addr: String,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Fault {
    /// Serve on a fresh port, forwarding to `upstream` (may be empty for a server that
    /// only answers itself). `handler` gets each request and its 0-based sequence number.
    pub fn start(
        upstream: &str,
        handler: impl Fn(&Request, usize) -> Action + Send + Sync + 'static,
    ) -> Fault {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let upstream = upstream.to_string();
        let (stop2, log2) = (stop.clone(), log.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut n = 0;
            while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
                match l.accept() {
                    Ok((s, _)) => {
                        let (h, up, log, stop) = (
                            handler.clone(),
                            upstream.clone(),
                            log2.clone(),
                            stop2.clone(),
                        );
                        let seq = n;
                        n += 1;
                        std::thread::spawn(move || serve(s, &*h, &up, &log, &stop, seq));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Fault { addr, stop, log }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_request(s: &mut TcpStream) -> Option<Request> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    let end = loop {
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut b).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&b[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len {
        let n = s.read(&mut b).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&b[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// The upstream's answer: (head lines without the final blank line, body).
fn forward(req: &Request, upstream: &str) -> Option<(String, Vec<u8>)> {
    let mut u = TcpStream::connect(upstream).ok()?;
    u.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    // HTTP/1.0 so the answer is never chunked and ends at EOF.
    let mut head = format!("{} {} HTTP/1.0\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if !["connection", "content-length", "accept-encoding"]
            .iter()
            .any(|x| k.eq_ignore_ascii_case(x))
        {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", req.body.len()));
    u.write_all(head.as_bytes()).ok()?;
    u.write_all(&req.body).ok()?;
    let mut all = Vec::new();
    u.read_to_end(&mut all).ok()?;
    let end = find(&all, b"\r\n\r\n")?;
    Some((
        String::from_utf8_lossy(&all[..end]).into_owned(),
        all[end + 4..].to_vec(),
    ))
}

/// The head with `Content-Length` set to `len` and any `Connection` header replaced.
fn with_len(head: &str, len: usize, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::new();
    for (i, l) in head.split("\r\n").enumerate() {
        let lower = l.to_ascii_lowercase();
        if i > 0 && (lower.starts_with("content-length:") || lower.starts_with("connection:")) {
            continue;
        }
        out.push_str(l);
        out.push_str("\r\n");
    }
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {len}\r\nConnection: close\r\n\r\n"
    ));
    out.into_bytes()
}

fn reset(s: TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt on our own open socket with a valid linger struct.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    drop(s);
}

fn serve(
    mut s: TcpStream,
    h: &Handler,
    upstream: &str,
    log: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
    seq: usize,
) {
    let Some(req) = read_request(&mut s) else {
        return;
    };
    log.lock().unwrap().push(req.clone());
    let action = h(&req, seq);
    let fwd = || {
        forward(&req, upstream).unwrap_or_else(|| ("HTTP/1.0 502 Bad Gateway".into(), Vec::new()))
    };
    match action {
        Action::Forward => {
            let (head, body) = fwd();
            let _ = s.write_all(&with_len(&head, body.len(), &[]));
            let _ = s.write_all(&body);
        }
        Action::ResetAfter(n) => {
            let (head, body) = fwd();
            let _ = s.write_all(&with_len(&head, body.len(), &[]));
            let _ = s.write_all(&body[..n.min(body.len())]);
            let _ = s.flush();
            std::thread::sleep(Duration::from_millis(100));
            reset(s);
            return;
        }
        Action::StallAfter(n, secs) => {
            let (head, body) = fwd();
            let _ = s.write_all(&with_len(&head, body.len(), &[]));
            let _ = s.write_all(&body[..n.min(body.len())]);
            let until = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Action::Gzip => {
            let (head, body) = fwd();
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&body).unwrap();
            let gz = e.finish().unwrap();
            let _ = s.write_all(&with_len(&head, gz.len(), &[("Content-Encoding", "gzip")]));
            let _ = s.write_all(&gz);
        }
        Action::Respond(status, headers, body) => {
            let mut head = format!("HTTP/1.1 {status} X");
            for (k, v) in &headers {
                head.push_str(&format!("\r\n{k}: {v}"));
            }
            let _ = s.write_all(&with_len(&head, body.len(), &[]));
            let _ = s.write_all(&body);
        }
        Action::Close => {}
    }
    let _ = s.shutdown(Shutdown::Both);
}
