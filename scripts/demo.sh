#!/bin/bash
# The main job, end to end, with the installed binaries: start a private registry on
# 127.0.0.1, push a busybox image to it, pull it, run containers (the seed's forms, a
# published port), exec into a running one, commit its change as an image, restart it,
# keep data in a named volume across containers (create + start), list them, show their
# logs, and clean up.
#
# Uses its own store (BOCKER_ROOT, default /var/tmp/bocker-demo; removed at the end if
# the demo made it). The network is bocker's default (bridge0, 10.0.0.1/24) unless
# BOCKER_BRIDGE/BOCKER_SUBNET say otherwise; if the demo created the bridge, it tears it
# down again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export BOCKER_ROOT=${BOCKER_ROOT:-/var/tmp/bocker-demo}
bridge=${BOCKER_BRIDGE:-bridge0}
port=${DEMO_REGISTRY_PORT:-5055}
work=$(mktemp -d)
had_bridge=no
[ -e "/sys/class/net/$bridge" ] && had_bridge=yes
had_root=no
[ -e "$BOCKER_ROOT" ] && had_root=yes
cleanup() {
    for c in $(bocker ps -q 2>/dev/null); do bocker rm -f "$c" >/dev/null 2>&1 || true; done
    scripts/registry.sh stop "$work/registry" || true
    for v in $(bocker volume ls -q 2>/dev/null); do bocker volume rm "$v" >/dev/null 2>&1 || true; done
    if [ "$had_bridge" = no ]; then bocker net teardown >/dev/null 2>&1 || true; fi
    # A store the demo made goes with it, unless something is still mounted inside.
    if [ "$had_root" = no ] && ! findmnt -rn -o TARGET | grep -q "^$BOCKER_ROOT"; then
        rm -rf --one-file-system "$BOCKER_ROOT"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# Echo a command as it could be typed again (an argument with spaces or quotes in single
# quotes), then run it.
quote() {
    if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf ' %s' "$1"
    else printf " '%s'" "${1//\'/\'\\\'\'}"; fi
}
step() { printf '\n\033[1m$'; for a in "$@"; do quote "$a"; done; printf '\033[0m\n'; "$@"; }

echo "== a private registry on 127.0.0.1:$port, with a busybox image pushed to it"
scripts/registry.sh start "$work/registry" "$port"
scripts/busybox-image.sh "127.0.0.1:$port/demo/busybox:latest"

step bocker --list
step bocker pull "127.0.0.1:$port/demo/busybox:latest"
step bocker images
img="127.0.0.1:$port/demo/busybox"

# The seed's cases.
step bocker run --name hello "$img" /hello
step bocker run --rm "$img" uname -sr
step bocker run --rm "$img" "echo \$\$ is PID 1 here && ps aux"
# Limits are enforced: 100 MB held under a 32 MB limit is OOM-killed (status 137).
printf '\n\033[1m$ %s\033[0m\n' "bocker run --rm --memory 32m $img sh -c 'head -c 100m /dev/zero | tail'"
status=0
bocker run --rm --memory 32m "$img" sh -c 'head -c 100m /dev/zero | tail' || status=$?
echo "exit status $status"

# Networking: an address on the bridge, and a published port answering on 127.0.0.1.
step bocker run --rm "$img" ip -o -4 addr show eth0
mkdir -p "$work/www" && echo "served from a bocker container" > "$work/www/index.html"
bocker run --rm -p 18080:80 -v "$work/www:/www:ro" "$img" sh -c 'httpd -p 80 -h /www; sleep 3' &
for _ in $(seq 30); do curl -fs -o /dev/null http://127.0.0.1:18080/ 2>/dev/null && break; sleep 0.1; done
step curl -s http://127.0.0.1:18080/
wait

# The seed's exec: a command inside a running (detached) container's namespaces and cgroup.
step bocker run -d --name web "$img" sh -c 'echo "web up"; sleep 60'
step bocker exec web ps aux
step bocker exec web hostname
# The seed's commit: the container's change becomes an image; a new container sees it.
step bocker exec web sh -c 'echo "made inside web" > /greeting'
step bocker commit web demo/greeting:v1
step bocker run --rm demo/greeting:v1 cat /greeting
step bocker logs web
# restart: the same container (id, name, files) under a new supervisor.
step bocker restart -t 1 web
step bocker exec web cat /greeting
step bocker stop -t 1 web

# A named volume outlives its container; create + start is run in two steps.
step bocker run --rm -v demo-data:/data "$img" sh -c 'echo kept > /data/note'
step bocker create --name reader -v demo-data:/data "$img" cat /data/note
step bocker start -a reader
step bocker volume ls
step bocker rm reader
step bocker volume rm demo-data

step bocker ps
step bocker logs -t hello
step bocker inspect hello
step bocker rm hello web
step bocker rmi demo/greeting:v1
step bocker rmi "$img"
step bocker images
echo
echo "demo done"
