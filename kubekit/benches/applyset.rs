//! Applying and pruning a set of 300 objects (100 Deployments with 0 replicas, 100 Services,
//! 100 ConfigMaps): kubekit's `apply_set` against `kubectl apply --server-side --prune
//! --applyset` (kubectl v1.37) on the same cluster, in the same run.
//!
//! `cargo bench -p kubekit --features testing --bench applyset` (kubectl from `$KUBECTL` or
//! the one `scripts/setup.sh` installs; `ROUNDS=n`, default 3). Every measured step runs in a
//! namespace of its own, deleted (and gone) before the next step, and the two tools take
//! turns going first, so that neither meets a cluster the other has filled. Also measured:
//! the same server-side applies with plain kube-rs and nothing else — the floor any client
//! meets on this cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    io::Write,
    path::PathBuf,
    time::{Duration, Instant},
};

use kubekit::client::ApplySet;

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const PER_KIND: usize = 100;
const DROPPED: usize = 10;

fn objects(prefix: &str, image: &str, keep: usize) -> String {
    let mut yaml = String::new();
    for i in 0..keep {
        let name = format!("{prefix}-{i}");
        yaml.push_str(&format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: web, image: {image}, imagePullPolicy: Never, ports: [{{containerPort: 80}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}}}
data: {{index: \"{i}\"}}
---
"
        ));
    }
    yaml
}

fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| kubekit_testing::assets::cache_dir().join("tools/kubectl"))
}

