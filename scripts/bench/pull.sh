#!/bin/bash
# Benchmark `bocker pull` against the peers available here, with the machine's own limits
# measured in the same run. Everything is local: a docker-registry on 127.0.0.1 serving
# two images built from this machine's own /usr (real binaries, libraries and text):
#   large:  8 layers, ~1 GB uncompressed, gzip -6
#   medium: 5 layers, ~150 MB uncompressed, gzip -6 (stands in for a debootstrap image:
#           debootstrap needs a Debian mirror, which this machine does not reach)
# Peers: skopeo copy + umoci unpack; docker pull and podman pull when installed.
# Caches are dropped before every run (sync; echo 3 > /proc/sys/vm/drop_caches).
# Usage: scripts/bench/pull.sh [runs]   (as root; BENCH_CACHE keeps built images)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
CACHE=${BENCH_CACHE:-/var/tmp/bocker-bench-pull}
WORK=$(mktemp -d /var/tmp/bocker-bench-XXXXXX)
REG_PID=
cleanup() {
    set +e
    if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "run as root (drops caches, writes layers with owners)" >&2; exit 1; }

cargo build --release -q -p bocker-pull -p bocker-store
BIN=$PWD/target/release

# ---- images ---------------------------------------------------------------------------
# build_image NAME LAYERS MB_PER_LAYER DIR...: tars of the files under DIR..., cut into
# LAYERS layers of about MB_PER_LAYER each, as gzip blobs plus config and manifest.
build_image() {
    local name=$1 layers=$2 mb=$3; shift 3
    local d=$CACHE/$name
    [ -f "$d/manifest.json" ] && return
    rm -rf "$d"; mkdir -p "$d/lists"
    find "$@" -xdev -type f -size -200M -printf '%s %P\t%h/%f\n' 2>/dev/null | sort -k2 |
        awk -v mb="$mb" -v n="$layers" -v out="$d/lists" -F'\t' '
            BEGIN { i = 0; cur = 0 }
            { split($1, a, " "); if (cur >= mb*1048576) { i++; cur = 0 }
              if (i < n) { print substr($2, 2) > (out "/" i); cur += a[1] } }'
    local diff_ids=() descs=()
    for ((i = 0; i < layers; i++)); do
        tar --numeric-owner -C / -cf "$d/$i.tar" -T "$d/lists/$i"
        diff_ids+=("\"sha256:$(sha256sum < "$d/$i.tar" | cut -d' ' -f1)\"")
        gzip -6 -c "$d/$i.tar" > "$d/$i.tar.gz"
        local dg; dg=$(sha256sum < "$d/$i.tar.gz" | cut -d' ' -f1)
        mv "$d/$i.tar.gz" "$d/blob-$dg"
        echo "$dg" > "$d/$i.digest"
        descs+=("{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"sha256:$dg\",\"size\":$(stat -c %s "$d/blob-$dg")}")
    done
    local ids; ids=$(IFS=,; echo "${diff_ids[*]}")
    printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$ids" > "$d/config.json"
    local cdg; cdg=$(sha256sum < "$d/config.json" | cut -d' ' -f1)
    local ls; ls=$(IFS=,; echo "${descs[*]}")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
        "$cdg" "$(stat -c %s "$d/config.json")" "$ls" > "$d/manifest.json"
}

push_blob() { # repo file digest
    local loc
    loc=$(curl -sS --noproxy '*' -X POST -D - -o /dev/null "http://$REG/v2/$1/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
    case $loc in /*) loc="http://$REG$loc";; esac
    curl -sS --noproxy '*' --fail -X PUT -H 'Content-Type: application/octet-stream' -T "$2" "$loc&digest=sha256:$3" -o /dev/null
}

push_image() { # name
    local d=$CACHE/$1
    for b in "$d"/blob-*; do push_blob "bench/$1" "$b" "${b##*/blob-}"; done
    push_blob "bench/$1" "$d/config.json" "$(sha256sum < "$d/config.json" | cut -d' ' -f1)"
    curl -sS --noproxy '*' --fail -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
        --data-binary "@$d/manifest.json" "http://$REG/v2/bench/$1/manifests/latest" -o /dev/null
}

echo "building images in $CACHE (once)..." >&2
build_image large 8 128 /usr/lib /usr/bin
build_image medium 5 30 /usr/share /usr/include /usr/sbin

