//! [`Cluster`]: a running cluster tests use, whichever [`Provider`] it comes from.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::{
    Component, components,
    error::Result,
    providers::{K3s, Kubeconfig, Local, Provider, ProviderKind},
    report::warning,
    shared, util,
};

/// A running cluster tests can use.
///
/// Get the run's shared one with [`Cluster::shared`]; give each test its own namespace with
/// [`test_namespace!`](crate::test_namespace). A client is made from [`Cluster::config`]
/// (kubekit's `kubekit::testing` adds a `client()` returning kubekit's client).
pub struct Cluster {
    kind: ProviderKind,
    config: kube::Config,
    kubeconfig: Option<PathBuf>,
    run_id: String,
    node: bool,
    ingress: Option<crate::IngressAddress>,
    component_logs: Vec<(String, PathBuf)>,
    running: Box<dyn Running>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("provider", &self.kind)
            .field("kubeconfig", &self.kubeconfig)
            .field("run_id", &self.run_id)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// A provider with the state of its running cluster, behind a type-erased handle.
trait Running: Send + Sync {
    fn load_image<'a>(&'a self, archive: &'a Path) -> BoxFuture<'a, Result<()>>;
    fn kill_container<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>>;
}

struct Handle<P: Provider> {
    provider: P,
    state: P::State,
}

impl<P: Provider> Running for Handle<P> {
    fn load_image<'a>(&'a self, archive: &'a Path) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.provider.load_image(&self.state, archive))
    }

    fn kill_container<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.provider.kill_container(&self.state, id))
    }
}

static SHARED: OnceCell<Cluster> = OnceCell::const_new();

