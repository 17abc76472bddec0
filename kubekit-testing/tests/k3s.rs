//! The k3s provider, through testcontainers, on a real Docker engine.
//!
//! No registry is reachable where CI runs, so these tests run the provider against kubekit's
//! locally built node image (`K3s::kubekit_node`: the same Kubernetes binaries as the local
//! cluster, `kubekit-cluster serve` as entrypoint, k3s's conventions). With a registry,
//! `KUBEKIT_K3S_IMAGE=rancher/k3s:v1.34.4-k3s1` runs the same tests against k3s itself.
//! They need a Docker engine (`scripts/setup.sh` starts one): without it they fail.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Node, Pod, PodSpec};
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, PostParams},
    runtime::wait::{await_condition, conditions::is_pod_running},
};
use kubekit_testing::{Cluster, K3s, ProviderKind, TestNamespace};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A kube client of `cluster` (kubekit's own tests get kubekit's client from
/// `kubekit::testing`).
fn client(cluster: &Cluster) -> Result<kube::Client, kube::Error> {
    kube::Client::try_from(cluster.config().clone())
}

async fn k3s() -> kubekit_testing::Result<&'static Cluster> {
    let image = match std::env::var("KUBEKIT_K3S_IMAGE") {
        Ok(v) if !v.is_empty() => K3s::from_env()?,
        _ => K3s::kubekit_node()?,
    };
    Cluster::shared_k3s(image).await
}

fn pod(name: &str, image: &str, command: &[&str]) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                image_pull_policy: Some("Never".into()),
                command: (!command.is_empty())
                    .then(|| command.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            }],
            restart_policy: Some("Never".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_container_serves_a_verified_api_on_loopback_with_a_ready_node() -> TestResult {
    let cluster = k3s().await?;
    assert_eq!(cluster.provider(), ProviderKind::K3s);
    assert!(cluster.has_node());
    // The kubeconfig points at the published port on 127.0.0.1, and the client verifies
    // the server's certificate against the cluster's CA (no insecure-skip).
    let url = cluster.config().cluster_url.to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(
        !url.ends_with(":6443/"),
        "{url} is the container's port, not the host's"
    );
    assert!(!cluster.config().accept_invalid_certs);
    let client = client(cluster)?;
    let version = client.apiserver_version().await?;
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "34")
    );
    let nodes: Api<Node> = Api::all(client);
    let nodes = nodes.list(&Default::default()).await?.items;
    assert_eq!(nodes.len(), 1);
    // The same process asking again gets the same cluster.
    assert!(std::ptr::eq(cluster, k3s().await?));
    Ok(())
}

#[tokio::test]
async fn apply_get_delete_lifecycle_in_a_test_namespace() -> TestResult {
    let cluster = k3s().await?;
    let ns = TestNamespace::create_in(cluster, "k3s::apply_get_delete_lifecycle").await?;
    let maps: Api<ConfigMap> = Api::namespaced(client(ns.cluster())?, ns.name());
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            ..Default::default()
        },
        data: Some([("mode".to_string(), "k3s".to_string())].into()),
        ..Default::default()
    };
    maps.patch(
        "settings",
        &kube::api::PatchParams::apply("kubekit-test"),
        &kube::api::Patch::Apply(&cm),
    )
    .await?;
    let got = maps.get("settings").await?;
    assert_eq!(
        got.data
            .as_ref()
            .and_then(|d| d.get("mode"))
            .map(String::as_str),
        Some("k3s")
    );
    maps.delete("settings", &DeleteParams::default()).await?;
    assert!(maps.get_opt("settings").await?.is_none());

    // A real pod on the container's node, from an image the provider loaded.
    let images = kubekit_testing::images()?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(&PostParams::default(), &pod("web", &images.nginx, &[]))
        .await?;
    let running = tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(pods.clone(), "web", is_pod_running()),
    )
    .await??
    .ok_or("pod vanished")?;
    let uid = running.metadata.uid.clone().ok_or("no uid")?;
    let ip = running.status.and_then(|s| s.pod_ip).ok_or("no pod IP")?;
    assert!(ip.starts_with("10.98.0."), "{ip}");
    pods.delete("web", &DeleteParams::default()).await?;
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(
            pods.clone(),
            "web",
            kube::runtime::conditions::is_deleted(&uid),
        ),
    )
    .await??;
    assert!(pods.get_opt("web").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn images_load_into_the_container_node_with_ctr() -> TestResult {
    let cluster = k3s().await?;
    let ns = TestNamespace::create_in(cluster, "k3s::images_load").await?;
    let images = kubekit_testing::images()?;
    let archive = kubekit_testing::assets::cache_dir()
        .join("images")
        .join("toolbox.tar");
    cluster.load_image(&archive).await?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(
        &PostParams::default(),
        &pod("hello", &images.toolbox, &["echo", "loaded"]),
    )
    .await?;
    let done = tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(pods.clone(), "hello", |p: Option<&Pod>| {
            p.and_then(|p| p.status.as_ref())
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|phase| phase == "Succeeded" || phase == "Failed")
        }),
    )
    .await??
    .ok_or("pod vanished")?;
    assert_eq!(
        done.status.and_then(|s| s.phase).as_deref(),
        Some("Succeeded")
    );
    assert_eq!(pods.logs("hello", &Default::default()).await?, "loaded\n");

    // A missing archive is an error naming it; nothing is imported.
    let missing = std::path::Path::new("/nonexistent/image.tar");
    let err = cluster
        .load_image(missing)
        .await
        .expect_err("no such archive");
    assert!(err.to_string().contains("/nonexistent/image.tar"), "{err}");
    Ok(())
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_says_so_and_names_the_alternatives() {
    let err = Cluster::shared_k3s(K3s::with_image("kubekit.invalid/no-such-k3s", "v0"))
        .await
        .expect_err("the image does not exist anywhere");
    let text = err.to_string();
    assert!(text.contains("kubekit.invalid/no-such-k3s:v0"), "{text}");
    assert!(text.contains("KUBEKIT_PROVIDER=local"), "{text}");
    assert!(text.contains("KUBEKIT_K3S_IMAGE"), "{text}");
}

