#!/bin/bash
# The whole test suite, as CI runs it: packages, lint, build, then every test as root
# against the real kernel (namespaces, cgroups, btrfs loop files, overlayfs, a registry
# on 127.0.0.1). Each test uses its own store root, cgroup parent, bridge and subnet.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/test.sh: run as root (the tests use namespaces, mounts and cgroups)" >&2; exit 1; }
scripts/deps.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo build --workspace --bins
cargo test --workspace
