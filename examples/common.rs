//! What the walkthrough examples share: a client of the kubekit-testing cluster in the
//! `walkthrough` namespace, the pod `web`, and a tiny HTTP GET.
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kubekit::{
    Client,
    builders::{ContainerPort, PullPolicy, ValidationError, container, namespace, pod},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The namespace the walkthrough examples work in.
pub const NAMESPACE: &str = "walkthrough";
/// How long the examples wait for a pod.
pub const WAIT: Duration = Duration::from_secs(90);

pub use kubekit::Result;

/// A client of the test run's shared cluster (started if none runs; stopped ten seconds after
/// the last user exits, unless `KUBEKIT_KEEP_CLUSTER=1`), bound to [`NAMESPACE`], and the
/// locally built images.
pub async fn connect() -> Result<(Client, kubekit_testing::Images)> {
    let cluster = kubekit_testing::Cluster::shared().await?;
    let images = kubekit_testing::images()?;
    let client = Client::from_config(cluster.config().clone())?.in_namespace(NAMESPACE);
    // A namespace still being deleted by an earlier run cannot take new objects: wait it out.
    if let Some(old) = client.get_opt::<Namespace>(NAMESPACE).await?
        && old.metadata.deletion_timestamp.is_some()
    {
        println!("waiting for the previous run's namespace {NAMESPACE} to be deleted");
        client.wait_deleted::<Namespace>(NAMESPACE, WAIT).await?;
    }
    client.apply(&namespace().name(NAMESPACE).build()?).await?;
    Ok((client, images))
}

/// `kubectl run web --image=nginx --port 80`, with the locally built nginx image (no registry
/// is reachable here, so the image is loaded on the node and never pulled).
pub fn web(image: &str) -> Result<Pod, ValidationError> {
    pod()
        .name("web")
        .label("run", "web")
        .container(
            container()
                .name("web")
                .image(image)
                .pull_policy(PullPolicy::Never)
                .port(ContainerPort::new(80))
                .build()?,
        )
        .build()
}

/// Creates `web` if it is not there and waits until it is Ready.
pub async fn ensure_web(client: &Client, images: &kubekit_testing::Images) -> Result<Pod> {
    client.apply(&web(&images.nginx)?).await?;
    client.wait_pod_ready("web", WAIT).await
}

/// `curl http://ADDR/`: the response's status line and body.
pub async fn http_get(addr: SocketAddr) -> Result<String> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).await?;
    Ok(response)
}
