//! Runs kubekit's local cluster in the foreground, for kubectl or a program of your own.
//!
//! ```text
//! cargo run -p kubekit-examples --bin kubekit-cluster            # control plane + node (root)
//! cargo run -p kubekit-examples --bin kubekit-cluster -- --no-node
//! cargo run -p kubekit-examples --bin kubekit-cluster -- build   # only build/cache the binaries and images
//! kubekit-cluster serve [KUBECONFIG]   # as a container's entrypoint (kubekit-testing's node image)
//! kubekit-cluster stop                 # stop the shared local cluster (one kept with KUBEKIT_KEEP_CLUSTER=1)
//! kubekit-cluster watchdog DIR IDLE    # started by kubekit-testing: stops the shared cluster of DIR
//!                                      # once no test process has used it for IDLE seconds
//! kubekit-cluster servicelb KUBECONFIG READY_PORT
//!                                      # started by kubekit-testing: the service load balancer
//! ```
//! `serve` runs the cluster with a node until SIGTERM or SIGINT, writing its kubeconfig to
//! `KUBECONFIG` (default `/etc/rancher/k3s/k3s.yaml`, where k3s writes it), so the k3s
//! provider of kubekit-testing drives this image and rancher/k3s the same way. Set
//! `KUBEKIT_API_ADDRESS=0.0.0.0:6443` to publish the API server.
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
            println!(
                "usage: kubekit-cluster [--no-node | build | serve [KUBECONFIG] | stop | watchdog DIR IDLE_SECONDS | servicelb KUBECONFIG READY_PORT]"
            );
        }
        Some("stop") => kubekit_testing::stop_local()?,
        Some("watchdog") => {
            let (Some(dir), Some(idle)) = (args.get(1), args.get(2).and_then(|s| s.parse().ok()))
            else {
                return Err("usage: kubekit-cluster watchdog DIR IDLE_SECONDS".into());
            };
            kubekit_testing::run_watchdog(
                std::path::Path::new(dir),
                std::time::Duration::from_secs(idle),
            )
            .await?;
        }
        Some("servicelb") => {
            let (Some(kubeconfig), Some(port)) =
                (args.get(1), args.get(2).and_then(|s| s.parse().ok()))
            else {
                return Err("usage: kubekit-cluster servicelb KUBECONFIG READY_PORT".into());
            };
            kubekit_testing::run_service_lb(std::path::Path::new(kubeconfig), port).await?;
        }
        Some("serve") => {
            let target = std::path::PathBuf::from(
                args.get(1)
                    .map(String::as_str)
                    .unwrap_or("/etc/rancher/k3s/k3s.yaml"),
            );
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let cluster = LocalCluster::start_with_node().await?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Written whole, then renamed: a reader never sees half a kubeconfig.
            let partial = target.with_extension("partial");
            std::fs::copy(cluster.kubeconfig(), &partial)?;
            std::fs::rename(&partial, &target)?;
            println!("kubekit-cluster: ready, kubeconfig in {}", target.display());
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            let _ = std::fs::remove_file(&target);
            drop(cluster);
            println!("kubekit-cluster: stopped");
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
