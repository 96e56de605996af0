#!/bin/bash
# Run the OCI runtime-tools validation suite (a judge from outside, never copied into
# bocker) against OCI runtimes and print one table: test -> one column per runtime.
#
#   scripts/oci-validation.sh [RUNTIME...]      # as root; RUNTIME is a name on PATH or a path
#   scripts/oci-validation.sh --expect FILE [RUNTIME]   # CI: bocker-runtime only
#
# --expect FILE (what scripts/test.sh runs): only the programs FILE lists (one a line,
# `#` comments), against bocker-runtime alone (or the one RUNTIME given); exits 1 naming
# every listed program that failed a point, errored or timed out, so a regression of a
# program that passed is caught. runc and crun are not needed then.
#
# Default runtimes: runc, crun, and bocker-runtime when it is built (target/release,
# target/debug, /usr/local/bin or PATH) and has a `create` command. Each cell is
# pass/fail/skip as counted from the program's TAP; `TIMEOUT` when a program ran past
# OCI_TIMEOUT seconds (default 60), `ERROR(N)` when it exited N without a failed test
# point (no plan, a crash), `ERROR` when it printed only a diagnostic (an "error" block).
# crun runs through nsenter into a private mount namespace
# without /sys/fs/cgroup/unified (docs: /work/shared/PEERS.md; crun refuses the hybrid
# layout); the host's mount is never touched. The suite's source, with vendored Go
# dependencies, is /work/shared/vendor/runtime-tools-260e151.tar.gz (OCI_SUITE overrides);
# it builds offline with Debian's golang-go. Env: OCI_TESTS="create state" runs a subset,
# OCI_KEEP=1 keeps the work dir, OCI_LOGS=DIR copies each program's TAP there.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "oci-validation: run as root" >&2; exit 1; }
expect=
if [ "${1:-}" = --expect ]; then
    expect=${2:?"oci-validation: --expect needs a file"}
    [ -f "$expect" ] || { echo "oci-validation: no such file: $expect" >&2; exit 1; }
    shift 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
suite=${OCI_SUITE:-/work/shared/vendor/runtime-tools-260e151.tar.gz}
timeout_s=${OCI_TIMEOUT:-60}
[ -f "$suite" ] || { echo "oci-validation: suite not found: $suite" >&2; exit 1; }

