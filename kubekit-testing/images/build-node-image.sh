#!/usr/bin/env bash
# Builds kubekit's node image: the whole local cluster in one container, for the k3s
# provider where the rancher/k3s image cannot be pulled. It holds the same pinned Kubernetes
# binaries and etcd as the local cluster, Debian bookworm's containerd, runc and CNI plugins,
# the locally built pod images, and `kubekit-cluster serve` as its entrypoint, which writes
# the kubeconfig where k3s writes it (/etc/rancher/k3s/k3s.yaml) and serves the API on 6443.
#
#   kubekit-testing/images/build-node-image.sh KUBEKIT_CLUSTER_BINARY [OUT_DIR]
#
# OUT_DIR (default ~/.cache/kubekit/images) must hold the pod images (build-images.sh);
# the result is OUT_DIR/kube-node.tar (a docker archive) and kube-node.ref, tagged
# kubekit.local/kube-node:<kubernetes version>-<input hash>. Cached by a stamp of its inputs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:?usage: build-node-image.sh KUBEKIT_CLUSTER_BINARY [OUT_DIR]}
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kubekit
out=${2:-$cache_root/images}
K8S_VERSION=v1.34.4
bins=${KUBEKIT_ASSETS:-$cache_root/$K8S_VERSION/bin}
SUITE=bookworm
MIRROR=${KUBEKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
start=$(date +%s)
say() { printf '[kubekit node image %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

for f in "$binary" "$bins/etcd" "$bins/kube-apiserver" "$bins/kubelet" "$bins/coredns" "$bins/local-path-provisioner" "$bins/metrics-server" "$bins/traefik" "$out/pause.tar" "$out/nginx.tar" "$out/toolbox.tar"; do
  [[ -f $f ]] || { echo "error: $f is missing; run scripts/setup.sh first" >&2; exit 1; }
done
command -v mmdebstrap >/dev/null || { echo "error: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }

components=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns local-path-provisioner metrics-server traefik)
inputs=$( {
  cat "$here/build-node-image.sh" "$here/image.py"
  sha256sum "$binary" | cut -d' ' -f1
  for c in "${components[@]}"; do sha256sum "$bins/$c" | cut -d' ' -f1; done
  cat "$out/pause.ref" "$out/nginx.ref" "$out/toolbox.ref"
  echo "$SUITE"
} | sha256sum | cut -c1-12)
ref="kubekit.local/kube-node:$K8S_VERSION-$inputs"
if [[ -f $out/kube-node.tar && -f $out/kube-node.ref && $(cat "$out/kube-node.ref") == "$ref" ]]; then
  say "cached: $ref"
  echo "$ref"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kubekit-node-image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/images"
for c in "${components[@]}"; do cp "$bins/$c" "$tmp/bin/"; done
for i in pause nginx toolbox; do cp "$out/$i.tar" "$out/$i.ref" "$tmp/images/"; done
cp "$binary" "$tmp/kubekit-cluster"
strip "$tmp/kubekit-cluster" 2>/dev/null || true

say "mmdebstrap $SUITE with containerd, runc, CNI plugins, iptables (downloads from $MIRROR)"
mmdebstrap --quiet --variant=essential \
  --include=containerd,runc,containernetworking-plugins,iptables,iproute2,mount,util-linux,procps,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='mkdir -p "$1/usr/local/lib/kubekit/bin" "$1/usr/local/lib/kubekit/images" "$1/etc/rancher/k3s" "$1/root"' \
  --customize-hook="copy-in $tmp/bin/. /usr/local/lib/kubekit/bin" \
  --customize-hook="copy-in $tmp/images/. /usr/local/lib/kubekit/images" \
  --customize-hook="copy-in $tmp/kubekit-cluster /usr/local/bin" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  "$SUITE" "$tmp/rootfs.tar" "$MIRROR"

say "writing $ref"
python3 "$here/image.py" --out "$out/kube-node.tar" --ref "$ref" --layer "$tmp/rootfs.tar" \
  --entrypoint '["/usr/local/bin/kubekit-cluster", "serve"]' --cmd '[]' \
  --env HOME=/root \
  --env KUBEKIT_ASSETS=/usr/local/lib/kubekit/bin \
  --env KUBEKIT_IMAGES=/usr/local/lib/kubekit/images \
  --env KUBEKIT_API_ADDRESS=0.0.0.0:6443 \
  --env KUBEKIT_INGRESS_ADDRESS=0.0.0.0 \
  --env KUBEKIT_LB_ADDRESS=auto \
  --env CONTAINERD_ADDRESS=/run/kubekit-node/containerd/containerd.sock \
  --env CONTAINERD_NAMESPACE=k8s.io \
  --volume /run/kubekit-node --volume /root/.cache/kubekit \
  --expose 6443/tcp --expose 80/tcp --expose 443/tcp --stop-signal SIGTERM
echo "$ref" > "$out/kube-node.ref"
say "built $ref ($(du -h "$out/kube-node.tar" | cut -f1))"
echo "$ref"
