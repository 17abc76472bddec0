//! Walkthrough step 1, `kubectl api-resources`: the kinds the cluster serves.
//!
//! `cargo run -p kubekit-examples --example api_resources`

#[path = "common.rs"]
mod common;

use kubekit::client::ApiResourceInfo;

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, _) = common::connect().await?;
    let resources = client.api_resources().await?;
    print!("{}", ApiResourceInfo::table(&resources));
    Ok(())
}
