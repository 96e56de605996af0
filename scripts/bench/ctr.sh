#!/bin/bash
# containerd start latency per OCI runtime: median wall time of `ctr run --rm IMG ID true`
# through the runc v2 shim with `--runc-binary` = bocker-runtime (release build), runc
# and crun, in the same run and the same containerd (scripts/containerd-env.sh; in the
# private mount namespace crun needs on this host, so all three see the same cgroup
# layout), one after the other under hyperfine. Also prints the machine and its load.
# Usage: sudo scripts/bench/ctr.sh [runs]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-30}
[ "$(id -u)" = 0 ] || { echo "ctr.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "ctr.sh: apt-get install hyperfine" >&2; exit 1; }
cargo build --release -p bocker-runtime >&2
BOCKER=$PWD/target/release/bocker-runtime

NAME=bench-ctr CRUN_NS=1
# shellcheck source=scripts/containerd-env.sh
source scripts/containerd-env.sh

ctr_cmd=$(printf '%q ' "${ctr[@]}")
run() { # $1 label, $2 runtime binary
    echo "$ctr_cmd run --rm --runc-root $work/runc-root-$1 --fifo-dir $work/fifo --cgroup $cg/$1 --runc-binary $2 $img bench-$1 true"
}
for r in bocker runc crun; do # one warm-up each (first use of the snapshot, the shim)
    bin=$BOCKER; [ "$r" = bocker ] || bin=$(command -v "$r")
    eval "$(run "$r" "$bin")" >/dev/null
done
echo "machine: $(nproc) CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: containerd $(containerd --version | awk '{print $3}'), $(runc --version | head -1), $(crun --version | head -1)"
hyperfine -N --runs "$RUNS" --export-json "$work/ctr.json" \
    -n bocker-runtime "$(run bocker "$BOCKER")" \
    -n runc "$(run runc "$(command -v runc)")" \
    -n crun "$(run crun "$(command -v crun)")" >&2
python3 - "$work/ctr.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
print("| runtime | median ms | mean ms | min ms | max ms |")
print("|---|---|---|---|---|")
for r in rs:
    print("| %s | %.1f | %.1f | %.1f | %.1f |" % (r["command"], r["median"] * 1e3, r["mean"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
