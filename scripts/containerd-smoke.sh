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
#   ctr run -d …; ctr task exec (and -t: --console-socket); ctr task ps; ctr task pause, resume; ctr task kill;
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
tag=smoke$$
NAME=containerd-smoke
[ "$(basename "$bin")" = crun ] && CRUN_NS=1 || CRUN_NS=0
# shellcheck source=scripts/containerd-env.sh
source "$(dirname "$0")/containerd-env.sh"
say "runtime $bin"

# The runtime under test, behind a wrapper that logs every call; pass 2 finds it as
# `runc` on containerd's PATH ($work/bin).
wrapper=$work/runtime
printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$work/calls.log" "$bin" >"$wrapper"
chmod +x "$wrapper"
ln -s "$wrapper" "$work/bin/runc"

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
    [ -p "$work/stdin" ] || mkfifo "$work/stdin"
    exec 3<>"$work/stdin"
    out=$(script -qec "$(printf '%q ' "${ctr[@]}" tasks exec -t --fifo-dir "$work/fifo" --exec-id e2 "$id-d" sh -c 'tty; echo exec-tty-ok')" /dev/null <"$work/stdin" | tr -d '\r\000')
    exec 3>&-
    grep -q '/dev/pts/[0-9]' <<<"$out" || fail "$label: task exec -t: no pty in '$out'"
    grep -q '^exec-tty-ok$' <<<"$out" || fail "$label: task exec -t printed '$out'"
    say "$label: task exec -t: ok"
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
