#!/bin/bash
# Density: extra memory per detached container. Starts N (default 50) `bocker run -d IMG
# sleep 600` containers on a store of the benchmark's own (--network none) and sums, over
# their supervisors, RSS and PSS (smaps_rollup); the containers' own `sleep` is the same
# for every engine and not counted. Then `rm -f` of all. Usage: sudo scripts/bench/density.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
[ "$(id -u)" = 0 ] || { echo "density.sh: run as root" >&2; exit 1; }
cargo build --release -p bocker-run -p bocker-store -p bocker-net >&2
BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/bocker-density.XXXXXX)
export BOCKER_ROOT=$WORK/root BOCKER_CGROUP_PARENT=bocker-density-$$
export BOCKER_BRIDGE=bkdens$$ BOCKER_SUBNET=10.251.$(( $$ % 250 )).0/24
IDS=()
cleanup() {
    [ ${#IDS[@]} -gt 0 ] && "$BIN/bocker-rm" -f "${IDS[@]}" >/dev/null 2>&1 || true
    for d in /sys/fs/cgroup/*/"$BOCKER_CGROUP_PARENT" /sys/fs/cgroup/"$BOCKER_CGROUP_PARENT"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$ROOTFS/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"; done
IMG=$("$BIN/bocker-init" "$ROOTFS" | sed 's/^Created: //')
for _ in $(seq "$N"); do
    IDS+=("$("$BIN/bocker-run" -d --network none "$IMG" sleep 600)")
done
sleep 1
rss=0 pss=0
for id in "${IDS[@]}"; do
    pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["supervisor_pid"])' "$BOCKER_ROOT/live/$id")
    read -r r p < <(awk '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print r, p}' "/proc/$pid/smaps_rollup")
    rss=$((rss + r)) pss=$((pss + p))
done
echo "bocker: $N detached sleep containers, supervisors: RSS $((rss / N)) KiB, PSS $((pss / N)) KiB each"
