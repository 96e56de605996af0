//! Docker's default device policy, once, for both versions: deny every
//! device except these (v1 writes them to devices.allow, v2 compiles them
//! into an eBPF program).

/// One allow rule: device type, major/minor (`None` = any), access letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// `'c'` (character) or `'b'` (block).
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Any of `r` (read), `w` (write), `m` (mknod).
    pub access: &'static str,
}

const fn rule(
    kind: char,
    major: Option<u32>,
    minor: Option<u32>,
    access: &'static str,
) -> DeviceRule {
    DeviceRule {
        kind,
        major,
        minor,
        access,
    }
}

/// The same set as runc/Docker's defaults: mknod of any node (using it still
/// needs a rule below), the standard character devices, /dev/console, and
/// the pty devices. /dev/net/tun is not allowed (recent runc and Docker
/// dropped it from the defaults as well).
pub const DEFAULT_DEVICE_RULES: &[DeviceRule] = &[
    rule('c', None, None, "m"),         // mknod any character device
    rule('b', None, None, "m"),         // mknod any block device
    rule('c', Some(1), Some(3), "rwm"), // /dev/null
    rule('c', Some(1), Some(5), "rwm"), // /dev/zero
    rule('c', Some(1), Some(7), "rwm"), // /dev/full
    rule('c', Some(1), Some(8), "rwm"), // /dev/random
    rule('c', Some(1), Some(9), "rwm"), // /dev/urandom
    rule('c', Some(5), Some(0), "rwm"), // /dev/tty
    rule('c', Some(5), Some(1), "rwm"), // /dev/console
    rule('c', Some(5), Some(2), "rwm"), // /dev/ptmx
    rule('c', Some(136), None, "rwm"),  // /dev/pts/*
];

impl DeviceRule {
    /// The rule in v1 devices.allow / devices.list syntax, e.g. `c 136:* rwm`.
    pub fn to_v1(&self) -> String {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |v| v.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_syntax() {
        let v1: Vec<String> = DEFAULT_DEVICE_RULES.iter().map(DeviceRule::to_v1).collect();
        assert_eq!(v1[0], "c *:* m");
        assert!(v1.contains(&"c 1:3 rwm".to_string()));
        assert!(v1.contains(&"c 136:* rwm".to_string()));
    }
}
