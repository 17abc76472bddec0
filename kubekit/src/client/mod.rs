//! The [`Client`] and everything it does against a cluster, one module per capability:
//! apply (`apply`, `manifest`), get / list (`read`), delete, waits, API discovery,
//! kubectl-style [`table`]s, [`exec`], [`logs`], [`portforward`] and Deployment [`rollout`]s,
//! on top of [`kube::Client`]. Every call returns [`crate::Result`].
//!
//! ```no_run
//! # async fn demo() -> kubekit::Result<()> {
//! use k8s_openapi::api::core::v1::Pod;
//! use kubekit::client::{Client, DeleteOptions};
//!
//! let client = Client::try_default().await?.in_namespace("demo");
//! let report = client
//!     .apply_manifest(
//!         "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n\
//!          spec: {containers: [{name: web, image: nginx}]}\n",
//!     )
//!     .await?;
//! println!("{report}"); // pod/web created
//! let pods: Vec<Pod> = client.list(("app", "web")).await?;
//! println!("{}", kubekit::client::table::pods(&pods));
//! client.delete::<Pod>("web", DeleteOptions::default()).await?;
//! # Ok(()) }
//! ```

mod apply;
mod applyset;
pub(crate) mod connect;
mod delete;
pub(crate) mod describe;
mod diff;
mod discovery;
pub mod exec;
pub mod logs;
mod manifest;
pub mod portforward;
mod read;
pub mod rollout;
pub use crate::table;
mod wait;
pub(crate) mod waits;

use std::fmt::Debug;

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::{Api, Resource};
use serde::{Serialize, de::DeserializeOwned};

pub use crate::error::{Error, FieldCause, ObjectRef, Result};
pub use apply::{Applied, ApplyOptions, ApplyOutcome};
pub use applyset::{
    APPLYSET_GROUP_KINDS_ANNOTATION, APPLYSET_ID_LABEL, APPLYSET_NAMESPACES_ANNOTATION,
    APPLYSET_PART_OF_LABEL, APPLYSET_TOOLING_ANNOTATION, ApplySet, ApplySetReport, ParentKind,
    PrunedObject,
};
pub use delete::{DeleteOptions, DeleteReport, Propagation};
pub use describe::{Description, EventInfo, events_table};
pub use diff::{Change, Diff, DiffEntry, FieldChange};
pub use discovery::ApiResourceInfo;
pub use manifest::{AppliedObject, ApplyReport, SetProgress};
pub use read::Labels;

/// The default field manager of server-side apply.
pub const DEFAULT_FIELD_MANAGER: &str = "kubekit";

/// A client of one cluster with a default namespace and a field manager.
///
/// Cheap to clone (the inner [`kube::Client`] is shared).
///
/// ```no_run
/// # async fn demo() -> kubekit::Result<()> {
/// let client = kubekit::client::Client::try_default().await?.in_namespace("team-a");
/// assert_eq!(client.namespace(), "team-a");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    /// The kube client whose default namespace is `namespace`.
    inner: kube::Client,
    /// The client as built (or handed in); `inner` is rebound from it for other namespaces,
    /// so rebinding never stacks.
    base: kube::Client,
    namespace: String,
    field_manager: String,
    /// Paces exec starts per pod; shared by clones.
    exec_pacer: std::sync::Arc<exec::ExecPacer>,
}

