//! Where a test cluster comes from: one [`Provider`] per kind of cluster, one module each.
//!
//! | provider | module | [`ProviderKind`] |
//! | --- | --- | --- |
//! | Kubernetes components as local processes | [`local`] ([`Local`]) | `local` |
//! | k3s (or kubekit's node image) in a Docker container | [`k3s`] ([`K3s`]) | `k3s` |
//! | the cluster `KUBECONFIG` points at | [`kubeconfig`] ([`Kubeconfig`]) | `kubeconfig` |
//!
//! [`Cluster::shared_with`](crate::Cluster::shared_with) shares a provider's cluster across
//! the run's test processes; adding a provider is implementing [`Provider`] in a module here.

use std::{
    fmt,
    future::Future,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

pub mod k3s;
pub mod kubeconfig;
pub mod local;

pub use k3s::K3s;
pub use kubeconfig::Kubeconfig;
pub use local::Local;

/// A kind of cluster kubekit-testing can start (or use) for tests.
///
/// The provider's value is its configuration (e.g. the k3s image); what a running cluster is
/// made of is its [`State`](Provider::State), recorded in the run's state file so that every
/// test process of the run, and the watchdog that stops the cluster afterwards, find it.
pub trait Provider: Send + Sync + 'static {
    /// What a running cluster of this provider is made of (processes, a container id, its
    /// kubeconfig), as recorded in the run's state file.
    type State: Serialize + DeserializeOwned + fmt::Debug + Send + Sync + 'static;

    /// Which kind of provider this is.
    fn kind(&self) -> ProviderKind;

    /// The directory where the run's cluster of this provider is recorded and shared, or
    /// `None` for a cluster kubekit-testing does not start (nothing to share or stop).
    fn state_dir(&self) -> Option<PathBuf>;

    /// Starts a cluster, keeping its files in `dir` (a directory only the user can enter),
    /// and returns once it serves requests.
    fn start(&self, dir: &Path, run_id: &str) -> impl Future<Output = Result<Self::State>> + Send;

    /// Whether the recorded cluster still runs (a reboot or a killed run leaves a state file
    /// behind).
    fn alive(&self, state: &Self::State) -> impl Future<Output = bool> + Send;

    /// The cluster's kubeconfig file, if it has one of its own.
    fn kubeconfig<'s>(&self, state: &'s Self::State) -> Option<&'s Path>;

    /// The client configuration of the cluster; by default read from
    /// [`kubeconfig`](Provider::kubeconfig).
    fn config(&self, state: &Self::State) -> impl Future<Output = Result<kube::Config>> + Send {
        let path = self.kubeconfig(state).map(Path::to_path_buf);
        async move {
            match path {
                Some(path) => crate::providers::local::config_from(&path).await,
                None => Err(Error::Unsupported(format!(
                    "the {} provider's cluster has no kubeconfig",
                    self.kind()
                ))),
            }
        }
    }

    /// Whether the cluster has a node that runs pods.
    fn has_node(&self, state: &Self::State) -> bool;

    /// Where this machine reaches the cluster's ingress controller, when the provider runs one
    /// and knows its address.
    fn ingress(&self, _state: &Self::State) -> Option<crate::IngressAddress> {
        None
    }

    /// Loads an image archive (`docker save` / OCI format) onto the cluster's node.
    fn load_image(
        &self,
        state: &Self::State,
        archive: &Path,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The cluster's components and their log files, when they are files on this machine
    /// (the local provider's).
    fn component_logs(&self, _state: &Self::State) -> Vec<(String, PathBuf)> {
        Vec::new()
    }

    /// Kills a container's process on the node (`SIGKILL` through containerd, as an OOM kill
    /// or a crash would end it), `id` being the container's id without its `containerd://`.
    fn kill_container(
        &self,
        _state: &Self::State,
        _id: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        let kind = self.kind();
        async move {
            Err(Error::Unsupported(format!(
                "the {kind} provider's cluster has no node kubekit-testing can reach to kill a                  container"
            )))
        }
    }

    /// Stops the cluster and removes its keys and kubeconfigs (its component logs stay, for
    /// failure reports).
    fn stop(&self, state: &Self::State) -> impl Future<Output = Result<()>> + Send;
}

/// Which cluster the tests run against, chosen with `KUBEKIT_PROVIDER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProviderKind {
    /// Kubernetes components as local processes, started and stopped by kubekit-testing
    /// (`KUBEKIT_PROVIDER=local`); see [`Local`].
    Local,
    /// The existing cluster `KUBECONFIG` (or `~/.kube/config`) points at, left as it is
    /// (`KUBEKIT_PROVIDER=kubeconfig`); see [`Kubeconfig`].
    Kubeconfig,
    /// k3s in a Docker container, through testcontainers (`KUBEKIT_PROVIDER=k3s`); the
    /// image is chosen with `KUBEKIT_K3S_IMAGE` (see [`K3s::from_env`]).
    K3s,
}

impl ProviderKind {
    /// The provider `KUBEKIT_PROVIDER` selects: `k3s`, `local` or `kubeconfig`. Unset, it is
    /// `k3s` where a Docker engine answers and `local` otherwise (and
    /// [`Cluster::shared`](crate::Cluster::shared) falls back to `local` when the k3s image
    /// can be neither found nor pulled).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProvider`] for a value kubekit-testing does not know.
    pub fn from_env() -> Result<Self> {
        match std::env::var("KUBEKIT_PROVIDER")
            .unwrap_or_default()
            .as_str()
        {
            "" if k3s::docker_answers() => Ok(Self::K3s),
            "" | "local" => Ok(Self::Local),
            "kubeconfig" => Ok(Self::Kubeconfig),
            "k3s" => Ok(Self::K3s),
            other => Err(Error::UnknownProvider(other.into())),
        }
    }

    /// The name `KUBEKIT_PROVIDER` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Kubeconfig => "kubeconfig",
            Self::K3s => "k3s",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
