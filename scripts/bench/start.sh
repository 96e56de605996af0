#!/bin/bash
# Container start latency: median wall time and peak RSS of `bocker run --rm IMG true`,
# with `--network none` and with the default bridge networking (on a bridge of the
# benchmark's own), beside crun and runc running the same busybox rootfs as an OCI bundle (own network
# namespace, no bridge), podman/docker when they are installed and answer (DOCKER_HOST
# is honoured; podman with a config and storage of the benchmark's own, see
# ../shared/PEERS.md; the same rootfs is imported into each), and the kernel floor.
# Usage: sudo scripts/bench/start.sh [runs] [rounds]   (defaults 30 and 5). The runs of
# each command are spread over `rounds` passes through the whole list (runs/rounds each),
# so a burst of load on a shared machine lands on every row instead of on one; the
# medians are over all of a command's runs. The tables on stdout paste into
# docs/BENCHMARKS.md as they are.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-30}
ROUNDS=${2:-5}
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
[ "$(id -u)" = 0 ] || { echo "start.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "start.sh: apt-get install hyperfine" >&2; exit 1; }

cargo build --release -p bocker-run -p bocker-store -p bocker-net -p bocker-image >&2
BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/bocker-bench.XXXXXX)
export BOCKER_ROOT=$WORK/root BOCKER_CGROUP_PARENT=bocker-bench-$$
# A bridge and subnet of the benchmark's own (never the user's bridge0 / 10.0.0.0/24).
export BOCKER_BRIDGE=bkbench$$ BOCKER_SUBNET=10.250.$(( $$ % 250 )).0/24
cleanup() {
    "$BIN/bocker-net" teardown --force >/dev/null 2>&1 || true
    mountpoint -q "$WORK/memroot" && umount "$WORK/memroot"
    for d in /sys/fs/cgroup/*/"$BOCKER_CGROUP_PARENT" /sys/fs/cgroup/"$BOCKER_CGROUP_PARENT"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    for p in "${PEERS[@]}"; do $p rmi "bocker-bench-start-$$" >/dev/null 2>&1 || true; done
    # Never `podman system reset`: podman 4.3 removes more than its own storage
    # (podman#18349, #18287); on this host /dev/null was found replaced by a plain file
    # after runs that used it. Remove what the benchmark made, then unmount its storage.
    if [ -d "$WORK/podman" ]; then
        $PODMAN rm -af >/dev/null 2>&1 || true
        $PODMAN rmi -af >/dev/null 2>&1 || true
        findmnt -rn -o TARGET | grep "^$WORK/podman" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    fi
    rm -rf --one-file-system "$WORK"
}
PODMAN="podman --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp"
export CONTAINERS_CONF=$PWD/scripts/bench/containers.conf
PEERS=()
trap cleanup EXIT

# A busybox rootfs, imported as an image and laid out as an OCI bundle.
ROOTFS=$WORK/bundle/rootfs
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$ROOTFS/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOTFS/etc/passwd"
echo 'root:x:0:' > "$ROOTFS/etc/group"
IMG=$("$BIN/bocker-init" "$ROOTFS" | sed 's/^Created: //')
# The same on a store kept in memory: separates the runtime's cost from the disk's
# (the store fsyncs each record write; crun and runc write nothing durable).
mkdir "$WORK/memroot" && mount -t tmpfs -o mode=0700 tmpfs "$WORK/memroot"
MEMIMG=$(BOCKER_ROOT=$WORK/memroot "$BIN/bocker-init" "$ROOTFS" | sed 's/^Created: //')
(cd "$WORK/bundle" && crun spec)
# The bundle: not a terminal, run `true`, read-write like bocker's container layer.
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"]["readonly"] = False
json.dump(c, open(p, "w"))
PY

CMDS=(
    "unshare -fmuipn --mount-proc true"
    "$BIN/bocker-run --rm --network none $IMG true"
    "$BIN/bocker-run --rm $IMG true"
    "env BOCKER_ROOT=$WORK/memroot $BIN/bocker-run --rm --network none $MEMIMG true"
    "env BOCKER_ROOT=$WORK/memroot $BIN/bocker-run --rm $MEMIMG true"
    "crun run -b $WORK/bundle bench-crun-$$"
    "runc run -b $WORK/bundle bench-runc-$$"
)
for p in docker "$PODMAN"; do
    command -v ${p%% *} >/dev/null && $p info >/dev/null 2>&1 || continue
    tar -C "$ROOTFS" -c . | $p import - "bocker-bench-start-$$" >/dev/null || continue
    PEERS+=("$p")
    CMDS+=("$p run --rm --network none bocker-bench-start-$$ true")
    # Podman's default network makes a host bridge and iptables chains that outlive the
    # run (CNI): only docker's daemon, which owns its network, gets the bridged row.
    [ "$p" = docker ] && CMDS+=("$p run --rm bocker-bench-start-$$ true")
done

HEAD_LINE="$(date -u +%FT%TZ), $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) before the run, $(( PER_ROUND * ROUNDS )) runs each in $ROUNDS rounds, commit $(git rev-parse --short HEAD 2>/dev/null)"
echo "# $HEAD_LINE" >&2
# crun refuses a "hybrid" host (v1 controllers plus a cgroup2 mount with a controller,
# as here): every command runs in a private mount namespace without that cgroup2 mount.
HYBRID=/sys/fs/cgroup/unified
for round in $(seq "$ROUNDS"); do
    unshare -m --propagation private bash -c '
        if [ -n "$(cat "$0/cgroup.controllers" 2>/dev/null)" ]; then umount "$0"; fi
        shift; exec hyperfine -N --warmup 2 --runs "$@"' "$HYBRID" _ "$PER_ROUND" \
        --export-json "$WORK/results-$round.json" "${CMDS[@]}" >&2
done
echo "\`sudo scripts/bench/start.sh $RUNS $ROUNDS\`: $HEAD_LINE"
echo
python3 - "$WORK" "$BIN" "$ROUNDS" <<'PY'
import json, statistics, sys
work, bin_dir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = {}
for i in range(1, rounds + 1):
    for r in json.load(open(f"{work}/results-{i}.json"))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
print("| Command | Median [ms] | Mean [ms] | Min [ms] | Max [ms] |")
print("|:---|---:|---:|---:|---:|")
for command, ts in times.items():
    t = [x * 1000 for x in ts]
    cmd = command.replace(bin_dir, "$BIN").replace(work, "$WORK").replace(" --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp", "")
    print(f"| `{cmd}` | {statistics.median(t):.1f} | {statistics.mean(t):.1f} | {min(t):.1f} | {max(t):.1f} |")
PY
echo
echo "| Command | Peak RSS (KiB, max of 5 runs) |"
echo "|:---|---:|"
for c in "${CMDS[@]}"; do
    max=0
    for _ in 1 2 3 4 5; do
        r=$(unshare -m --propagation private bash -c '
            if [ -n "$(cat "$0/cgroup.controllers" 2>/dev/null)" ]; then umount "$0"; fi
            /usr/bin/time -f %M $1 2>&1 >/dev/null | tail -1' "$HYBRID" "$c")
        [ "$r" -gt "$max" ] && max=$r
    done
    c=${c//" --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp"/}
    c=${c//$BIN/\$BIN}
    echo "| \`${c//$WORK/\$WORK}\` | $max |"
done
echo
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
