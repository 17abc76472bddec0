//! Walkthrough step 4, `kubectl port-forward pod/web 8080:80`: a local port that forwards to
//! the pod's port 80, and nginx's page fetched through it.
//!
//! `cargo run -p kubekit-examples --example pod_portforward`

#[path = "common.rs"]
mod common;

use kubekit::portforward::{PortForwardOptions, PortForwardTarget};

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, images) = common::connect().await?;
    common::ensure_web(&client, &images).await?;

    // A free local port on 127.0.0.1 (`.local_port(8080)` picks one).
    let forward = client
        .port_forward(PortForwardTarget::pod("web"), 80, PortForwardOptions::new())
        .await?;
    println!("Forwarding from {} -> pod/web:80", forward.local_addr());
    let page = common::http_get(forward.local_addr()).await?;
    println!("{}", page.lines().next().unwrap_or_default());
    println!(
        "{}",
        page.lines()
            .find(|l| l.contains("<title>"))
            .unwrap_or_default()
    );
    forward.stop().await;
    Ok(())
}
