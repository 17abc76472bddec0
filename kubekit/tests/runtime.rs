//! exec, logs and port-forward against real pods on the shared local cluster.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, PodSpec};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};
use kubekit::exec::{ExecError, ExecOptions};
use sha2::{Digest, Sha256};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const START: Duration = Duration::from_secs(90);

fn container(name: &str, image: &str, command: &[&str]) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        image_pull_policy: Some("Never".into()),
        command: (!command.is_empty()).then(|| command.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

fn pod_of(name: &str, labels: &[(&str, &str)], containers: Vec<Container>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers,
            termination_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates `pod` and waits until it runs.
async fn run_pod(
    client: &kubekit::Client,
    pod: Pod,
) -> Result<Pod, Box<dyn std::error::Error + Send + Sync>> {
    let name = pod.metadata.name.clone().ok_or("no name")?;
    let pods: Api<Pod> = Api::namespaced(client.kube().clone(), client.namespace());
    pods.create(&PostParams::default(), &pod).await?;
    Ok(client.wait_pod_running(&name, START).await?)
}

/// A busybox pod that sleeps.
async fn toolbox(client: &kubekit::Client, name: &str) -> TestResult {
    let images = kubekit_testing::images()?;
    run_pod(
        client,
        pod_of(
            name,
            &[],
            vec![container("main", &images.toolbox, &["sleep", "3600"])],
        ),
    )
    .await?;
    Ok(())
}

fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// exec
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn exec_collects_stdout_stderr_and_exit_codes() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = kubekit::Client::new(ns.client()).in_namespace(ns.name());
    toolbox(&client, "box").await?;

    let out = client
        .exec("box", ["echo", "hello", "world"], ExecOptions::new())
        .await?;
    assert_eq!(out.stdout_str(), "hello world\n");
    assert!(out.stderr.is_empty());
    assert_eq!(out.code, 0);
    assert!(out.success());

    let out = client
        .exec_sh("box", "echo out; echo err >&2; exit 42", ExecOptions::new())
        .await?;
    assert_eq!(out.stdout_str(), "out\n");
    assert_eq!(out.stderr_str(), "err\n");
    assert_eq!(out.code, 42);

    let out = client.exec_sh("box", "exit 1", ExecOptions::new()).await?;
    assert_eq!(out.code, 1);

    let out = client
        .exec_sh("box", "echo before; kill -9 $$", ExecOptions::new())
        .await?;
    assert_eq!(out.code, 137, "{out:?}");
    assert_eq!(out.stdout_str(), "before\n");

    // exec_ok: the error carries the code and stderr.
    let err = client
        .exec_ok(
            "box",
            ["sh", "-c", "echo broken >&2; exit 3"],
            ExecOptions::new(),
        )
        .await
        .expect_err("exit 3 must fail");
    assert_eq!(err.code(), Some(3));
    let message = err.to_string();
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(message.contains("broken"), "{message}");
    assert!(message.contains("/box"), "{message}");
    let ok = client.exec_ok("box", ["true"], ExecOptions::new()).await?;
    assert_eq!(ok.code, 0);
    Ok(())
}

#[tokio::test]
async fn exec_stdin_container_timeout_and_errors() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = kubekit::Client::new(ns.client()).in_namespace(ns.name());
    let images = kubekit_testing::images()?;
    run_pod(
        &client,
        pod_of(
            "two",
            &[],
            vec![
                container("first", &images.toolbox, &["sleep", "3600"]),
                container(
                    "second",
                    &images.toolbox,
                    &["sh", "-c", "touch /i-am-second; sleep 3600"],
                ),
            ],
        ),
    )
    .await?;

    // stdin from bytes.
    let out = client
        .exec_ok(
            "two",
            ["cat"],
            ExecOptions::new()
                .container("first")
                .stdin(b"piped\n".to_vec()),
        )
        .await?;
    assert_eq!(out.stdout_str(), "piped\n");

    // stdin from a stream.
    let (mut w, r) = tokio::io::duplex(64);
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for i in 0..100 {
            w.write_all(format!("{i}\n").as_bytes())
                .await
                .expect("write");
        }
    });
    let out = client
        .exec_ok(
            "two",
            ["wc", "-l"],
            ExecOptions::new().container("first").stdin_reader(r),
        )
        .await?;
    assert_eq!(out.stdout_str().trim(), "100");

    // container choice.
    let out = client
        .exec(
            "two",
            ["ls", "/i-am-second"],
            ExecOptions::new().container("second"),
        )
        .await?;
    assert_eq!(out.code, 0);
    let out = client
        .exec(
            "two",
            ["ls", "/i-am-second"],
            ExecOptions::new().container("first"),
        )
        .await?;
    assert_ne!(out.code, 0);

    // timeout.
    let started = std::time::Instant::now();
    let err = client
        .exec(
            "two",
            ["sleep", "30"],
            ExecOptions::new()
                .container("first")
                .timeout(Duration::from_secs(1)),
        )
        .await
        .expect_err("must time out");
    assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // a command that does not exist.
    let err = client
        .exec(
            "two",
            ["no-such-command", "x"],
            ExecOptions::new().container("first"),
        )
        .await
        .expect_err("missing command");
    let message = err.to_string();
    assert!(
        matches!(err, ExecError::CommandNotFound { .. }),
        "{message}"
    );
    assert!(message.contains("no-such-command"), "{message}");
    assert!(message.contains("two"), "{message}");

    // a missing container and a missing pod name what is missing.
    let err = client
        .exec("two", ["true"], ExecOptions::new().container("third"))
        .await
        .expect_err("missing container");
    let message = err.to_string();
    assert!(matches!(err, ExecError::Start { .. }), "{message}");
    assert!(message.contains("third"), "{message}");
    let err = client
        .exec("ghost", ["true"], ExecOptions::new())
        .await
        .expect_err("missing pod");
    assert!(err.to_string().contains("ghost"), "{err}");
    Ok(())
}

