//! Deployment rollouts, end to end on a real cluster: a rolling update followed like
//! `kubectl rollout status`, the revision history, a broken update that is reported with the
//! pods' reason and rolled back, and scaling.
//!
//! Runs against the kubekit-testing shared local cluster (started on first use), in a
//! namespace of its own that it deletes at the end.
//!
//! ```text
//! cargo run -p kubekit-examples --example deployment_rollout
//! ```

use std::time::Duration;

use kubekit::{
    Client,
    builders::{PullPolicy, container, deployment, namespace, pod_template},
    client::DeleteOptions,
    rollout::{RolloutError, Update},
};

const WAIT: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() -> kubekit::Result<()> {
    let cluster = kubekit_testing::Cluster::shared().await?;
    let images = kubekit_testing::images()?;
    let ns = format!("rollout-demo-{}", std::process::id());
    let client = Client::from_config(cluster.config().clone())?.in_namespace(&ns);
    client.apply(&namespace().name(&ns).build()?).await?;

    let result = demo(&client, &images).await;

    client
        .delete::<k8s_openapi::api::core::v1::Namespace>(&ns, DeleteOptions::default())
        .await?;
    result
}

async fn demo(client: &Client, images: &kubekit_testing::Images) -> kubekit::Result<()> {
    // Three nginx pods; updates start one new pod at a time and never stop an old one before
    // its replacement is available.
    let web = deployment()
        .name("web")
        .replicas(3)
        .template(
            pod_template()
                .label("app", "web")
                .container(
                    container()
                        .name("web")
                        .image(&images.nginx)
                        .pull_policy(PullPolicy::Never)
                        .build()?,
                )
                .termination_grace_period_seconds(0)
                .build(),
        )
        .rolling_update(1, 0)
        .revision_history_limit(5)
        .build()?;
    client.apply(&web).await?;

    let rollout = client.rollout("web");
    rollout
        .wait_with(WAIT, |status| println!("{status}"))
        .await?;

    // A new image (and command) for container "web", recorded with a change cause.
    println!("\n== update to the toolbox image");
    rollout
        .update(
            Update::new()
                .image("web", &images.toolbox)
                .template(|t| {
                    if let Some(c) = t.spec.as_mut().and_then(|s| s.containers.first_mut()) {
                        c.command = Some(vec![
                            "httpd".into(),
                            "-f".into(),
                            "-p".into(),
                            "8080".into(),
                        ]);
                    }
                })
                .change_cause("switch to busybox httpd"),
        )
        .await?;
    rollout
        .wait_with(WAIT, |status| println!("{status}"))
        .await?;
    println!("\n{}", rollout.history().await?);

    // An image the node does not have: the rollout fails with the pods' reason, the old pods
    // keep serving, and undo brings the previous revision back.
    println!("== update to an image that is not there");
    rollout.set_image("web", "kubekit.local/missing:1").await?;
    match rollout.wait(WAIT).await {
        Err(kubekit::Error::Rollout(RolloutError::Failed { reason, pods, .. })) => {
            println!("rollout failed: {reason}");
            for pod in pods {
                println!("  {pod}");
            }
        }
        other => println!("unexpected: {other:?}"),
    }
    let undone = rollout.undo().await?;
    println!("{undone}");
    rollout
        .wait_with(WAIT, |status| println!("{status}"))
        .await?;
    println!("\n{}", rollout.history().await?);

    // Scale and wait until the new count is ready.
    println!("== scale to 5");
    let status = rollout.scale_and_wait(5, WAIT).await?;
    println!("{status}: {} available", status.available);
    println!("\n{}", kubekit::client::table::pods(&rollout.pods().await?));
    Ok(())
}