/// Run by [`without_docker_the_error_says_so_and_names_the_alternatives`] in a child process
/// whose environment points at no Docker engine.
#[tokio::test]
#[ignore = "run in a child process by another test"]
async fn child_asks_for_k3s() {
    match Cluster::shared().await {
        Ok(c) => println!("CHILD-OK {:?}", c.provider()),
        Err(e) => println!("CHILD-ERR {e}"),
    }
}

#[test]
fn without_docker_the_error_says_so_and_names_the_alternatives() -> TestResult {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["--exact", "child_asks_for_k3s", "--ignored", "--nocapture"])
        .env("KUBEKIT_PROVIDER", "k3s")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KUBEKIT_K3S_IMAGE", "rancher/k3s:v1.34.4-k3s1")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("CHILD-"))
        .ok_or_else(|| format!("the child printed no result: {stdout}"))?;
    assert!(line.starts_with("CHILD-ERR"), "{line}");
    assert!(
        line.contains("no Docker engine answers at unix:///nonexistent/docker.sock"),
        "{line}"
    );
    assert!(line.contains("KUBEKIT_PROVIDER=local"), "{line}");
    assert!(line.contains("KUBEKIT_PROVIDER=kubeconfig"), "{line}");
    Ok(())
}

/// The kubeconfig copied out of the container embeds the admin key: only its owner may read
/// it, in directories only the owner can enter (issue 18).
#[tokio::test]
async fn the_copied_kubeconfig_is_readable_by_its_owner_only() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let cluster = k3s().await?;
    let kubeconfig = cluster.kubeconfig().ok_or("no kubeconfig")?;
    let mode = |p: &std::path::Path| -> std::io::Result<u32> {
        Ok(std::fs::metadata(p)?.permissions().mode() & 0o7777)
    };
    assert_eq!(mode(kubeconfig)?, 0o600, "{}", kubeconfig.display());
    let clusters = kubekit_testing::assets::cache_dir().join("clusters");
    let mut problems = Vec::new();
    let mut dir = kubeconfig.parent();
    while let Some(d) = dir.filter(|d| d.starts_with(&clusters)) {
        if mode(d)? & 0o077 != 0 {
            problems.push(format!("{} has mode {:o}", d.display(), mode(d)?));
        }
        dir = d.parent();
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let read = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(kubeconfig)
        .output()?;
    assert!(
        !read.status.success(),
        "another user can read {}",
        kubeconfig.display()
    );
    Ok(())
}

/// The node image is a whole cluster, as k3s is: a pod resolves Services through cluster DNS,
/// reaches the API server through the `kubernetes` Service, and writes to a claim that the
/// default StorageClass binds. (kubekit's `whole_cluster` tests run the full set against
/// either provider: `KUBEKIT_PROVIDER=k3s KUBEKIT_K3S_IMAGE=kubekit-node`.)
#[tokio::test]
async fn pods_get_dns_the_api_and_storage() -> TestResult {
    let cluster = k3s().await?;
    cluster.require(kubekit_testing::Component::Dns).await?;
    cluster.require(kubekit_testing::Component::Storage).await?;
    let ns = TestNamespace::create_in(cluster, "k3s::pods_get_dns_the_api_and_storage").await?;
    let client = client(ns.cluster())?;
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(client.clone(), ns.name());
    claims
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "16Mi"}}}
            }))?,
        )
        .await?;
    let images = kubekit_testing::images()?;
    let script = "set -e; \
        nslookup kubernetes.default.svc.cluster.local | grep -q 'Address: 10.97.0.1'; \
        wget -qO- --no-check-certificate https://kubernetes.default.svc/version | grep -q v1.34; \
        echo stored > /data/file; cat /data/file";
    let mut probe = pod("probe", &images.toolbox, &["sh", "-c", script]);
    if let Some(spec) = probe.spec.as_mut() {
        spec.volumes = Some(vec![serde_json::from_value(serde_json::json!(
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
        ))?]);
        spec.containers[0].volume_mounts = Some(vec![serde_json::from_value(
            serde_json::json!({"name": "data", "mountPath": "/data"}),
        )?]);
    }
    let pods: Api<Pod> = Api::namespaced(client, ns.name());
    pods.create(&PostParams::default(), &probe).await?;
    let done = tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(pods.clone(), "probe", |p: Option<&Pod>| {
            p.and_then(|p| p.status.as_ref()?.phase.as_deref())
                .is_some_and(|phase| phase == "Succeeded" || phase == "Failed")
        }),
    )
    .await??
    .ok_or("the probe pod vanished")?;
    let logs = pods.logs("probe", &Default::default()).await?;
    let phase = done.status.and_then(|s| s.phase);
    assert_eq!(phase.as_deref(), Some("Succeeded"), "logs: {logs}");
    assert_eq!(logs, "stored\n");
    Ok(())
}
