#!/bin/bash
# Density: extra memory per detached container, bocker beside docker and podman in the
# same run. Starts N (default 50) detached `sleep 600` containers of the same busybox
# rootfs per engine (--network none) and measures what each container adds besides its
# own `sleep` (the same for every engine): the PSS (/proc/<pid>/smaps_rollup) of the
# per-container process that is the container's parent (bocker: its supervisor; docker:
# containerd-shim-runc-v2; podman: conmon), plus the PSS growth of the engine's daemons
# (docker: dockerd + containerd; bocker and podman have none). Then `rm -f` of all.
#
# Peers run when they answer: docker through DOCKER_HOST (start a private dockerd, see
# ../shared/PEERS.md), podman when installed (run here with CONTAINERS_CONF set to
# scripts/bench/containers.conf, and a --root/--runroot of its own: the host's podman storage
# is never touched). Usage: sudo scripts/bench/density.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
[ "$(id -u)" = 0 ] || { echo "density.sh: run as root" >&2; exit 1; }
cargo build --release -p bocker-run -p bocker-store -p bocker-net -p bocker-image >&2
BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/bocker-density.XXXXXX)
export BOCKER_ROOT=$WORK/root BOCKER_CGROUP_PARENT=bocker-density-$$
export BOCKER_BRIDGE=bkdens$$ BOCKER_SUBNET=10.251.$(( $$ % 250 )).0/24
IDS=()
PODMAN=(podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --tmpdir "$WORK/podman/tmp")
export CONTAINERS_CONF=$PWD/scripts/bench/containers.conf
PEERS=()
cleanup() {
    set +e
    [ ${#IDS[@]} -gt 0 ] && "$BIN/bocker-rm" -f "${IDS[@]}" >/dev/null 2>&1
    for p in "${PEERS[@]}"; do
        if [ "$p" = podman ]; then P=("${PODMAN[@]}"); else P=(docker); fi
        "${P[@]}" ps -aq --filter "label=bocker-density=$$" | xargs -r "${P[@]}" rm -f >/dev/null 2>&1
        "${P[@]}" rmi "bocker-density-$$" >/dev/null 2>&1
    done
    # Never `podman system reset`: podman 4.3 removes more than its own storage
    # (podman#18349, #18287); on this host /dev/null was found replaced by a plain file
    # after runs that used it. Remove what the benchmark made, then unmount its storage.
    if [ -d "$WORK/podman" ]; then
        "${PODMAN[@]}" rm -af >/dev/null 2>&1 || true
        "${PODMAN[@]}" rmi -af >/dev/null 2>&1 || true
        findmnt -rn -o TARGET | grep "^$WORK/podman" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    fi
    for d in /sys/fs/cgroup/*/"$BOCKER_CGROUP_PARENT" /sys/fs/cgroup/"$BOCKER_CGROUP_PARENT"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$ROOTFS/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"; done
IMG=$("$BIN/bocker-init" "$ROOTFS" | sed 's/^Created: //')

pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
ppid() { awk '{print $4}' "/proc/$1/stat"; }
# KiB of PSS summed over the given pids.
pss_sum() { local s=0 p; for p in "$@"; do s=$((s + $(pss "$p"))); done; echo "$s"; }
# PSS of the per-container parents of the container pids given on stdin (one a line).
parents_pss() {
    local s=0 pid
    while read -r pid; do s=$((s + $(pss "$(ppid "$pid")"))); done
    echo "$s"
}
# The dockerd serving DOCKER_HOST (others may run on the host) and its containerd.
docker_daemons() {
    local sock=${DOCKER_HOST:-unix:///var/run/docker.sock} d
    sock=${sock#unix://}
    for d in $(pgrep -x dockerd); do
        if tr '\0' ' ' < "/proc/$d/cmdline" | grep -q -- "$sock" \
            || { [ "$sock" = /var/run/docker.sock ] && ! tr '\0' ' ' < "/proc/$d/cmdline" | grep -q -- ' -H'; }; then
            echo "$d" $(pgrep -x containerd -P "$d")
            return
        fi
    done
}
report() { # engine, parents KiB, daemon growth KiB
    local total=$(( $2 + $3 ))
    printf '| %s | %d | %d | %d | %.2f |\n' "$1" $(( $2 / N )) $(( $3 / N )) $(( total / N )) \
        "$(echo "$total / $N / 1024" | bc -l)"
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $N containers each" >&2
echo "| Engine | per-container process PSS (KiB each) | daemon growth (KiB each) | total (KiB each) | total (MiB each) |"
echo "|:---|---:|---:|---:|---:|"

for _ in $(seq "$N"); do
    IDS+=("$("$BIN/bocker-run" -d --network none "$IMG" sleep 600)")
done
sleep 1
report bocker "$(for id in "${IDS[@]}"; do
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"]["pid"])' \
        "$BOCKER_ROOT/containers/$id/container.json"
done | parents_pss)" 0
"$BIN/bocker-rm" -f "${IDS[@]}" >/dev/null
IDS=()

for p in docker podman; do
    if [ "$p" = podman ]; then P=("${PODMAN[@]}"); else P=(docker); fi
    command -v "$p" >/dev/null && "${P[@]}" info >/dev/null 2>&1 || continue
    PEERS+=("$p")
    tar -C "$ROOTFS" -c . | "${P[@]}" import - "bocker-density-$$" >/dev/null
    daemons=()
    [ "$p" = docker ] && daemons=($(docker_daemons))
    before=$(pss_sum "${daemons[@]}")
    for _ in $(seq "$N"); do
        "${P[@]}" run -d --label "bocker-density=$$" --network none "bocker-density-$$" sleep 600 >/dev/null
    done
    sleep 1
    after=$(pss_sum "${daemons[@]}")
    label=$p
    [ "$p" = docker ] && label="docker (shim; dockerd + containerd growth)"
    [ "$p" = podman ] && label="podman (conmon)"
    report "$label" "$("${P[@]}" ps -q --filter "label=bocker-density=$$" \
        | xargs "${P[@]}" inspect -f '{{.State.Pid}}' | parents_pss)" $(( after - before ))
    "${P[@]}" ps -aq --filter "label=bocker-density=$$" | xargs -r "${P[@]}" rm -f >/dev/null 2>&1
done
