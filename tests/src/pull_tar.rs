//! A tiny tar writer with full control over every header field, so tests can build
//! both ordinary and hostile layers (`..` names, PAX sizes that lie, device nodes).

/// What an entry is.
#[derive(Clone, Debug)]
pub enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(String),
    Hardlink(String),
    Fifo,
    Char(u32, u32),
    Block(u32, u32),
}

/// One tar entry; `path` is written verbatim (no cleaning).
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// A PAX `size` record that disagrees with the data written (hostile).
    pub pax_size: Option<u64>,
}

impl Entry {
    pub fn new(path: &str, kind: Kind) -> Entry {
        let mode = match kind {
            Kind::Dir => 0o755,
            Kind::Symlink(_) => 0o777,
            _ => 0o644,
        };
        Entry {
            path: path.into(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            xattrs: Vec::new(),
            pax_size: None,
        }
    }
    pub fn mode(mut self, m: u32) -> Entry {
        self.mode = m;
        self
    }
    pub fn owner(mut self, uid: u32, gid: u32) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn xattr(mut self, k: &str, v: &[u8]) -> Entry {
        self.xattrs.push((k.into(), v.to_vec()));
        self
    }
}

pub fn file(path: &str, data: &[u8]) -> Entry {
    Entry::new(path, Kind::File(data.to_vec()))
}
pub fn dir(path: &str) -> Entry {
    Entry::new(path, Kind::Dir)
}
pub fn symlink(path: &str, target: &str) -> Entry {
    Entry::new(path, Kind::Symlink(target.into()))
}
pub fn hardlink(path: &str, target: &str) -> Entry {
    Entry::new(path, Kind::Hardlink(target.into()))
}

/// An uncompressed tar stream.
#[derive(Default)]
pub struct Tar {
    buf: Vec<u8>,
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0width$o}", v, width = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[field.len() - 1] = 0;
}

fn pax_record(key: &str, val: &[u8]) -> Vec<u8> {
    let body_len = key.len() + val.len() + 3; // ' ' '=' '\n'
    let mut n = body_len + 1;
    while format!("{n}").len() + body_len != n {
        n += 1;
    }
    let mut r = format!("{n} {key}=").into_bytes();
    r.extend_from_slice(val);
    r.push(b'\n');
    r
}

impl Tar {
    pub fn new() -> Tar {
        Tar::default()
    }

    pub fn with(entries: Vec<Entry>) -> Vec<u8> {
        let mut t = Tar::new();
        for e in entries {
            t.add(&e);
        }
        t.finish()
    }

    fn header(
        &mut self,
        name: &[u8],
        link: &[u8],
        typeflag: u8,
        e: &Entry,
        size: u64,
        dev: (u32, u32),
    ) {
        let mut h = [0u8; 512];
        h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        octal(&mut h[100..108], e.mode as u64);
        octal(&mut h[108..116], e.uid.min(0o7777777) as u64);
        octal(&mut h[116..124], e.gid.min(0o7777777) as u64);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], e.mtime);
        h[156] = typeflag;
        h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        octal(&mut h[329..337], dev.0 as u64);
        octal(&mut h[337..345], dev.1 as u64);
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        self.buf.extend_from_slice(&h);
    }

    fn data(&mut self, d: &[u8]) {
        self.buf.extend_from_slice(d);
        let pad = (512 - d.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
    }

    pub fn add(&mut self, e: &Entry) {
        let (typeflag, link, data, dev): (u8, &str, &[u8], (u32, u32)) = match &e.kind {
            Kind::File(d) => (b'0', "", d, (0, 0)),
            Kind::Dir => (b'5', "", &[], (0, 0)),
            Kind::Symlink(t) => (b'2', t, &[], (0, 0)),
            Kind::Hardlink(t) => (b'1', t, &[], (0, 0)),
            Kind::Fifo => (b'6', "", &[], (0, 0)),
            Kind::Char(a, b) => (b'3', "", &[], (*a, *b)),
            Kind::Block(a, b) => (b'4', "", &[], (*a, *b)),
        };
        let mut pax = Vec::new();
        if e.path.len() >= 100 || !e.path.is_ascii() {
            pax.extend(pax_record("path", e.path.as_bytes()));
        }
        if link.len() >= 100 || !link.is_ascii() {
            pax.extend(pax_record("linkpath", link.as_bytes()));
        }
        if e.uid > 0o7777777 || e.gid > 0o7777777 {
            pax.extend(pax_record("uid", e.uid.to_string().as_bytes()));
            pax.extend(pax_record("gid", e.gid.to_string().as_bytes()));
        }
        for (k, v) in &e.xattrs {
            pax.extend(pax_record(&format!("SCHILY.xattr.{k}"), v));
        }
        if let Some(s) = e.pax_size {
            pax.extend(pax_record("size", s.to_string().as_bytes()));
        }
        if !pax.is_empty() {
            let pe = Entry::new("PaxHeader", Kind::File(Vec::new()));
            self.header(b"././@PaxHeader", b"", b'x', &pe, pax.len() as u64, (0, 0));
            self.data(&pax);
        }
        let mut name = e.path.clone().into_bytes();
        if matches!(e.kind, Kind::Dir) && !name.ends_with(b"/") && name.len() < 99 {
            name.push(b'/');
        }
        self.header(&name, link.as_bytes(), typeflag, e, data.len() as u64, dev);
        self.data(data);
    }

    /// Raw bytes appended as they are (for hand-made broken streams).
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend(std::iter::repeat_n(0u8, 1024));
        self.buf
    }
}
