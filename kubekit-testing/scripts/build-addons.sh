#!/usr/bin/env bash
# Builds the pinned cluster add-ons kubekit-testing's clusters run (what k3s ships), from the
# Go module proxy with the machine's Go, next to the Kubernetes components:
#   - coredns: CoreDNS with only the plugins a test cluster's DNS needs (bind, kubernetes, forward,
#     cache, errors, health, ready, loadbalance, log, reload) — not the cloud DNS plugins of the
#     full build (route53, azure, clouddns) and their SDKs;
#   - local-path-provisioner: Rancher's dynamic provisioner (k3s's default StorageClass);
#   - metrics-server: resource metrics behind the aggregation layer (`kubectl top`, HPAs);
#   - traefik: the ingress controller k3s ships. Built from its module's source with two
#     changes, because the module proxy does not serve everything its go.mod names:
#       * its `dynamic/ext` module (four empty extension types, a nested module left out of
#         Traefik's module archive) is written here;
#       * its fork of go-http-auth (basic/digest auth middlewares) is not served: the
#         upstream github.com/abbot/go-http-auth v0.4.0 takes its place, with the two functions
#         the fork adds (CheckSecret: CheckAuth's own hash comparison on its own; and
#         RequireAuthStale: RequireAuth's challenge with `stale=true`) in a file written here;
#       * lego's ACME DNS-challenge providers whose cloud SDKs are not served are left out of
#         lego's provider list (LEGO_DROPPED below); ACME DNS challenges cannot work offline
#         anyway, and nothing else changes.
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
TRAEFIK_VERSION=v3.7.13
LEGO_VERSION=v5.4.1
LEGO_DROPPED=(alidns aliesa azion dnsimple edgedns edgeone huaweicloud tencentcloud oraclecloud regfish sakuracloud ucloud yandexcloud)
COREDNS_PLUGINS=(bind errors log health ready kubernetes loadbalance forward cache reload)

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit
out=${1:-$cache_root/$K8S_VERSION/bin}
stamp="$out/.kubekit-addons-stamp"
want_stamp="coredns=$COREDNS_VERSION plugins=${COREDNS_PLUGINS[*]} local-path-provisioner=$LOCAL_PATH_VERSION metrics-server=$METRICS_SERVER_VERSION traefik=$TRAEFIK_VERSION lego=$LEGO_VERSION-without-${#LEGO_DROPPED[@]}"

start=$(date +%s)
say() { printf '[kubekit add-ons %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

if [[ -f $stamp && $(cat "$stamp") == "$want_stamp" && -x $out/coredns && -x $out/local-path-provisioner && -x $out/metrics-server && -x $out/traefik ]]; then
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

# --- traefik ------------------------------------------------------------------------------------
say "compiling github.com/traefik/traefik/v3@$TRAEFIK_VERSION (the longest: about 400 modules)"
module_dir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
src=$(module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
lego=$(module_dir "github.com/go-acme/lego/v5@$LEGO_VERSION")
[[ -d $src && -d $lego ]] || { echo "error: could not download Traefik $TRAEFIK_VERSION or lego $LEGO_VERSION" >&2; exit 1; }
httpauth=$(module_dir "github.com/abbot/go-http-auth@v0.4.0")
[[ -d $httpauth ]] || { echo "error: could not download github.com/abbot/go-http-auth v0.4.0" >&2; exit 1; }
cp -r "$src" "$work/traefik"; cp -r "$lego" "$work/lego"; cp -r "$httpauth" "$work/go-http-auth"
chmod -R u+w "$work/traefik" "$work/lego" "$work/go-http-auth"
# v0.4.0 predates modules: a go.mod makes the directory usable as a replacement.
printf 'module github.com/abbot/go-http-auth\n\ngo 1.17\n' > "$work/go-http-auth/go.mod"
cat > "$work/go-http-auth/kubekit_fork_api.go" <<'GO'
package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CheckSecret reports whether password matches secret, a password hash in any format
// BasicAuth.CheckAuth accepts (the comparison CheckAuth makes, on its own).
func CheckSecret(password, secret string) bool {
	compare := compareFuncs[0].compare
	for _, cmp := range compareFuncs[1:] {
		if strings.HasPrefix(secret, cmp.prefix) {
			compare = cmp.compare
			break
		}
	}
	return compare([]byte(secret), []byte(password)) == nil
}

// RequireAuthStale is RequireAuth with `stale=true` in the challenge: the client retries
// with a fresh nonce without asking its user again.
func (a *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	if len(a.clients) > a.ClientCacheSize+a.ClientCacheTolerance {
		a.Purge(a.ClientCacheTolerance * 2)
	}
	nonce := RandomKey()
	a.clients[nonce] = &digest_client{nc: 0, last_seen: time.Now().UnixNano()}
	w.Header().Set(contentType, a.Headers.V().UnauthContentType)
	w.Header().Set(a.Headers.V().Authenticate,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", opaque="%s", algorithm="MD5", qop="auth", stale=true`,
			a.Realm, nonce, a.Opaque))
	w.WriteHeader(a.Headers.V().UnauthCode)
	w.Write([]byte(a.Headers.V().UnauthResponse))
}
GO
mkdir -p "$work/traefik/pkg/config/dynamic/ext"
printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' > "$work/traefik/pkg/config/dynamic/ext/go.mod"
cat > "$work/traefik/pkg/config/dynamic/ext/ext.go" <<'GO'
// Package ext holds the extension points of Traefik's dynamic configuration, empty in its
// open-source build.
package ext

// HTTP extends dynamic.HTTPConfiguration.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}

// RouterIng extends the routers made from Ingress annotations.
type RouterIng struct{}

// ToRouter converts RouterIng to a Router.
func (r RouterIng) ToRouter() Router { return Router{} }
GO
providers="$work/lego/providers/dns/zz_gen_dns_providers.go"
awk -v drop="${LEGO_DROPPED[*]}" '
  BEGIN { n = split(drop, a, " "); for (i = 1; i <= n; i++) d[a[i]] = 1 }
  { line[NR] = $0 }
  END {
    for (i = 1; i <= NR; i++) {
      l = line[i]
      if (match(l, /"github.com\/go-acme\/lego\/v5\/providers\/dns\/[a-z0-9]+"$/)) {
        p = l; sub(/.*\/dns\//, "", p); sub(/"$/, "", p); if (p in d) continue
      }
      if (l ~ /^[ \t]*case / && i < NR && match(line[i + 1], /return [a-z0-9]+\.New/)) {
        q = substr(line[i + 1], RSTART + 7); sub(/\..*/, "", q); if (q in d) { i++; continue }
      }
      print l
    }
  }' "$providers" > "$providers.new"
mv "$providers.new" "$providers"
for p in "${LEGO_DROPPED[@]}"; do
  if grep -qE "[^a-z0-9]$p\." "$providers"; then echo "error: lego provider $p is still referenced" >&2; exit 1; fi
done
(
  cd "$work/traefik"
  go mod edit -replace "github.com/go-acme/lego/v5=../lego" \
    -replace "github.com/abbot/go-http-auth=../go-http-auth"
  GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$out/traefik" ./cmd/traefik
)

for b in coredns local-path-provisioner metrics-server traefik; do
  [[ -x $out/$b ]] || { echo "error: $out/$b was not built" >&2; exit 1; }
done
echo "$want_stamp" > "$stamp"
say "done: $out"
"$out/coredns" -version >&2
