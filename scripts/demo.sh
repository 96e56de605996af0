#!/bin/bash
# The main job, end to end, with the installed binaries. Uses its own store root
# (BOCKER_ROOT, default /var/tmp/bocker-demo) and removes what it made.
set -euo pipefail
export BOCKER_ROOT=${BOCKER_ROOT:-/var/tmp/bocker-demo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# A busybox root filesystem, the seed's kind of image.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$work/rootfs/etc/passwd"
echo "root:x:0:" > "$work/rootfs/etc/group"

step bocker --list
step bocker init "$work/rootfs"
img=$(bocker images -q | tail -n1)
step bocker images
step bocker inspect "$img"
step bocker rm "$img"
step bocker images
echo
echo "demo done (store: $BOCKER_ROOT)"
