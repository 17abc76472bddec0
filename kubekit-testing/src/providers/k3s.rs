//! The k3s provider: a Kubernetes cluster in one privileged container, started through
//! [testcontainers](https://docs.rs/testcontainers).
//!
//! By default the container runs `rancher/k3s` at the same Kubernetes minor as the local
//! cluster ([`K3S_TAG`]). Where no registry is reachable, [`K3s::kubekit_node`] runs
//! kubekit's own node image instead (`kubekit-testing/images/build-node-image.sh`: the local
//! cluster's pinned binaries, Debian's containerd, and `kubekit-cluster serve`), which
//! follows k3s's conventions: the API on port 6443, the kubeconfig in
//! `/etc/rancher/k3s/k3s.yaml`, `ctr` for image imports. The provider drives both the same
//! way: start, wait for the kubeconfig, point it at the published port on 127.0.0.1, wait
//! for a Ready node, load images, and leave the container to the run's watchdog.
//!
//! Like the local cluster, one container serves the whole test run (every test process), and
//! it is removed once no test process has used it for `KUBEKIT_IDLE_SECONDS`.

use std::{
    io::{Read as _, Write as _},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::{
    Api,
    runtime::{WatchStreamExt as _, wait::await_condition, watcher},
};
use serde::{Deserialize, Serialize};
use testcontainers::{
    ContainerAsync, Image, ImageExt,
    bollard::{
        models::{HostConfig, PortBinding},
        query_parameters::{RemoveContainerOptionsBuilder, StopContainerOptionsBuilder},
    },
    core::{CgroupnsMode, ContainerPort, Mount, WaitFor},
    runners::AsyncRunner,
};

use crate::{
    assets,
    error::{Error, IoContext, Result},
    providers::{Provider, ProviderKind, local},
    report::progress,
    util,
};

/// The k3s image the provider runs by default.
pub const K3S_IMAGE: &str = "rancher/k3s";
/// The k3s release: the same Kubernetes version as the local cluster.
pub const K3S_TAG: &str = "v1.34.4-k3s1";
/// The label every container of the provider carries (its value: the run id).
pub const CLUSTER_LABEL: &str = "dev.kubekit.cluster";

const API_PORT: ContainerPort = ContainerPort::Tcp(6443);
/// The ingress controller's ports in kubekit's node image (`KUBEKIT_INGRESS_ADDRESS=0.0.0.0`),
/// published on loopback like the API.
const INGRESS_PORTS: [ContainerPort; 2] = [ContainerPort::Tcp(80), ContainerPort::Tcp(443)];
const KUBECONFIG_IN_CONTAINER: &str = "/etc/rancher/k3s/k3s.yaml";
/// Where the container sees the state directory's `import/`, for image archives.
const IMPORT_DIR: &str = "/var/lib/kubekit/import";
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// The image the k3s provider runs: `rancher/k3s` or an image that behaves like it.
///
/// ```no_run
/// # async fn demo() -> kubekit_testing::Result<()> {
/// use kubekit_testing::{Cluster, K3s};
///
/// // rancher/k3s at K3S_TAG, shared by every test process of the run.
/// let cluster = Cluster::shared_k3s(K3s::new()).await?;
/// println!("kubectl --kubeconfig {:?}", cluster.kubeconfig());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K3s {
    name: String,
    tag: String,
    cmd: Vec<String>,
}

impl Default for K3s {
    fn default() -> Self {
        Self::new()
    }
}

impl K3s {
    /// `rancher/k3s` at [`K3S_TAG`], as a single-node server without the bundled ingress,
    /// load balancer and metrics server.
    pub fn new() -> Self {
        Self::with_image(K3S_IMAGE, K3S_TAG)
    }