impl Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("namespace", &self.namespace)
            .field("field_manager", &self.field_manager)
            .field("exec_starts_per_pod", &self.exec_pacer.limit())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Wraps a [`kube::Client`]; the default namespace is the kube client's (from the
    /// kubeconfig context, the service account's namespace in a cluster, or `default`).
    pub fn new(client: kube::Client) -> Self {
        let namespace = client.default_namespace().to_string();
        Self {
            inner: client.clone(),
            base: client,
            namespace,
            field_manager: DEFAULT_FIELD_MANAGER.to_string(),
            exec_pacer: std::sync::Arc::new(exec::ExecPacer::new(
                exec::DEFAULT_EXEC_STARTS_PER_POD,
            )),
        }
    }

    /// A client from the environment: `KUBECONFIG` / `~/.kube/config`, or the in-cluster
    /// service account.
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit::Result<()> {
    /// let client = kubekit::client::Client::try_default().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] when no configuration is found or it cannot be used.
    pub async fn try_default() -> Result<Self> {
        let config = kube::Config::infer()
            .await
            .map_err(kube::Error::InferConfig)?;
        Self::from_config(config)
    }

    /// A client for `config`, with kube's middleware (authentication, retries, timeouts,
    /// TLS) on TCP connections that set `TCP_NODELAY`.
    ///
    /// Prefer this over wrapping a `kube::Client::try_from(config)` with [`Client::new`]:
    /// every exec and port-forward connection opens a new TCP connection, and without
    /// `TCP_NODELAY` each pays about 40 ms of Nagle's algorithm meeting the server's delayed
    /// ACK. (A proxy URL or an exec credential plugin in `config` keeps kube's own client.)
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
    ///     context: Some("kind-dev".into()),
    ///     ..Default::default()
    /// })
    /// .await?;
    /// let client = kubekit::Client::from_config(config)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] when the configuration cannot be used (e.g. an unreadable
    /// certificate).
    pub fn from_config(config: kube::Config) -> Result<Self> {
        Ok(Self::new(connect::kube_client(config)?))
    }

    /// The same client with `namespace` as the namespace of namespaced objects that do not
    /// name one — for kubekit's calls and for the [`kube::Client`] that [`kube`](Self::kube)
    /// hands out (`Api::default_namespaced(client.kube().clone())` addresses `namespace`
    /// too). Both share one connection pool.
    ///
    /// Call it within a Tokio runtime (as building the client itself).
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit::Result<()> {
    /// let client = kubekit::Client::try_default().await?.in_namespace("team-a");
    /// assert_eq!(client.kube().default_namespace(), "team-a");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        if self.inner.default_namespace() != namespace {
            self.inner = if self.base.default_namespace() == namespace {
                self.base.clone()
            } else {
                connect::rebind(&self.base, &namespace)
            };
        }
        self.namespace = namespace;
        self
    }

    /// The same client applying as field manager `name` (default [`DEFAULT_FIELD_MANAGER`]).
    #[must_use]
    pub fn with_field_manager(mut self, name: impl Into<String>) -> Self {
        self.field_manager = name.into();
        self
    }

    /// The same client starting at most `limit` execs at once in one pod (`0`: no limit;
    /// default [`exec::DEFAULT_EXEC_STARTS_PER_POD`], whose docs say why there is one).
    /// An exec holds its slot until its command ends or for one second, whichever is first,
    /// so long-running commands never block the next ones for longer. The returned client
    /// and its clones share the new limit; the original keeps its own.
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit::Result<()> {
    /// // A runtime without containerd 1.6's shim limit: start every exec at once.
    /// let client = kubekit::Client::try_default().await?.with_exec_starts_per_pod(0);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_exec_starts_per_pod(mut self, limit: usize) -> Self {
        self.exec_pacer = std::sync::Arc::new(exec::ExecPacer::new(limit));
        self
    }

    /// The pacer of exec starts.
    pub(crate) fn exec_pacer(&self) -> &exec::ExecPacer {
        &self.exec_pacer
    }

    /// The inner [`kube::Client`], for calls kubekit does not wrap.
    pub fn kube(&self) -> &kube::Client {
        &self.inner
    }

    /// The default namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The server-side apply field manager.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// An [`Api`] for `K` in `namespace` (or the default namespace) — cluster-wide for
    /// cluster-scoped kinds.
    pub fn api<K: ApiObject>(&self, namespace: Option<&str>) -> Api<K> {
        <K::Scope as KnownScope>::api(self.inner.clone(), namespace.unwrap_or(&self.namespace))
    }

    /// The reference to object `name` of kind `K` as this client addresses it.
    fn object_ref<K: ApiObject>(&self, namespace: Option<&str>, name: &str) -> ObjectRef {
        let ns = K::Scope::NAMESPACED.then(|| namespace.unwrap_or(&self.namespace));
        ObjectRef::new(K::kind(&Default::default()), ns, name)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for k8s_openapi::NamespaceResourceScope {}
    impl Sealed for k8s_openapi::ClusterResourceScope {}
}

/// The scopes of kinds known at compile time: [`NamespaceResourceScope`] and
/// [`ClusterResourceScope`]. Lets one generic call address a Pod in a namespace and a
/// Namespace cluster-wide.
pub trait KnownScope: sealed::Sealed {
    /// Whether objects of this scope live in a namespace.
    const NAMESPACED: bool;

    /// An [`Api`] for `K`: in `namespace` for namespaced kinds, cluster-wide otherwise.
    fn api<K>(client: kube::Client, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = Self>,
        K::DynamicType: Default;
}

impl KnownScope for NamespaceResourceScope {
    const NAMESPACED: bool = true;

    fn api<K>(client: kube::Client, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = Self>,
        K::DynamicType: Default,
    {
        Api::namespaced(client, namespace)
    }
}

impl KnownScope for ClusterResourceScope {
    const NAMESPACED: bool = false;

    fn api<K>(client: kube::Client, _namespace: &str) -> Api<K>
    where
        K: Resource<Scope = Self>,
        K::DynamicType: Default,
    {
        Api::all(client)
    }
}

/// The typed Kubernetes objects the client calls accept: any [`k8s_openapi`] resource type
/// (Pod, Deployment, Namespace, ...) and any `kube::CustomResource` with a static type.
pub trait ApiObject:
    Resource<DynamicType: Default, Scope: KnownScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> ApiObject for K where
    K: Resource<DynamicType: Default, Scope: KnownScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug
        + Send
        + Sync
        + 'static
{
}
