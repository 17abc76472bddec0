//! Deploying what a Rust program generates, as kubectl's ApplySets do: generate an app, see
//! what an apply would change (`kubectl diff`), apply it as one set, change the program's
//! output (drop the worker, change the web tier), diff again, apply — which prunes the worker
//! and nothing else — and wait until the whole set is ready.
//!
//! Runs against the kubekit-testing shared local cluster (started on first use), in a
//! namespace of its own that it deletes at the end.
//!
//! ```text
//! cargo run -p kubekit-examples --example deploy
//! ```

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kubekit::{
    Client,
    builders::{
        ContainerPort, PullPolicy, config_map, container, deployment, namespace, pod_template,
        service_for,
    },
    client::{ApplySet, DeleteOptions},
    manifest::Object,
};

const WAIT: Duration = Duration::from_secs(120);

/// The app as version `version` of the program generates it: settings, a web tier and its
/// Service, and (in version 1 only) a worker.
fn generate(
    ns: &str,
    images: &kubekit_testing::Images,
    version: u32,
) -> kubekit::Result<Vec<Object>> {
    let settings = config_map()
        .name("settings")
        .namespace(ns)
        .data(
            "greeting",
            if version == 1 { "hello" } else { "hello again" },
        )
        .build()?;
    let web = deployment()
        .name("web")
        .namespace(ns)
        .replicas(if version == 1 { 1 } else { 2 })
        .template(
            pod_template()
                .label("app", "web")
                .container(
                    container()
                        .name("web")
                        .image(&images.nginx)
                        .pull_policy(PullPolicy::Never)
                        .port(ContainerPort::http(80))
                        .env("APP_VERSION", version.to_string())
                        .build()?,
                )
                .build(),
        )
        .build()?;
    let service = service_for(&web).name("web").port(80, "http").build()?;
    let mut objects: Vec<Object> = vec![settings.into(), web.into(), service.into()];
    if version == 1 {
        let worker = deployment()
            .name("worker")
            .namespace(ns)
            .template(
                pod_template()
                    .label("app", "worker")
                    .container(
                        container()
                            .name("worker")
                            .image(&images.toolbox)
                            .pull_policy(PullPolicy::Never)
                            .args(["sleep", "3600"])
                            .build()?,
                    )
                    .build(),
            )
            .build()?;
        objects.push(worker.into());
    }
    Ok(objects)
}

#[tokio::main]
async fn main() -> kubekit::Result<()> {
    let cluster = kubekit_testing::Cluster::shared().await?;
    let images = kubekit_testing::images()?;
    let ns = format!("deploy-demo-{}", std::process::id());
    let client = Client::from_config(cluster.config().clone())?.in_namespace(&ns);
    client.apply(&namespace().name(&ns).build()?).await?;

    let result = demo(&client, &ns, &images).await;

    client
        .delete::<Namespace>(&ns, DeleteOptions::default())
        .await?;
    result
}

async fn demo(client: &Client, ns: &str, images: &kubekit_testing::Images) -> kubekit::Result<()> {
    let set = ApplySet::new("demo-app", ns);

    let v1 = generate(ns, images, 1)?;
    println!(
        "== diff (nothing deployed yet)\n{}",
        client.diff_set(&set, &v1).await?
    );
    println!(
        "== apply as set {}\n{}",
        set.id(),
        client.apply_set(&set, &v1).await?
    );
    client
        .wait_all_ready_with(&v1, WAIT, |progress| println!("   {progress}"))
        .await?;
    println!("== all {} objects ready\n", v1.len());

    let v2 = generate(ns, images, 2)?;
    let diff = client.diff_set(&set, &v2).await?;
    println!("== diff of version 2\n{diff}");
    let report = client.apply_set(&set, &v2).await?;
    println!("== apply version 2\n{report}");
    assert_eq!(
        report
            .pruned
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["deployment.apps/worker"]
    );
    client
        .wait_all_ready_with(&v2, WAIT, |progress| println!("   {progress}"))
        .await?;
    println!("== all {} objects ready", v2.len());
    Ok(())
}