    /// Another k3s image (a mirror, another tag), run as a k3s server.
    pub fn with_image(name: impl Into<String>, tag: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            tag: tag.into(),
            cmd: vec![
                "server".into(),
                "--disable=traefik,servicelb,metrics-server".into(),
                "--tls-san=127.0.0.1".into(),
            ],
        }
    }

    /// kubekit's node image, built locally by `scripts/setup.sh` (see the module docs): for
    /// machines that can run Docker but cannot pull `rancher/k3s`.
    ///
    /// # Errors
    ///
    /// When the image has not been built (its reference is read from kubekit's image cache).
    pub fn kubekit_node() -> Result<Self> {
        let file = assets::cache_dir().join("images").join("kube-node.ref");
        let reference = std::fs::read_to_string(&file).map_err(|e| Error::K3s {
            message: format!(
                "kubekit's node image is not built ({}: {e}); run scripts/setup.sh, which \
                 builds it with kubekit-testing/images/build-node-image.sh",
                file.display()
            ),
        })?;
        let (name, tag) = split_reference(reference.trim());
        Ok(Self {
            name: name.into(),
            tag: tag.into(),
            cmd: Vec::new(),
        })
    }

    /// The image `KUBEKIT_K3S_IMAGE` selects: `kubekit-node` for [`K3s::kubekit_node`],
    /// `NAME:TAG` for [`K3s::with_image`], unset for [`K3s::new`].
    ///
    /// # Errors
    ///
    /// As [`K3s::kubekit_node`].
    pub fn from_env() -> Result<Self> {
        match std::env::var("KUBEKIT_K3S_IMAGE").as_deref() {
            Ok("kubekit-node") => Self::kubekit_node(),
            Ok(reference) if !reference.is_empty() => {
                let (name, tag) = split_reference(reference);
                Ok(Self::with_image(name, tag))
            }
            _ => Ok(Self::new()),
        }
    }

    /// `NAME:TAG`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }
}

fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    }
}

impl Image for K3s {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // k3s and kubekit's image log differently; readiness is checked through the API.
        vec![WaitFor::Nothing]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<std::borrow::Cow<'_, str>>> {
        self.cmd.iter()
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &[API_PORT, INGRESS_PORTS[0], INGRESS_PORTS[1]]
    }
}

/// What the shared state file records of a running k3s container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct K3sState {
    pub(crate) container_id: String,
    pub(crate) image: String,
    pub(crate) kubeconfig: PathBuf,
    /// The host directory bind-mounted at `/var/lib/kubekit/import` in the container.
    pub(crate) import_dir: PathBuf,
    /// Where this machine reaches the ingress controller (the published ports 80 and 443),
    /// when the cluster has one.
    #[serde(default)]
    pub(crate) ingress: Option<crate::IngressAddress>,
}

impl Provider for K3s {
    type State = K3sState;

    fn kind(&self) -> ProviderKind {
        ProviderKind::K3s
    }

    /// One directory per image: several images may run side by side.
    fn state_dir(&self) -> Option<PathBuf> {
        let safe: String = self
            .reference()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Some(
            assets::cache_dir()
                .join("clusters")
                .join(format!("k3s-{safe}")),
        )
    }

    async fn start(&self, dir: &Path, run_id: &str) -> Result<K3sState> {
        start(self, dir, run_id).await
    }

    async fn alive(&self, state: &K3sState) -> bool {
        alive(state).await
    }

    fn kubeconfig<'s>(&self, state: &'s K3sState) -> Option<&'s Path> {
        Some(&state.kubeconfig)
    }

    fn has_node(&self, _state: &K3sState) -> bool {
        true
    }

    fn ingress(&self, state: &K3sState) -> Option<crate::IngressAddress> {
        state.ingress
    }

    async fn kill_container(&self, state: &K3sState, id: &str) -> Result<()> {
        docker_exec(
            &state.container_id,
            &[
                "ctr", "-n", "k8s.io", "tasks", "kill", "--signal", "SIGKILL", id,
            ],
        )
        .await
        .map(|_| ())
    }

    async fn load_image(&self, state: &K3sState, archive: &Path) -> Result<()> {
        import(&state.container_id, &state.import_dir, archive).await
    }

    /// Stops the container (its entrypoint cleans up inside), removes it with its volumes,
    /// and removes the copied kubeconfig.
    async fn stop(&self, state: &K3sState) -> Result<()> {
        remove_container(&state.container_id).await?;
        util::remove(&state.kubeconfig)
    }
}

