#!/usr/bin/env bash
# Builds a fresh crate outside the workspace with the dependency lines README's "Using it"
# shows, as a new user would write them, and runs it (it prints a typed Pod as YAML; no
# cluster needed). Fails when those lines are not enough for a first build.
#
#   scripts/check-new-crate.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kubekit-new-crate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/kubekit-user/src"
ln -s "$repo" "$tmp/kubekit"
toml=$(sed -n '/<!-- new-crate-toml/,/<!-- end new-crate-toml/p' "$repo/README.md" | sed '/^```/d; /^<!--/d')
[[ -n $toml ]] || { echo "error: README.md has no new-crate-toml block" >&2; exit 1; }
printf '[package]\nname = "kubekit-user"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n%s\n' "$toml" \
  > "$tmp/kubekit-user/Cargo.toml"
cat > "$tmp/kubekit-user/src/main.rs" <<'RS'
use kubekit::prelude::*;

fn main() -> kubekit::Result<()> {
    let web = pod()
        .name("web")
        .container(container().name("web").image("nginx:1.28").build()?)
        .build()?;
    print!("{}", kubekit::manifest::to_yaml(&web)?);
    Ok(())
}
RS
cd "$tmp/kubekit-user"
# The workspace's target directory: what the workspace built is reused.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" cargo run -q | tee "$tmp/out.yaml"
grep -q '^kind: Pod$' "$tmp/out.yaml" || { echo "error: the new crate did not print a Pod" >&2; exit 1; }
echo "a fresh crate with README's dependency lines builds and runs" >&2
