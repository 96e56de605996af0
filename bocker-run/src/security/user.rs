//! `-u`/`User` resolution by parsing the image's /etc/passwd and /etc/group in Rust.
//! The image's own libraries (NSS) are never loaded (CVE-2019-14271 class).

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
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
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
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
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
    let entry =
        passwd_entries(passwd).find(|e| e.name == user_part || e.uid.to_string() == user_part);
    let (uid, mut gid, home, name) = match (&entry, user_part.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        (None, Ok(uid)) => (uid, 0, "/".to_string(), None),
        (None, Err(_)) => return Err(UserError::NoUser(user_part.to_string())),
    };
    let mut groups = Vec::new();
    match group_part {
        Some(g) if !g.is_empty() => {
            gid = match group_entries(group).find(|(n, id, _)| *n == g || id.to_string() == g) {
                Some((_, id, _)) => id,
                None => g.parse().map_err(|_| UserError::NoGroup(g.to_string()))?,
            };
        }
        _ => {
            if let Some(name) = name {
                groups = group_entries(group)
                    .filter(|(_, id, members)| *id != gid && members.contains(&name))
                    .map(|(_, id, _)| id)
                    .collect();
            }
        }
    }
    Ok(ExecUser {
        uid,
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
                groups: vec![10],
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
    }
}
