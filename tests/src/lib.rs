//! Test harness shared by the end-to-end tests: the built binaries, a private store
//! root per test (overlay on the host filesystem, or btrfs on a loop file), busybox
//! root filesystems, and cleanup that runs even when a test fails.
//!
//! Every `TestRoot` has its own `BOCKER_ROOT`, cgroup parent, bridge name and subnet,
//! so tests run in parallel without touching each other or `/var/bocker`.

pub mod dockerd;
pub mod net;
pub mod pull;
pub mod rootfs;
pub mod run;
pub mod runtime;
pub mod subnet;
pub mod testroot;

use std::path::PathBuf;

pub use rootfs::busybox_rootfs;
pub use testroot::{Driver, TestRoot};

/// Directory holding the built `bocker*` binaries: `BOCKER_BIN_DIR`, or the cargo
/// target directory this test executable was built into.
pub fn bin_dir() -> PathBuf {
    let dir = target_dir().expect("test executable path");
    assert!(
        dir.join("bocker").exists(),
        "bocker binaries not built in {}: run `cargo build --workspace --bins` first",
        dir.display()
    );
    dir
}

/// `BOCKER_BIN_DIR`, or target/<profile> of this test executable; no checks.
fn target_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("BOCKER_BIN_DIR") {
        return Some(PathBuf::from(d));
    }
    // target/<profile>/deps/<test>-<hash> -> target/<profile>
    Some(
        std::env::current_exe()
            .ok()?
            .parent()?
            .parent()?
            .to_path_buf(),
    )
}

/// `bocker-<verb>` if it was built; never panics (for use in Drop).
pub fn try_bin(verb: &str) -> Option<PathBuf> {
    Some(target_dir()?.join(format!("bocker-{verb}"))).filter(|p| p.exists())
}

/// Path of binary `bocker-<verb>` (or `bocker` for an empty verb).
pub fn bin(verb: &str) -> PathBuf {
    if verb.is_empty() {
        bin_dir().join("bocker")
    } else {
        bin_dir().join(format!("bocker-{verb}"))
    }
}

/// A short random lowercase hex string.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    let f = std::fs::File::open("/dev/urandom").expect("urandom");
    std::io::Read::read_exact(&mut &f, &mut b).expect("urandom read");
    b.iter().map(|x| format!("{x:02x}")).collect::<String>()[..n].to_string()
}
