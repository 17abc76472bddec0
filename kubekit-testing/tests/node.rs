//! The local node runs real pods from the locally built images.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
    runtime::wait::{await_condition, conditions::is_pod_running},
};
use kubekit_testing::{Cluster, NODE_NAME, test_namespace};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A kube client of `cluster` (kubekit's own tests get kubekit's client from
/// `kubekit::testing`).
fn client(cluster: &Cluster) -> Result<kube::Client, kube::Error> {
    kube::Client::try_from(cluster.config().clone())
}

fn pod(name: &str, image: &str, policy: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                image_pull_policy: Some(policy.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn nginx_pod_runs_on_the_node_with_its_own_ip() -> TestResult {
    let ns = test_namespace!().await?;
    assert!(
        ns.cluster().has_node(),
        "the shared local cluster must have a node (run as root)"
    );
    let images = kubekit_testing::images()?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(&PostParams::default(), &pod("web", &images.nginx, "Never"))
        .await?;
    let running = tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(pods.clone(), "web", is_pod_running()),
    )
    .await??;
    let running = running.ok_or("pod vanished")?;
    let spec = running.spec.ok_or("no spec")?;
    assert_eq!(spec.node_name.as_deref(), Some(NODE_NAME));
    let ip = running.status.and_then(|s| s.pod_ip).ok_or("no pod IP")?;
    assert!(
        ip.starts_with("10.98.0."),
        "pod IP {ip} is not in the pod range"
    );
    Ok(())
}

#[tokio::test]
async fn missing_image_with_pull_policy_never_fails_clearly() -> TestResult {
    let ns = test_namespace!().await?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(
        &PostParams::default(),
        &pod("ghost", "kubekit.local/not-built:1", "Never"),
    )
    .await?;
    let reason = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let p = pods.get("ghost").await?;
            let waiting = p
                .status
                .and_then(|s| s.container_statuses)
                .and_then(|c| c.into_iter().next())
                .and_then(|c| c.state)
                .and_then(|s| s.waiting)
                .and_then(|w| w.reason);
            if let Some(r) = waiting.filter(|r| r != "ContainerCreating") {
                return Ok::<_, kube::Error>(r);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await??;
    assert_eq!(reason, "ErrImageNeverPull");
    Ok(())
}
