#!/usr/bin/env bash
# What bridge networking adds to a container start: attach + release through
# the bocker-net library (what `bocker run` pays) next to creating a network
# namespace alone. Uses its own bridge and subnet, never bridge0.
#
#   scripts/bench/net.sh [ITERATIONS]        (as root)
#   BENCH_AGAINST=/path/to/other/checkout scripts/bench/net.sh [ITERATIONS]
#       also builds that checkout's example (same target dir) and runs the two
#       alternately, base first, so a loaded machine loads both alike.
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

here=$PWD
this_rev=$(git rev-parse --short HEAD)
if [[ -n ${BENCH_AGAINST:-} ]]; then
    base_rev=$(git -C "$BENCH_AGAINST" rev-parse --short HEAD)
    (cd "$BENCH_AGAINST" && CARGO_TARGET_DIR=$here/target cargo build --quiet --release -p bocker-net --example attach_bench)
    cp target/release/examples/attach_bench "$root/attach_bench.base"
fi
cargo build --quiet --release -p bocker-net --example attach_bench
cp target/release/examples/attach_bench "$root/attach_bench.this"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
for pause in ${PAUSE_MS:-0 100}; do
    for which in ${BENCH_AGAINST:+base} this; do
        case $which in
            base) label=" [base $base_rev]" ;;
            this) label=" [this $this_rev]" ;;
        esac
        echo "## PAUSE_MS=$pause, $n rounds, load $(cut -d' ' -f1 /proc/loadavg)$label"
        mkdir -p "$root/$which"
        PAUSE_MS=$pause BOCKER_ROOT=$root/$which "$root/attach_bench.$which" "$n" "$bridge" "$subnet"
    done
done