fn kubectl_apply(kubeconfig: &str, ns: &str, set: &str, yaml: &str) -> R<Duration> {
    let mut file = tempfile(yaml)?;
    file.flush()?;
    let start = Instant::now();
    let out = std::process::Command::new(kubectl())
        .env("KUBECTL_APPLYSET", "true")
        .args([
            "--kubeconfig",
            kubeconfig,
            "-n",
            ns,
            "apply",
            "--server-side",
            "--prune",
        ])
        .arg(format!("--applyset={set}"))
        .arg("-f")
        .arg(file.path())
        .output()?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(format!("kubectl: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(took)
}

struct Temp(PathBuf, std::fs::File);

impl Temp {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Write for Temp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.1.flush()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile(content: &str) -> R<Temp> {
    let path = std::env::temp_dir().join(format!("kubekit-bench-{}.yaml", std::process::id()));
    let mut file = std::fs::File::create(&path)?;
    file.write_all(content.as_bytes())?;
    Ok(Temp(path, file))
}

/// The floor any client meets: `objects` server-side applied with plain kube-rs, `parallel`
/// at a time, and nothing else (no check first, no set, no prune).
async fn plain_apply(
    client: &kube::Client,
    ns: &str,
    objects: &[kubekit::manifest::Object],
    parallel: usize,
) -> R<Duration> {
    use futures::{StreamExt as _, TryStreamExt as _};
    use kube::{
        Api,
        api::{DynamicObject, Patch, PatchParams, ValidationDirective},
        discovery::ApiResource,
    };
    let mut params = PatchParams::apply("plain-kube-rs");
    params.field_validation = Some(ValidationDirective::Strict);
    let bodies: Vec<(ApiResource, String, serde_json::Value)> = objects
        .iter()
        .map(|o| {
            let value = o.to_value()?;
            let resource = match value["kind"].as_str() {
                Some("Deployment") => {
                    ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&())
                }
                Some("Service") => ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&()),
                _ => ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
            };
            let name = value["metadata"]["name"].as_str().unwrap().to_string();
            Ok((resource, name, value))
        })
        .collect::<R<_>>()?;
    let start = Instant::now();
    futures::stream::iter(bodies.iter().map(|(resource, name, body)| {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, resource);
        let params = &params;
        async move { api.patch(name, params, &Patch::Apply(body)).await }
    }))
    .buffer_unordered(parallel)
    .try_collect::<Vec<_>>()
    .await?;
    Ok(start.elapsed())
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// A namespace of its own for one measured step, so that every step starts from the same
/// cluster: the namespace of the step before is deleted, and gone (its Services with it, which
/// kube-proxy would otherwise keep rewriting rules for), before the next starts.
async fn fresh(what: &str) -> R<(kubekit_testing::TestNamespace, kubekit::Client)> {
    let ns = kubekit_testing::TestNamespace::create(&format!("bench::applyset::{what}")).await?;
    let client =
        kubekit::Client::from_config(ns.cluster().config().clone())?.in_namespace(ns.name());
    Ok((ns, client))
}

async fn gone(mut ns: kubekit_testing::TestNamespace, client: &kubekit::Client) -> R<()> {
    let name = ns.name().to_string();
    ns.delete().await?;
    client
        .wait_deleted::<k8s_openapi::api::core::v1::Namespace>(&name, Duration::from_secs(300))
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> R<()> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let image = kubekit_testing::images()?.nginx;
    let (mut kk_apply, mut kk_prune, mut kc_apply, mut kc_prune) = (vec![], vec![], vec![], vec![]);
    let mut kk_check = vec![];
    let (mut plain_all, mut plain_services_1, mut plain_services_16) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        // kubekit and kubectl take turns going first.
        for tool in if round % 2 == 0 {
            ["kubekit", "kubectl"]
        } else {
            ["kubectl", "kubekit"]
        } {
            let (ns, client) = fresh(tool).await?;
            if tool == "kubekit" {
                let all = kubekit::manifest::from_yaml(&objects("app", &image, PER_KIND))?;
                let fewer =
                    kubekit::manifest::from_yaml(&objects("app", &image, PER_KIND - DROPPED))?;
                let set = ApplySet::new("app", ns.name());
                // The check a create makes before its first write, alone: what it costs.
                let start = Instant::now();
                let plan = client
                    .apply_set_with(&set, &all, kubekit::client::ApplyOptions::dry_run())
                    .await?;
                kk_check.push(start.elapsed());
                assert_eq!(plan.applied.objects.len(), 3 * PER_KIND);
                let start = Instant::now();
                let report = client.apply_set(&set, &all).await?;
                kk_apply.push(start.elapsed());
                assert_eq!(report.applied.objects.len(), 3 * PER_KIND);
                let start = Instant::now();
                let report = client.apply_set(&set, &fewer).await?;
                kk_prune.push(start.elapsed());
                assert_eq!(report.pruned.len(), 3 * DROPPED);
            } else {
                let kubeconfig = ns
                    .cluster()
                    .kubeconfig()
                    .ok_or("no kubeconfig")?
                    .display()
                    .to_string();
                let yaml = objects("app", &image, PER_KIND);
                kc_apply.push(kubectl_apply(&kubeconfig, ns.name(), "app", &yaml)?);
                let yaml = objects("app", &image, PER_KIND - DROPPED);
                kc_prune.push(kubectl_apply(&kubeconfig, ns.name(), "app", &yaml)?);
            }
            gone(ns, &client).await?;
        }
        // The floor: the same writes with plain kube-rs, and the Services alone.
        let all = kubekit::manifest::from_yaml(&objects("app", &image, PER_KIND))?;
        let services: Vec<kubekit::manifest::Object> = all
            .iter()
            .filter(|o| o.kind() == "Service")
            .cloned()
            .collect();
        for (objects, parallel, times) in [
            (&all, 16, &mut plain_all),
            (&services, 1, &mut plain_services_1),
            (&services, 16, &mut plain_services_16),
        ] {
            let (ns, client) = fresh("plain").await?;
            let plain = kube::Client::try_from(ns.cluster().config().clone())?;
            times.push(plain_apply(&plain, ns.name(), objects, parallel).await?);
            gone(ns, &client).await?;
        }
        eprintln!("round {round} done");
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |what: &str, kk: Vec<Duration>, kc: Vec<Duration>| {
        let (a, b) = (median(kk), median(kc));
        println!(
            "| {what} | {:.0} ms | {:.0} ms | {:.1}x |",
            ms(a),
            ms(b),
            b.as_secs_f64() / a.as_secs_f64()
        );
    };
    println!(
        "| {} objects, median of {rounds} | kubekit apply_set | kubectl --applyset | kubectl / kubekit |",
        3 * PER_KIND
    );
    println!("|---|---|---|---|");
    println!(
        "| (kubekit's check before the first write, alone: a dry run of the set) | {:.0} ms | | |",
        ms(median(kk_check))
    );
    row("create the set", kk_apply, kc_apply);
    row(
        &format!("apply again, {} fewer (pruned)", 3 * DROPPED),
        kk_prune,
        kc_prune,
    );
    let alone = |what: &str, xs: Vec<Duration>| {
        println!("| {what} | {:.0} ms | | |", ms(median(xs)));
    };
    alone(
        &format!(
            "(plain kube-rs: the same {} server-side applies, 16 at a time, nothing else)",
            3 * PER_KIND
        ),
        plain_all,
    );
    alone(
        &format!("(plain kube-rs: {PER_KIND} Services alone, one at a time)"),
        plain_services_1,
    );
    alone(
        &format!("(plain kube-rs: {PER_KIND} Services alone, 16 at a time)"),
        plain_services_16,
    );
    Ok(())
}
