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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Judges beyond cargo's tests, each one counted as one test in the closing line.
judge() {
    local name=$1
    shift
    "$@" 2>&1 | tee -a "$log"
    if [ "${PIPESTATUS[0]}" = 0 ]; then
        echo "test result: ok. 1 passed; 0 failed ($name)" >>"$log"
    else
        echo "test result: FAILED. 0 passed; 1 failed ($name)" >>"$log"
        status=1
    fi
}
# The OCI runtime-tools validation suite against bocker-runtime: every program listed
# in tests/oci-validation.expected must still pass (about 3 minutes, 1.5 of it Go).
judge oci-validation scripts/oci-validation.sh --expect tests/oci-validation.expected target/debug/bocker-runtime
# containerd drives bocker-runtime as it drives runc (a few seconds; issue 14).
judge containerd-smoke scripts/containerd-smoke.sh target/debug/bocker-runtime
set -e
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
