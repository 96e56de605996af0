#!/bin/bash
# Push throughput of a ~1 GB one-layer image made locally (half incompressible random
# bytes, half this machine's own /usr/lib files, which gzip about 3:1) to an empty
# docker-registry on 127.0.0.1, beside the peers in the same run:
#   bocker push   of the image `bocker init` made from the directory (the layer is
#                 written, gzipped and uploaded: nothing was stored compressed);
#   skopeo copy   from an OCI layout holding the same tree as an uncompressed layer
#                 (skopeo gzips it on the way, as pushing a local image does);
#   docker push   of `docker import` of the same tree (a private dockerd of this script).
# Every run starts from a fresh, empty registry (no blob can be reused or mounted); the
# image's files are in the page cache (warm: what is measured is the push, not the disk).
# Also the machine's limits for the same bytes: `gzip -6` and `pigz -6` of the layer tar
# to /dev/null, and a curl upload of bocker's compressed blob (the registry's ingest,
# hashing included, to a fresh registry like every push row).
#
#   sudo scripts/bench/push.sh [runs]        (default 3; BENCH_MB=1024 sets the size)
#
# Target (issue 12): bocker push at least as fast as the fastest peer.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
MB=${BENCH_MB:-1024}
[ "$(id -u)" = 0 ] || { echo "push.sh: run as root" >&2; exit 1; }

cargo build --release -q --bin bocker-push --bin bocker-init >&2
BIN=$PWD/target/release
WORK=$(mktemp -d /var/tmp/bocker-bench-push-XXXXXX)
REG_PID= DOCKERD_PID=
cleanup() {
    set +e
    [ -n "$REG_PID" ] && kill "$REG_PID" && wait "$REG_PID"
    if [ -n "$DOCKERD_PID" ]; then
        kill "$DOCKERD_PID"; wait "$DOCKERD_PID"
        umount -R "$WORK/docker" 2>/dev/null
    fi
    rm -rf "$WORK"
} 2>/dev/null
trap cleanup EXIT

# ---- the image --------------------------------------------------------------------------
SRC=$WORK/src
mkdir -p "$SRC"/{bin,etc,proc,sys,dev,tmp,random,lib}
cp /bin/busybox "$SRC/bin/" && ln -s busybox "$SRC/bin/sh"
echo 'root:x:0:0:root:/root:/bin/sh' > "$SRC/etc/passwd"
half=$((MB / 2))
for i in $(seq 1 $((half / 8))); do head -c 8M /dev/urandom > "$SRC/random/r$i"; done
# Real files (binaries, libraries) up to the other half, by size order for a stable set.
# (find's SIGPIPE when awk has enough is expected: no pipefail for this one.)
set +o pipefail
find /usr/lib -xdev -type f -size -64M -printf '%s\t%p\n' 2>/dev/null | sort -k2 |
    awk -v max=$((half * 1048576)) -F'\t' '{ t += $1; if (t > max) exit; print $2 }' > "$WORK/files"
set -o pipefail
tar -cf - -T "$WORK/files" 2>/dev/null | tar -C "$SRC/lib" -xf -
usize=$(du -sb "$SRC" | cut -f1)

# The same tree as an OCI layout with one uncompressed layer (skopeo's source).
tar --numeric-owner -C "$SRC" -cf "$WORK/layer.tar" .
LAYOUT=$WORK/oci
mkdir -p "$LAYOUT/blobs/sha256"
ldg=$(sha256sum < "$WORK/layer.tar" | cut -d' ' -f1)
mv "$WORK/layer.tar" "$LAYOUT/blobs/sha256/$ldg"
lsize=$(stat -c %s "$LAYOUT/blobs/sha256/$ldg")
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$ldg" > "$WORK/config.json"
cdg=$(sha256sum < "$WORK/config.json" | cut -d' ' -f1)
mv "$WORK/config.json" "$LAYOUT/blobs/sha256/$cdg"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdg" "$(stat -c %s "$LAYOUT/blobs/sha256/$cdg")" "$ldg" "$lsize" > "$WORK/manifest.json"
mdg=$(sha256sum < "$WORK/manifest.json" | cut -d' ' -f1)
msize=$(stat -c %s "$WORK/manifest.json")
mv "$WORK/manifest.json" "$LAYOUT/blobs/sha256/$mdg"
echo '{"imageLayoutVersion":"1.0.0"}' > "$LAYOUT/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"t"}}]}' \
    "$mdg" "$msize" > "$LAYOUT/index.json"

export BOCKER_ROOT=$WORK/bocker
IMG=$("$BIN/bocker-init" -q "$SRC")

# ---- registry (fresh for every run) ------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: $REG}
YML
fresh_registry() {
    if [ -n "$REG_PID" ]; then kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK/registry"; mkdir -p "$WORK/registry"
    docker-registry serve "$WORK/registry.yml" > "$WORK/registry.log" 2>&1 &
    REG_PID=$!
    for _ in $(seq 100); do curl -s --noproxy '*' "http://$REG/v2/" > /dev/null && return; sleep 0.1; done
    echo "registry did not start" >&2; exit 1
}

