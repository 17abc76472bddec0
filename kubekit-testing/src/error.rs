//! Errors of kubekit-testing.

use std::{path::PathBuf, time::Duration};

/// An error starting, reaching or cleaning up a test cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Kubernetes binaries are not installed and cannot be built here.
    #[error("Kubernetes binaries not found: {0}")]
    MissingBinaries(String),

    /// The local node cannot start or is not there.
    #[error("kubekit node: {0}")]
    Node(String),

    /// Building the pinned components from the Go module proxy failed.
    #[error(
        "building the Kubernetes components with {script} failed ({status}); its output is above. \
         Set KUBEKIT_ASSETS to a directory holding kube-apiserver, kube-controller-manager, \
         kube-scheduler, kubelet, kube-proxy and etcd to use binaries from elsewhere"
    )]
    Build {
        /// The build script that was run.
        script: PathBuf,
        /// How it ended.
        status: String,
    },

    /// A cluster component exited or never became ready.
    #[error("{component} did not start: {reason}\n--- last lines of {} ---\n{tail}", log.display())]
    Component {
        /// The component, e.g. `kube-apiserver`.
        component: String,
        /// What went wrong.
        reason: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },

    /// A file or process operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What kubekit-testing was doing.
        action: &'static str,
        /// The file or program involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Generating the cluster's certificates failed.
    #[error("generating certificates: {0}")]
    Certificates(#[from] rcgen::Error),

    /// The kubeconfig could not be read or used.
    #[error("kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        /// The kubeconfig file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: kube::config::KubeconfigError,
    },

    /// `KUBEKIT_PROVIDER=kubeconfig`, but no kubeconfig could be found or used.
    #[error("KUBEKIT_PROVIDER=kubeconfig but no usable kubeconfig: {0}")]
    InferConfig(#[source] kube::config::InferConfigError),

    /// The provider cannot do what was asked (e.g. load an image onto a cluster it does not
    /// manage).
    #[error("{0}")]
    Unsupported(String),

    /// An environment variable holds a value kubekit-testing cannot use.
    #[error("{0}")]
    Setting(String),

    /// The watchdog that stops the shared cluster after the run cannot start.
    #[error("the watchdog of the shared cluster: {0}")]
    Watchdog(String),

    /// Watching an object until a condition holds failed.
    #[error("waiting for a condition: {0}")]
    Wait(#[from] kube::runtime::wait::Error),

    /// A request to the cluster failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    /// Something did not happen in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long kubekit-testing waited.
        after: Duration,
    },

    /// A test needs a cluster component the cluster does not run.
    #[error("this test needs {component}, which the cluster does not run: {hint}")]
    MissingComponent {
        /// The component.
        component: crate::Component,
        /// Why it is missing and the switch that turns it on.
        hint: String,
    },

    /// `KUBEKIT_PROVIDER` names no known provider.
    #[error(
        "KUBEKIT_PROVIDER={0:?} is not a provider kubekit-testing knows; use `k3s` (k3s in a Docker container), `local` (a cluster of local processes) or `kubeconfig` (the cluster of $KUBECONFIG)"
    )]
    UnknownProvider(String),

    /// The k3s provider could not start or use its container: Docker is missing or not
    /// answering, the image cannot be pulled, or the container failed.
    #[error("k3s provider: {message}")]
    K3s {
        /// What failed and the alternatives.
        message: String,
    },

    /// The cluster's state file could not be parsed.
    #[error("cluster state {}: {source}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// kubekit-testing's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn io(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            action,
            path: path.into(),
            source,
        })
    }
}
