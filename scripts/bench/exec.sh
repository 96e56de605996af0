#!/bin/bash
# `exec` latency: median wall time of `bocker exec CTR true` into a running busybox
# `sleep` container, beside `nsenter -a` into the same process (the kernel floor:
# setns + fork + exec, no cgroup, no privileges dropped) and `docker exec`/`podman exec`
# when they answer (DOCKER_HOST is honoured; podman runs with CONTAINERS_CONF set to
# scripts/bench/containers.conf and a --root/--runroot of its own, see ../shared/PEERS.md):
# the same rootfs is imported into each as an image of the benchmark's own, removed
# again at the end.
# Usage: sudo scripts/bench/exec.sh [runs]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-50}
[ "$(id -u)" = 0 ] || { echo "exec.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "exec.sh: apt-get install hyperfine" >&2; exit 1; }

cargo build --release -p bocker-run -p bocker-store -p bocker-exec -p bocker-image >&2
BIN=$PWD/target/release
WORK=$(mktemp -d /tmp/bocker-bench.XXXXXX)
export BOCKER_ROOT=$WORK/root BOCKER_CGROUP_PARENT=bocker-bench-$$
RUN_PID=
PEERS=()
PODMAN="podman --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp"
export CONTAINERS_CONF=$PWD/scripts/bench/containers.conf
cleanup() {
    set +e
    # rm -f ends the container (its PID 1 ignores SIGTERM); the foreground run then exits.
    "$BIN/bocker-rm" -f bench >/dev/null 2>&1
    if [ -n "$RUN_PID" ]; then
        kill -KILL "$RUN_PID" 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    for p in "${PEERS[@]}"; do
        $p rm -f "bench-exec-$$" >/dev/null 2>&1 || true
        $p rmi "bocker-bench-exec-$$" >/dev/null 2>&1 || true
    done
    # Never `podman system reset`: podman 4.3 removes more than its own storage
    # (podman#18349, #18287); on this host /dev/null was found replaced by a plain file
    # after runs that used it. Remove what the benchmark made, then unmount its storage.
    if [ -d "$WORK/podman" ]; then
        $PODMAN rm -af >/dev/null 2>&1 || true
        $PODMAN rmi -af >/dev/null 2>&1 || true
        findmnt -rn -o TARGET | grep "^$WORK/podman" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    fi
    for d in /sys/fs/cgroup/*/"$BOCKER_CGROUP_PARENT" /sys/fs/cgroup/"$BOCKER_CGROUP_PARENT"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$ROOTFS/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOTFS/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOTFS/etc/passwd"
echo 'root:x:0:' > "$ROOTFS/etc/group"
IMG=$("$BIN/bocker-init" "$ROOTFS" | sed 's/^Created: //')

# The container: a foreground run in the background, until it shows as running.
"$BIN/bocker-run" --name bench --network none "$IMG" sleep 3600 >/dev/null 2>&1 &
RUN_PID=$!
for _ in $(seq 200); do
    "$BIN/bocker-ps" | grep -q 'running' && break
    sleep 0.05
done
PID=$("$BIN/bocker-inspect" bench | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[0]["State"]["Pid"])')

CMDS=(
    "nsenter -t $PID -a true"
    "$BIN/bocker-exec bench true"
)
for p in docker "$PODMAN"; do
    command -v ${p%% *} >/dev/null && $p info >/dev/null 2>&1 || continue
    PEERS+=("$p")
    tar -C "$ROOTFS" -c . | $p import - "bocker-bench-exec-$$" >/dev/null
    $p run -d --name "bench-exec-$$" --network none "bocker-bench-exec-$$" sleep 3600 >/dev/null
    CMDS+=("$p exec bench-exec-$$ true")
done

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each" >&2
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/results.json" "${CMDS[@]}" >&2
python3 - "$WORK/results.json" "$WORK" "$BIN" <<'PY'
import json, statistics, sys
work, bin_dir = sys.argv[2], sys.argv[3]
print("| Command | Median [ms] | Mean [ms] | Min [ms] | Max [ms] |")
print("|:---|---:|---:|---:|---:|")
for r in json.load(open(sys.argv[1]))["results"]:
    t = [x * 1000 for x in r["times"]]
    cmd = r["command"].replace(bin_dir, "$BIN").replace(work, "$WORK").replace(" --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp", "")
    print(f"| `{cmd}` | {statistics.median(t):.1f} | {statistics.mean(t):.1f} | {min(t):.1f} | {max(t):.1f} |")
PY