impl Cluster {
    /// The test run's shared cluster of the provider [`ProviderKind::from_env`] selects:
    /// started by the first test that asks, reused by every later test in this and other
    /// test processes, stopped when the run is over.
    ///
    /// With the local provider the cluster includes a node (kubelet, containerd, CNI,
    /// kube-proxy) when the process runs as root; `KUBEKIT_NODE=0` starts the control plane
    /// only. `KUBEKIT_KEEP=1` keeps the cluster running after the run (stop it with
    /// [`stop_local`](crate::stop_local)).
    ///
    /// # Errors
    ///
    /// When the binaries are missing and cannot be built, a component fails to start (the
    /// error holds its last log lines), or the kubeconfig cannot be read.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let cluster = kubekit_testing::Cluster::shared().await?;
    /// let client = kube::Client::try_from(cluster.config().clone())?;
    /// let version = client.apiserver_version().await?;
    /// assert_eq!(version.major, "1");
    /// # Ok(()) }
    /// ```
    pub async fn shared() -> Result<&'static Cluster> {
        SHARED.get_or_try_init(Self::connect).await
    }

    /// The test run's shared k3s cluster of `image`, whatever `KUBEKIT_PROVIDER` says (see
    /// [`Cluster::shared_with`]).
    ///
    /// # Errors
    ///
    /// [`Error::K3s`](crate::Error::K3s) when Docker is missing or not answering, the image
    /// cannot be pulled, or the container fails to start (with its last log lines).
    pub async fn shared_k3s(image: K3s) -> Result<&'static Cluster> {
        Self::shared_with(image).await
    }

    /// The test run's shared cluster of `provider`: started by the first caller in the run,
    /// reused by later ones in this and other processes, stopped when the run is over.
    /// Several providers (e.g. k3s images) may run side by side.
    ///
    /// # Errors
    ///
    /// When the cluster cannot be started or its configuration read.
    pub async fn shared_with<P: Provider>(provider: P) -> Result<&'static Cluster> {
        type Known = Vec<((ProviderKind, Option<PathBuf>), &'static Cluster)>;
        static KNOWN: tokio::sync::Mutex<Known> = tokio::sync::Mutex::const_new(Vec::new());
        let key = (provider.kind(), provider.state_dir());
        let mut known = KNOWN.lock().await;
        if let Some((_, cluster)) = known.iter().find(|(k, _)| *k == key) {
            return Ok(cluster);
        }
        let cluster: &'static Cluster = Box::leak(Box::new(Self::connect_with(provider).await?));
        known.push((key, cluster));
        Ok(cluster)
    }

    async fn connect_with<P: Provider>(provider: P) -> Result<Cluster> {
        let (run_id, state) = match provider.state_dir() {
            Some(dir) => {
                let record = shared::shared_in(&provider, &dir).await?;
                (record.run_id, record.state)
            }
            None => {
                let run_id = crate::namespace::random_suffix();
                let state = provider.start(Path::new(""), &run_id).await?;
                (run_id, state)
            }
        };
        Ok(Cluster {
            kind: provider.kind(),
            config: provider.config(&state).await?,
            kubeconfig: provider.kubeconfig(&state).map(Path::to_path_buf),
            run_id,
            node: provider.has_node(&state),
            ingress: provider.ingress(&state),
            component_logs: provider.component_logs(&state),
            running: Box::new(Handle { provider, state }),
        })
    }

    async fn connect() -> Result<Cluster> {
        // Asking Docker whether it answers may take a second: not on the async runtime.
        match util::blocking(ProviderKind::from_env).await? {
            ProviderKind::Kubeconfig => Self::connect_with(Kubeconfig).await,
            ProviderKind::K3s => {
                let image = K3s::from_env()?;
                let chosen = std::env::var("KUBEKIT_PROVIDER").is_ok_and(|p| p == "k3s");
                if !chosen && let Err(e) = crate::providers::k3s::image_available(&image).await {
                    warning!(
                        "a Docker engine answers, but {e}\nusing the local cluster \
                         (KUBEKIT_PROVIDER chooses)"
                    );
                    return Self::connect_with(Local::from_env()).await;
                }
                Self::connect_with(image).await
            }
            ProviderKind::Local => Self::connect_with(Local::from_env()).await,
        }
    }

    /// Loads an image archive (`docker save` / OCI format) onto this cluster's node: into
    /// the local node's containerd, or with `ctr images import` inside the k3s container.
    ///
    /// # Errors
    ///
    /// When the file does not exist, the provider has no node kubekit-testing manages
    /// (`kubeconfig`), or the import fails.
    pub async fn load_image(&self, archive: &Path) -> Result<()> {
        self.running.load_image(archive).await
    }

    /// The cluster's components (`kube-apiserver`, `kubelet`, `coredns`, ...) and their log
    /// files, for a cluster whose components run as processes here (the local provider;
    /// empty for the others). The logs stay after the cluster stops, until the next start.
    pub fn component_logs(&self) -> &[(String, PathBuf)] {
        &self.component_logs
    }

    /// Kills a container's process on the cluster's node (`SIGKILL` through containerd), as a
    /// crash or an OOM kill ends it: the kubelet then restarts it by the pod's
    /// `restartPolicy`. `container_id` is the pod status's `containerID`, with or without its
    /// `containerd://`. kubekit's `testing::faults::kill_container` waits for the restart.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`](crate::Error::Unsupported) for a cluster whose node
    /// kubekit-testing does not run (`kubeconfig`, a local cluster without a node); the
    /// node's error when the container is not there.
    pub async fn kill_container(&self, container_id: &str) -> Result<()> {
        let id = container_id
            .split_once("://")
            .map_or(container_id, |(_, id)| id);
        self.running.kill_container(id).await
    }

    /// A kube client for the harness's own requests (creating and deleting namespaces),
    /// bound to the calling async runtime.
    pub(crate) fn client(&self) -> Result<kube::Client> {
        Ok(kube::Client::try_from(self.config.clone())?)
    }

    /// The client configuration of this cluster.
    pub fn config(&self) -> &kube::Config {
        &self.config
    }

    /// The kubeconfig file of this cluster, for `kubectl --kubeconfig` (none when the
    /// provider uses the default kubeconfig). Readable by its owner only.
    pub fn kubeconfig(&self) -> Option<&Path> {
        self.kubeconfig.as_deref()
    }

    /// Whether the cluster goes on running after the test run: a cluster of `KUBECONFIG`
    /// (someone else's), or a run started with `KUBEKIT_KEEP=1`. Otherwise it stops seconds
    /// after the run's last test process ends.
    pub fn outlives_run(&self) -> bool {
        self.kind == ProviderKind::Kubeconfig || crate::shared::keep_cluster()
    }

    /// The kind of provider this cluster comes from.
    pub fn provider(&self) -> ProviderKind {
        self.kind
    }

    /// Where this machine reaches the cluster's ingress controller (loopback addresses), when
    /// it runs one ([`Component::Ingress`]: the local provider and kubekit's node image);
    /// `None` otherwise. Pods reach the same controller at the address each Ingress's
    /// `status.loadBalancer` shows.
    pub fn ingress(&self) -> Option<crate::IngressAddress> {
        self.ingress
    }

    /// Whether the cluster has a node that runs pods.
    pub fn has_node(&self) -> bool {
        self.node
    }

    /// Checks that the cluster runs `component` (cluster DNS, a default StorageClass), so
    /// that a test that needs it fails at once with the switch to turn it on instead of
    /// hanging on a PersistentVolumeClaim that never binds or a name that never resolves.
    /// Found from the cluster itself, so it holds for every provider.
    ///
    /// # Errors
    ///
    /// [`Error::MissingComponent`](crate::Error::MissingComponent) naming
    /// `KUBEKIT_COMPONENTS` (or, for `KUBEKIT_PROVIDER=kubeconfig`, what to install); an API
    /// error when the cluster cannot be asked.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit_testing::Result<()> {
    /// use kubekit_testing::{Cluster, Component};
    ///
    /// let cluster = Cluster::shared().await?;
    /// cluster.require(Component::Storage).await?;
    /// // ... a PersistentVolumeClaim without a storageClassName binds
    /// # Ok(()) }
    /// ```
    pub async fn require(&self, component: Component) -> Result<()> {
        if components::present(&self.client()?, component).await? {
            Ok(())
        } else {
            Err(components::missing(component, self.kind.as_str()))
        }
    }

    /// An identifier of this cluster's lifetime (a new one each time it is started).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}
