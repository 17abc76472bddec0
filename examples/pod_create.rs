//! Walkthrough steps 3 and 10: `kubectl run web --image=nginx --port 80` with the builders,
//! and `kubectl apply -f web-pod.yaml` from the manifest file.
//!
//! `cargo run -p kubekit-examples --example pod_create`

#[path = "common.rs"]
mod common;

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, images) = common::connect().await?;

    // Step 3: a pod from the builders.
    let applied = client.apply(&common::web(&images.nginx)?).await?;
    println!("pod/web {}", applied.outcome);
    let web = client.wait_pod_ready("web", common::WAIT).await?;
    println!(
        "pod/web Ready on {}",
        web.status.and_then(|s| s.pod_ip).unwrap_or_default()
    );

    // Step 10: the walkthrough's web-pod.yaml. It names `nginx:1.28`, which no registry can
    // serve here, so the example points it at the locally built nginx image.
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web-pod.yaml"))?
        .replace("nginx:1.28", &images.nginx);
    let report = client.apply_manifest(&yaml).await?;
    print!("{report}");
    client.wait_pod_ready("web2", common::WAIT).await?;
    println!("pod/web2 Ready");
    Ok(())
}
