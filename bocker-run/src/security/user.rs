//! `-u`/`User` resolution by parsing the image's /etc/passwd and /etc/group in Rust.
//! The image's own libraries (NSS) are never loaded (CVE-2019-14271 class).
//!
//! Rules of Docker 20.10 (runc's `user.GetExecUser`, moby's `getUser`): the supplementary
//! groups are the primary group followed by every group listing the user by name (none
//! of those when a group is given explicitly); every id, from `-u`, the image's `User`,
//! its passwd or its group file, must be in 0..=2147483647, else the start is refused
//! (`(uid_t)-1` would mean "leave unchanged" to setresuid: root).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
    /// runc's `user.ErrRange`, word for word.
    #[error("uids and gids must be in range 0-{MAX_ID}")]
    Range,
}

/// The largest uid or gid Docker accepts (runc: `1<<31 - 1`).
pub const MAX_ID: i64 = (1 << 31) - 1;

/// An id from a file or a flag: a number within 0..=[`MAX_ID`].
fn in_range(id: i64) -> Result<u32, UserError> {
    match u32::try_from(id) {
        Ok(v) if id <= MAX_ID => Ok(v),
        _ => Err(UserError::Range),
    }
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: i64,
    gid: i64,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 6 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// (name, gid, members) of each well-formed line of a group file.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, i64, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 || line.starts_with('#') {
            return None;
        }
        let members = f.get(3).map_or(Vec::new(), |m| {
            m.split(',').filter(|s| !s.is_empty()).collect()
        });
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolve a Docker user spec (`name`, `uid`, `name:group`, `uid:gid`, empty = root)
/// against the contents of the image's passwd and group files (empty when absent).
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<ExecUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let numeric = user_part.parse::<i64>().ok();
    let entry = passwd_entries(passwd).find(|e| match numeric {
        Some(n) => e.uid == n,
        None => e.name == user_part,
    });
    let (uid, mut gid, home, name) = match (&entry, numeric) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) => return Err(UserError::NoUser(user_part.to_string())),
    };
    let mut member_of = Vec::new();
    match group_part {
        Some(g) if !g.is_empty() => {
            let numeric = g.parse::<i64>().ok();
            gid = match group_entries(group).find(|(n, id, _)| match numeric {
                Some(want) => *id == want,
                None => *n == g,
            }) {
                Some((_, id, _)) => id,
                None => numeric.ok_or_else(|| UserError::NoGroup(g.to_string()))?,
            };
        }
        _ => {
            if let Some(name) = name {
                member_of = group_entries(group)
                    .filter(|(_, _, members)| members.contains(&name))
                    .map(|(_, id, _)| id)
                    .collect();
            }
        }
    }
    let gid = in_range(gid)?;
    let mut groups = vec![gid];
    for id in member_of {
        groups.push(in_range(id)?);
    }
    Ok(ExecUser {
        uid: in_range(uid)?,
        gid,
        groups,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\nalice:x:1000:100:A:/home/alice:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nusers:x:100:\nwheel:x:10:alice,bob\naudio:x:29:bob\n";

    #[test]
    fn resolves_names_ids_and_groups() {
        let a = resolve("alice", PASSWD, GROUP).unwrap();
        assert_eq!(
            a,
            ExecUser {
                uid: 1000,
                gid: 100,
                groups: vec![100, 10],
                home: "/home/alice".into()
            }
        );
        assert_eq!(resolve("", PASSWD, GROUP).unwrap().home, "/root");
        let n = resolve("4242:7", PASSWD, GROUP).unwrap();
        assert_eq!((n.uid, n.gid, n.home.as_str()), (4242, 7, "/"));
        assert_eq!(resolve("1000:wheel", PASSWD, GROUP).unwrap().gid, 10);
        assert_eq!(
            resolve("nobody", PASSWD, GROUP),
            Err(UserError::NoUser("nobody".into()))
        );
        assert_eq!(
            resolve("alice:nogroup", PASSWD, GROUP),
            Err(UserError::NoGroup("nogroup".into()))
        );
        // Docker 20.10: the primary group is a supplementary group too.
        assert_eq!(resolve("", PASSWD, GROUP).unwrap().groups, vec![0]);
        assert_eq!(
            resolve("1000:wheel", PASSWD, GROUP).unwrap().groups,
            vec![10]
        );
    }

    #[test]
    fn ids_out_of_range_are_refused_never_root() {
        for spec in ["4294967295", "1000:4294967295", "-1", "0:-1", "2147483648"] {
            assert_eq!(
                resolve(spec, PASSWD, GROUP),
                Err(UserError::Range),
                "{spec}"
            );
        }
        assert_eq!(
            resolve("2147483647", PASSWD, GROUP).unwrap().uid,
            2147483647
        );
        let passwd = "evil:x:4294967295:0::/:/bin/sh\nbadgid:x:5:4294967295::/:/bin/sh\n";
        assert_eq!(resolve("evil", passwd, ""), Err(UserError::Range));
        assert_eq!(resolve("badgid", passwd, ""), Err(UserError::Range));
        let group = "neg:x:-1:alice\n";
        assert_eq!(resolve("alice", PASSWD, group), Err(UserError::Range));
    }
}
