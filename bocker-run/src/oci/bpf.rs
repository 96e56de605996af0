//! A small assembler for classic-BPF seccomp programs (`oci::seccomp` writes every filter
//! with it, a spec's profile and the built-in default): instructions whose jumps name
//! labels, resolved into kernel `sock_filter`s, and the 64-bit argument comparisons a
//! 32-bit BPF machine makes of two halves (high word first), with libseccomp's operators
//! and unsigned semantics.
//!
//! Shapes: `struct seccomp_data` (linux/seccomp.h) is `nr: u32` at 0, `arch: u32` at 4,
//! `instruction_pointer: u64` at 8, `args: [u64; 6]` at 16, little-endian on the
//! architectures bocker builds for (x86_64, aarch64).

use libc::sock_filter;

/// A program as the kernel takes it (`struct sock_filter` instructions).
pub type Program = Vec<sock_filter>;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const ALU_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// `seccomp_data` offsets.
pub const NR: u32 = 0;
pub const ARCH: u32 = 4;
const ARGS: u32 = 16;

/// The kernel's limit on a program's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// A jump target; `None` where one is taken means the next instruction.
pub type Label = usize;

enum Item {
    Stmt(u16, u32),
    Jump(u16, u32, Option<Label>, Option<Label>),
    Ja(Label),
    Mark(Label),
}

/// An argument comparison, as libseccomp's `SCMP_CMP_*` (unsigned, 64 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Le(u64),
    Gt(u64),
    Ge(u64),
    /// `(arg & mask) == value`.
    MaskedEq {
        mask: u64,
        value: u64,
    },
}

/// A program being written; [`Asm::assemble`] gives the instructions.
#[derive(Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: usize,
}

fn halves(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

impl Asm {
    /// A fresh label, to be [`Asm::mark`]ed once, after every jump to it.
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        self.labels - 1
    }

    /// `label` is the next instruction.
    pub fn mark(&mut self, label: Label) {
        self.items.push(Item::Mark(label));
    }

    /// A = the 32-bit word at `offset` of `seccomp_data`.
    pub fn load(&mut self, offset: u32) {
        self.items.push(Item::Stmt(LD_W_ABS, offset));
    }

    /// Return `value` (a `SECCOMP_RET_*` action with its data).
    pub fn ret(&mut self, value: u32) {
        self.items.push(Item::Stmt(RET_K, value));
    }

    /// If A == k go to `t`, else to `f`.
    pub fn jeq(&mut self, k: u32, t: Option<Label>, f: Option<Label>) {
        self.items.push(Item::Jump(JEQ, k, t, f));
    }

    /// If A >= k go to `t`, else to `f`.
    pub fn jge(&mut self, k: u32, t: Option<Label>, f: Option<Label>) {
        self.items.push(Item::Jump(JGE, k, t, f));
    }

    /// Go to `to` (a 32-bit offset: any distance).
    pub fn ja(&mut self, to: Label) {
        self.items.push(Item::Ja(to));
    }

    /// Fall through when argument `index` (0..6) compares true, else go to `fail`.
    /// Clobbers A.
    pub fn arg(&mut self, index: u32, cmp: Cmp, fail: Label) {
        let lo = ARGS + 8 * index;
        let hi = lo + 4;
        let pass = self.label();
        let (f, p) = (Some(fail), Some(pass));
        let j = |a: &mut Self, code, k, t, f| a.items.push(Item::Jump(code, k, t, f));
        match cmp {
            Cmp::Eq(v) | Cmp::MaskedEq { value: v, .. } => {
                let mask = match cmp {
                    Cmp::MaskedEq { mask, .. } => Some(halves(mask)),
                    _ => None,
                };
                let (vh, vl) = halves(v);
                for (off, want, m) in [(hi, vh, mask.map(|m| m.0)), (lo, vl, mask.map(|m| m.1))] {
                    self.load(off);
                    if let Some(m) = m {
                        self.items.push(Item::Stmt(ALU_AND_K, m));
                    }
                    j(self, JEQ, want, None, f);
                }
            }
            Cmp::Ne(v) => {
                let (vh, vl) = halves(v);
                self.load(hi);
                j(self, JEQ, vh, None, p);
                self.load(lo);
                j(self, JEQ, vl, f, None);
            }
            // hi > vh passes, hi < vh fails, else the low words decide.
            Cmp::Gt(v) | Cmp::Ge(v) => {
                let (vh, vl) = halves(v);
                self.load(hi);
                j(self, JGT, vh, p, None);
                j(self, JEQ, vh, None, f);
                self.load(lo);
                let code = if matches!(cmp, Cmp::Gt(_)) { JGT } else { JGE };
                j(self, code, vl, None, f);
            }
            // The negations of Ge and Gt.
            Cmp::Lt(v) | Cmp::Le(v) => {
                let (vh, vl) = halves(v);
                self.load(hi);
                j(self, JGT, vh, f, None);
                j(self, JEQ, vh, None, p);
                self.load(lo);
                let code = if matches!(cmp, Cmp::Lt(_)) { JGE } else { JGT };
                j(self, code, vl, f, None);
            }
        }
        self.mark(pass);
    }

    /// The instructions, jumps resolved. `Err`: a conditional jump longer than 255
    /// instructions, a backward jump, a label never marked, or more than [`MAX_INSNS`]
    /// instructions.
    pub fn assemble(self) -> Result<Program, String> {
        let mut at = vec![usize::MAX; self.labels];
        let mut n = 0;
        for it in &self.items {
            match it {
                Item::Mark(l) => at[*l] = n,
                _ => n += 1,
            }
        }
        if n > MAX_INSNS {
            return Err(format!(
                "the filter has {n} instructions, more than the kernel's {MAX_INSNS}"
            ));
        }
        let mut out = Vec::with_capacity(n);
        let off = |from: usize, to: Option<Label>| -> Result<usize, String> {
            let Some(l) = to else { return Ok(0) };
            match at[l] {
                usize::MAX => Err("a jump to a label never marked".to_string()),
                to => to
                    .checked_sub(from + 1)
                    .ok_or_else(|| "a jump goes backwards".to_string()),
            }
        };
        for it in self.items {
            let pc = out.len();
            let (code, jt, jf, k) = match it {
                Item::Mark(_) => continue,
                Item::Stmt(code, k) => (code, 0, 0, k),
                Item::Ja(l) => {
                    let k = u32::try_from(off(pc, Some(l))?).map_err(|_| "a jump is too long")?;
                    (JA, 0, 0, k)
                }
                Item::Jump(code, k, t, f) => {
                    let short = |o: usize| u8::try_from(o).map_err(|_| "a jump is too long");
                    (code, short(off(pc, t)?)?, short(off(pc, f)?)?, k)
                }
            };
            out.push(sock_filter { code, jt, jf, k });
        }
        Ok(out)
    }
}

