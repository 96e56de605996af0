#!/bin/sh
# Make (or remove) a loop-file btrfs mounted at a bocker root: the seed's set-up.
#
#   scripts/btrfs-loop.sh create ROOT [SIZE]   # SIZE default 2G; image file ROOT.img
#   scripts/btrfs-loop.sh remove ROOT          # unmount, detach the loop device, delete ROOT.img
set -eu

usage() { echo "usage: $0 create ROOT [SIZE] | remove ROOT" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 root=$2 size=${3:-2G}
img="${root%/}.img"

case $cmd in
create)
    command -v mkfs.btrfs >/dev/null || { echo "mkfs.btrfs not found: apt-get install btrfs-progs" >&2; exit 1; }
    if mountpoint -q "$root"; then echo "$root is already a mount point" >&2; exit 1; fi
    mkdir -p "$root"
    truncate -s "$size" "$img"
    mkfs.btrfs -q -f "$img"
    # mount -o loop allocates a loop device and frees it again on umount.
    mount -o loop "$img" "$root"
    chmod 700 "$root"
    echo "btrfs mounted at $root (backing file $img)"
    ;;
remove)
    if mountpoint -q "$root"; then
        umount "$root" 2>/dev/null || umount -l "$root"
    fi
    rm -f "$img"
    rmdir "$root" 2>/dev/null || true
    ;;
*) usage ;;
esac
