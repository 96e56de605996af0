//! Finding verbs: `bocker-*` executables in the exec dir, then on `PATH`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A verb found on the search path.
pub struct Verb {
    pub name: String,
    pub path: PathBuf,
}

/// A verb name is safe to glue onto `bocker-`: letters, digits, `-` and `_`.
pub fn is_verb_name(v: &str) -> bool {
    !v.is_empty()
        && !v.starts_with('-')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The directory of the running `bocker` (symlinks resolved), or `BOCKER_EXEC_PATH`.
pub fn exec_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BOCKER_EXEC_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

/// Directories searched, in order: the exec dir, then `PATH`.
pub fn search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = exec_dir().into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()));
    }
    dirs
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first `bocker-<verb>` on the search path.
pub fn find(dirs: &[PathBuf], verb: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| d.join(format!("bocker-{verb}")))
        .find(|p| is_executable(p))
}

/// Every verb on the search path (first occurrence wins), sorted by name.
pub fn list(dirs: &[PathBuf]) -> Vec<Verb> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            let file = e.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_prefix("bocker-")) else {
                continue;
            };
            if is_verb_name(name) && !found.contains_key(name) && is_executable(&e.path()) {
                found.insert(name.to_string(), e.path());
            }
        }
    }
    found
        .into_iter()
        .map(|(name, path)| Verb { name, path })
        .collect()
}

/// One line of help per verb: the first line of `bocker-<verb> --help`, asked of all
/// verbs at once; a verb that does not answer within a second gets an empty line.
pub fn summaries(verbs: &[Verb]) -> Vec<String> {
    let children: Vec<_> = verbs
        .iter()
        .map(|v| {
            Command::new(&v.path)
                .arg("--help")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(1);
    children
        .into_iter()
        .map(|c| {
            let Some(mut c) = c else { return String::new() };
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            if c.try_wait().ok().flatten().is_none() {
                // Our own child: end it and reap it.
                let _ = c.kill();
                let _ = c.wait();
                return String::new();
            }
            let mut text = String::new();
            if let Some(mut out) = c.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut out, &mut text);
            }
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verb_names_cannot_escape_the_prefix() {
        assert!(is_verb_name("run"));
        assert!(is_verb_name("my-plugin_2"));
        assert!(!is_verb_name("../../bin/sh"));
        assert!(!is_verb_name("a/b"));
        assert!(!is_verb_name("-x"));
        assert!(!is_verb_name(""));
    }
}
