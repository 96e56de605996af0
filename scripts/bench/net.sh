#!/usr/bin/env bash
# What bridge networking adds to a container start: attach + release through
# the bocker-net library (what `bocker run` pays) next to creating a network
# namespace alone. Uses its own bridge and subnet, never bridge0.
#
#   scripts/bench/net.sh [ITERATIONS]        (as root)
#
# Env: BENCH_BRIDGE (bkbench0), BENCH_SUBNET (10.254.0.0/24), PAUSE_MS (0: back
# to back, so the kernel is still destroying the previous namespaces; 100: a
# steady trickle of starts).
set -euo pipefail
cd "$(dirname "$0")/../.."

n=${1:-200}
bridge=${BENCH_BRIDGE:-bkbench0}
subnet=${BENCH_SUBNET:-10.254.0.0/24}
root=$(mktemp -d /tmp/bocker-net-bench.XXXXXX)
trap 'rm -rf "$root"' EXIT

cargo build --quiet --release -p bocker-net --example attach_bench
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
for pause in ${PAUSE_MS:-0 100}; do
    echo "## PAUSE_MS=$pause, $n rounds"
    PAUSE_MS=$pause BOCKER_ROOT=$root target/release/examples/attach_bench "$n" "$bridge" "$subnet"
done