need=()
pkgs=(golang-go make perl util-linux coreutils tar)
[ -n "$expect" ] || pkgs+=(runc crun)
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/oci-validation.XXXXXX)
nsdir=$work/ns
touch "$work/.stamp"
wrappers=() names=()
reap() { # delete every container left in our runtimes' roots
    local w id
    for w in "${wrappers[@]}"; do
        "$w" list -q 2>/dev/null | while read -r id; do "$w" delete -f "$id" >/dev/null 2>&1 || true; done
    done
}
cleanup() {
    reap
    # The suite's cgroups ("/cgrouptest", "testdir/cgrouptest/container", relative to the
    # runtime's own cgroup) when a runtime left them: only those made during this run.
    find /sys/fs/cgroup -maxdepth 4 -type d \( -name testdir -o -name cgrouptest \) \
        -newer "$work/.stamp" -prune 2>/dev/null | while read -r d; do
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    # Mounts under the work dir, deepest first: crun's namespace (its nsfs file, then the
    # private bind mount) and any a container leaked into ours (the rootfs propagation
    # programs' bundles, in $work/tmp). Never rm -rf across a mount.
    awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    if awk -v w="$work/" 'index($2, w) == 1 {found = 1} END {exit !found}' /proc/self/mounts; then
        echo "oci-validation: mounts remain under $work; not removing it" >&2
    elif [ "${OCI_KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# bocker-runtime takes part only once it has the lifecycle (`create`): without it every
# test would fail for a reason the table already knows.
find_bocker() {
    local c
    for c in "$repo/target/release/bocker-runtime" "$repo/target/debug/bocker-runtime" \
        /usr/local/bin/bocker-runtime "$(command -v bocker-runtime 2>/dev/null || true)"; do
        [ -n "$c" ] && [ -x "$c" ] && "$c" create --help >/dev/null 2>&1 && { echo "$c"; return; }
    done
}

runtimes=("$@")
if [ -n "$expect" ] && [ ${#runtimes[@]} -eq 0 ]; then
    b=$(find_bocker) && [ -n "$b" ] || { echo "oci-validation: --expect: bocker-runtime is not built" >&2; exit 1; }
    runtimes=("$b")
elif [ ${#runtimes[@]} -eq 0 ]; then
    runtimes=(runc crun)
    b=$(find_bocker) && [ -n "$b" ] && runtimes+=("$b")
    [ -n "${b:-}" ] || echo "oci-validation: bocker-runtime not built or has no 'create' yet: runc and crun only" >&2
fi

echo "oci-validation: building the suite in $work (offline)" >&2
tar -xzf "$suite" -C "$work"
src=$work/runtime-tools
(cd "$src" && GOFLAGS=-mod=vendor GOPROXY=off GOCACHE=$work/gocache GOPATH=$work/gopath \
    make runtimetest validation-executables >"$work/build.log" 2>&1) \
    || { tail -20 "$work/build.log" >&2; echo "oci-validation: build failed" >&2; exit 1; }

# A wrapper per runtime with its own --root (never the runtime's default one, which other
# users of this host share); crun enters the namespace without the cgroup2 mount.
mkdir -p "$work/bin" "$work/tmp"
for rt in "${runtimes[@]}"; do
    path=$(command -v "$rt" || true)
    [ -n "$path" ] || { echo "oci-validation: runtime not found: $rt" >&2; exit 1; }
    # The programs run in the suite's directory: a relative path must not change meaning.
    path=$(realpath "$path")
    name=$(basename "$path")
    w=$work/bin/$name
    if [ "$name" = crun ] && mountpoint -q /sys/fs/cgroup/unified; then
        if ! mountpoint -q "$nsdir"; then
            mkdir -p "$nsdir"
            mount --bind "$nsdir" "$nsdir"
            mount --make-private "$nsdir"
            touch "$nsdir/mnt"
            unshare --mount="$nsdir/mnt" --propagation slave umount /sys/fs/cgroup/unified
        fi
        printf '#!/bin/sh\nexec nsenter --mount=%s %s --root %s "$@"\n' "$nsdir/mnt" "$path" "$work/root.$name" >"$w"
    else
        printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$path" "$work/root.$name" >"$w"
    fi
    chmod +x "$w"
    wrappers+=("$w") names+=("$name")
done

# One TAP program -> "pass/fail/skip" (or TIMEOUT / ERROR(N)).
cell() {
    local out=$1 rc=$2 pass fail skip
    pass=$(grep -E '^ok ' "$out" | grep -vic '# skip' || true)
    skip=$(grep -Eic '^ok .*# skip|^1\.\.0 # skip' "$out" || true)
    fail=$(grep -Ec '^not ok ' "$out" || true)
    if [ "$rc" = 124 ]; then echo "TIMEOUT"
    elif [ "$rc" != 0 ] && [ "$fail" = 0 ]; then echo "ERROR($rc)"
    # No test point but a YAML diagnostic: the program failed before its first check.
    elif [ $((pass + fail + skip)) = 0 ] && grep -q '"error"' "$out"; then echo "ERROR"
    else echo "$pass/$fail/$skip"; fi
}

tests=()
if [ -n "$expect" ] && [ -z "${OCI_TESTS:-}" ]; then
    OCI_TESTS=$(sed -e 's/#.*//' "$expect" | tr -s ' \t' '\n' | grep -v '^$' || true)
fi
if [ -n "${OCI_TESTS:-}" ]; then
    for t in $OCI_TESTS; do tests+=("$t"); done
else
    for t in "$src"/validation/*/*.t; do tests+=("$(basename "$t" .t)"); done
fi
[ -z "${OCI_LOGS:-}" ] || mkdir -p "$OCI_LOGS"

declare -A result
declare -A clean
for i in "${!wrappers[@]}"; do clean[$i]=0; done
for t in "${tests[@]}"; do
    for i in "${!wrappers[@]}"; do
        out=$work/out.$t.${names[$i]}
        rc=0
        # The programs find runtimetest and rootfs-amd64.tar.gz in the source dir.
        # TMPDIR: the programs' bundles (ocitest*) land in our work dir, removed at exit.
        (cd "$src" && TMPDIR=$work/tmp RUNTIME=${wrappers[$i]} timeout -k 5 "$timeout_s" \
            "validation/$t/$t.t" >"$out" 2>&1 </dev/null) || rc=$?
        result[$t,$i]=$(cell "$out" "$rc")
        case ${result[$t,$i]} in 0/0/*) ;; */0/*) clean[$i]=$((clean[$i] + 1)) ;; esac
        [ -z "${OCI_LOGS:-}" ] || cp "$out" "$OCI_LOGS/$t.${names[$i]}.tap"
    done
    reap # containers a failed program left behind (each runtime has its own --root here)
done

{
    printf '%-36s' "test"; for n in "${names[@]}"; do printf ' %-12s' "$n"; done; echo
    for t in "${tests[@]}"; do
        printf '%-36s' "$t"; for i in "${!wrappers[@]}"; do printf ' %-12s' "${result[$t,$i]}"; done; echo
    done
    printf '%-36s' "programs passing (no failure)"
    for i in "${!wrappers[@]}"; do printf ' %-12s' "${clean[$i]}/${#tests[@]}"; done; echo
}
echo "(cells: TAP points passed/failed/skipped; OCI_TIMEOUT=${timeout_s}s per program)"

# --expect: every listed program must pass (no failed point, no error, no timeout).
if [ -n "$expect" ]; then
    failed=()
    for t in "${tests[@]}"; do
        [[ ${result[$t,0]} =~ ^[0-9]+/0/[0-9]+$ ]] || failed+=("$t (${result[$t,0]})")
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "oci-validation: FAIL: expected to pass but did not: ${failed[*]}" >&2
        exit 1
    fi
    echo "oci-validation: all ${#tests[@]} expected programs pass with ${names[0]}"
fi
