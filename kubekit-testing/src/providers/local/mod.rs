//! The local provider: etcd, kube-apiserver, kube-controller-manager and kube-scheduler as
//! local processes on 127.0.0.1, with fresh certificates, and as root a node ([`node`]:
//! kubelet, containerd, CNI, kube-proxy).
//!
//! A cluster's directory holds its keys (`pki/`), its kubeconfig, etcd's data and the
//! components' logs. The directory is the user's only (0700), the keys and the kubeconfig are
//! written 0600, and stopping the cluster removes all but the logs.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api,
    config::{KubeConfigOptions, Kubeconfig},
    runtime::wait::await_condition,
};
use serde::{Deserialize, Serialize};

use crate::{
    Component, Components, assets,
    certs::{self, files},
    error::{Error, IoContext, Result},
    providers::{Provider, ProviderKind},
    report::progress,
    util::{self, Process, Started},
};

pub(crate) mod addons;
pub mod node;

/// The Service ClusterIP range of the local cluster (clear of the machine's own addresses).
pub const SERVICE_CIDR: &str = "10.97.0.0/16";
/// The pod IP range of the local cluster.
pub const POD_CIDR: &str = "10.98.0.0/16";

/// A trimmed set of kube-controller-manager's controllers: what the walkthrough needs
/// (namespaces, service accounts and their CA bundle, node taints, Deployments, ReplicaSets,
/// garbage collection, endpoints). `KUBEKIT_CONTROLLERS=minimal` runs only these; by default
/// every controller runs (see [`controllers_from_env`]). Measured, the trimmed set starts no
/// faster (BENCHMARKS.md, "Cluster"): it is kept for tests that want a quieter control plane.
pub const MINIMAL_CONTROLLERS: &[&str] = &[
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "pod-garbage-collector-controller",
    "taint-eviction-controller",
    "root-ca-certificate-publisher-controller",
    "node-lifecycle-controller",
];

/// The controllers kube-controller-manager runs, as its `--controllers` flag takes them:
/// `KUBEKIT_CONTROLLERS` unset or `all` is `*` (kube's default set: Jobs, CronJobs,
/// StatefulSets, DaemonSets, HPAs, PodDisruptionBudgets, ResourceQuotas, TTL-after-finished,
/// PersistentVolume binding and expansion, ReplicationControllers, ... — the cloud
/// controllers stay off without a cloud provider); `minimal` is [`MINIMAL_CONTROLLERS`];
/// anything else is passed as it is (e.g. `*,-ttl-controller`).
pub fn controllers_from_env() -> String {
    match std::env::var("KUBEKIT_CONTROLLERS")
        .as_deref()
        .map(str::trim)
    {
        Err(_) | Ok("" | "all") => "*".into(),
        Ok("minimal") => MINIMAL_CONTROLLERS.join(","),
        Ok(list) => list.into(),
    }
}

/// What a running local cluster is made of, as recorded in the run's state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalState {
    pub(crate) dir: PathBuf,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) api_port: u16,
    pub(crate) processes: Vec<Process>,
    pub(crate) node: bool,
    /// The components the cluster runs (none without a node).
    #[serde(default = "Components::none")]
    pub(crate) components: Components,
    /// Where this machine reaches the ingress controller, when it runs.
    #[serde(default)]
    pub(crate) ingress: Option<crate::IngressAddress>,
}

/// The local provider (`KUBEKIT_PROVIDER=local`): a control plane of local processes and,
/// with [`Local::with_node`] (the default as root), a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    node: bool,
    components: Option<Components>,
}

impl Default for Local {
    /// [`Local::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

impl Local {
    /// A node when the process runs as root, unless `KUBEKIT_NODE=0`.
    pub fn from_env() -> Self {
        Self {
            node: node::wanted(),
            components: None,
        }
    }

    /// A control plane only.
    pub fn control_plane() -> Self {
        Self {
            node: false,
            components: None,
        }
    }

