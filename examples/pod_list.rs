//! Walkthrough steps 5-7: `kubectl get pods`, `kubectl get pods -o wide` and
//! `kubectl get pod web -o yaml`.
//!
//! `cargo run -p kubekit-examples --example pod_list`

#[path = "common.rs"]
mod common;

use k8s_openapi::api::core::v1::Pod;
use kubekit::{client::table, manifest};

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, images) = common::connect().await?;
    common::ensure_web(&client, &images).await?;

    let pods: Vec<Pod> = client.list(()).await?;
    println!("$ kubectl get pods\n{}", table::pods(&pods));
    println!("$ kubectl get pods -o wide\n{}", table::pods_wide(&pods));
    let web: Pod = client.get("web").await?;
    // As kubectl, without metadata.managedFields (`RenderOptions::show_managed_fields` keeps them).
    println!(
        "$ kubectl get pod web -o yaml\n{}",
        manifest::to_yaml(&web)?
    );
    Ok(())
}
