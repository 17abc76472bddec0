#!/usr/bin/env bash
# Builds the pinned Kubernetes components (and etcd) that kubekit-testing's local cluster runs,
# from the Go module proxy with the machine's Go, into a cache directory.
#
#   scripts/build-components.sh [OUT_DIR]
#
# OUT_DIR defaults to ~/.cache/kubekit/<kubernetes version>/bin. A second run with the same
# pins is instant: a stamp file records what was built. Progress goes to stderr.
set -euo pipefail

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.4
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit
out=${1:-$cache_root/$K8S_VERSION/bin}
stamp="$out/.kubekit-stamp"
want_stamp="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION components=${COMPONENTS[*]} etcd"

start=$(date +%s)
say() { printf '[kubekit build %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

if [[ -f $stamp && $(cat "$stamp") == "$want_stamp" ]]; then
  say "cached: $out ($want_stamp)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed. Install Go >= 1.24 (https://go.dev/dl) or point KUBEKIT_ASSETS" >&2
  echo "       (or KUBEBUILDER_ASSETS) at a directory holding ${COMPONENTS[*]} and etcd." >&2
  exit 1
fi

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/kubekit-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# --- Kubernetes --------------------------------------------------------------------------
say "downloading k8s.io/kubernetes@$K8S_VERSION (module proxy)"
k8s_dir=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[[ -d $k8s_dir ]] || { echo "error: could not download k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }

# k8s.io/kubernetes replaces its ~30 staging modules (k8s.io/api, k8s.io/client-go, ...) with
# ./staging paths that are not in the module zip; a wrapper module points them at the
# published v0.<minor>.<patch> tags instead.
staging_version="v0.${K8S_VERSION#v1.}"
mkdir -p "$work/k8s"
{
  echo "module kubekit.local/components"
  echo
  echo "go 1.24"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$k8s_dir/go.mod" \
    | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
} > "$work/k8s/go.mod"
say "wrapper module pins $(grep -c '^replace' "$work/k8s/go.mod") staging modules at $staging_version"

cd "$work/k8s"
go mod download -x k8s.io/kubernetes >/dev/null 2>&1 || true
pkgs=()
for c in "${COMPONENTS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
say "resolving dependencies"
go get "${pkgs[@]/%/@$K8S_VERSION}" >/dev/null 2>"$work/get.log" || { cat "$work/get.log" >&2; exit 1; }

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
say "compiling ${COMPONENTS[*]} (a cold build takes 15-20 minutes on 2 cores; later builds reuse Go's cache)"
(
  while sleep 60; do say "still compiling ($(find "${GOCACHE:-$(go env GOCACHE)}" -type f 2>/dev/null | wc -l) cache files)"; done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true; rm -rf "$work"' EXIT
go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"
kill $ticker 2>/dev/null || true
say "kubernetes components built"

# --- etcd --------------------------------------------------------------------------------
mkdir -p "$work/etcd"
cd "$work/etcd"
printf 'module kubekit.local/etcd\n\ngo 1.24\n' > go.mod
say "downloading go.etcd.io/etcd/server/v3@$ETCD_VERSION"
go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>"$work/get-etcd.log" || { cat "$work/get-etcd.log" >&2; exit 1; }
say "compiling etcd"
go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3

for b in "${COMPONENTS[@]}" etcd; do
  [[ -x $out/$b ]] || { echo "error: $out/$b was not built" >&2; exit 1; }
done
echo "$want_stamp" > "$stamp"
say "done: $out"
"$out/kube-apiserver" --version >&2
