//! Walkthrough steps 8 and 9: `kubectl exec -it web -- /bin/bash`, and `curl localhost`
//! inside the pod.
//!
//! ```text
//! cargo run -p kubekit-examples --example pod_exec            # curl localhost in the pod
//! cargo run -p kubekit-examples --example pod_exec -- -it     # an interactive bash (a terminal)
//! ```

#[path = "common.rs"]
mod common;

use kubekit::exec::ExecOptions;

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, images) = common::connect().await?;
    common::ensure_web(&client, &images).await?;

    if std::env::args().any(|a| a == "-it") {
        // Raw terminal, resize forwarded; without a terminal, stdin and stdout are piped.
        let code = client
            .exec_interactive("web", ["/bin/bash"], ExecOptions::new())
            .await?;
        std::process::exit(code);
    }
    // Step 9: `curl localhost` from inside the container; the exit code comes back too.
    let out = client
        .exec_ok("web", ["curl", "-s", "localhost"], ExecOptions::new())
        .await?;
    println!(
        "$ kubectl exec web -- curl -s localhost   (exit {})",
        out.code
    );
    print!("{}", out.stdout_str());
    Ok(())
}
