#!/bin/bash
# A private containerd for scripts that drive OCI runtimes through it (sourced by
# scripts/containerd-smoke.sh and scripts/bench/ctr.sh; never run on its own).
#
#   NAME=… CRUN_NS=0|1 source scripts/containerd-env.sh
#
# Starts Debian's containerd with its own root, state, socket and config under a temp dir
# ($work; never the system's) and PATH=$work/bin:$PATH (so a `runc` the caller puts
# there is the shim's default runtime), a registry on 127.0.0.1 (scripts/registry.sh) holding the
# busybox test image (scripts/busybox-image.sh), and pulls it as $img over plain HTTP.
# CRUN_NS=1: crun refuses the host's hybrid cgroup layout, so containerd itself (its
# shims, the rootfs mounts and every runtime it runs) lives in a private mount namespace
# without /sys/fs/cgroup/unified (/work/shared/PEERS.md); the namespace and its mounts
# die with containerd and the unmount of its nsfs file.
# Sets: work, sock, ctr (the ctr command array), cg (a cgroup parent for tasks), img,
# cpid; say/fail. Everything is removed on exit, also on failure: tasks, containers,
# containerd (by pid), its shims, mounts under $work, processes left in $cg and the
# cgroups, the registry, $work.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "$NAME: run as root" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

need=()
for p in containerd docker-registry skopeo umoci busybox-static curl bsdutils util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d "/tmp/$NAME.XXXXXX")
sock=$work/containerd.sock
ns=$NAME
cg=/$NAME-$$ # cgroup parent of every task; removed at exit
ctr=(ctr --address "$sock" --namespace "$ns")
cpid=
# containerd 1.6's shims put their sockets in /run/containerd/s, a fixed path; every other
# path (runc root, fifos) is under $work. Dirs this run creates there are removed at exit.
made_run_dirs=()
for d in /run/containerd /run/containerd/s; do [ -e "$d" ] || made_run_dirs=("$d" "${made_run_dirs[@]}"); done

say() { echo "$NAME: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
    local rc=$?
    set +e
    if [ "$rc" != 0 ] && [ -f "$work/calls.log" ]; then
        say "last runtime calls:"; tail -5 "$work/calls.log" >&2
    fi
    if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
        for t in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
            "${ctr[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1
            "${ctr[@]}" tasks delete -f "$t" >/dev/null 2>&1
        done
        for c in $("${ctr[@]}" containers ls -q 2>/dev/null); do
            "${ctr[@]}" containers delete "$c" >/dev/null 2>&1
        done
        kill "$cpid"
        for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$cpid" 2>/dev/null
    fi
    # Shims started by this containerd name its socket on their command line.
    for p in $(pgrep -f -- "-address $sock" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    # Mounts under the temp dir (snapshots, task rootfs, crun's namespace), deepest first.
    awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
    # A container process the runtime under test left behind lives in $cg: kill it.
    for d in /sys/fs/cgroup/*"$cg" /sys/fs/cgroup/*/*"$cg"; do
        [ -d "$d" ] || continue
        for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    sleep 0.2
    for d in /sys/fs/cgroup/*"$cg" /sys/fs/cgroup/*/*"$cg"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    "$repo/scripts/registry.sh" stop "$work/registry" 2>/dev/null
    for d in "${made_run_dirs[@]}"; do rmdir "$d" 2>/dev/null; done
    if awk -v w="$work/" 'index($2, w) == 1 {found = 1} END {exit !found}' /proc/self/mounts; then
        say "mounts remain under $work; not removing it" # never rm -rf across a mount
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

launch=()
if [ "${CRUN_NS:-0}" = 1 ] && mountpoint -q /sys/fs/cgroup/unified; then
    mkdir -p "$work/ns"
    mount --bind "$work/ns" "$work/ns"
    mount --make-private "$work/ns"
    touch "$work/ns/mnt"
    unshare --mount="$work/ns/mnt" --propagation slave umount /sys/fs/cgroup/unified
    launch=(nsenter --mount="$work/ns/mnt")
fi

mkdir -p "$work/root" "$work/state" "$work/opt" "$work/bin"
cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$work/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/opt"
TOML
# nsenter execs containerd: $! is containerd's pid either way.
PATH="$work/bin:$PATH" "${launch[@]}" containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
cpid=$!
for _ in $(seq 100); do "${ctr[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${ctr[@]}" version >/dev/null 2>&1 || { tail -20 "$work/containerd.log" >&2; fail "containerd did not start"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=$("$repo/scripts/registry.sh" start "$work/registry" "$port")
img=$reg/$NAME/busybox:latest
"$repo/scripts/busybox-image.sh" "$img" >/dev/null
"${ctr[@]}" images pull --plain-http "$img" >/dev/null || fail "pull of $img"
say "containerd pid $cpid, image $img"

