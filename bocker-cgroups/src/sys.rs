//! The one raw syscall of this crate that no other crate needs: `bpf(2)`, to load and
//! attach the v2 device program. Generic calls (kill, statfs) are bocker-sys's.

use std::io;

/// `bpf(cmd, attr, size)`: `attr` is a zero-padded `union bpf_attr` the command reads.
/// Returns the kernel's non-negative result (a new fd for `BPF_PROG_LOAD`).
pub(crate) fn bpf(cmd: libc::c_long, attr: &[u8]) -> io::Result<libc::c_long> {
    // SAFETY: `attr` outlives the call and its length is passed with it; the kernel
    // reads at most that many bytes. Pointers inside it (instructions, license) are the
    // caller's, alive for the call (see `devices::attach`).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    bocker_sys::sys::cvt_long(rc)
}
