//! The local node runs real pods from the locally built images.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
    runtime::wait::{await_condition, conditions::is_pod_running},
};
use kubekit_testing::{Cluster, NODE_NAME, test_namespace};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A kube client of `cluster` (kubekit's own tests get kubekit's client from
/// `kubekit::testing`).
fn client(cluster: &Cluster) -> Result<kube::Client, kube::Error> {
    kube::Client::try_from(cluster.config().clone())
}

fn pod(name: &str, image: &str, policy: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                image_pull_policy: Some(policy.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn nginx_pod_runs_on_the_node_with_its_own_ip() -> TestResult {
    let ns = test_namespace!().await?;
    assert!(
        ns.cluster().has_node(),
        "the shared local cluster must have a node (run as root)"
    );
    let images = kubekit_testing::images()?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(&PostParams::default(), &pod("web", &images.nginx, "Never"))
        .await?;
    let running = tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(pods.clone(), "web", is_pod_running()),
    )
    .await??;
    let running = running.ok_or("pod vanished")?;
    let spec = running.spec.ok_or("no spec")?;
    assert_eq!(spec.node_name.as_deref(), Some(NODE_NAME));
    let ip = running.status.and_then(|s| s.pod_ip).ok_or("no pod IP")?;
    assert!(
        ip.starts_with("10.98.0."),
        "pod IP {ip} is not in the pod range"
    );
    Ok(())
}

#[tokio::test]
async fn missing_image_with_pull_policy_never_fails_clearly() -> TestResult {
    let ns = test_namespace!().await?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(
        &PostParams::default(),
        &pod("ghost", "kubekit.local/not-built:1", "Never"),
    )
    .await?;
    let reason = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let p = pods.get("ghost").await?;
            let waiting = p
                .status
                .and_then(|s| s.container_statuses)
                .and_then(|c| c.into_iter().next())
                .and_then(|c| c.state)
                .and_then(|s| s.waiting)
                .and_then(|w| w.reason);
            if let Some(r) = waiting.filter(|r| r != "ContainerCreating") {
                return Ok::<_, kube::Error>(r);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await??;
    assert_eq!(reason, "ErrImageNeverPull");
    Ok(())
}

/// A network namespace standing in for another host on the machine's network: a veth pair,
/// with a route to the pods' subnet through this machine (as a neighbour could set). Removed
/// on drop.
struct OtherHost {
    ns: String,
    veth: String,
}

impl OtherHost {
    const HOST_SIDE: &str = "10.95.251.1";
    const OTHER_SIDE: &str = "10.95.251.2";

    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let id = std::process::id();
        let host = Self {
            ns: format!("kubekit-other-{id}"),
            veth: format!("kko{id}"),
        };
        let peer = format!("kki{id}");
        let run = |args: &[&str]| -> Result<(), Box<dyn std::error::Error>> {
            let out = std::process::Command::new("ip").args(args).output()?;
            if !out.status.success() {
                return Err(format!(
                    "ip {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            Ok(())
        };
        run(&["netns", "add", &host.ns])?;
        run(&[
            "link", "add", &host.veth, "type", "veth", "peer", "name", &peer,
        ])?;
        run(&["link", "set", &peer, "netns", &host.ns])?;
        run(&[
            "addr",
            "add",
            &format!("{}/30", Self::HOST_SIDE),
            "dev",
            &host.veth,
        ])?;
        run(&["link", "set", &host.veth, "up"])?;
        let inside = |args: &[&str]| {
            let mut all = vec!["netns", "exec", &host.ns, "ip"];
            all.extend_from_slice(args);
            run(&all)
        };
        inside(&[
            "addr",
            "add",
            &format!("{}/30", Self::OTHER_SIDE),
            "dev",
            &peer,
        ])?;
        inside(&["link", "set", &peer, "up"])?;
        inside(&["link", "set", "lo", "up"])?;
        inside(&["route", "add", "10.98.0.0/16", "via", Self::HOST_SIDE])?;
        Ok(host)
    }

    /// Whether a TCP connection from the other host to `ip:port` opens within 3 s.
    fn connects(&self, ip: &str, port: u16) -> Result<bool, Box<dyn std::error::Error>> {
        let status = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns, "timeout", "3", "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{ip}/{port}"))
            .stderr(std::process::Stdio::null())
            .status()?;
        Ok(status.success())
    }
}

impl Drop for OtherHost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "delete", &self.veth])
            .status();
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.ns])
            .status();
    }
}

#[tokio::test]
async fn other_hosts_reach_neither_the_api_server_nor_pods() -> TestResult {
    let ns = test_namespace!().await?;
    let url = ns.cluster().config().cluster_url.clone();
    // The API server listens on the node's address (where pods reach it), never on all
    // addresses.
    assert_eq!(url.host(), Some(kubekit_testing::NODE_IP), "{url}");
    let api_port = url.port_u16().ok_or("no port")?;
    let images = kubekit_testing::images()?;
    let pods: Api<Pod> = Api::namespaced(client(ns.cluster())?, ns.name());
    pods.create(&PostParams::default(), &pod("web", &images.nginx, "Never"))
        .await?;
    let running = tokio::time::timeout(
        Duration::from_secs(90),
        await_condition(pods.clone(), "web", is_pod_running()),
    )
    .await??
    .ok_or("pod vanished")?;
    let pod_ip = running.status.and_then(|s| s.pod_ip).ok_or("no pod IP")?;

    let other = OtherHost::new()?;
    // The control: the other host reaches this machine (a listener on all addresses)...
    let listener = std::net::TcpListener::bind("0.0.0.0:0")?;
    let open = listener.local_addr()?.port();
    assert!(
        other.connects(OtherHost::HOST_SIDE, open)?,
        "the stand-in host cannot reach this machine at all: the test proves nothing"
    );
    // ... but not the API server, nor a pod's web server, though both answer here.
    assert!(std::net::TcpStream::connect((kubekit_testing::NODE_IP, api_port)).is_ok());
    assert!(
        !other.connects(kubekit_testing::NODE_IP, api_port)?,
        "another host opened a connection to the API server at {}:{api_port}",
        kubekit_testing::NODE_IP
    );
    assert!(
        !other.connects(&pod_ip, 80)?,
        "another host opened a connection to pod {pod_ip}:80"
    );
    // Nor the ingress controller's ports on the node's address.
    ns.require(kubekit_testing::Component::Ingress).await?;
    for port in [80, 443] {
        assert!(std::net::TcpStream::connect((kubekit_testing::NODE_IP, port)).is_ok());
        assert!(
            !other.connects(kubekit_testing::NODE_IP, port)?,
            "another host opened a connection to the ingress at {}:{port}",
            kubekit_testing::NODE_IP
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_cluster_ip_without_rules_never_leaves_the_machine() -> TestResult {
    let ns = test_namespace!().await?;
    assert!(
        ns.cluster().has_node(),
        "the shared local cluster must have a node"
    );
    // An address of the Service range that no Service holds, so kube-proxy has no rule for
    // it: what a new Service's ClusterIP is until kube-proxy's next sync. It must not be
    // sent out by the default route, where something on the outer network may answer it.
    let unprogrammed = std::net::SocketAddr::from(([10, 97, 255, 254], 443));
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(unprogrammed),
    )
    .await;
    assert!(
        !matches!(attempt, Ok(Ok(_))),
        "a connection to {unprogrammed} (in the Service range, no Service) was opened: \
         Service traffic leaves the machine"
    );
    Ok(())
}
