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
echo "installed: $(ls "$prefix"/bin/bocker* | xargs -n1 basename | tr '\n' ' ')"
exec scripts/demo.sh