    /// A control plane and a node (needs root).
    pub fn with_node() -> Self {
        Self {
            node: true,
            components: None,
        }
    }

    /// The same provider running `components` on its node (by default those
    /// `KUBEKIT_COMPONENTS` selects; see [`Components::from_env`]). A cluster without a node
    /// runs none.
    #[must_use]
    pub fn with_components(mut self, components: Components) -> Self {
        self.components = Some(components);
        self
    }

    /// The directory of the run's shared local cluster.
    pub fn shared_dir() -> PathBuf {
        assets::cache_dir()
            .join("clusters")
            .join(format!("local-{}", assets::KUBERNETES_VERSION))
    }

    /// Starts a cluster in `dir` (made afresh): a control plane, and when asked a node with
    /// its components.
    async fn start_in(&self, dir: &Path) -> Result<LocalState> {
        let components = match (self.node, self.components) {
            (false, _) => Components::none(),
            (true, Some(c)) => c,
            (true, None) => Components::from_env()?,
        };
        let mut needed = assets::CONTROL_PLANE_BINARIES.to_vec();
        if self.node {
            needed.extend_from_slice(assets::NODE_BINARIES);
        }
        needed.extend(components.iter().filter_map(addons::binary));
        let bins = util::blocking(move || assets::binaries(&needed)).await?;
        if self.node {
            node::prepare_network().await?;
        }
        let api = ApiEndpoint::choose(self.node)?;
        let (mut state, mut started) = match start_control_plane(dir, &bins, &api).await {
            Ok(up) => up,
            Err(e) => {
                if self.node {
                    let _ = util::blocking(|| {
                        node::teardown();
                        Ok(())
                    })
                    .await;
                }
                return Err(e);
            }
        };
        if self.node {
            state.components = components;
            let dns = components
                .contains(Component::Dns)
                .then_some(addons::DNS_SERVICE_IP);
            let up = async {
                node::start(&mut state, &mut started, &bins, dns).await?;
                addons::start(&mut state, &mut started, &bins).await
            };
            if let Err(e) = up.await {
                let failed = state.clone();
                let _ = util::blocking(move || teardown(&failed)).await;
                return Err(e);
            }
        }
        Ok(state)
    }
}

/// Where the API server listens, how clients on this machine reach it, and the address the
/// `kubernetes` Service leads pods to.
pub(crate) struct ApiEndpoint {
    bind: String,
    port: u16,
    /// The host in the kubeconfig's server URL.
    client_host: String,
    /// The address the API server advertises as the `kubernetes` Service's endpoint, when pods
    /// can reach it (a node's address); `None` leaves the Service without endpoints.
    advertise: Option<&'static str>,
}

impl ApiEndpoint {
    /// `KUBEKIT_API_ADDRESS` (`IP:PORT`, e.g. `0.0.0.0:6443` in a container whose port is
    /// published) when set; else, with a node, a free port on the node's address (the bridge:
    /// this machine and its pods reach it, other hosts do not — the node's guard drops them);
    /// else a free port on 127.0.0.1. Never `0.0.0.0` unless asked.
    fn choose(node: bool) -> Result<Self> {
        let advertise = node.then_some(node::NODE_IP);
        match std::env::var("KUBEKIT_API_ADDRESS") {
            Ok(v) if !v.is_empty() => {
                let addr: std::net::SocketAddr = v.parse().map_err(|_| {
                    Error::Setting(format!(
                        "KUBEKIT_API_ADDRESS={v} is not an IP:PORT address such as 0.0.0.0:6443"
                    ))
                })?;
                let client_host = if addr.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else {
                    addr.ip().to_string()
                };
                Ok(Self {
                    bind: addr.ip().to_string(),
                    port: addr.port(),
                    client_host,
                    advertise,
                })
            }
            _ => {
                let host = if node { node::NODE_IP } else { "127.0.0.1" };
                Ok(Self {
                    bind: host.into(),
                    port: util::free_port()?,
                    client_host: host.into(),
                    advertise,
                })
            }
        }
    }
}

impl Provider for Local {
    type State = LocalState;

