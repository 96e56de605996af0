//! `bocker exec` options (clap), spelled as Docker spells them.

use clap::Parser;

/// Run a command in a running container
#[derive(Debug, Parser)]
#[command(name = "bocker exec", version)]
pub struct Args {
    /// Keep stdin attached (a pipe, or the terminal with -t)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal inside the container
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Detached: start the command and return at once
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Set environment variables (KEY=VALUE, or KEY to copy ours)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read environment variables from a file (Docker's env-file format; before -e)
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Working directory inside the container (default: the container's)
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// User: name|uid[:group|gid], resolved from the container's /etc/passwd and /etc/group
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Give the command every capability (Docker's exec --privileged; the container's
    /// seccomp filter and no_new_privs still apply)
    #[arg(long)]
    pub privileged: bool,
    /// Container id, unique prefix or name
    pub container: String,
    /// Command and arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
