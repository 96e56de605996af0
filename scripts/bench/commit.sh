#!/bin/bash
# Commit latency of a one-file change: median wall time of `bocker commit CTR` on a
# ~150 MB and a ~1 GB image, on both drivers (overlay on the host filesystem, btrfs on a
# loop file), beside a bare `btrfs subvolume snapshot -r` of the same container, and
# `docker commit` / `podman commit` of the same change when they are installed and
# running. Each bocker commit makes a new image (the default form).
#
#   sudo scripts/bench/commit.sh [runs]      (default 20; SIZES_MB="150 1024")
#
# Docker rows use whatever `docker info` reaches (set DOCKER_HOST to a dockerd of your
# own); when none answers and dockerd is installed, the script starts a private one
# (own data-root, exec-root, socket; --iptables=false --bridge=none) and stops it by pid.
# Podman rows (when podman is installed) use a private --root/--runroot under the
# script's scratch directory and CONTAINERS_CONF with the settings ../shared/PEERS.md
# gives for this machine (runc, cgroupfs, file events, ulimits root can set).
# Every commit writes its own image config, computing the new layer's diff id (an
# `init` image has a config since init writes one). "loaded" rows: the same image through
# `bocker save | bocker load` (its config from the archive). "init" rows: one run of
# `bocker init` of the tree (the copy plus hashing the new layer for its config).
#
# Target (issue 12): btrfs under 10 ms and flat as the image grows 7x; overlay
# proportional to the change, not to the image.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-20}
SIZES_MB=${SIZES_MB:-150 1024}
[ "$(id -u)" = 0 ] || { echo "commit.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "commit.sh: apt-get install hyperfine" >&2; exit 1; }

cargo build --release -p bocker-run -p bocker-commit >&2
cargo build --release --bin bocker-init --bin bocker-inspect --bin bocker-load --bin bocker-save \
    --bin bocker-tag >&2
BIN=$PWD/target/release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bocker-commit-bench.XXXXXX")
export BOCKER_CGROUP_PARENT=bocker-bench-$$
cleanup() {
    for d in "$WORK"/btrfs-*; do
        [ -d "$d" ] && scripts/btrfs-loop.sh remove "$d" >/dev/null 2>&1 || true
    done
    for d in /sys/fs/cgroup/*/"$BOCKER_CGROUP_PARENT" /sys/fs/cgroup/"$BOCKER_CGROUP_PARENT"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    if [ -n "${DOCKER_OK:-}" ]; then
        docker rm -f "bench-commit-$$" >/dev/null 2>&1 || true
    fi
    if [ -n "${DOCKERD_PID:-}" ]; then
        kill "$DOCKERD_PID" 2>/dev/null; wait "$DOCKERD_PID" 2>/dev/null
        umount -R "$WORK/docker" 2>/dev/null || true
    fi
    if [ -n "${PODMAN_OK:-}" ]; then
        podman rm -f "bench-commit-$$" >/dev/null 2>&1 || true
        umount -R "$WORK/podman" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1 && command -v dockerd >/dev/null; then
    mkdir -p "$WORK/docker"
    setsid dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" \
        --pidfile "$WORK/docker/pid" -H "unix://$WORK/docker/sock" \
        --iptables=false --bridge=none --containerd-namespace bocker-bench \
        >"$WORK/docker/log" 2>&1 </dev/null &
    DOCKERD_PID=$!
    export DOCKER_HOST=unix://$WORK/docker/sock
    for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
fi
if command -v podman >/dev/null; then
    mkdir -p "$WORK/podman"
    export CONTAINERS_CONF=$PWD/scripts/bench/containers.conf
    podman() { command podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" "$@"; }
fi

# A busybox rootfs padded with SIZE MB of incompressible files (1 MB each).
make_rootfs() {
    local dir=$1 mb=$2
    mkdir -p "$dir"/{bin,etc,proc,sys,dev,tmp,data}
    cp /bin/busybox "$dir/bin/"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
    echo 'root:x:0:' >"$dir/etc/group"
    for i in $(seq 1 "$mb"); do
        head -c 1048576 /dev/urandom >"$dir/data/f$i"
    done
}

median_ms() { # hyperfine JSON -> median in ms with one decimal
    python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}

bench() { # label, command…
    local label=$1; shift
    hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$WORK/h.json" "$*" >/dev/null 2>&1
    printf '| %-44s | %8s |\n' "$label" "$(median_ms "$WORK/h.json")"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs, median ms"
echo
echo "| commit of a one-file change | median ms |"
echo "|---|---:|"
for mb in $SIZES_MB; do
    src=$WORK/src-$mb
    make_rootfs "$src" "$mb"
    for driver in overlay btrfs; do
        root=$WORK/$driver-$mb
        if [ "$driver" = btrfs ]; then
            scripts/btrfs-loop.sh create "$root" "$(( mb * 3 + 1024 ))M" >/dev/null
        fi
        export BOCKER_ROOT=$root
        t0=$(date +%s%N)
        img=$("$BIN/bocker-init" -q "$src")
        t1=$(date +%s%N)
        printf '| %-44s | %8s |\n' "bocker init, $driver, $mb MB tree (1 run)" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')"
        "$BIN/bocker-run" --name c --network none "$img" sh -c 'echo changed >/etc/motd'
        bench "bocker commit, $driver, $mb MB image" "$BIN/bocker-commit" c
        # The same image with a config (save | load): the commit writes its own config.
        "$BIN/bocker-tag" "$img" bench/loaded:1
        "$BIN/bocker-save" bench/loaded:1 -o "$WORK/img.tar"
        "$BIN/bocker-load" -q -i "$WORK/img.tar"   # moves the tag to the loaded image
        rm -f "$WORK/img.tar"
        "$BIN/bocker-run" --name cl --network none bench/loaded:1 sh -c 'echo changed >/etc/motd'
        bench "bocker commit, $driver, $mb MB image, loaded" "$BIN/bocker-commit" cl
        if [ "$driver" = btrfs ]; then
            ctr=$("$BIN/bocker-inspect" c | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Bocker"]["rootfs"])')
            n=0
            # The command removes nothing: each run snapshots to a fresh name.
            cat >"$WORK/snap.sh" <<EOF
#!/bin/sh
n=\$(cat "$WORK/n" 2>/dev/null || echo 0); echo \$((n+1)) >"$WORK/n"
exec btrfs subvolume snapshot -r "$ctr" "$root/layers/bench-snap-\$n" >/dev/null
EOF
            chmod +x "$WORK/snap.sh"
            rm -f "$WORK/n"
            bench "bare btrfs snapshot -r, $mb MB image" "$WORK/snap.sh"
            for s in "$root"/layers/bench-snap-*; do btrfs subvolume delete "$s" >/dev/null; done
        fi
        unset BOCKER_ROOT
        if [ "$driver" = btrfs ]; then scripts/btrfs-loop.sh remove "$root" >/dev/null; fi
        rm -rf "$root"
    done
    if docker info >/dev/null 2>&1; then
        DOCKER_OK=1
        tar -C "$src" -c . | docker import - "bocker-bench-commit:$mb" >/dev/null
        docker run --name "bench-commit-$$" --network none "bocker-bench-commit:$mb" \
            sh -c 'echo changed >/etc/motd'
        bench "docker commit, $mb MB image" docker commit "bench-commit-$$"
        docker rm -f "bench-commit-$$" >/dev/null
        docker image prune -f >/dev/null
        docker rmi "bocker-bench-commit:$mb" >/dev/null 2>&1 || true
    fi
    if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
        PODMAN_OK=1
        tar -C "$src" -c . | podman import - "bocker-bench-commit:$mb" >/dev/null
        podman run --name "bench-commit-$$" --network none "bocker-bench-commit:$mb" \
            sh -c 'echo changed >/etc/motd'
        bench "podman commit, $mb MB image" podman --root "$WORK/podman/root" \
            --runroot "$WORK/podman/run" commit "bench-commit-$$"
        podman rm -f "bench-commit-$$" >/dev/null
        podman image prune -f >/dev/null
        podman rmi "bocker-bench-commit:$mb" >/dev/null 2>&1 || true
    fi
    rm -rf "$src"
done