    fn kind(&self) -> ProviderKind {
        ProviderKind::Local
    }

    fn state_dir(&self) -> Option<PathBuf> {
        Some(Self::shared_dir())
    }

    async fn start(&self, dir: &Path, _run_id: &str) -> Result<LocalState> {
        self.start_in(&dir.join("cluster")).await
    }

    async fn alive(&self, state: &LocalState) -> bool {
        state.processes.iter().all(Process::runs)
    }

    fn kubeconfig<'s>(&self, state: &'s LocalState) -> Option<&'s Path> {
        Some(&state.kubeconfig)
    }

    fn has_node(&self, state: &LocalState) -> bool {
        state.node
    }

    fn ingress(&self, state: &LocalState) -> Option<crate::IngressAddress> {
        state.ingress
    }

    fn component_logs(&self, state: &LocalState) -> Vec<(String, PathBuf)> {
        state
            .processes
            .iter()
            .map(|p| (p.name.clone(), p.log.clone()))
            .collect()
    }

    async fn kill_container(&self, state: &LocalState, id: &str) -> Result<()> {
        if !state.node {
            return Err(crate::Error::Unsupported(
                "the local cluster runs without a node (KUBEKIT_NODE=0 or not root)".into(),
            ));
        }
        node::kill_container(id).await
    }

    async fn load_image(&self, state: &LocalState, archive: &Path) -> Result<()> {
        if !state.node {
            return Err(Error::Node(
                "the local cluster has no node (KUBEKIT_NODE=0 or not root)".into(),
            ));
        }
        node::load_image(archive).await
    }

    async fn stop(&self, state: &LocalState) -> Result<()> {
        let state = state.clone();
        util::blocking(move || teardown(&state)).await
    }
}

/// Stops every process of the cluster (each PID only while it still runs the recorded
/// program, so a reused PID is never signalled), removes the node when there is one, and
/// removes etcd's data, the keys and the kubeconfig. The logs stay, for failure reports.
pub(crate) fn teardown(state: &LocalState) -> Result<()> {
    if state.node {
        node::teardown();
    }
    let reversed: Vec<Process> = state.processes.iter().rev().cloned().collect();
    util::stop_processes(&reversed, Duration::from_secs(10));
    for secret in [
        "etcd",
        "pki",
        "kubeconfig",
        addons::STORAGE_DIR,
        addons::METRICS_CERT_DIR,
    ] {
        util::remove(&state.dir.join(secret))?;
    }
    Ok(())
}

/// Writes a kubeconfig for the admin user of the cluster at `server`.
pub(crate) fn write_kubeconfig(path: &Path, pki: &Path, server: &str) -> Result<()> {
    use base64::Engine as _;
    // The certificates are embedded (as k3s does), so the file works copied anywhere, e.g.
    // out of a container.
    let data = |f: &str| -> Result<String> {
        let file = pki.join(f);
        let bytes = std::fs::read(&file).io("reading", &file)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kubekit
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: kubekit-admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: kubekit
  context:
    cluster: kubekit
    user: kubekit-admin
    namespace: default
current-context: kubekit
",
        ca = data(files::CA_CERT)?,
        cert = data(files::ADMIN_CERT)?,
        key = data(files::ADMIN_KEY)?,
    );
    util::write_private(path, text.as_bytes())
}

/// Reads a kubeconfig file into a client configuration.
pub(crate) async fn config_from(path: &Path) -> Result<kube::Config> {
    let kc = Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
        path: path.into(),
        source,
    })?;
    kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|source| Error::Kubeconfig {
            path: path.into(),
            source,
        })
}

fn args(list: &[(&str, String)]) -> Vec<String> {
    list.iter().map(|(k, v)| format!("--{k}={v}")).collect()
}

