//! v2 device policy. cgroup2 has no devices.allow file: the kernel asks an
//! eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the group,
//! which returns 1 (allow) or 0 (deny) for each (type, major, minor, access).
//! This compiles the default rules into such a program (deny unless a rule
//! matches, like runc's device filter), loads it with bpf(2) and attaches it
//! to the group's directory. The attachment lives as long as the group.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::device_rules::DeviceRule;
use crate::error::{CgroupError, Result};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

// Values in struct bpf_cgroup_dev_ctx: access_type = access << 16 | type.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

// Opcodes used (see the kernel's Documentation/bpf/instruction-set).
const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const ALU32_AND_K: u8 = 0x54; // dst &= imm
const ALU32_RSH_K: u8 = 0x74; // dst >>= imm
const ALU32_MOV_K: u8 = 0xb4; // dst = imm
const ALU32_MOV_X: u8 = 0xbc; // dst = src
const JMP_JNE_K: u8 = 0x55; // if dst != imm goto +off
const JMP_JNE_X: u8 = 0x5d; // if dst != src goto +off
const JMP_EXIT: u8 = 0x95;

/// One eBPF instruction, laid out as the kernel's struct bpf_insn.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    regs: u8, // dst in the low nibble, src in the high nibble
    off: i16,
    imm: i32,
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// Compiles allow rules into a program: r2 = type, r3 = access, r4 = major,
/// r5 = minor; each rule is a block that falls through to the next rule on
/// any mismatch and returns 1 on a full match; the end returns 0.
pub(crate) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules {
        // Jumps carry a placeholder offset, patched to "end of block".
        let mut block = Vec::new();
        let kind = if rule.kind == 'b' {
            DEV_BLOCK
        } else {
            DEV_CHAR
        };
        block.push(insn(JMP_JNE_K, 2, 0, -1, kind));
        let mask = rule.access.chars().fold(0, |m, c| {
            m | match c {
                'm' => ACC_MKNOD,
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                _ => 0,
            }
        });
        if mask != ACC_MKNOD | ACC_READ | ACC_WRITE {
            // Every requested access bit must be in the rule's mask.
            block.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
            block.push(insn(ALU32_AND_K, 1, 0, 0, mask));
            block.push(insn(JMP_JNE_X, 1, 3, -1, 0));
        }
        if let Some(major) = rule.major {
            block.push(insn(JMP_JNE_K, 4, 0, -1, major as i32));
        }
        if let Some(minor) = rule.minor {
            block.push(insn(JMP_JNE_K, 5, 0, -1, minor as i32));
        }
        block.push(insn(ALU32_MOV_K, 0, 0, 0, 1));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.off == -1 {
                // Blocks are a handful of instructions: always fits in i16.
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU32_MOV_K, 0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

/// True when `dir` is on a cgroup2 file system (not, say, a test tree).
pub(crate) fn is_cgroup2(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    bocker_sys::sys::fs_type(&c).is_ok_and(|t| t == CGROUP2_SUPER_MAGIC)
}

/// bpf_attr as a zeroed, 8-byte aligned buffer we fill by offset.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }
    fn u64(&mut self, at: usize, v: u64) {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
    }
    fn call(&self, cmd: libc::c_long, what: &'static str, dir: &Path) -> Result<libc::c_long> {
        // The buffer is at least as large as the fields the kernel reads for this
        // command; the tail is zero.
        crate::sys::bpf(cmd, &self.0).map_err(|e| CgroupError::io(what, dir, e))
    }
}

/// Loads the program for `rules` and attaches it to the cgroup2 group `dir`.
pub(crate) fn attach(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let prog = program(rules);
    let license = c"Apache-2.0";
    let mut load = Attr::new();
    load.u32(0, BPF_PROG_TYPE_CGROUP_DEVICE); // prog_type
    load.u32(4, prog.len() as u32); // insn_cnt
    load.u64(8, prog.as_ptr() as u64); // insns
    load.u64(16, license.as_ptr() as u64); // license
    let fd = load.call(BPF_PROG_LOAD, "load device eBPF program for", dir)?;
    // SAFETY: bpf(BPF_PROG_LOAD) returned a fresh fd that nothing else owns.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };

    let group = std::fs::File::open(dir).map_err(|e| CgroupError::io("open", dir, e))?;
    let mut att = Attr::new();
    att.u32(0, group.as_raw_fd() as u32); // target_fd
    att.u32(4, prog_fd.as_raw_fd() as u32); // attach_bpf_fd
    att.u32(8, BPF_CGROUP_DEVICE); // attach_type
    att.u32(12, BPF_F_ALLOW_MULTI); // attach_flags
    att.call(BPF_PROG_ATTACH, "attach device eBPF program to", dir)?;
    // The cgroup now holds the program; our fds can close.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_rules::DEFAULT_DEVICE_RULES;

    #[test]
    fn jumps_land_on_the_next_rule_and_program_ends_in_deny() {
        let p = program(DEFAULT_DEVICE_RULES);
        // Prologue (6) + default deny (2) + at least 3 per rule.
        assert!(p.len() > 6 + 2 + 3 * DEFAULT_DEVICE_RULES.len());
        assert_eq!(p[p.len() - 2], insn(ALU32_MOV_K, 0, 0, 0, 0));
        assert_eq!(p[p.len() - 1].code, JMP_EXIT);
        for (i, ins) in p.iter().enumerate() {
            if ins.code == JMP_JNE_K || ins.code == JMP_JNE_X {
                let target = i + 1 + ins.off as usize;
                // Every mismatch jumps to the start of a rule block or the
                // final deny: the instruction after an EXIT.
                assert_eq!(p[target - 1].code, JMP_EXIT, "jump at {i}");
            }
        }
        // The first rule (c *:* m) checks type 2 and access mask 1 only.
        assert_eq!(p[6], insn(JMP_JNE_K, 2, 0, 5, DEV_CHAR));
        assert_eq!(p[8], insn(ALU32_AND_K, 1, 0, 0, ACC_MKNOD));
    }
}
