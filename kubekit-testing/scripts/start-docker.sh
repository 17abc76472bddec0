#!/usr/bin/env bash
# Makes sure a Docker engine the k3s provider can use answers on /var/run/docker.sock, and
# that kubekit's node image is loaded into it.
#
#   kubekit-testing/scripts/start-docker.sh KUBEKIT_CLUSTER_BINARY
#
# An engine that already answers with API >= 1.53 is used as it is. Otherwise (as root) the
# engine build-docker.sh built is started in the background: its own data root
# (/var/lib/kubekit-docker), no iptables rules of its own (published ports go through
# docker-proxy on 127.0.0.1), a bridge on 10.99.0.0/24, the classic overlay2 image store
# (Debian's containerd 1.6 has no transfer service). Its log: /var/log/kubekit-dockerd.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:?usage: start-docker.sh KUBEKIT_CLUSTER_BINARY}
sock=/var/run/docker.sock
start=$(date +%s)
say() { printf '[kubekit docker %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }
api() { curl -sSf --max-time 10 --unix-socket "$sock" "$@"; }

version=$(api http://docker/version 2>/dev/null | sed -n 's/.*"ApiVersion":"\([0-9.]*\)".*/\1/p' || true)
if [[ -n $version && $(printf '%s\n1.53\n' "$version" | sort -V | head -1) != 1.53 ]]; then
  echo "error: the Docker engine on $sock speaks API $version; testcontainers needs 1.53 (Docker 29)." >&2
  echo "       Stop it, and this script starts kubekit's own engine; or upgrade Docker." >&2
  exit 1
fi
if [[ -z $version ]]; then
  [[ $(id -u) == 0 ]] || { echo "error: no Docker engine answers on $sock, and starting one needs root" >&2; exit 1; }
  "$here/build-docker.sh"
  bin=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit/docker-v2.0.0-beta.24/bin
  mkdir -p /etc/kubekit
  cat > /etc/kubekit/dockerd.json <<'EOF'
{"features": {"containerd-snapshotter": false}, "iptables": false, "ip6tables": false, "bip": "10.99.0.1/24"}
EOF
  say "starting dockerd ($("$bin/dockerd" --version)); log in /var/log/kubekit-dockerd.log"
  PATH="$bin:$PATH" setsid "$bin/dockerd" --config-file /etc/kubekit/dockerd.json \
    --data-root /var/lib/kubekit-docker --exec-root /run/kubekit-docker \
    --pidfile /run/kubekit-dockerd.pid -H "unix://$sock" \
    </dev/null >/var/log/kubekit-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do api http://docker/_ping >/dev/null 2>&1 && break; sleep 0.5; done
  api http://docker/_ping >/dev/null || { tail -20 /var/log/kubekit-dockerd.log >&2; echo "error: dockerd did not start" >&2; exit 1; }
fi
say "Docker engine answers on $sock"

# kubekit's node image, built from the same components as the local cluster.
ref=$("$here/../images/build-node-image.sh" "$binary")
if [[ $(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" "http://docker/images/$ref/json") != 200 ]]; then
  say "loading $ref into Docker"
  tar=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit/images/kube-node.tar
  # No 10 s limit here: an 840 MB archive takes longer on a busy machine.
  curl -sSf --max-time 900 --unix-socket "$sock" -X POST -H 'Content-Type: application/x-tar' \
    -T "$tar" "http://docker/images/load?quiet=1" >/dev/null \
    || { echo "error: loading $tar into Docker failed (see /var/log/kubekit-dockerd.log)" >&2; exit 1; }
fi
# Older builds of the node image are removed (each is ~800 MB).
for old in $(api "http://docker/images/json?filters=%7B%22reference%22%3A%5B%22kubekit.local%2Fkube-node%22%5D%7D" \
    | grep -o '"kubekit.local/kube-node:[^"]*"' | tr -d '"' | sort -u); do
  [[ $old == "$ref" ]] || { api -X DELETE "http://docker/images/$old" >/dev/null && say "removed old $old"; } || true
done
say "node image present: $ref"