# ---- registry -------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
mkdir -p "$WORK/registry"
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: $REG}
YML
docker-registry serve "$WORK/registry.yml" > "$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -s --noproxy '*' "http://$REG/v2/" > /dev/null && break; sleep 0.1; done
push_image large
push_image medium

# ---- measuring ------------------------------------------------------------------------
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_runs LABEL PREP CMD [warm]: median seconds of RUNS runs of CMD, PREP before each
# (untimed). Cold (default, every pull): page cache dropped after PREP. warm (the
# CPU-bound limits): the registry's blobs and the image's files are read into the page
# cache instead.
declare -A RESULT
warm_up() { find "$WORK/registry" "$CACHE" -type f -exec cat {} + > /dev/null; }
time_runs() {
    local label=$1 prep=$2 cmd=$3 mode=${4:-cold} secs=()
    for ((r = 0; r < RUNS; r++)); do
        eval "$prep"
        if [ "$mode" = warm ]; then sync; warm_up; else drop_caches; fi
        local s; s=$(now); eval "$cmd" > /dev/null; local e; e=$(now)
        secs+=("$(echo "$e - $s" | bc)")
    done
    RESULT[$label]=$(printf '%s\n' "${secs[@]}" | median)
}

report() { # image label bytes
    local s=${RESULT[$2]}
    printf '%-8s %-28s %7.2f s %8.0f MB/s\n' "$1" "$2" "$s" "$(echo "$3 / 1000000 / $s" | bc -l)"
}

for img in large medium; do
    d=$CACHE/$img
    usize=$(cat "$d"/*.tar | wc -c); csize=$(cat "$d"/blob-* | wc -c)
    echo "== $img: $(ls "$d"/*.tar | wc -l) layers, $((usize / 1000000)) MB uncompressed, $((csize / 1000000)) MB gzip"
    time_runs "bocker pull" "rm -rf $WORK/root" "BOCKER_ROOT=$WORK/root $BIN/bocker-pull -q $REG/bench/$img"
    report "$img" "bocker pull" "$usize"
    time_runs "bocker pull (present)" ":" "BOCKER_ROOT=$WORK/root $BIN/bocker-pull -q $REG/bench/$img"
    report "$img" "bocker pull (present)" "$usize"
    rm -rf "$WORK/root"
    if command -v skopeo > /dev/null && command -v umoci > /dev/null; then
        time_runs "skopeo copy + umoci unpack" "rm -rf $WORK/oci $WORK/bundle" \
            "skopeo copy -q --src-tls-verify=false docker://$REG/bench/$img oci:$WORK/oci:t && umoci unpack --image $WORK/oci:t $WORK/bundle"
        report "$img" "skopeo copy + umoci unpack" "$usize"
        rm -rf "$WORK/oci" "$WORK/bundle"
    fi
    if command -v docker > /dev/null && docker info > /dev/null 2>&1; then
        time_runs "docker pull" "docker rmi -f $REG/bench/$img >/dev/null 2>&1 || true" "docker pull -q $REG/bench/$img"
        report "$img" "docker pull" "$usize"
    fi
    if command -v podman > /dev/null && podman info > /dev/null 2>&1; then
        time_runs "podman pull" "podman rmi -f $REG/bench/$img >/dev/null 2>&1 || true" "podman pull -q --tls-verify=false $REG/bench/$img"
        report "$img" "podman pull" "$usize"
    fi
    # The machine's own floor for the same bytes.
    time_runs "limit: download (curl)" ":" "for b in $d/blob-*; do curl -s --noproxy '*' -o /dev/null http://$REG/v2/bench/$img/blobs/sha256:\${b##*/blob-}; done" warm
    report "$img" "limit: download (curl)" "$csize"
    time_runs "limit: sha256sum blobs" ":" "cat $d/blob-* | sha256sum" warm
    report "$img" "limit: sha256sum blobs" "$csize"
    time_runs "limit: gzip -dc (1 core)" ":" "cat $d/blob-* | gzip -dc" warm
    report "$img" "limit: gzip -dc (1 core)" "$usize"
    time_runs "limit: tar -xf + sync" "rm -rf $WORK/x; mkdir $WORK/x" "for t in $d/*.tar; do tar -C $WORK/x -xf \$t; done; sync" warm
    report "$img" "limit: tar -xf + sync" "$usize"
    rm -rf "$WORK/x"
done
time_runs "limit: disk write 1 GB" "rm -f $WORK/zero" "dd if=/dev/zero of=$WORK/zero bs=1M count=1024 conv=fsync status=none"
report "-" "limit: disk write 1 GB" 1073741824
