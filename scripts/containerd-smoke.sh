#!/bin/bash
# containerd drives an OCI runtime through runc's command line: a smoke test.
#
#   scripts/containerd-smoke.sh RUNTIME_BINARY       # as root; e.g. runc, crun, bocker-runtime
#
# Starts Debian's containerd with its own root, state, socket and config under a temp dir
# (never the system's), a registry on 127.0.0.1 (scripts/registry.sh) holding the busybox
# test image (scripts/busybox-image.sh), pulls the image over plain HTTP, then runs the
# checks below twice through the runc v2 shim (`io.containerd.runc.v2`), once per way a
# runtime is named to it:
#   1. `--runc-binary RUNTIME_BINARY`: the shim's `options.BinaryName` (ctr 1.6 sets
#      BinaryName only from --runc-binary; --runtime-config-path is read for other
#      runtimes only, see its getRuntimeOptions);
#   2. `--runtime io.containerd.runc.v2` and no options: the shim runs `runc` from its
#      PATH, where containerd was started with RUNTIME_BINARY as `runc` first (a drop-in).
# The runtime's --root and the fifos are under the temp dir too (--runc-root, --fifo-dir):
#   ctr run --rm … echo hi                       output asserted
#   ctr run -d …; ctr task exec; ctr task ps; ctr task pause, resume; ctr task kill;
#   ctr task delete
#   ctr run -t --rm … (under `script`, a real pty: the shim's --console-socket)
# RUNTIME_BINARY is called through a wrapper that logs its arguments, and the log must
# show create, start, exec, pause, resume, kill and delete: the runtime under test really ran. crun runs
# with containerd in a private mount namespace without /sys/fs/cgroup/unified (see
# /work/shared/PEERS.md).
# Everything is removed on exit, also on failure: tasks, containers, containerd (by pid),
# its shims, mounts under the temp dir, the cgroups, the registry, the temp dir.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "containerd-smoke: run as root" >&2; exit 1; }
bin=${1:?usage: $0 RUNTIME_BINARY}
bin=$(command -v "$bin") && bin=$(realpath "$bin") || { echo "containerd-smoke: runtime not found: $1" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)

need=()
for p in containerd docker-registry skopeo umoci busybox-static curl bsdutils util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/containerd-smoke.XXXXXX)
tag=smoke$$
sock=$work/containerd.sock
ns=smoke
cg=/containerd-smoke-$$ # cgroup parent of every task; removed at exit
ctr=(ctr --address "$sock" --namespace "$ns")
cpid=
# containerd 1.6's shims put their sockets in /run/containerd/s, a fixed path; every other
# path (runc root, fifos) is under $work. Dirs this run creates there are removed at exit.
made_run_dirs=()
for d in /run/containerd /run/containerd/s; do [ -e "$d" ] || made_run_dirs=("$d" "${made_run_dirs[@]}"); done

