//! The committed image's configuration and history, as `docker commit` makes them.
//!
//! Docker 20.10 commits the *container's* config: its image's config with what `run`
//! changed (the command, environment, working directory, user), then `--change` on
//! top. The new history entry names the container's command, `-a` and `-m`.

use bocker_store::{ContainerRecord, History, ImageConfig, ImageRecord};

/// The container's config: `image` (its image's config when that image still exists)
/// updated with the container's own command, environment, working directory and user.
pub fn of_container(ctr: &ContainerRecord, image: Option<&ImageConfig>) -> ImageConfig {
    let mut c = image.cloned().unwrap_or_default();
    // The command ran as entrypoint + cmd: keep the entrypoint when the command still
    // starts with it, and the rest is the Cmd (Docker keeps them apart; we recover it).
    let entry = c.entrypoint.clone().unwrap_or_default();
    if ctr.command.starts_with(&entry) {
        c.cmd = Some(ctr.command[entry.len()..].to_vec());
    } else {
        c.entrypoint = None;
        c.cmd = Some(ctr.command.clone());
    }
    if !ctr.config.env.is_empty() {
        // HOSTNAME is the container's own (Docker keeps it in Config.Hostname, not Env).
        c.env = ctr
            .config
            .env
            .iter()
            .filter(|e| !e.starts_with("HOSTNAME="))
            .cloned()
            .collect();
    }
    if !ctr.config.cwd.is_empty() && (ctr.config.cwd != "/" || c.working_dir.is_some()) {
        c.working_dir = Some(ctr.config.cwd.clone());
    }
    if ctr.config.user.is_some() {
        c.user.clone_from(&ctr.config.user);
    }
    c
}

/// The history of the committed image: its parent's, then one entry for this commit.
pub fn history(
    parent: Option<&ImageRecord>,
    ctr: &ContainerRecord,
    created: &str,
    author: Option<&str>,
    comment: Option<&str>,
) -> Vec<History> {
    let mut h = parent.map(|p| p.history.clone()).unwrap_or_default();
    h.push(History {
        created: created.to_string(),
        created_by: ctr.command.join(" "),
        author: author.map(str::to_string),
        comment: comment.map(str::to_string),
        empty_layer: false,
    });
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use bocker_store::{ContainerConfig, ContainerState};

    fn ctr(command: &[&str]) -> ContainerRecord {
        ContainerRecord {
            id: "ps_0123456789ab".into(),
            name: None,
            image: "img_0123456789ab".into(),
            image_ref: String::new(),
            command: command.iter().map(|s| s.to_string()).collect(),
            created: "2026-11-22T20:00:00Z".into(),
            driver: "overlay".into(),
            layers: vec![],
            rootfs: String::new(),
            config: ContainerConfig {
                env: vec!["PATH=/bin".into(), "HOSTNAME=abc".into(), "A=1".into()],
                cwd: "/".into(),
                ..ContainerConfig::default()
            },
            state: ContainerState::default(),
        }
    }

    #[test]
    fn the_container_command_becomes_the_cmd_after_the_entrypoint() {
        let img = ImageConfig {
            entrypoint: Some(vec!["/bin/app".into()]),
            cmd: Some(vec!["serve".into()]),
            ..ImageConfig::default()
        };
        let c = of_container(&ctr(&["/bin/app", "debug"]), Some(&img));
        assert_eq!(c.entrypoint, Some(vec!["/bin/app".into()]));
        assert_eq!(c.cmd, Some(vec!["debug".into()]));
        let c = of_container(&ctr(&["sh"]), Some(&img));
        assert_eq!(c.entrypoint, None, "--entrypoint replaced it");
        assert_eq!(c.cmd, Some(vec!["sh".into()]));
        assert_eq!(c.env, vec!["PATH=/bin".to_string(), "A=1".into()]);
        assert_eq!(c.working_dir, None, "/ is the default, not a WorkingDir");
    }
}