/// Run `prog` on one `seccomp_data` as the kernel would: the returned action value.
#[cfg(test)]
pub fn eval(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let word = |off: u32| -> u32 {
        match off {
            NR => nr,
            ARCH => arch,
            o if (ARGS..ARGS + 48).contains(&o) && o.is_multiple_of(4) => {
                let a = args[((o - ARGS) / 8) as usize];
                if (o - ARGS).is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            o => panic!("load at {o}"),
        }
    };
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let i = &prog[pc];
        pc += 1;
        let taken = match i.code {
            LD_W_ABS => {
                a = word(i.k);
                continue;
            }
            ALU_AND_K => {
                a &= i.k;
                continue;
            }
            RET_K => return i.k,
            JA => {
                pc += i.k as usize;
                continue;
            }
            JEQ => a == i.k,
            JGT => a > i.k,
            JGE => a >= i.k,
            c => panic!("opcode {c:#x}"),
        };
        pc += usize::from(if taken { i.jt } else { i.jf });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 when argument 0 compares true, else 2.
    fn check(cmp: Cmp, arg: u64) -> bool {
        let mut a = Asm::default();
        let fail = a.label();
        a.arg(0, cmp, fail);
        a.ret(1);
        a.mark(fail);
        a.ret(2);
        eval(&a.assemble().unwrap(), 0, 0, [arg, 0, 0, 0, 0, 0]) == 1
    }

    #[test]
    fn comparisons_are_unsigned_64_bit() {
        let big = 0x1_0000_0005u64;
        let values = [0, 4, 5, 6, big - 1, big, big + 1, u64::MAX, 0x5_0000_0000];
        for v in values {
            for x in values {
                assert_eq!(check(Cmp::Eq(v), x), x == v, "{x} == {v}");
                assert_eq!(check(Cmp::Ne(v), x), x != v, "{x} != {v}");
                assert_eq!(check(Cmp::Lt(v), x), x < v, "{x} < {v}");
                assert_eq!(check(Cmp::Le(v), x), x <= v, "{x} <= {v}");
                assert_eq!(check(Cmp::Gt(v), x), x > v, "{x} > {v}");
                assert_eq!(check(Cmp::Ge(v), x), x >= v, "{x} >= {v}");
                let m = Cmp::MaskedEq { mask: v, value: 4 };
                assert_eq!(check(m, x), x & v == 4, "{x} & {v} == 4");
            }
        }
    }

    #[test]
    fn too_long_a_conditional_jump_is_refused() {
        let mut a = Asm::default();
        let far = a.label();
        a.jeq(0, Some(far), None);
        (0..300).for_each(|_| a.ret(0));
        a.mark(far);
        a.ret(1);
        assert!(a.assemble().is_err());
    }
}
