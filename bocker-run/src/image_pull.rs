//! `run`'s image before anything else: `--platform` checked against this host, then
//! `--pull missing|always|never` as Docker does it. A pull runs the `bocker-pull` verb as
//! a child process (bocker-run links no async runtime or TLS), its output on our stderr
//! so that `run`'s stdout stays the container's; a missing image is announced first with
//! Docker's `Unable to find image 'x:latest' locally`.

use crate::cli::image::{ImageArgs, PullPolicy};
use bocker_store::{Store, StoreError};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use thiserror::Error;

/// Why the image could not be made ready.
#[derive(Debug, Error)]
pub enum PullError {
    #[error("--platform {0}: this host runs {1} images only")]
    Platform(String, String),
    #[error("starting {0}: {1}")]
    Spawn(String, std::io::Error),
    /// bocker-pull said why on stderr already.
    #[error("pulling {0} failed")]
    Failed(String),
    #[error("{0}")]
    Policy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// This host's platform in Docker's words (`linux/amd64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("linux/{arch}")
}

/// `--platform`: `linux`, or this host's `os/arch[/variant]` (`x86_64`, `aarch64` as
/// aliases); anything else is refused before a pull.
pub fn check_platform(p: &str) -> Result<(), PullError> {
    let host = host_platform();
    let lower = p.to_lowercase();
    let mut parts = lower.split('/');
    let os = parts.next().unwrap_or_default();
    let arch = match parts.next() {
        Some("x86_64" | "x86-64") => Some("amd64"),
        Some("aarch64") => Some("arm64"),
        other => other,
    };
    let ok = os == "linux" && arch.is_none_or(|a| host.ends_with(&format!("/{a}")));
    if ok {
        Ok(())
    } else {
        Err(PullError::Platform(p.to_string(), host))
    }
}

/// Docker's way of naming a reference in `Unable to find image`: `:latest` added when it
/// has neither tag nor digest.
pub fn with_default_tag(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || reference.contains('@') {
        reference.to_string()
    } else {
        format!("{reference}:latest")
    }
}

/// Make `image` ready as `opts` says; returns once it is in the store (or why not).
pub fn ensure(store: &Store, image: &str, opts: &ImageArgs) -> Result<(), PullError> {
    if let Some(p) = &opts.platform {
        check_platform(p)?;
    }
    let policy = PullPolicy::parse(&opts.pull).map_err(PullError::Policy)?;
    match (policy, store.resolve_image(image)) {
        (PullPolicy::Always, _) => pull(image, opts),
        (_, Ok(_)) => Ok(()),
        (PullPolicy::Missing, Err(StoreError::NoSuchImage(_))) => {
            eprintln!("Unable to find image '{}' locally", with_default_tag(image));
            pull(image, opts)
        }
        (_, Err(e)) => Err(e.into()),
    }
}

/// The `bocker-pull` verb: in `BOCKER_EXEC_PATH`, else beside this executable, else on
/// `PATH` (the dispatcher's order).
fn pull_binary() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("bocker-pull")));
    std::env::var_os("BOCKER_EXEC_PATH")
        .map(|d| PathBuf::from(d).join("bocker-pull"))
        .into_iter()
        .chain(beside)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("bocker-pull"))
}

fn pull(image: &str, opts: &ImageArgs) -> Result<(), PullError> {
    let bin = pull_binary();
    let mut cmd = Command::new(&bin);
    cmd.arg(image);
    if opts.platform.is_some() {
        // Checked to be this host's already; spelled as the pull wants it (os/arch).
        cmd.args(["--platform", &host_platform()]);
    }
    // Its stdout (the final status line) goes to our stderr, as Docker's run prints it.
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| PullError::Spawn(bin.display().to_string(), e))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(stderr)
        .status()
        .map_err(|e| PullError::Spawn(bin.display().to_string(), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(PullError::Failed(image.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_and_tags() {
        assert!(check_platform(&host_platform()).is_ok());
        assert!(check_platform("linux").is_ok());
        assert!(check_platform("windows/amd64").is_err());
        assert!(check_platform("linux/s390x").is_err());
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(
            with_default_tag("127.0.0.1:5000/x"),
            "127.0.0.1:5000/x:latest"
        );
        assert_eq!(with_default_tag("x:1"), "x:1");
        assert_eq!(with_default_tag("x@sha256:ab"), "x@sha256:ab");
    }
}
