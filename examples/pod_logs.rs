//! Walkthrough step 2, `kubectl logs`: read a pod's logs (tail, timestamps), then follow them
//! while requests arrive.
//!
//! `cargo run -p kubekit-examples --example pod_logs`

#[path = "common.rs"]
mod common;

use kubekit::{exec::ExecOptions, logs::LogOptions};

#[tokio::main]
async fn main() -> common::Result<()> {
    let (client, images) = common::connect().await?;
    common::ensure_web(&client, &images).await?;

    println!("$ kubectl logs web --tail 5");
    print!("{}", client.logs("web", &LogOptions::new().tail(5)).await?);

    println!("$ kubectl logs -f web --timestamps   (three requests)");
    let mut follow = client
        .follow_logs("web", &LogOptions::new().tail(0).timestamps(true))
        .await?;
    for i in 0..3 {
        client
            .exec_ok(
                "web",
                [
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    &format!("localhost/?request={i}"),
                ],
                ExecOptions::new(),
            )
            .await?;
    }
    let mut seen = 0;
    while seen < 3 {
        let next = tokio::time::timeout(common::WAIT, follow.next_line()).await;
        let next = next.map_err(|_| kubekit::Error::Timeout {
            what: "three request lines in the logs of pod web".into(),
            after: common::WAIT,
            state: format!("{seen} seen"),
        })?;
        match next {
            Some(line) => {
                let line = line?;
                if line.text.contains("request=") {
                    println!("{} {}", line.timestamp, line.text);
                    seen += 1;
                }
            }
            None => break,
        }
    }
    Ok(())
}
