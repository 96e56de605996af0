//! Docker's verbs, so that one bocker has not built yet is answered with "not implemented
//! yet" rather than unknown, or a "did you mean 'pull'" for `kill` (issue 13).
//!
//! From `docker --help` of docker CLI 28.2.2 (engine package 20.10), 2026-11-29, plus
//! the plugins people type daily (`compose`, `buildx`).

const DOCKER_VERBS: &[&str] = &[
    "attach",
    "build",
    "builder",
    "buildx",
    "checkpoint",
    "commit",
    "compose",
    "config",
    "container",
    "context",
    "cp",
    "create",
    "diff",
    "events",
    "exec",
    "export",
    "history",
    "image",
    "images",
    "import",
    "info",
    "inspect",
    "kill",
    "load",
    "login",
    "logout",
    "logs",
    "manifest",
    "network",
    "node",
    "pause",
    "plugin",
    "port",
    "ps",
    "pull",
    "push",
    "rename",
    "restart",
    "rm",
    "rmi",
    "run",
    "save",
    "search",
    "secret",
    "service",
    "stack",
    "start",
    "stats",
    "stop",
    "swarm",
    "system",
    "tag",
    "top",
    "trust",
    "unpause",
    "update",
    "version",
    "volume",
    "wait",
];

/// Whether `verb` is one of Docker's top-level commands.
pub fn is_docker_verb(verb: &str) -> bool {
    DOCKER_VERBS.contains(&verb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_verbs_are_known() {
        assert!(is_docker_verb("build"));
        assert!(is_docker_verb("kill"));
        assert!(!is_docker_verb("imagse"));
    }
}
