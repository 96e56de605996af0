//! What `bocker completion` adds to clap_complete's scripts: container names and ids
//! for the verbs that take a container, image references and ids for those that take an
//! image, volume names for `volume rm|inspect`, in bash, zsh and fish alike. Each shell asks the user's own `bocker ps
//! --format '{{.Names}}'` / `bocker images --format '{{.Repository}}:{{.Tag}}'` (the
//! store that user sees, `BOCKER_ROOT` included) when it completes such an argument,
//! then falls back to clap's completion of verbs and flags.

/// Verbs whose arguments are containers.
pub const CONTAINER_VERBS: &str =
    "rm inspect logs exec commit stop kill wait pause unpause top stats start restart port attach";
/// Verbs whose (first) argument is an image.
pub const IMAGE_VERBS: &str = "rmi run create history tag save push";

/// The shell commands that print the candidates (one per line).
const CONTAINERS: &str = "bocker ps --format '{{.Names}}' 2>/dev/null; bocker ps -q 2>/dev/null";
const IMAGES: &str = "bocker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>'; bocker images -q 2>/dev/null";

/// Volume names, for `volume rm|inspect`.
const VOLUMES: &str = "bocker volume ls -q 2>/dev/null";

/// `script` (clap_complete's for `shell`) with the name completion added.
pub fn with_names(shell: &str, script: &str) -> String {
    match shell {
        "bash" => format!("{script}{}", bash()),
        "zsh" => zsh(script),
        "fish" => format!("{script}{}", fish()),
        _ => script.to_string(),
    }
}

fn bash() -> String {
    let (c, i) = (
        CONTAINER_VERBS.replace(' ', "|"),
        IMAGE_VERBS.replace(' ', "|"),
    );
    format!(
        r#"
# bocker: container names and image references, from `bocker ps` / `bocker images`.
_bocker_names() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} words=""
    if [[ $COMP_CWORD -ge 2 && $cur != -* ]]; then
        case ${{COMP_WORDS[1]}} in
            {c}) words="$({CONTAINERS})" ;;
            {i}) [[ $prev != -* || $COMP_CWORD -eq 2 ]] && words="$({IMAGES})" ;;
            volume) [[ $COMP_CWORD -ge 3 && ${{COMP_WORDS[2]}} =~ ^(rm|remove|inspect)$ ]] && words="$({VOLUMES})" ;;
        esac
    fi
    if [[ -n ${{words//[[:space:]]/}} ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        [[ ${{#COMPREPLY[@]}} -gt 0 ]] && return 0
    fi
    _bocker "$@"
}}
complete -F _bocker_names -o bashdefault -o default bocker
"#
    )
}

/// clap's main function becomes `_bocker_clap`; `_bocker` (what both the autoloaded
/// `_bocker` file and `compdef` call) offers names first.
fn zsh(script: &str) -> String {
    let (c, i) = (
        CONTAINER_VERBS.replace(' ', "|"),
        IMAGE_VERBS.replace(' ', "|"),
    );
    let wrapper = format!(
        r#"
# bocker: container names and image references, from `bocker ps` / `bocker images`.
_bocker() {{
    local -a names
    if (( CURRENT > 2 )) && [[ $words[CURRENT] != -* ]]; then
        case $words[2] in
            {c}) names=(${{(f)"$({CONTAINERS})"}}) ;;
            {i}) names=(${{(f)"$({IMAGES})"}}) ;;
            volume) (( CURRENT > 3 )) && [[ $words[3] == (rm|remove|inspect) ]] && names=(${{(f)"$({VOLUMES})"}}) ;;
        esac
    fi
    if (( ${{#names}} )) && compadd -a names; then
        return 0
    fi
    _bocker_clap "$@"
}}

"#
    );
    let renamed = script.replacen("\n_bocker() {", "\n_bocker_clap() {", 1);
    match renamed.find("if [ \"$funcstack[1]\" = \"_bocker\" ]") {
        Some(at) => format!("{}{wrapper}{}", &renamed[..at], &renamed[at..]),
        None => format!("{renamed}{wrapper}compdef _bocker bocker\n"),
    }
}

fn fish() -> String {
    format!(
        r#"
# bocker: container names and image references, from `bocker ps` / `bocker images`.
function __bocker_containers
    {c}
end
function __bocker_images
    {i}
end
complete -c bocker -n '__fish_seen_subcommand_from {cv}' -f -a '(__bocker_containers)'
complete -c bocker -n '__fish_seen_subcommand_from {iv}' -f -a '(__bocker_images)'
complete -c bocker -n '__fish_seen_subcommand_from volume; and __fish_seen_subcommand_from rm remove inspect' -f -a '({VOLUMES})'
"#,
        c = CONTAINERS.replace("; ", "\n    "),
        i = IMAGES
            .replace("; ", "\n    ")
            .replace("grep -v '<none>'", "string match -v '*<none>*'"),
        cv = CONTAINER_VERBS,
        iv = IMAGE_VERBS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_asks_bocker_for_names() {
        for shell in ["bash", "zsh", "fish"] {
            let s = with_names(shell, "_bocker() {\n}\n");
            assert!(s.contains("bocker ps --format '{{.Names}}'"), "{shell}");
            assert!(s.contains("bocker images --format"), "{shell}");
        }
        let z = with_names(
            "zsh",
            "#compdef bocker\n_bocker() {\n}\nif [ \"$funcstack[1]\" = \"_bocker\" ]; then\nfi\n",
        );
        assert!(z.contains("\n_bocker_clap() {"));
        assert!(z.find("_bocker_clap \"$@\"").unwrap() < z.find("if [ \"$funcstack").unwrap());
    }
}
