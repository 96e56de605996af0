#!/bin/bash
# Install the Debian packages bocker and its tests need (Debian 12, as root).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "scripts/deps.sh: run as root" >&2; exit 1; }
command -v cargo >/dev/null || {
    echo "cargo not found: install the Rust toolchain (https://rustup.rs) first" >&2
    exit 1
}
packages=(
    btrfs-progs      # mkfs.btrfs for the btrfs driver's loop file
    e2fsprogs        # a scratch ext4 where a test needs one
    busybox-static   # test and demo images are made from it
    iptables         # NAT and published ports
    conntrack        # bocker-net forgets stale UDP flows when a port is published
    iproute2         # tests inspect interfaces with `ip`
    jq               # a test drives a jq pipeline over `bocker inspect`
    iputils-ping     # reachability tests (bridge and container addresses only)
    docker-registry  # the CNCF Distribution registry, served on 127.0.0.1
    skopeo umoci     # independent image tools the pull tests compare against
    curl             # published-port tests on 127.0.0.1
    attr             # setfattr/getfattr for xattr tests
    openssl          # certificates for the token-auth registry test
    apache2-utils    # htpasswd for the basic-auth registry test
    tar              # GNU tar makes the sparse-file layers of the pull tests
    util-linux       # unshare, nsenter, mount
    bsdutils         # script: a real pty for the exec -t tests
    tmux             # drives the exec -it test (keys, Ctrl-C, window size)
    runc             # bocker-runtime's `spec` output must be accepted by `runc run`
    containerd       # scripts/containerd-smoke.sh drives bocker-runtime through ctr
    procps           # ps: `bocker top` passes its options to the host's ps
    zsh fish         # the zsh and fish completion scripts are run in the real shells
    golang-go make   # build the OCI runtime-tools validation suite (scripts/oci-validation.sh)
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# docker-registry's package starts a system registry on :5000; bocker's tests start
# their own on free ports, so the system one is not needed.
if command -v systemctl >/dev/null && systemctl is-active -q docker-registry 2>/dev/null; then
    systemctl stop docker-registry || true
fi
echo "deps: all packages present"
