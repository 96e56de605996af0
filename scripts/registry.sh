#!/bin/bash
# A private registry (Debian's docker-registry, the CNCF Distribution server) on 127.0.0.1.
#
#   scripts/registry.sh start DIR [PORT]   # default port 5000; prints 127.0.0.1:PORT
#   scripts/registry.sh stop DIR           # stops the registry started in DIR, by its pid
set -euo pipefail
cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
case $cmd in
start)
    port=${3:-5000}
    command -v docker-registry >/dev/null || { echo "docker-registry not found: apt-get install docker-registry" >&2; exit 1; }
    mkdir -p "$dir/data"
    cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    echo $! > "$dir/registry.pid"
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && { echo "127.0.0.1:$port"; exit 0; }
        kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "registry did not start; see $dir/registry.log" >&2
    cat "$dir/registry.log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$dir/registry.pid" ]; then
        kill "$(cat "$dir/registry.pid")" 2>/dev/null || true
        rm -f "$dir/registry.pid"
    fi
    ;;
*) echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
