//! The cluster's private keys and kubeconfigs (which embed the admin key) are readable by
//! their owner only, in directories only the owner can enter, and are removed with the
//! cluster (issue 18); so are the node's keys and its pods' service account tokens. The k3s
//! provider's copied kubeconfig is checked in `tests/k3s.rs`.
//!
//! The checks run in a child process whose cache directory (`XDG_CACHE_HOME`) sits in a
//! directory every user can enter, so that what another user could read shows: a second
//! user (uid 65534, through `setpriv`) tries to read each secret.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use kubekit_testing::{Cluster, LocalCluster, assets};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The files of a local cluster directory that hold a private key.
const SECRETS: &[&str] = &[
    "pki/admin.key",
    "pki/apiserver.key",
    "pki/sa.key",
    "kubeconfig",
];

fn mode(path: &Path) -> std::io::Result<u32> {
    Ok(std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777)
}

/// Whether another, unprivileged user can read `path`.
fn other_user_reads(path: &Path) -> std::io::Result<bool> {
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "cat",
        ])
        .arg(path)
        .output()?;
    Ok(out.status.success())
}

/// Every directory under `root` (and `root`) is the owner's only; `secrets` (relative to
/// `dir`) are 0600 and no other user can read them.
fn assert_private(root: &Path, dir: &Path, secrets: &[&str]) -> TestResult {
    let mut problems = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = mode(&d)?;
        if m & 0o077 != 0 {
            problems.push(format!("directory {} has mode {m:o}", d.display()));
        }
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    for secret in secrets {
        let path = dir.join(secret);
        let m = mode(&path)?;
        if m != 0o600 {
            problems.push(format!("{} has mode {m:o}, not 600", path.display()));
        }
        if other_user_reads(&path)? {
            problems.push(format!("another user can read {}", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Run by [`keys_and_kubeconfigs_are_private_and_removed_with_the_cluster`] in a child
/// process with a cache directory of its own.
#[tokio::test]
#[ignore = "run in a child process by another test"]
async fn child_checks_local_clusters() -> TestResult {
    let clusters = assets::cache_dir().join("clusters");

    // A cluster of its own (as `kubekit-cluster` runs).
    let dedicated = LocalCluster::start().await?;
    let dir = dedicated
        .kubeconfig()
        .parent()
        .ok_or("no cluster directory")?
        .to_path_buf();
    assert_private(&clusters, &dir, SECRETS)?;
    drop(dedicated);
    assert!(!dir.exists(), "{} outlives its cluster", dir.display());

    // The run's shared cluster.
    let shared = Cluster::shared().await?;
    let kubeconfig = shared.kubeconfig().ok_or("no kubeconfig")?;
    let dir = kubeconfig.parent().ok_or("no cluster directory")?;
    assert_private(&clusters, dir, SECRETS)?;
    println!("CHILD-SHARED-DIR {}", dir.display());
    Ok(())
}

#[test]
fn keys_and_kubeconfigs_are_private_and_removed_with_the_cluster() -> TestResult {
    // A cache directory other users can enter (as a home directory often is).
    let cache = std::env::temp_dir().join(format!("kubekit-permissions-{}", std::process::id()));
    std::fs::create_dir_all(&cache)?;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755))?;
    let out = Command::new(std::env::current_exe()?)
        .args(["--exact", "child_checks_local_clusters", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env("XDG_CACHE_HOME", &cache)
        .env("KUBEKIT_ASSETS", assets::default_bin_dir())
        .env("KUBEKIT_PROVIDER", "local")
        .env("KUBEKIT_NODE", "0")
        .env("KUBEKIT_IDLE_SECONDS", "1")
        .env_remove("KUBEKIT_KEEP_CLUSTER")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    let shared_dir = stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-SHARED-DIR ").map(|(_, dir)| dir))
        .map(PathBuf::from)
        .ok_or_else(|| format!("the child printed no cluster directory:\n{stdout}"))?;

    // Once the run is over the watchdog stops the shared cluster: its keys go with it, its
    // component logs stay for failure reports.
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared_dir.join("kubeconfig").exists() || shared_dir.join("pki").exists() {
        assert!(
            Instant::now() < deadline,
            "the shared cluster's keys are still in {} a minute after the run",
            shared_dir.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(shared_dir.join("logs/kube-apiserver.log").is_file());
    std::fs::remove_dir_all(&cache)?;
    Ok(())
}

/// The files of the run's node that hold a key or a token: the kubelet's serving key and the
/// service account tokens it projects into pods. No other user can read them, and the
/// kubelet's key lives with the node's files (removed with the node), not in
/// `/var/lib/kubelet`.
#[tokio::test]
async fn the_nodes_key_and_pod_tokens_are_private() -> TestResult {
    use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
    use kube::{
        Api,
        api::{ObjectMeta, PostParams},
        runtime::wait::{await_condition, conditions::is_pod_running},
    };

    let ns = kubekit_testing::test_namespace!().await?;
    assert!(
        ns.cluster().has_node(),
        "the shared local cluster must have a node (run as root)"
    );
    let kubelet = Path::new(kubekit_testing::RUN_DIR).join("kubelet");
    let key = kubelet.join("pki/kubelet.key");
    assert_eq!(mode(&key)?, 0o600, "{}", key.display());
    assert!(
        !other_user_reads(&key)?,
        "another user can read {}",
        key.display()
    );
    assert_eq!(
        mode(&kubelet)? & 0o007,
        0,
        "{} is open to others",
        kubelet.display()
    );

    // A pod's projected token.
    let images = kubekit_testing::images()?;
    let pods: Api<Pod> = Api::namespaced(
        kube::Client::try_from(ns.cluster().config().clone())?,
        ns.name(),
    );
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some("holder".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(images.toolbox.clone()),
                image_pull_policy: Some("Never".into()),
                command: Some(vec!["sleep".into(), "3600".into()]),
                ..Default::default()
            }],
            termination_grace_period_seconds: Some(0),
            ..Default::default()
        }),
        ..Default::default()
    };
    let uid = pods
        .create(&PostParams::default(), &pod)
        .await?
        .metadata
        .uid
        .ok_or("no uid")?;
    tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(pods.clone(), "holder", is_pod_running()),
    )
    .await??;
    let projected = kubelet.join(format!("pods/{uid}/volumes/kubernetes.io~projected"));
    let mut tokens = Vec::new();
    for volume in std::fs::read_dir(&projected)? {
        let token = volume?.path().join("token");
        if token.exists() {
            tokens.push(token);
        }
    }
    assert!(
        !tokens.is_empty(),
        "no service account token under {}",
        projected.display()
    );
    for token in tokens {
        // The kubelet writes it through a symlink into a timestamped directory: test the file.
        let token = std::fs::canonicalize(&token)?;
        assert!(
            std::fs::metadata(&token)?.len() > 0,
            "{} is empty",
            token.display()
        );
        assert!(
            !other_user_reads(&token)?,
            "another user can read {}",
            token.display()
        );
    }
    Ok(())
}
