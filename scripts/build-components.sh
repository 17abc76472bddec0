#!/usr/bin/env bash
# Builds the pinned Kubernetes components into kubekit's cache; see the script it runs.
exec "$(dirname "$0")/../kubekit-testing/scripts/build-components.sh" "$@"
