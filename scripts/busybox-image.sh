#!/bin/bash
# Build a busybox image (from the host's busybox-static) and push it to a registry.
#
#   scripts/busybox-image.sh REGISTRY/REPO:TAG     e.g. 127.0.0.1:5000/demo/busybox:latest
#
# The image: /bin/busybox with one symlink per applet, /etc/passwd and /etc/group, a
# Cmd of `sh`, an Env with PATH, and a second layer with a /hello script as Entrypoint
# helper, so pulls see more than one layer.
set -euo pipefail
ref=${1:?usage: $0 REGISTRY/REPO:TAG}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
umoci init --layout oci
umoci new --image oci:img
umoci unpack --rootless --image oci:img bundle >/dev/null
r=bundle/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/proc" "$r/sys" "$r/dev"
chmod 1777 "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
umoci repack --image oci:img bundle
printf '#!/bin/sh\necho "hello from $(hostname), a bocker container"\n' > "$r/hello"
chmod 755 "$r/hello"
umoci repack --image oci:img bundle
umoci config --image oci:img --config.cmd sh --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.workingdir / --architecture "$(dpkg --print-architecture)" --os linux
skopeo copy --quiet --dest-tls-verify=false oci:oci:img "docker://$ref"
echo "pushed $ref"
