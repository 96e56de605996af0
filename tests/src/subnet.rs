//! Test subnets reserved across processes: one file per /24 under
//! `/run/bocker-test-subnets`, created exclusively, so parallel test binaries never share
//! a bridge or a subnet (and never touch the user's bridge0 / 10.0.0.0/24).

use std::fs;
use std::path::PathBuf;

use crate::random_hex;

const SUBNET_DIR: &str = "/run/bocker-test-subnets";

/// A reserved `10.<x>.<y>.0/24`; the reservation ends when this is dropped.
pub struct Reservation {
    pub x: u32,
    pub y: u32,
    file: PathBuf,
}

impl Reservation {
    /// Reserves a /24 whose second octet is in `first..first + count`.
    /// `TestRoot` takes 10.100–10.199, the bocker-net tests 10.200–10.250.
    pub fn new(first: u32, count: u32) -> Reservation {
        fs::create_dir_all(SUBNET_DIR).expect("creating the subnet reservation dir");
        loop {
            let r = random_hex(4);
            let x = first + u32::from_str_radix(&r[..2], 16).expect("hex") % count;
            let y = u32::from_str_radix(&r[2..], 16).expect("hex");
            let file = PathBuf::from(SUBNET_DIR).join(format!("{x}.{y}"));
            if fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)
                .is_ok()
            {
                return Reservation { x, y, file };
            }
        }
    }

    /// The first three octets, e.g. `10.203.17`.
    pub fn prefix(&self) -> String {
        format!("10.{}.{}", self.x, self.y)
    }

    /// A bridge name unique to this reservation (`bkt<x>x<y>`, at most 10 characters).
    pub fn bridge(&self) -> String {
        format!("bkt{}x{}", self.x, self.y)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.file);
    }
}