say() { echo "containerd-smoke: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
    local rc=$?
    set +e
    if [ "$rc" != 0 ] && [ -f "$work/calls.log" ]; then
        say "last runtime calls:"; tail -5 "$work/calls.log" >&2
        [ -f "$work/runtime.log" ] && { say "runtime log:"; tail -5 "$work/runtime.log" >&2; }
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

# The runtime under test, behind a wrapper that logs every call. crun refuses the host's
# hybrid cgroup layout: then containerd itself (so its shims, the rootfs mounts and crun)
# runs in a private mount namespace without /sys/fs/cgroup/unified; the namespace and all
# its mounts die with containerd and the unmount of its nsfs file.
wrapper=$work/runtime
launch=()
if [ "$(basename "$bin")" = crun ] && mountpoint -q /sys/fs/cgroup/unified; then
    mkdir -p "$work/ns"
    mount --bind "$work/ns" "$work/ns"
    mount --make-private "$work/ns"
    touch "$work/ns/mnt"
    unshare --mount="$work/ns/mnt" --propagation slave umount /sys/fs/cgroup/unified
    launch=(nsenter --mount="$work/ns/mnt")
fi
printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$work/calls.log" "$bin" >"$wrapper"
chmod +x "$wrapper"
mkdir -p "$work/bin"
ln -s "$wrapper" "$work/bin/runc" # pass 2: the runtime as `runc` on containerd's PATH

mkdir -p "$work/root" "$work/state" "$work/opt"
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
img=$reg/smoke/busybox:latest
"$repo/scripts/busybox-image.sh" "$img" >/dev/null
"${ctr[@]}" images pull --plain-http "$img" >/dev/null || fail "pull of $img"
say "containerd pid $cpid, image $img, runtime $bin"

# One pass of the checks with extra ctr-run flags ($@) selecting the runtime.
pass() {
    local label=$1 id out pid
    shift
    set -- --runc-root "$work/runc-root" --fifo-dir "$work/fifo" "$@"
    id=$tag-$label
    out=$("${ctr[@]}" run --rm --cgroup "$cg/$id-echo" "$@" "$img" "$id-echo" echo hi)
    [ "$out" = hi ] || fail "$label: run --rm echo hi printed '$out'"
    say "$label: run --rm echo hi: ok"

    "${ctr[@]}" run -d --cgroup "$cg/$id-d" "$@" "$img" "$id-d" sleep 1000 >/dev/null
    out=$("${ctr[@]}" tasks exec --fifo-dir "$work/fifo" --exec-id e1 "$id-d" sh -c 'echo exec-hi $$')
    [ "${out%% *}" = exec-hi ] || fail "$label: task exec printed '$out'"
    say "$label: task exec: ok"
    pid=$("${ctr[@]}" tasks ls | awk -v id="$id-d" '$1 == id {print $2}')
    [ -n "$pid" ] || fail "$label: task ls shows no pid for $id-d"
    "${ctr[@]}" tasks ps "$id-d" | awk 'NR > 1 {print $1}' | grep -qx "$pid" \
        || fail "$label: task ps does not list the init pid $pid"
    say "$label: task ps: ok"
    "${ctr[@]}" tasks pause "$id-d"
    "${ctr[@]}" tasks ls | awk -v id="$id-d" '$1 == id {print $3}' | grep -qx PAUSED \
        || fail "$label: task not PAUSED after pause"
    "${ctr[@]}" tasks resume "$id-d"
    "${ctr[@]}" tasks ls | awk -v id="$id-d" '$1 == id {print $3}' | grep -qx RUNNING \
        || fail "$label: task not RUNNING after resume"
    say "$label: task pause, task resume: ok"
    "${ctr[@]}" tasks kill -s SIGKILL "$id-d" # sleep as pid 1 ignores SIGTERM
    for _ in $(seq 100); do
        "${ctr[@]}" tasks ls | awk -v id="$id-d" '$1 == id {print $3}' | grep -qx STOPPED && break
        sleep 0.1
    done
    "${ctr[@]}" tasks ls | awk -v id="$id-d" '$1 == id {print $3}' | grep -qx STOPPED \
        || fail "$label: task not STOPPED after kill"
    "${ctr[@]}" tasks delete "$id-d" >/dev/null 2>&1
    "${ctr[@]}" containers delete "$id-d"
    "${ctr[@]}" tasks ls -q | grep -qx "$id-d" && fail "$label: task still listed after delete"
    say "$label: task kill, task delete: ok"

    # script's stdin is a fifo we hold open: no EOF reaches the pty before ctr exits.
    [ -p "$work/stdin" ] || mkfifo "$work/stdin"
    exec 3<>"$work/stdin"
    out=$(script -qec "$(printf '%q ' "${ctr[@]}" run -t --rm --cgroup "$cg/$id-t" "$@" "$img" "$id-t" sh -c 'tty; echo tty-ok')" /dev/null <"$work/stdin" | tr -d '\r\000')
    exec 3>&-
    grep -q '/dev/pts/[0-9]' <<<"$out" || fail "$label: run -t: no pty in '$out'"
    grep -q '^tty-ok$' <<<"$out" || fail "$label: run -t printed '$out'"
    say "$label: run -t: ok"
}

pass runc-binary --runc-binary "$wrapper"
before=$(wc -l <"$work/calls.log")
pass runc-v2 --runtime io.containerd.runc.v2
[ "$(wc -l <"$work/calls.log")" -gt "$before" ] || fail "runc-v2: the runtime was not called as runc"

for verb in create start exec pause resume kill delete; do
    grep -qw -- "$verb" "$work/calls.log" || fail "the runtime was never called with '$verb'"
done
grep -q -- '--console-socket' "$work/calls.log" || fail "the runtime never got --console-socket"
say "PASS with $bin ($(wc -l <"$work/calls.log") runtime calls)"