/// Starts a control plane in `dir` (made afresh, the user's only) from the binaries in
/// `bins` and waits until it serves requests and its controllers work (the `default`
/// ServiceAccount exists).
pub(crate) async fn start_control_plane(
    dir: &Path,
    bins: &Path,
    api: &ApiEndpoint,
) -> Result<(LocalState, Vec<Started>)> {
    let began = Instant::now();
    let pki = dir.join("pki");
    let fresh = dir.to_path_buf();
    util::blocking(move || {
        util::remove(&fresh)?;
        if let Some(clusters) = fresh.parent() {
            util::private_dir(clusters)?;
        }
        for d in [&fresh, &fresh.join("pki"), &fresh.join("etcd")] {
            util::private_dir(d)?;
        }
        util::private_dir(&fresh.join("logs"))?;
        certs::generate(
            &fresh.join("pki"),
            &[
                "127.0.0.1",
                "localhost",
                "10.97.0.1",
                "10.98.0.1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
        )
    })
    .await?;
    let api_port = api.port;
    let (etcd_port, peer_port) = (util::free_port()?, util::free_port()?);
    let (kcm_port, sched_port) = (util::free_port()?, util::free_port()?);
    let kubeconfig = dir.join("kubeconfig");
    let server = format!("https://{}:{api_port}", api.client_host);
    write_kubeconfig(&kubeconfig, &pki, &server)?;
    let pk = |f: &str| pki.join(f).display().to_string();
    let kc = kubeconfig.display().to_string();

    progress!(
        "starting Kubernetes {} control plane (etcd, kube-apiserver, kube-controller-manager, \
         kube-scheduler) on {server}",
        assets::KUBERNETES_VERSION
    );
    let etcd_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut started = vec![util::spawn(
        dir,
        "etcd",
        &bins.join("etcd"),
        &args(&[
            ("name", "kubekit".into()),
            ("data-dir", dir.join("etcd").display().to_string()),
            ("listen-client-urls", etcd_url.clone()),
            ("advertise-client-urls", etcd_url.clone()),
            ("listen-peer-urls", peer_url.clone()),
            ("initial-advertise-peer-urls", peer_url.clone()),
            ("initial-cluster", format!("kubekit={peer_url}")),
            ("unsafe-no-fsync", "true".into()),
            ("log-level", "warn".into()),
        ]),
    )?];
    started.push(util::spawn(
        dir,
        "kube-apiserver",
        &bins.join("kube-apiserver"),
        &args(&[
            ("etcd-servers", etcd_url),
            ("bind-address", api.bind.clone()),
            (
                "advertise-address",
                api.advertise.unwrap_or("127.0.0.1").into(),
            ),
            ("secure-port", api_port.to_string()),
            ("cert-dir", dir.join("pki").display().to_string()),
            ("tls-cert-file", pk(files::SERVING_CERT)),
            ("tls-private-key-file", pk(files::SERVING_KEY)),
            ("client-ca-file", pk(files::CA_CERT)),
            ("kubelet-client-certificate", pk(files::ADMIN_CERT)),
            ("kubelet-client-key", pk(files::ADMIN_KEY)),
            // The node's name does not resolve: reach kubelets (exec, logs, port-forward) by
            // their InternalIP.
            (
                "kubelet-preferred-address-types",
                "InternalIP,ExternalIP,Hostname".into(),
            ),
            (
                "service-account-issuer",
                "https://kubernetes.default.svc.cluster.local".into(),
            ),
            ("service-account-key-file", pk(files::SA_PUB)),
            ("service-account-signing-key-file", pk(files::SA_KEY)),
            ("service-cluster-ip-range", SERVICE_CIDR.into()),
            // The aggregation layer (metrics-server's metrics.k8s.io), as kubeadm sets it up.
            ("requestheader-client-ca-file", pk(files::FRONT_PROXY_CA)),
            (
                "requestheader-allowed-names",
                certs::FRONT_PROXY_CLIENT.into(),
            ),
            (
                "requestheader-extra-headers-prefix",
                "X-Remote-Extra-".into(),
            ),
            ("requestheader-group-headers", "X-Remote-Group".into()),
            ("requestheader-username-headers", "X-Remote-User".into()),
            ("proxy-client-cert-file", pk(files::FRONT_PROXY_CERT)),
            ("proxy-client-key-file", pk(files::FRONT_PROXY_KEY)),
            // To an extension API server's endpoints directly rather than through its
            // ClusterIP: no wait for kube-proxy to program a new Service, and it works on the
            // control plane without a node (as kubeadm advises where kube-proxy does not run).
            ("enable-aggregator-routing", "true".into()),
            ("authorization-mode", "RBAC".into()),
            ("allow-privileged", "true".into()),
            // Without a node, the API server listens on loopback only: the `kubernetes`
            // Service cannot point at it, so its endpoints are not reconciled. With a node it
            // is the node's address, where pods reach it.
            (
                "endpoint-reconciler-type",
                if api.advertise.is_some() {
                    "lease"
                } else {
                    "none"
                }
                .into(),
            ),
            ("enable-priority-and-fairness", "false".into()),
            ("profiling", "false".into()),
            ("v", "1".into()),
        ]),
    )?);
    started.push(util::spawn(
        dir,
        "kube-controller-manager",
        &bins.join("kube-controller-manager"),
        &args(&[
            ("kubeconfig", kc.clone()),
            ("authentication-kubeconfig", kc.clone()),
            ("authorization-kubeconfig", kc.clone()),
            ("leader-elect", "false".into()),
            ("controllers", controllers_from_env()),
            ("service-account-private-key-file", pk(files::SA_KEY)),
            ("root-ca-file", pk(files::CA_CERT)),
            ("use-service-account-credentials", "false".into()),
            ("bind-address", "127.0.0.1".into()),
            ("secure-port", kcm_port.to_string()),
            ("concurrent-deployment-syncs", "10".into()),
            ("concurrent-replicaset-syncs", "10".into()),
            ("concurrent-gc-syncs", "20".into()),
            ("concurrent-namespace-syncs", "10".into()),
        ]),
    )?);
    started.push(util::spawn(
        dir,
        "kube-scheduler",
        &bins.join("kube-scheduler"),
        &args(&[
            ("kubeconfig", kc.clone()),
            ("authentication-kubeconfig", kc.clone()),
            ("authorization-kubeconfig", kc),
            ("leader-elect", "false".into()),
            ("bind-address", "127.0.0.1".into()),
            ("secure-port", sched_port.to_string()),
        ]),
    )?);

    let state = LocalState {
        dir: dir.into(),
        kubeconfig: kubeconfig.clone(),
        api_port,
        processes: started.iter().map(|s| s.process.clone()).collect(),
        node: false,
        components: Components::none(),
        ingress: None,
    };
    let ready = async {
        let client = kube::Client::try_from(config_from(&kubeconfig).await?)?;
        wait_ready(&client, &mut started).await
    };
    if let Err(e) = ready.await {
        let failed = state.clone();
        let _ = util::blocking(move || teardown(&failed)).await;
        return Err(e);
    }
    progress!(
        "control plane ready in {:.1} s (kubeconfig: {})",
        began.elapsed().as_secs_f64(),
        kubeconfig.display()
    );
    Ok((state, started))
}

/// Waits until kube-apiserver answers `/readyz` (polled: there is nothing to watch yet),
/// then watches for the `default` ServiceAccount (kube-controller-manager works), while
/// checking that no component exited.
async fn wait_ready(client: &kube::Client, started: &mut [Started]) -> Result<()> {
    const TIMEOUT: Duration = Duration::from_secs(90);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        for s in started.iter_mut() {
            s.check_alive()?;
        }
        let req = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(kube::Error::HttpError)?;
        if matches!(client.request_text(req).await.as_deref(), Ok("ok")) {
            break;
        }
        if Instant::now() > deadline {
            return Err(started[1].failed(format!(
                "not ready after {TIMEOUT:?} (kube-apiserver /readyz)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let watched = util::while_alive(
        started,
        deadline.saturating_duration_since(Instant::now()),
        async {
            Ok(
                await_condition(accounts, "default", |sa: Option<&ServiceAccount>| {
                    sa.is_some()
                })
                .await?,
            )
        },
    )
    .await?;
    match watched {
        Some(_) => Ok(()),
        None => Err(started[2].failed(format!(
            "not ready after {TIMEOUT:?} (the default ServiceAccount)"
        ))),
    }
}

/// A cluster of its own, outside the shared one: started by [`LocalCluster::start`], stopped
/// when dropped. For benchmarks and for programs that want a throwaway cluster (the
/// `kubekit-cluster` program); tests should use the shared cluster
/// ([`Cluster::shared`](crate::Cluster::shared)).
///
/// A node ([`LocalCluster::start_with_node`]) uses the machine-wide [`RUN_DIR`](crate::RUN_DIR)
/// and bridge, so only one cluster with a node can run on a machine at a time.
pub struct LocalCluster {
    state: LocalState,
    config: kube::Config,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("dir", &self.state.dir)
            .field("node", &self.state.node)
            .finish_non_exhaustive()
    }
}

impl LocalCluster {
    /// Starts a control plane (etcd, kube-apiserver, kube-controller-manager,
    /// kube-scheduler) and waits until it is ready.
    ///
    /// # Errors
    ///
    /// When the binaries are missing and cannot be built or a component fails to start
    /// (with its last log lines).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let cluster = kubekit_testing::LocalCluster::start().await?;
    /// let client = kube::Client::try_from(cluster.config().clone())?;
    /// println!("Kubernetes {}", client.apiserver_version().await?.git_version);
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<Self> {
        Self::start_with(Local::control_plane()).await
    }

    /// Starts a control plane and a node (kubelet, containerd, CNI, kube-proxy) with the
    /// locally built images loaded, and waits until the node is Ready. Needs root.
    ///
    /// # Errors
    ///
    /// As [`LocalCluster::start`], and when the node cannot start (not root, a package
    /// missing, or another node running on this machine).
    pub async fn start_with_node() -> Result<Self> {
        Self::start_with(Local::with_node()).await
    }

    async fn start_with(provider: Local) -> Result<Self> {
        let dir = assets::cache_dir()
            .join("clusters")
            .join(format!("dedicated-{}", crate::namespace::random_suffix()));
        let state = match provider.start_in(&dir).await {
            Ok(state) => state,
            Err(e) => {
                let _ = util::blocking(move || util::remove(&dir)).await;
                return Err(e);
            }
        };
        let config = config_from(&state.kubeconfig).await?;
        Ok(Self { state, config })
    }

    /// The client configuration of this cluster (`kube::Client::try_from(config.clone())`
    /// makes a client; kubekit's `Client::from_config` a faster one).
    pub fn config(&self) -> &kube::Config {
        &self.config
    }

    /// The cluster's kubeconfig file (for `kubectl --kubeconfig`), readable by its owner
    /// only; removed when the cluster stops.
    pub fn kubeconfig(&self) -> &Path {
        &self.state.kubeconfig
    }

    /// Whether the cluster has a node.
    pub fn has_node(&self) -> bool {
        self.state.node
    }

    /// Where this machine reaches the cluster's ingress controller (loopback), when it runs
    /// one.
    pub fn ingress(&self) -> Option<crate::IngressAddress> {
        self.state.ingress
    }

    /// Stops the cluster and removes its files (also done on drop).
    ///
    /// # Errors
    ///
    /// When a process cannot be stopped or a file cannot be removed.
    pub fn stop(mut self) -> Result<()> {
        // Drop does it again, finding nothing left.
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<()> {
        teardown(&self.state)?;
        util::remove(&self.state.dir)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}