/// Stops and removes a container of the provider through the Docker API (bollard).
async fn remove_container(id: &str) -> Result<()> {
    let docker = docker().await?;
    let stop = StopContainerOptionsBuilder::default().t(30).build();
    let _ = docker.stop_container(id, Some(stop)).await;
    let remove = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(remove)).await {
        Ok(()) => Ok(()),
        Err(testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }) => Ok(()),
        Err(e) => Err(k3s_error(format!("removing container {id}: {e}"))),
    }
}

/// Where the Docker engine listens: `DOCKER_HOST` or the default socket.
fn docker_endpoint() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}

/// Whether a Docker engine answers `GET /_ping` at [`docker_endpoint`] within a second.
pub(crate) fn docker_answers() -> bool {
    let endpoint = docker_endpoint();
    let request = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    let timeout = Some(Duration::from_secs(1));
    let mut answer = Vec::new();
    let done = if let Some(path) = endpoint.strip_prefix("unix://") {
        std::os::unix::net::UnixStream::connect(path).and_then(|mut s| {
            s.set_read_timeout(timeout)?;
            s.write_all(request)?;
            s.read_to_end(&mut answer)
        })
    } else if let Some(addr) = endpoint.strip_prefix("tcp://") {
        std::net::TcpStream::connect(addr).and_then(|mut s| {
            s.set_read_timeout(timeout)?;
            s.write_all(request)?;
            s.read_to_end(&mut answer)
        })
    } else {
        return false;
    };
    done.is_ok() && answer.starts_with(b"HTTP/1.") && answer.windows(3).any(|w| w == b"200")
}

/// Whether `image` is present in the engine or can be pulled (for the automatic provider
/// choice). Errors say why not.
pub(crate) async fn image_available(image: &K3s) -> Result<()> {
    use testcontainers::bollard::query_parameters::CreateImageOptionsBuilder;

    let docker = docker().await?;
    if docker.inspect_image(&image.reference()).await.is_ok() {
        return Ok(());
    }
    let options = CreateImageOptionsBuilder::default()
        .from_image(&image.name)
        .tag(&image.tag)
        .build();
    docker
        .create_image(Some(options), None, None)
        .try_collect::<Vec<_>>()
        .await
        .map(|_| ())
        .map_err(|e| {
            k3s_error(format!(
                "the image {} cannot be pulled: {e}",
                image.reference()
            ))
        })
}

/// A client of the Docker engine (bollard, as testcontainers uses it), at the API version
/// the engine speaks.
async fn docker() -> Result<testcontainers::bollard::Docker> {
    testcontainers::bollard::Docker::connect_with_defaults()
        .map_err(|e| k3s_error(format!("cannot reach Docker at {}: {e}", docker_endpoint())))?
        .negotiate_version()
        .await
        .map_err(|e| k3s_error(format!("Docker at {}: {e}", docker_endpoint())))
}

fn k3s_error(what: String) -> Error {
    Error::K3s {
        message: format!(
            "{what}. Alternatives: KUBEKIT_PROVIDER=local (Kubernetes as local processes), \
             KUBEKIT_PROVIDER=kubeconfig (the cluster of $KUBECONFIG), or \
             KUBEKIT_K3S_IMAGE=kubekit-node (kubekit's locally built node image) / NAME:TAG"
        ),
    }
}

/// Whether the cluster of `state` answers.
async fn alive(state: &K3sState) -> bool {
    let Ok(config) = local::config_from(&state.kubeconfig).await else {
        return false;
    };
    let Ok(client) = kube::Client::try_from(config) else {
        return false;
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), client.apiserver_version()).await,
        Ok(Ok(_))
    )
}

