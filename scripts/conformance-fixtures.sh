#!/usr/bin/env bash
# Records what kubectl does with each manifest of kubekit/tests/fixtures/conformance/*.yaml,
# the reference kubekit's conformance test (kubekit/tests/manifest_conformance.rs) compares
# its reader with. For each NAME.yaml it writes NAME.kubectl.json:
#
#   { "kubectl": "<client version>",
#     "client": { "exitCode": N, "stdout": <JSON or null>, "stderr": "..." },   # --dry-run=client
#     "server": { "exitCode": N, "stdout": <JSON or null>, "stderr": "..." } }  # --dry-run=server
#
# `client` is what kubectl would send (kubectl apply --dry-run=client -o json); `server` says
# whether the API server accepts it (volatile fields uid, creationTimestamp, resourceVersion and
# managedFields removed). It needs a running cluster (any; kubekit's k3s node image will do):
#
#   id=$(docker run -d --privileged --cgroupns=private -p 127.0.0.1::6443 \
#        "$(cat ~/.cache/kubekit/images/kube-node.ref)")
#   port=$(docker port "$id" 6443 | cut -d: -f2)
#   docker exec "$id" cat /etc/rancher/k3s/k3s.yaml | sed "s#127.0.0.1:6443#127.0.0.1:$port#" \
#        > /tmp/conformance-kubeconfig
#   KUBECONFIG=/tmp/conformance-kubeconfig scripts/conformance-fixtures.sh
#   docker rm -f "$id"
#
# It creates, for real, what the fixtures refer to: the CustomResourceDefinition of
# `widgets.example.com` (any fields kept) and the namespace `shop`. Requires kubectl and jq.
set -euo pipefail
: "${KUBECONFIG:?set KUBECONFIG to the kubeconfig of a running cluster}"
export KUBECONFIG
repo=$(cd "$(dirname "$0")/.." && pwd)
dir="$repo/kubekit/tests/fixtures/conformance"
kubectl=${KUBECTL:-kubectl}

"$kubectl" apply -f - >/dev/null <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
YAML
"$kubectl" wait --for=condition=Established crd/widgets.example.com --timeout=60s >/dev/null

version=$("$kubectl" version --client -o json | jq -r .clientVersion.gitVersion)
volatile='walk(if type == "object" then del(.uid, .creationTimestamp, .resourceVersion, .managedFields) else . end)'

# Runs `kubectl apply --dry-run=$1 -o json -f $2` and prints its outcome as JSON.
run() {
  local out err code=0
  out=$(mktemp) err=$(mktemp)
  "$kubectl" apply --dry-run="$1" -o json -f "$2" >"$out" 2>"$err" || code=$?
  local filter=.
  [[ $1 == server ]] && filter=$volatile
  jq -n --argjson code "$code" --rawfile stderr "$err" \
    --argjson stdout "$(jq -s "if length == 0 then null else .[0] | $filter end" "$out" 2>/dev/null || echo null)" \
    '{exitCode: $code, stdout: $stdout, stderr: $stderr}'
  rm -f "$out" "$err"
}

# From the fixtures' directory, so that messages name the file alone.
cd "$dir"
for file in *.yaml; do
  name=$(basename "$file" .yaml)
  client=$(run client "$file")
  server=$(run server "$file")
  jq -n --arg version "$version" --argjson client "$client" --argjson server "$server" \
    '{kubectl: $version, client: $client, server: $server}' >"$name.kubectl.json"
  printf '%-32s client %s  server %s\n' "$name" \
    "$(jq .exitCode <<<"$client")" "$(jq .exitCode <<<"$server")"
done
