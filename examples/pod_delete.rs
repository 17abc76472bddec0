//! Walkthrough steps 11 and 12: `kubectl delete pod web` and `kubectl delete all --all`.
//!
//! `cargo run -p kubekit-examples --example pod_delete`

#[path = "common.rs"]
mod common;

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kubekit::client::DeleteOptions;

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, images) = common::connect().await?;
    common::ensure_web(&client, &images).await?;

    // Step 12: one pod, waiting until it is gone.
    client
        .delete::<Pod>("web", DeleteOptions::wait(Duration::from_secs(60)))
        .await?;
    println!("pod \"web\" deleted");

    // Step 11: everything in the namespace.
    let report = client.delete_all().await?;
    for object in &report.deleted {
        println!("{object} deleted");
    }
    Ok(())
}