/// Starts the container of `image` for the shared cluster in `dir`, waits until its node is
/// Ready, loads kubekit's test images, and leaves the container running for the watchdog.
async fn start(image: &K3s, dir: &Path, run_id: &str) -> Result<K3sState> {
    let began = Instant::now();
    if !util::blocking(|| Ok(docker_answers())).await? {
        return Err(k3s_error(format!(
            "no Docker engine answers at {} (install Docker, start the daemon, or set \
             DOCKER_HOST)",
            docker_endpoint()
        )));
    }
    let cluster_dir = dir.join("cluster");
    let import = dir.join("import");
    for d in [&cluster_dir, &import] {
        util::private_dir(d)?;
    }
    progress!(
        "starting {} in a container (testcontainers)",
        image.reference()
    );
    let request = image
        .clone()
        .with_privileged(true)
        .with_cgroupns_mode(CgroupnsMode::Private)
        .with_label(CLUSTER_LABEL, run_id)
        .with_mount(Mount::bind_mount(
            import.display().to_string(),
            IMPORT_DIR.to_string(),
        ))
        .with_startup_timeout(START_TIMEOUT)
        .with_host_config_modifier(|host: &mut HostConfig| {
            // The API and the ingress on loopback only, on ports Docker picks.
            host.publish_all_ports = Some(false);
            host.port_bindings = Some(
                ["6443/tcp", "80/tcp", "443/tcp"]
                    .into_iter()
                    .map(|port| {
                        (
                            port.to_string(),
                            Some(vec![PortBinding {
                                host_ip: Some("127.0.0.1".into()),
                                host_port: Some(String::new()),
                            }]),
                        )
                    })
                    .collect(),
            );
        });
    let container = request
        .start()
        .await
        .map_err(|e| k3s_error(format!("starting {}: {e}", image.reference())))?;
    let id = container.id().to_string();
    match finish_start(&container, image, &cluster_dir, &import, began).await {
        Ok(state) => {
            // The container outlives this process (later test processes use it); the
            // watchdog removes it. testcontainers would remove it on drop.
            std::mem::forget(container);
            Ok(state)
        }
        Err(e) => {
            let logs = container.stdout_to_vec().await.unwrap_or_default();
            let errs = container.stderr_to_vec().await.unwrap_or_default();
            let _ = container.rm().await;
            Err(Error::Component {
                component: format!("the k3s container ({})", image.reference()),
                reason: e.to_string(),
                log: PathBuf::from(format!("docker logs {id}")),
                tail: util::last_lines(&String::from_utf8_lossy(&[logs, errs].concat()), 30),
            })
        }
    }
}

