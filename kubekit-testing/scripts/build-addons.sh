#!/usr/bin/env bash
# Builds the pinned cluster add-ons kubekit-testing's clusters run (what k3s ships), from the
# Go module proxy with the machine's Go, next to the Kubernetes components:
#   - coredns: CoreDNS with only the plugins a test cluster's DNS needs (bind, kubernetes, forward,
#     cache, errors, health, ready, loadbalance, log, reload) — not the cloud DNS plugins of the
#     full build (route53, azure, clouddns) and their SDKs;
#   - local-path-provisioner: Rancher's dynamic provisioner (k3s's default StorageClass);
#   - metrics-server: resource metrics behind the aggregation layer (`kubectl top`, HPAs).
#
#   kubekit-testing/scripts/build-addons.sh [OUT_DIR]
#
# OUT_DIR defaults to ~/.cache/kubekit/<kubernetes version>/bin. A second run with the same pins
# is instant: a stamp file records what was built. Progress goes to stderr.
set -euo pipefail

K8S_VERSION=v1.34.4
COREDNS_VERSION=v1.14.7
LOCAL_PATH_VERSION=v0.0.30
METRICS_SERVER_VERSION=v0.8.0
COREDNS_PLUGINS=(bind errors log health ready kubernetes loadbalance forward cache reload)

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit
out=${1:-$cache_root/$K8S_VERSION/bin}
stamp="$out/.kubekit-addons-stamp"
want_stamp="coredns=$COREDNS_VERSION plugins=${COREDNS_PLUGINS[*]} local-path-provisioner=$LOCAL_PATH_VERSION metrics-server=$METRICS_SERVER_VERSION"

start=$(date +%s)
say() { printf '[kubekit add-ons %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

if [[ -f $stamp && $(cat "$stamp") == "$want_stamp" && -x $out/coredns && -x $out/local-path-provisioner && -x $out/metrics-server ]]; then
  say "cached: $out ($want_stamp)"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "error: Go is not installed (needed to build the cluster add-ons: $want_stamp)" >&2; exit 1; }

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/kubekit-addons.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# --- CoreDNS: a main package that registers only the plugins above, in CoreDNS's own order ----
mkdir -p "$work/coredns"
cd "$work/coredns"
printf 'module kubekit.local/coredns\n\ngo 1.25.0\n' > go.mod
{
  echo 'package main'
  echo
  echo 'import ('
  echo '	"github.com/coredns/coredns/core/dnsserver"'
  echo '	"github.com/coredns/coredns/coremain"'
  for p in "${COREDNS_PLUGINS[@]}"; do echo "	_ \"github.com/coredns/coredns/plugin/$p\""; done
  echo ')'
  echo
  echo '// The plugins in the order of CoreDNS'"'"'s plugin.cfg (the order they handle a query).'
  echo 'func init() {'
  echo '	keep := map[string]bool{}'
  for p in "${COREDNS_PLUGINS[@]}"; do echo "	keep[\"$p\"] = true"; done
  echo '	var ds []string'
  echo '	for _, d := range dnsserver.Directives {'
  echo '		if keep[d] {'
  echo '			ds = append(ds, d)'
  echo '		}'
  echo '	}'
  echo '	dnsserver.Directives = ds'
  echo '}'
  echo
  echo 'func main() { coremain.Run() }'
} > main.go
say "resolving github.com/coredns/coredns@$COREDNS_VERSION"
go get "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null 2>"$work/get.log" || { cat "$work/get.log" >&2; exit 1; }
go mod tidy >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
say "compiling coredns (plugins: ${COREDNS_PLUGINS[*]})"
go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" -o "$out/coredns" .

# --- local-path-provisioner --------------------------------------------------------------------
say "compiling github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
GOBIN="$work/gobin" go install -trimpath -ldflags "-s -w" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
cp "$work/gobin/local-path-provisioner" "$out/local-path-provisioner"

# --- metrics-server ---------------------------------------------------------------------------
say "compiling sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION"
GOBIN="$work/gobin" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
  "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
cp "$work/gobin/metrics-server" "$out/metrics-server"

for b in coredns local-path-provisioner metrics-server; do
  [[ -x $out/$b ]] || { echo "error: $out/$b was not built" >&2; exit 1; }
done
echo "$want_stamp" > "$stamp"
say "done: $out"
"$out/coredns" -version >&2
