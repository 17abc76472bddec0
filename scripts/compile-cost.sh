#!/usr/bin/env bash
# Clean debug build time of the same Pod written four ways (see BENCHMARKS.md, "Compile cost"):
#   plain          k8s-openapi + serde-saphyr (struct literals, YAML out)
#   kubekit-lean   kubekit without default features (builders + manifests)
#   plain-kube     kube (client, rustls, runtime, ws) + k8s-openapi + serde-saphyr
#   kubekit-client kubekit with its default features (client)
# Each crate builds in its own target directory; dependencies are fetched first, so only
# compilation is timed. Run on an idle machine: scripts/compile-cost.sh [CRATE...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kubekit-compile-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

plain_main='use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pod = Pod {
        metadata: ObjectMeta { name: Some("web2".into()), ..Default::default() },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "web".into(),
                image: Some("nginx:1.28".into()),
                image_pull_policy: Some("IfNotPresent".into()),
                ports: Some(vec![ContainerPort { container_port: 80, ..Default::default() }]),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    print!("{}", serde_saphyr::to_string(&pod)?);
    Ok(())
}'
kubekit_main='use kubekit::builders::{ContainerPort, PullPolicy, container, pod};
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pod = pod()
        .name("web2")
        .container(
            container()
                .name("web")
                .image("nginx:1.28")
                .pull_policy(PullPolicy::IfNotPresent)
                .port(ContainerPort::new(80))
                .build()?,
        )
        .build()?;
    print!("{}", kubekit::manifest::to_yaml(&pod)?);
    Ok(())
}'
openapi='k8s-openapi = { version = "0.29", features = ["v1_34"] }'
make() { # name deps main
  mkdir -p "$work/$1/src"
  printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\n[workspace]\n[dependencies]\n%s\n' "$1" "$2" > "$work/$1/Cargo.toml"
  printf '%s\n' "$3" > "$work/$1/src/main.rs"
}
make plain "$openapi"$'\nserde-saphyr = "2.2"' "$plain_main"
make kubekit-lean "$openapi"$'\nkubekit = { path = "'"$repo"'/kubekit", default-features = false }' "$kubekit_main"
make plain-kube "$openapi"$'\nserde-saphyr = "2.2"\nkube = { version = "5.0", default-features = false, features = ["client", "rustls-tls", "ring", "runtime", "ws"] }' "use kube as _;"$'\n'"$plain_main"
make kubekit-client "$openapi"$'\nkubekit = { path = "'"$repo"'/kubekit" }' "$kubekit_main"

# Arguments pick crates (default: all four).
crates=("$@"); (( ${#crates[@]} )) || crates=(plain kubekit-lean plain-kube kubekit-client)
for c in "${crates[@]}"; do
  (cd "$work/$c" && cargo fetch -q)
  /usr/bin/time -f "$c: wall %e s, CPU %U+%S s" cargo build -q --manifest-path "$work/$c/Cargo.toml" 2>&1 | tail -1
  "$work/$c/target/debug/$c" | grep -q 'image: nginx:1.28' || echo "$c: did not print the Pod" >&2
done