async fn finish_start(
    container: &ContainerAsync<K3s>,
    image: &K3s,
    cluster_dir: &Path,
    import_dir: &Path,
    began: Instant,
) -> Result<K3sState> {
    let port = container
        .get_host_port_ipv4(API_PORT)
        .await
        .map_err(|e| k3s_error(format!("reading the published API port: {e}")))?;
    // The kubeconfig appears once the API server has its certificates.
    let deadline = Instant::now() + START_TIMEOUT;
    let text = loop {
        if let Ok(text) = docker_exec(container.id(), &["cat", KUBECONFIG_IN_CONTAINER]).await
            && text.contains("server:")
        {
            break text;
        }
        if !container.is_running().await.unwrap_or(false) {
            return Err(k3s_error("the container exited while starting".into()));
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: format!("{KUBECONFIG_IN_CONTAINER} in the container"),
                after: START_TIMEOUT,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let kubeconfig = cluster_dir.join("kubeconfig");
    let text = text.replace(
        "https://127.0.0.1:6443",
        &format!("https://127.0.0.1:{port}"),
    );
    util::write_private(&kubeconfig, text.as_bytes())?;
    let client = kube::Client::try_from(local::config_from(&kubeconfig).await?)?;
    wait_ready(&client, deadline).await?;
    if let Ok(images) = util::blocking(crate::images).await {
        for name in ["pause", "nginx", "toolbox"] {
            let archive = local::node::images_dir().join(format!("{name}.tar"));
            import(container.id(), import_dir, &archive).await?;
        }
        progress!(
            "loaded {}, {} and {} into the k3s node",
            images.pause,
            images.nginx,
            images.toolbox
        );
    }
    progress!(
        "k3s cluster ready in {:.1} s (kubeconfig: {})",
        began.elapsed().as_secs_f64(),
        kubeconfig.display()
    );
    // An ingress controller answers on the published ports when the cluster has one (kubekit's
    // node image runs Traefik; the rancher image's is disabled here).
    let ingress = if crate::components::present(&client, crate::Component::Ingress).await? {
        let mut ports = vec![];
        for port in INGRESS_PORTS {
            let host = container.get_host_port_ipv4(port).await.map_err(|e| {
                k3s_error(format!(
                    "reading the published port of the ingress ({port:?}): {e}"
                ))
            })?;
            ports.push(std::net::SocketAddr::from(([127, 0, 0, 1], host)));
        }
        Some(crate::IngressAddress::new(ports[0], ports[1]))
    } else {
        None
    };
    Ok(K3sState {
        container_id: container.id().to_string(),
        image: image.reference(),
        kubeconfig,
        import_dir: import_dir.into(),
        ingress,
    })
}

/// Waits (watching) until a node is Ready and the `default` ServiceAccount exists.
async fn wait_ready(client: &kube::Client, deadline: Instant) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let ready = async {
        // The API may still be starting: the watch retries with a backoff.
        let mut ready_nodes = std::pin::pin!(
            watcher(nodes, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .filter_map(
                    |n| async move { n.ok().filter(|n| local::node::is_node_ready(Some(n))) }
                )
        );
        ready_nodes.next().await;
        loop {
            match await_condition(
                accounts.clone(),
                "default",
                |sa: Option<&ServiceAccount>| sa.is_some(),
            )
            .await
            {
                Ok(Some(_)) => return,
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    };
    tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), ready)
        .await
        .map_err(|_| Error::Timeout {
            what: "a Ready node and the default ServiceAccount".into(),
            after: START_TIMEOUT,
        })
}

/// Imports an image archive into the node's containerd with `ctr images import` in the
/// container (as `k3s ctr` does), staged through the bind-mounted `import_dir`.
pub(crate) async fn import(container_id: &str, import_dir: &Path, archive: &Path) -> Result<()> {
    if !archive.is_file() {
        return Err(Error::Io {
            action: "loading image",
            path: archive.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such archive"),
        });
    }
    let name = format!(
        "{}-{}",
        crate::namespace::random_suffix(),
        archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image.tar".into())
    );
    let staged = import_dir.join(&name);
    // A hard link when possible (same file system), else a copy.
    if tokio::fs::hard_link(archive, &staged).await.is_err() {
        tokio::fs::copy(archive, &staged)
            .await
            .io("copying", archive)?;
    }
    let inside = format!("{IMPORT_DIR}/{name}");
    let outcome = docker_exec(
        container_id,
        &["ctr", "-n", "k8s.io", "images", "import", &inside],
    )
    .await;
    let _ = tokio::fs::remove_file(&staged).await;
    outcome.map(|_| ())
}

/// `docker exec` through the Docker API: its output, or an error with it.
async fn docker_exec(container_id: &str, cmd: &[&str]) -> Result<String> {
    use testcontainers::bollard::{exec::StartExecResults, models::ExecConfig};
    let docker = docker().await?;
    let exec = docker
        .create_exec(
            container_id,
            ExecConfig {
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| k3s_error(format!("exec `{}`: {e}", cmd.join(" "))))?;
    let mut output = String::new();
    if let StartExecResults::Attached {
        output: mut stream, ..
    } = docker
        .start_exec(&exec.id, None)
        .await
        .map_err(|e| k3s_error(format!("exec `{}`: {e}", cmd.join(" "))))?
    {
        while let Some(Ok(chunk)) = stream.next().await {
            output.push_str(&chunk.to_string());
        }
    }
    let code = docker
        .inspect_exec(&exec.id)
        .await
        .ok()
        .and_then(|i| i.exit_code);
    if code == Some(0) {
        Ok(output)
    } else {
        Err(k3s_error(format!(
            "`{}` in container {container_id} exited with {code:?}: {}",
            cmd.join(" "),
            output.trim()
        )))
    }
}