# ---- docker (a private daemon) ------------------------------------------------------------
DOCKER=()
if command -v dockerd > /dev/null; then
    mkdir -p "$WORK/docker"
    setsid dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" \
        --pidfile "$WORK/docker/pid" -H "unix://$WORK/docker/sock" \
        --iptables=false --bridge=none --containerd-namespace bocker-bench \
        > "$WORK/docker/log" 2>&1 < /dev/null &
    DOCKERD_PID=$!
    DOCKER=(docker -H "unix://$WORK/docker/sock")
    for _ in $(seq 300); do "${DOCKER[@]}" info > /dev/null 2>&1 && break; sleep 0.2; done
    if "${DOCKER[@]}" info > /dev/null 2>&1; then
        tar -C "$SRC" -c . | "${DOCKER[@]}" import - "$REG/bench/docker:1" > /dev/null
    else
        echo "dockerd did not start: no docker row" >&2; DOCKER=()
    fi
fi

# ---- measuring ----------------------------------------------------------------------------
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
warm() { find "$SRC" "$LAYOUT" "$WORK/bocker" -type f -exec cat {} + > /dev/null 2>&1 || true; }
time_runs() { # label cmd: median seconds of RUNS runs, each on a fresh registry
    local label=$1 cmd=$2 secs=()
    for ((r = 0; r < RUNS; r++)); do
        fresh_registry; sync; warm
        local s; s=$(now); eval "$cmd" > /dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
        local e; e=$(now)
        secs+=("$(echo "$e - $s" | bc)")
    done
    local m; m=$(printf '%s\n' "${secs[@]}" | median)
    local blob; blob=$(find "$WORK/registry" -name data -path '*/blobs/*' -size +1M -printf '%s\n' | sort -n | tail -1)
    printf '| %-40s | %7.2f | %6.0f | %8s |\n' "$label" "$m" "$(echo "$usize / 1000000 / $m" | bc -l)" "$((${blob:-0} / 1000000))"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs, median"
echo "# image: one layer, $((usize / 1000000)) MB ($half MB random, the rest /usr/lib files)"
echo
echo "| push to an empty local registry | seconds | MB/s | blob MB |"
echo "|---|---:|---:|---:|"
time_runs "bocker push" "$BIN/bocker-push -q $IMG $REG/bench/bocker:1"
# bocker's blob as the registry stored it, for the upload limit below.
cp "$(find "$WORK/registry" -name data -path '*/blobs/*' -size +1M | head -1)" "$WORK/blob"
if command -v skopeo > /dev/null; then
    time_runs "skopeo copy (oci layout, uncompressed layer)" \
        "skopeo copy -q --dest-tls-verify=false oci:$LAYOUT:t docker://$REG/bench/skopeo:1"
fi
if [ ${#DOCKER[@]} -gt 0 ]; then
    time_runs "docker push (of docker import)" "${DOCKER[*]} push -q $REG/bench/docker:1"
fi
# Limits: compressing the layer tar on one core and on all, and uploading a finished blob.
tarfile=$LAYOUT/blobs/sha256/$ldg
lim() { # label cmd
    local secs=()
    for ((r = 0; r < RUNS; r++)); do
        warm; local s; s=$(now); eval "$2" > /dev/null; local e; e=$(now)
        secs+=("$(echo "$e - $s" | bc)")
    done
    local m; m=$(printf '%s\n' "${secs[@]}" | median)
    printf '| %-40s | %7.2f | %6.0f | %8s |\n' "$1" "$m" "$(echo "$usize / 1000000 / $m" | bc -l)" ""
}
lim "limit: gzip -6 of the tar (1 core)" "gzip -6 -c $tarfile"
if command -v pigz > /dev/null; then
    lim "limit: pigz -6 of the tar ($(nproc) cores)" "pigz -6 -c $tarfile"
fi
# The registry's own ingest: bocker's finished blob in one streamed `PUT` by curl.
BLOB_DIGEST=sha256:$(sha256sum < "$WORK/blob" | cut -d' ' -f1)
curl_put() { # file (its digest is BLOB_DIGEST)
    local loc sep='?'
    loc=$(curl -sf --noproxy '*' -X POST -D - -o /dev/null "http://$REG/v2/bench/curl/blobs/uploads/" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "location" { print $2 }')
    case $loc in /*) loc=http://$REG$loc ;; esac
    case $loc in *\?*) sep='&' ;; esac
    curl -sf --noproxy '*' -T "$1" -o /dev/null "$loc${sep}digest=$BLOB_DIGEST"
}
time_runs "limit: curl PUT of bocker's blob" "curl_put $WORK/blob"
