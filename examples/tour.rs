//! The whole walkthrough (`kubectl` study note) on a throwaway cluster, every step with
//! kubekit, printing what each step shows. This is the README's main job:
//!
//! ```text
//! ./scripts/setup.sh && cargo run -p kubekit-examples --example tour
//! ```
//!
//! The cluster is kubekit-testing's local one (control plane and a node, started here when
//! none runs, stopped about ten seconds after the tour ends); the pods run the nginx image
//! built from Debian's packages, since no registry is reachable.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kubekit::{
    builders::{ContainerPort, PullPolicy, container, pod},
    client::{ApiResourceInfo, DeleteOptions, table},
    exec::ExecOptions,
    logs::LogOptions,
    manifest,
    portforward::{PortForwardOptions, PortForwardTarget},
};

fn step(n: u32, kubectl: &str) {
    println!("\n== {n}. {kubectl}");
}

#[tokio::main]
async fn main() -> common::Result<()> {
    let started = Instant::now();
    let (client, images) = common::connect().await?;
    println!(
        "cluster ready ({:.1} s); namespace {}",
        started.elapsed().as_secs_f64(),
        common::NAMESPACE
    );
    let result = tour(&client, &images).await;
    // Leave nothing behind, also after a failed step.
    client
        .delete::<Namespace>(common::NAMESPACE, DeleteOptions::default())
        .await?;
    println!("\ntour done in {:.1} s", started.elapsed().as_secs_f64());
    result
}

async fn tour(client: &kubekit::Client, images: &kubekit_testing::Images) -> common::Result<()> {
    step(1, "kubectl api-resources");
    let resources = client.api_resources().await?;
    let table = ApiResourceInfo::table(&resources);
    for line in table.lines().filter(|l| {
        l.starts_with("NAME")
            || [
                "pods ",
                "services ",
                "deployments ",
                "replicasets ",
                "namespaces ",
            ]
            .iter()
            .any(|k| l.starts_with(k))
    }) {
        println!("{line}");
    }
    println!("... {} kinds in all", resources.len());

    step(3, "kubectl run web --image=nginx --port 80");
    let t = Instant::now();
    let applied = client.apply(&common::web(&images.nginx)?).await?;
    println!("pod/web {} (image {})", applied.outcome, images.nginx);
    client.wait_pod_ready("web", common::WAIT).await?;
    println!("pod/web Ready after {:.1} s", t.elapsed().as_secs_f64());

    step(4, "kubectl port-forward pod/web 8080:80");
    let forward = client
        .port_forward(PortForwardTarget::pod("web"), 80, PortForwardOptions::new())
        .await?;
    println!("Forwarding from {} -> 80", forward.local_addr());
    let page = common::http_get(forward.local_addr()).await?;
    println!("GET / -> {}", page.lines().next().unwrap_or_default());
    println!(
        "{}",
        page.lines()
            .find(|l| l.contains("<title>"))
            .unwrap_or_default()
            .trim()
    );
    forward.stop().await;

    step(5, "kubectl get pods");
    let pods: Vec<Pod> = client.list(()).await?;
    print!("{}", table::pods(&pods));

    step(6, "kubectl get pods -o wide");
    print!("{}", table::pods_wide(&pods));

    step(8, "kubectl exec -it web -- /bin/bash");
    // Interactive in a terminal (see the pod_exec example); here the shell gets its
    // commands on stdin, as `echo ... | kubectl exec -i web -- /bin/bash` would.
    let out = client
        .exec(
            "web",
            ["/bin/bash"],
            ExecOptions::new().stdin("echo \"$BASH_VERSION on $(hostname)\"; exit 3\n"),
        )
        .await?;
    print!("{}", out.stdout_str());
    println!("(bash exited with {})", out.code);

    step(9, "curl localhost   (inside the pod)");
    let out = client
        .exec_ok("web", ["curl", "-s", "localhost"], ExecOptions::new())
        .await?;
    for line in out
        .stdout_str()
        .lines()
        .filter(|l| l.contains("<title>") || l.contains("<h1>"))
    {
        println!("{}", line.trim());
    }

    step(
        2,
        "kubectl logs web   (--tail, --since, --timestamps, --previous, -c, --all-containers)",
    );
    print!("{}", client.logs("web", &LogOptions::new().tail(3)).await?);

    step(10, "kubectl apply -f web-pod.yaml");
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web-pod.yaml"))?;
    // The same pod written with the builders gives the same object as the file.
    let typed = pod()
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
    let from_file: Pod = manifest::from_yaml_one(&yaml)?;
    println!("builders == web-pod.yaml: {}", typed == from_file);
    // nginx:1.28 cannot be pulled here: the locally built nginx image stands in for it.
    let report = client
        .apply_manifest(&yaml.replace("nginx:1.28", &images.nginx))
        .await?;
    print!("{report}");
    client.wait_pod_ready("web2", common::WAIT).await?;

    step(7, "kubectl get pod web2 -o yaml");
    let web2: Pod = client.get("web2").await?;
    // As kubectl, without metadata.managedFields (`RenderOptions::show_managed_fields` keeps them).
    print!("{}", manifest::to_yaml(&web2)?);

    step(12, "kubectl delete pod web");
    client
        .delete::<Pod>("web", DeleteOptions::wait(Duration::from_secs(60)))
        .await?;
    println!("pod \"web\" deleted");

    step(11, "kubectl delete all --all");
    let report = client.delete_all().await?;
    for object in &report.deleted {
        println!("{object} deleted");
    }
    let left: Vec<Pod> = client.list(()).await?;
    println!(
        "pods left: {}",
        left.iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count()
    );
    Ok(())
}
