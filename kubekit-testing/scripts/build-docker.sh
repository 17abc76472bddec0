#!/usr/bin/env bash
# Builds a Docker engine new enough for testcontainers 0.28 (its Docker client speaks API
# 1.53; Debian bookworm's docker.io 20.10 stops at 1.41) from the Go module proxy: dockerd
# and docker-proxy from github.com/moby/moby/v2, and runc (Debian's 1.1 has no time
# namespaces, which this engine uses). Cached: the second run is instant.
#
#   kubekit-testing/scripts/build-docker.sh [OUT_DIR]   (default ~/.cache/kubekit/docker-<version>/bin)
set -euo pipefail

MOBY_VERSION=v2.0.0-beta.24
RUNC_VERSION=v1.3.7
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit
out=${1:-$cache_root/docker-$MOBY_VERSION/bin}
stamp="$out/.kubekit-stamp"
want="moby=$MOBY_VERSION runc=$RUNC_VERSION"
start=$(date +%s)
say() { printf '[kubekit docker %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  say "cached: $out ($want)"
  exit 0
fi
command -v go >/dev/null || { echo "error: Go is needed to build the Docker engine (or start a Docker engine >= 29 yourself)" >&2; exit 1; }
[[ -f /usr/include/seccomp.h ]] || { echo "error: libseccomp-dev is missing (apt-get install libseccomp-dev)" >&2; exit 1; }

mkdir -p "$out"
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local GOBIN="$out"
say "building dockerd and docker-proxy ($MOBY_VERSION) and runc ($RUNC_VERSION) from the Go module proxy (a few minutes cold)"
( while sleep 60; do say "still compiling"; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
CGO_ENABLED=1 go install -trimpath \
  -ldflags "-s -w -X github.com/moby/moby/v2/dockerversion.Version=$MOBY_VERSION" \
  "github.com/moby/moby/v2/cmd/dockerd@$MOBY_VERSION" "github.com/moby/moby/v2/cmd/docker-proxy@$MOBY_VERSION"
CGO_ENABLED=1 go install -trimpath -tags seccomp -ldflags "-s -w" "github.com/opencontainers/runc@$RUNC_VERSION"
echo "$want" > "$stamp"
say "built: $("$out/dockerd" --version)"
