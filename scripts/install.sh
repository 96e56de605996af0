#!/bin/bash
# Install bocker on a Debian 12 machine (as root) and run the demo:
# packages, a release build, the binaries into /usr/local/bin, then scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/install.sh: run as root" >&2; exit 1; }
scripts/deps.sh
cargo build --release --workspace --bins
prefix=${PREFIX:-/usr/local}
for b in target/release/bocker target/release/bocker-*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    install -m 0755 "$b" "$prefix/bin/"
done
# Man pages and shell completions, generated from the verbs' own clap definitions.
mandir="$prefix/share/man/man1"
mkdir -p "$mandir"
for b in "$prefix"/bin/bocker-*; do
    verb=${b##*/bocker-}
    "$b" --bocker-man >"$mandir/bocker-$verb.1" 2>/dev/null || rm -f "$mandir/bocker-$verb.1"
done
for shell_dir in "bash:/usr/share/bash-completion/completions/bocker" \
        "zsh:$prefix/share/zsh/site-functions/_bocker" \
        "fish:/usr/share/fish/vendor_completions.d/bocker.fish"; do
    shell=${shell_dir%%:*} file=${shell_dir#*:}
    mkdir -p "$(dirname "$file")"
    "$prefix/bin/bocker" completion "$shell" >"$file"
done
echo "installed: $(ls "$prefix"/bin/bocker* | xargs -n1 basename | tr '\n' ' ')"
echo "man pages: man bocker-run (and every verb); completions: bash, zsh, fish"
exec scripts/demo.sh
