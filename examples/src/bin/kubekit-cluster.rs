//! Runs kubekit's local cluster in the foreground, for kubectl or a program of your own.
//!
//! ```text
//! cargo run -p kubekit-examples --bin kubekit-cluster            # control plane + node (root)
//! cargo run -p kubekit-examples --bin kubekit-cluster -- --no-node
//! cargo run -p kubekit-examples --bin kubekit-cluster -- build   # only build/cache the binaries and images
//! ```
//! Ctrl-C stops the cluster and removes everything it made.

use kubekit_testing::{LocalCluster, assets};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("build") => {
            let bins = assets::binaries(
                &[assets::CONTROL_PLANE_BINARIES, assets::NODE_BINARIES].concat(),
            )?;
            let images = kubekit_testing::images()?;
            println!(
                "binaries: {}\nimages: {}, {}, {}",
                bins.display(),
                images.pause,
                images.nginx,
                images.toolbox
            );
        }
        Some("--help") | Some("-h") | Some("help") => {
            println!("usage: kubekit-cluster [--no-node | build]");
        }
        other => {
            let cluster = if other == Some("--no-node") {
                LocalCluster::start().await?
            } else {
                LocalCluster::start_with_node().await?
            };
            println!(
                "cluster ready; in another shell:\n  export KUBECONFIG={}\n  kubectl get nodes",
                cluster.kubeconfig().display()
            );
            println!("Ctrl-C stops it.");
            tokio::signal::ctrl_c().await?;
            drop(cluster);
            println!("stopped");
        }
    }
    Ok(())
}