#[tokio::test]
async fn exec_is_byte_exact_for_64_mib_each_way() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = kubekit::Client::new(ns.client()).in_namespace(ns.name());
    toolbox(&client, "big").await?;
    const SIZE: usize = 64 * 1024 * 1024;

    // Out: random bytes, checked against the pod's own digest of the same file.
    let out = client
        .exec_ok(
            "big",
            [
                "sh",
                "-c",
                "head -c 67108864 /dev/urandom > /blob && sha256sum /blob >&2 && cat /blob",
            ],
            ExecOptions::new().timeout(Duration::from_secs(240)),
        )
        .await?;
    assert_eq!(out.stdout.len(), SIZE);
    let remote = out
        .stderr_str()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(sha256_hex(&out.stdout), remote);

    // In: pseudo-random bytes, hashed in the pod.
    let mut data = vec![0u8; SIZE];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let expected = sha256_hex(&data);
    let out = client
        .exec_ok(
            "big",
            ["sha256sum"],
            ExecOptions::new()
                .stdin(data)
                .timeout(Duration::from_secs(240)),
        )
        .await?;
    assert_eq!(
        out.stdout_str().split_whitespace().next(),
        Some(expected.as_str())
    );
    Ok(())
}

#[tokio::test]
async fn exec_with_tty_drives_an_interactive_shell() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = kubekit::Client::new(ns.client()).in_namespace(ns.name());
    let images = kubekit_testing::images()?;
    run_pod(
        &client,
        pod_of("web", &[], vec![container("web", &images.nginx, &[])]),
    )
    .await?;
    let (mut keys, stdin) = tokio::io::duplex(1024);
    let (sizes_tx, sizes_rx) = futures::channel::mpsc::channel(1);
    let typing = tokio::spawn(async move {
        use futures::SinkExt;
        use tokio::io::AsyncWriteExt;
        let mut sizes_tx = sizes_tx;
        keys.write_all(b"stty size; echo tty=$(tty)\n").await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = sizes_tx.send((120, 40)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        keys.write_all(b"stty size\n").await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        keys.write_all(b"exit 7\n").await?;
        Ok::<_, std::io::Error>(())
    });
    let mut screen = Vec::new();
    let mut errors = Vec::new();
    let code = client
        .exec_to(
            "web",
            ["/bin/bash"],
            ExecOptions::new()
                .tty(true)
                .terminal_size(100, 30)
                .resizes(sizes_rx)
                .stdin_reader(stdin)
                .timeout(Duration::from_secs(60)),
            &mut screen,
            &mut errors,
        )
        .await?;
    typing.await??;
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(code, 7, "{screen}");
    assert!(screen.contains("30 100"), "{screen}");
    assert!(screen.contains("tty=/dev/pts/"), "{screen}");
    assert!(screen.contains("40 120"), "{screen}");
    assert!(errors.is_empty());
    Ok(())
}
