//! Port-forwarding, as `kubectl port-forward` does: a local TCP listener whose connections
//! are forwarded to a port of a pod, of a ready pod behind a Service, or of a pod of a
//! Deployment.
//!
//! Each accepted connection resolves the target again (so Service and Deployment targets
//! follow their pods when they are replaced) and gets its own pair of streams in a tunnel
//! to the pod, as kubectl does: SPDY streams in one WebSocket to the API server, opened with
//! the first connection and shared by the following ones (Kubernetes 1.31 and newer). One
//! connection's reset or early close does not disturb the others. Where the API server
//! offers no tunnel, each connection gets a WebSocket of its own (`v4.channel.k8s.io`, see
//! [`PortForwardProtocol`]). The listener binds `127.0.0.1` unless another address is asked
//! for; dropping the [`PortForward`] guard stops the listener and its connections.
//!
//! ```no_run
//! # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
//! use kubekit::portforward::{PortForwardOptions, PortForwardTarget};
//!
//! let forward = client
//!     .port_forward(PortForwardTarget::service("web"), 80, PortForwardOptions::new())
//!     .await?;
//! println!("http://{}/", forward.local_addr());
//! // ... the forward runs until `forward` is dropped.
//! # Ok(()) }
//! ```
//!
//! When a local client shuts down its sending side, the tunnel passes the end of input on,
//! as kubectl does; what happens next is the container runtime's choice (containerd 1.6 keeps
//! the reply direction open for one more second, then closes the pod's connection). The
//! `v4.channel.k8s.io` protocol has no half-close: the pod never sees the end of input, and
//! replies flow until the pod closes the connection.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{FutureExt, SinkExt, StreamExt};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        core::v1::{Pod, Service},
    },
    apimachinery::pkg::util::intstr::IntOrString,
};
use kube::{
    Resource,
    api::{Api, ListParams},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use tracing::Instrument as _;

mod spdy;

/// What to forward to: a pod, a Service or a Deployment (`kubectl port-forward pod/x`,
/// `svc/x`, `deploy/x`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortForwardTarget {
    /// A pod by name.
    Pod(String),
    /// A ready pod selected by a Service; the Service port maps to its target port.
    Service(String),
    /// A ready pod of a Deployment.
    Deployment(String),
}

impl PortForwardTarget {
    /// Pod `name`.
    pub fn pod(name: impl Into<String>) -> Self {
        Self::Pod(name.into())
    }

    /// Service `name`.
    pub fn service(name: impl Into<String>) -> Self {
        Self::Service(name.into())
    }

    /// Deployment `name`.
    pub fn deployment(name: impl Into<String>) -> Self {
        Self::Deployment(name.into())
    }
}

impl PortForwardTarget {
    /// The object the target names, in `namespace`.
    pub fn object(&self, namespace: &str) -> crate::ObjectRef {
        let (kind, name) = match self {
            Self::Pod(n) => ("Pod", n),
            Self::Service(n) => ("Service", n),
            Self::Deployment(n) => ("Deployment", n),
        };
        crate::ObjectRef::new(kind, Some(namespace), name)
    }
}

impl fmt::Display for PortForwardTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pod(n) => write!(f, "pod/{n}"),
            Self::Service(n) => write!(f, "service/{n}"),
            Self::Deployment(n) => write!(f, "deployment/{n}"),
        }
    }
}

impl FromStr for PortForwardTarget {
    type Err = PortForwardError;

    /// `NAME` or `pod/NAME`, `svc/NAME` / `service/NAME`, `deploy/NAME` / `deployment/NAME`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s.split_once('/').unwrap_or(("pod", s));
        let bad = || PortForwardError::BadTarget {
            target: s.to_string(),
        };
        if name.is_empty() {
            return Err(bad());
        }
        match kind.to_ascii_lowercase().as_str() {
            "pod" | "pods" | "po" => Ok(Self::pod(name)),
            "svc" | "service" | "services" => Ok(Self::service(name)),
            "deploy" | "deployment" | "deployments" => Ok(Self::deployment(name)),
            _ => Err(bad()),
        }
    }
}

/// A port of the target: a number, or a name (a container port's name, or for a Service
/// a Service port's name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RemotePort {
    /// A port number (for a Service: the Service port).
    Number(u16),
    /// A port name.
    Name(String),
}

impl From<u16> for RemotePort {
    fn from(n: u16) -> Self {
        Self::Number(n)
    }
}

impl From<&str> for RemotePort {
    fn from(s: &str) -> Self {
        s.parse()
            .map_or_else(|_| Self::Name(s.to_string()), Self::Number)
    }
}

impl From<String> for RemotePort {
    fn from(s: String) -> Self {
        Self::from(s.as_str())
    }
}

impl fmt::Display for RemotePort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Name(n) => f.write_str(n),
        }
    }
}

/// What went wrong in port-forwarding, the [`PortForward`](crate::Error::PortForward) part
/// of [`kubekit::Error`](crate::Error). Each names the target, pod and port concerned.
///
/// When [`Client::port_forward`](crate::Client::port_forward) cannot read its target, it
/// returns the server's answer as [`Error::NotFound`](crate::Error::NotFound) and the
/// like; a connection opened later that cannot reach its pod is reported on the forward's
/// error channel as [`PortForwardError::Resolve`] / [`PortForwardError::Connect`] with that
/// answer as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortForwardError {
    /// A target string that is not `NAME`, `pod/NAME`, `svc/NAME` or `deploy/NAME`.
    #[error("bad port-forward target {target:?}: expected NAME, pod/NAME, svc/NAME or deploy/NAME")]
    BadTarget {
        /// The string given.
        target: String,
    },
    /// The local address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The target could not be read (not found, forbidden, ...).
    #[error("cannot resolve {target} in namespace {namespace}: {source}")]
    Resolve {
        /// The target.
        target: PortForwardTarget,
        /// Its namespace.
        namespace: String,
        /// The server's answer (e.g. [`Error::NotFound`](crate::Error::NotFound)).
        #[source]
        source: Box<crate::Error>,
    },
    /// No running, ready pod backs the Service or Deployment.
    #[error("no running pod for {target} in namespace {namespace} (selector {selector:?})")]
    NoPod {
        /// The target.
        target: PortForwardTarget,
        /// Its namespace.
        namespace: String,
        /// The label selector used.
        selector: String,
    },
    /// The pod is not running.
    #[error("pod {namespace}/{pod} is not running (phase {phase})")]
    PodNotRunning {
        /// Its namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// Its phase.
        phase: String,
    },
    /// The target has no such port (no Service port, or no container port of that name).
    #[error("{target} has no port {port}")]
    NoSuchPort {
        /// The target (or the pod a name was looked up in).
        target: PortForwardTarget,
        /// The port asked for.
        port: RemotePort,
    },
    /// The forwarding connection to the pod could not be opened.
    #[error("cannot forward to port {port} of pod {namespace}/{pod}: {source}")]
    Connect {
        /// Its namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// The pod's port.
        port: u16,
        /// The server's answer or the connection's failure.
        #[source]
        source: Box<crate::Error>,
    },
    /// The node reported an error for a forwarded connection (nothing listens on the port,
    /// the pod went away, ...).
    #[error("forwarding to port {port} of pod {namespace}/{pod} failed: {message}")]
    Remote {
        /// Its namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// The pod's port.
        port: u16,
        /// The node's message.
        message: String,
    },
    /// A forwarded connection failed locally or its stream to the pod broke.
    #[error("forwarding to port {port} of pod {namespace}/{pod} broke: {source}")]
    Io {
        /// Its namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// The pod's port.
        port: u16,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl PortForwardError {
    /// The object the error is about: the pod, or the target that could not be resolved.
    pub fn object(&self) -> Option<crate::ObjectRef> {
        match self {
            PortForwardError::BadTarget { .. } | PortForwardError::Bind { .. } => None,
            PortForwardError::Resolve {
                target, namespace, ..
            }
            | PortForwardError::NoPod {
                target, namespace, ..
            } => Some(target.object(namespace)),
            PortForwardError::NoSuchPort { .. } => None,
            PortForwardError::PodNotRunning { namespace, pod, .. }
            | PortForwardError::Connect { namespace, pod, .. }
            | PortForwardError::Remote { namespace, pod, .. }
            | PortForwardError::Io { namespace, pod, .. } => {
                Some(crate::ObjectRef::new("Pod", Some(namespace), pod))
            }
        }
    }
}

/// How forwarded connections travel through the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PortForwardProtocol {
    /// A SPDY tunnel per pod where the API server offers one (Kubernetes 1.31 and newer),
    /// otherwise [`Channels`](Self::Channels). The default.
    #[default]
    Auto,
    /// SPDY streams in one WebSocket per pod (`SPDY/3.1+portforward.k8s.io`), as kubectl
    /// 1.31 and newer do: a new connection opens two streams, not a new WebSocket, and a
    /// local client's half-close is passed on.
    Tunnel,
    /// One WebSocket per connection (`v4.channel.k8s.io`), for API servers without the
    /// tunnel; each new connection pays a TCP, TLS and WebSocket handshake, and there is no
    /// half-close.
    Channels,
}

/// Options of a port-forward: the local address and port, and the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortForwardOptions {
    address: IpAddr,
    local_port: u16,
    protocol: PortForwardProtocol,
}

impl Default for PortForwardOptions {
    fn default() -> Self {
        Self {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_port: 0,
            protocol: PortForwardProtocol::Auto,
        }
    }
}

impl PortForwardOptions {
    /// `127.0.0.1`, a free port.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on local port `port` (`0`: a free one, see [`PortForward::local_addr`]).
    #[must_use]
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = port;
        self
    }

    /// Listens on `address` instead of `127.0.0.1` (e.g. `0.0.0.0` to accept connections
    /// from other machines — only when that is intended).
    #[must_use]
    pub fn address(mut self, address: IpAddr) -> Self {
        self.address = address;
        self
    }

    /// How connections travel (default [`PortForwardProtocol::Auto`]).
    ///
    /// ```
    /// use kubekit::portforward::{PortForwardOptions, PortForwardProtocol};
    ///
    /// let options = PortForwardOptions::new().protocol(PortForwardProtocol::Channels);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn protocol(mut self, protocol: PortForwardProtocol) -> Self {
        self.protocol = protocol;
        self
    }
}

/// A running port-forward: listens on [`local_addr`](Self::local_addr) and forwards each
/// connection. Dropping it stops the listener and every forwarded connection.
pub struct PortForward {
    local_addr: SocketAddr,
    target: PortForwardTarget,
    port: RemotePort,
    errors: Arc<Mutex<Vec<PortForwardError>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for PortForward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortForward")
            .field("local_addr", &self.local_addr)
            .field("target", &self.target)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl PortForward {
    /// The local address the forward listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The target.
    pub fn target(&self) -> &PortForwardTarget {
        &self.target
    }

    /// Errors of forwarded connections since the last call (each connection that failed
    /// was reset towards its local client).
    pub fn take_errors(&self) -> Vec<PortForwardError> {
        self.errors
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// Stops the forward (as dropping it does) and waits until its listener and
    /// connections are closed.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[derive(Clone)]
struct Resolver {
    client: kube::Client,
    namespace: String,
    target: PortForwardTarget,
    port: RemotePort,
    protocol: PortForwardProtocol,
    tunnels: Arc<tokio::sync::Mutex<Tunnels>>,
    /// One watch per pod (by uid), shared by the connections to it: see [`while_pod_lives`].
    pod_watches: Arc<Mutex<std::collections::HashMap<String, PodWatch>>>,
}

/// A shared [`pod_gone`] watch.
type PodWatch = futures::future::Shared<futures::future::BoxFuture<'static, String>>;

impl Resolver {
    /// The watch of pod `name` (`uid`) for a new connection: the running one, or a new one
    /// when there is none or it has ended (a container restart ends it, and a connection made
    /// after the restart is not cut for it).
    fn pod_watch(&self, name: &str, uid: &str) -> PodWatch {
        let mut watches = self
            .pod_watches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(watch) = watches.get(uid).filter(|w| w.peek().is_none()) {
            return watch.clone();
        }
        let (client, namespace, name, owned_uid) = (
            self.client.clone(),
            self.namespace.clone(),
            name.to_string(),
            uid.to_string(),
        );
        let watch = async move { pod_gone(&client, &namespace, &name, &owned_uid).await }
            .boxed()
            .shared();
        watches.insert(uid.to_string(), watch.clone());
        watch
    }
}

/// The tunnel of a forward: to the pod its last connection went to.
#[derive(Default)]
struct Tunnels {
    /// The pod's uid and its tunnel.
    current: Option<(String, spdy::Tunnel)>,
    /// The API server refused a tunnel and took a `v4.channel.k8s.io` WebSocket: `Auto`
    /// uses channels from then on.
    unsupported: bool,
}

impl Resolver {
    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn resolve_error(&self, source: kube::Error) -> PortForwardError {
        PortForwardError::Resolve {
            target: self.target.clone(),
            namespace: self.namespace.clone(),
            source: Box::new(crate::Error::from_kube(
                source,
                self.target.object(&self.namespace),
            )),
        }
    }

    /// The pod, its uid and the pod port to forward a new connection to.
    async fn resolve(&self) -> Result<(String, String, u16), PortForwardError> {
        match &self.target {
            PortForwardTarget::Pod(name) => {
                let pod = self
                    .pods()
                    .get(name)
                    .await
                    .map_err(|e| self.resolve_error(e))?;
                let phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_else(|| "Unknown".into());
                if phase != "Running" {
                    return Err(PortForwardError::PodNotRunning {
                        namespace: self.namespace.clone(),
                        pod: name.clone(),
                        phase,
                    });
                }
                let port = container_port(&pod, &self.port)?;
                Ok((name.clone(), pod.metadata.uid.unwrap_or_default(), port))
            }
            PortForwardTarget::Deployment(name) => {
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), &self.namespace);
                let deployment = api.get(name).await.map_err(|e| self.resolve_error(e))?;
                let selector = deployment
                    .spec
                    .and_then(|s| crate::selector::string(&s.selector))
                    .unwrap_or_default();
                let pod = self.pick_pod(&selector).await?;
                let port = container_port(&pod, &self.port)?;
                Ok((
                    pod.metadata.name.unwrap_or_default(),
                    pod.metadata.uid.unwrap_or_default(),
                    port,
                ))
            }
            PortForwardTarget::Service(name) => {
                let api: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
                let service = api.get(name).await.map_err(|e| self.resolve_error(e))?;
                let spec = service.spec.unwrap_or_default();
                let service_port = spec
                    .ports
                    .iter()
                    .flatten()
                    .find(|p| match &self.port {
                        RemotePort::Number(n) => p.port == i32::from(*n),
                        RemotePort::Name(n) => p.name.as_deref() == Some(n),
                    })
                    .ok_or_else(|| PortForwardError::NoSuchPort {
                        target: self.target.clone(),
                        port: self.port.clone(),
                    })?;
                let selector = spec
                    .selector
                    .iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let pod = self.pick_pod(&selector).await?;
                let wanted = match &service_port.target_port {
                    Some(IntOrString::Int(n)) => port_number(*n),
                    Some(IntOrString::String(s)) => RemotePort::Name(s.clone()),
                    None => port_number(service_port.port),
                };
                let port = container_port(&pod, &wanted)?;
                Ok((
                    pod.metadata.name.unwrap_or_default(),
                    pod.metadata.uid.unwrap_or_default(),
                    port,
                ))
            }
        }
    }

    /// A running, not terminating pod of `selector`: ready ones first, newest first.
    async fn pick_pod(&self, selector: &str) -> Result<Pod, PortForwardError> {
        let no_pod = || PortForwardError::NoPod {
            target: self.target.clone(),
            namespace: self.namespace.clone(),
            selector: selector.to_string(),
        };
        if selector.is_empty() {
            return Err(no_pod());
        }
        let pods = self
            .pods()
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| self.resolve_error(e))?;
        pods.items
            .into_iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            })
            .max_by_key(|p| {
                (
                    crate::kinds::Kind::readiness(p).is_ready(),
                    p.metadata.creation_timestamp.as_ref().map(|t| t.0),
                    p.metadata.name.clone(),
                )
            })
            .ok_or_else(no_pod)
    }
}

fn port_number(n: i32) -> RemotePort {
    u16::try_from(n).map_or_else(|_| RemotePort::Name(n.to_string()), RemotePort::Number)
}

/// The port number in `pod` for `port` (numbers as they are; names looked up among the
/// containers' ports).
fn container_port(pod: &Pod, port: &RemotePort) -> Result<u16, PortForwardError> {
    match port {
        RemotePort::Number(n) => Ok(*n),
        RemotePort::Name(name) => pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| PortForwardError::NoSuchPort {
                target: PortForwardTarget::Pod(pod.metadata.name.clone().unwrap_or_default()),
                port: port.clone(),
            }),
    }
}

/// The data channel of the (only) forwarded port; its error channel is the next one.
const DATA_CHANNEL: u8 = 0;
/// The error channel of the forwarded port.
const ERROR_CHANNEL: u8 = 1;
/// How much of the local client's data one read (and so one WebSocket frame) carries at most.
const UP_CHUNK: usize = 256 * 1024;
/// How long an error message from the node may take to follow a failed send to it.
const ERROR_GRACE: Duration = Duration::from_millis(500);

/// How a forwarded connection broke.
enum Broke {
    /// The node said why on the error channel.
    Remote(String),
    /// The local socket or the WebSocket failed.
    Io(std::io::Error),
}

/// Runs `relay` until it ends, or until the pod it goes to goes away — deleted (also by
/// force, when no stream ends by itself), replaced by another pod of the same name, or one of
/// its containers restarted — which breaks the relay with the reason (the connection is then
/// reset, so its client sees an error instead of waiting forever).
/// One watch serves every connection to the pod.
async fn while_pod_lives(
    resolver: &Resolver,
    pod: &str,
    uid: &str,
    relay: impl std::future::Future<Output = Result<(), Broke>>,
) -> Result<(), Broke> {
    tokio::select! {
        r = relay => r,
        reason = resolver.pod_watch(pod, uid) => {
            tracing::warn!(%pod, %reason, "closing the forwarded connection");
            Err(Broke::Remote(reason))
        }
    }
}

/// Completes, with the reason, when pod `name` with `uid` is gone (removed or replaced) or a
/// container of it has restarted since the watch began; never otherwise.
async fn pod_gone(client: &kube::Client, namespace: &str, name: &str, uid: &str) -> String {
    use kube::runtime::{WatchStreamExt as _, watcher};
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = std::pin::pin!(watcher(api, config).default_backoff());
    let restarts = |pod: &Pod| -> i32 {
        pod.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
    };
    let mut first: Option<i32> = None;
    let mut listed = false;
    while let Some(event) = events.next().await {
        let pod = match event {
            Ok(watcher::Event::Init) => {
                listed = false;
                continue;
            }
            Ok(watcher::Event::InitDone) => {
                if !listed {
                    return format!("pod {namespace}/{name} no longer exists");
                }
                continue;
            }
            Ok(watcher::Event::InitApply(pod)) => {
                listed = true;
                pod
            }
            Ok(watcher::Event::Apply(pod)) => pod,
            Ok(watcher::Event::Delete(_)) => {
                return format!("pod {namespace}/{name} was deleted");
            }
            Err(_) => continue,
        };
        if pod.metadata.uid.as_deref() != Some(uid) {
            return format!("pod {namespace}/{name} was replaced by another pod of that name");
        }
        let now = restarts(&pod);
        match first {
            None => first = Some(now),
            Some(before) if now > before => {
                return format!("a container of pod {namespace}/{name} restarted");
            }
            Some(_) => {}
        }
    }
    std::future::pending().await
}

/// Forwards one accepted connection: through the pod's tunnel, or on a WebSocket of its
/// own when the protocol says so or the API server offers no tunnel.
async fn forward(resolver: Resolver, tcp: TcpStream) -> Result<(), PortForwardError> {
    let use_tunnel = match resolver.protocol {
        PortForwardProtocol::Channels => false,
        PortForwardProtocol::Tunnel => true,
        PortForwardProtocol::Auto => !resolver.tunnels.lock().await.unsupported,
    };
    if use_tunnel {
        forward_tunneled(resolver, tcp).await
    } else {
        forward_channels(resolver, tcp).await
    }
}

/// Forwards one accepted connection as a pair of streams in the pod's tunnel (opened with
/// the first connection to that pod).
async fn forward_tunneled(resolver: Resolver, mut tcp: TcpStream) -> Result<(), PortForwardError> {
    let namespace = resolver.namespace.clone();
    // A pod by name and a port by number with a tunnel open: the streams are opened while the
    // pod is checked (running, still the pod the tunnel goes to), not after; when the check
    // fails they are reset before any data reaches the local client.
    let early = match (&resolver.target, &resolver.port) {
        (PortForwardTarget::Pod(_), RemotePort::Number(port)) => {
            let tunnels = resolver.tunnels.lock().await;
            tunnels
                .current
                .as_ref()
                .filter(|(_, tunnel)| tunnel.is_alive())
                .map(|(uid, tunnel)| (uid.clone(), tunnel.clone(), *port))
        }
        _ => None,
    };
    let (resolved, early) = match early {
        Some((uid, tunnel, port)) => {
            let (resolved, stream) = tokio::join!(resolver.resolve(), tunnel.connect(port));
            let early = match (&resolved, stream) {
                (Ok((_, now, _)), Ok(stream)) if *now == uid => Some(stream),
                _ => None,
            };
            (resolved, early)
        }
        None => (resolver.resolve().await, None),
    };
    let (pod, uid, port) = match resolved {
        Ok(x) => x,
        Err(e) => {
            reset(tcp);
            return Err(e);
        }
    };
    if let Some(stream) = early {
        let result = while_pod_lives(&resolver, &pod, &uid, relay_tunneled(stream, &mut tcp)).await;
        return finish(result, tcp, namespace, pod, port).await;
    }
    let connect_error = |source| PortForwardError::Connect {
        source: Box::new(crate::Error::from_kube(
            source,
            crate::ObjectRef::new("Pod", Some(&namespace), &pod),
        )),
        namespace: namespace.clone(),
        pod: pod.clone(),
        port,
    };
    let tunnel = {
        let mut tunnels = resolver.tunnels.lock().await;
        match &tunnels.current {
            Some((current, tunnel)) if *current == uid && tunnel.is_alive() => Ok(tunnel.clone()),
            previous => {
                let reopen = previous.is_some();
                spdy::Tunnel::open(&resolver.client, &namespace, &pod, port)
                    .await
                    .inspect(|tunnel| {
                        if reopen {
                            tracing::warn!(%pod, "port-forward tunnel reopened (pod replaced or tunnel ended)");
                        } else {
                            tracing::info!(%pod, "port-forward tunnel opened");
                        }
                        tunnels.current = Some((uid.clone(), tunnel.clone()));
                    })
            }
        }
    };
    let tunnel = match tunnel {
        Ok(tunnel) => tunnel,
        Err(spdy::TunnelError::Open(source)) => {
            if resolver.protocol == PortForwardProtocol::Auto && tunnel_refused(&source) {
                // No tunnel here: this and later connections take a WebSocket each.
                tracing::warn!(error = %source, "no port-forward tunnel offered; falling back to a WebSocket per connection");
                resolver.tunnels.lock().await.unsupported = true;
                return forward_channels(resolver, tcp).await;
            }
            reset(tcp);
            return Err(connect_error(source));
        }
        Err(closed) => {
            reset(tcp);
            return Err(connect_error(closed.into_kube()));
        }
    };
    let stream = match tunnel.connect(port).await {
        Ok(stream) => stream,
        Err(e) => {
            reset(tcp);
            return Err(connect_error(e.into_kube()));
        }
    };
    let result = while_pod_lives(&resolver, &pod, &uid, relay_tunneled(stream, &mut tcp)).await;
    finish(result, tcp, namespace, pod, port).await
}

/// Whether the API server answered a tunnel request in a way that means it has no tunnel
/// (an upgrade refused with 400, 403 for the protocol, or another subprotocol), rather than
/// a failure any protocol would meet (pod not found, unreachable server).
fn tunnel_refused(error: &kube::Error) -> bool {
    match error {
        kube::Error::UpgradeConnection(_) => true,
        kube::Error::Api(status) => status.code == 400,
        _ => false,
    }
}

/// Ends a forwarded connection: a clean end shuts the local socket down, a broken one
/// resets it; the error names the pod and port.
async fn finish(
    result: Result<(), Broke>,
    mut tcp: TcpStream,
    namespace: String,
    pod: String,
    port: u16,
) -> Result<(), PortForwardError> {
    match result {
        Ok(()) => {
            let _ = tcp.shutdown().await;
            Ok(())
        }
        Err(broke) => {
            reset(tcp);
            Err(match broke {
                Broke::Remote(message) => PortForwardError::Remote {
                    namespace,
                    pod,
                    port,
                    message,
                },
                Broke::Io(source) => PortForwardError::Io {
                    namespace,
                    pod,
                    port,
                    source,
                },
            })
        }
    }
}

/// Relays between `tcp` and a tunnel's stream pair until the pod's side ends (`Ok`) or
/// either side fails. Both directions run at once; a local end of input is passed on as the
/// stream's FIN while replies keep flowing back. The node reports failures (nothing listens
/// on the port, the pod went away) on the error stream.
async fn relay_tunneled(stream: spdy::ForwardStream, tcp: &mut TcpStream) -> Result<(), Broke> {
    let spdy::ForwardStream {
        mut sender,
        mut data_events,
        mut error_events,
    } = stream;
    let closed = |reason: String| {
        Broke::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            reason,
        ))
    };
    let (mut local_read, mut local_write) = tcp.split();
    let (result, clean) = {
        let sender = &sender;
        let up = async {
            loop {
                // Read straight into a frame: the data is not copied on its way out.
                let mut buffer = spdy::StreamSender::buffer(UP_CHUNK);
                local_read.read_buf(&mut buffer).await.map_err(Broke::Io)?;
                if spdy::StreamSender::buffer_is_empty(&buffer) {
                    sender
                        .send(bytes::Bytes::new(), true)
                        .await
                        .map_err(|e| closed(e.to_string()))?;
                    return Ok(());
                }
                sender
                    .send_buffer(buffer)
                    .await
                    .map_err(|e| closed(e.to_string()))?;
            }
        };
        let down = async {
            while let Some(event) = data_events.recv().await {
                match event {
                    spdy::Event::Data(data) => {
                        local_write.write_all(&data).await.map_err(Broke::Io)?;
                    }
                    spdy::Event::Fin => return Ok(()),
                    spdy::Event::Reset(status) => {
                        return Err(Broke::Remote(format!(
                            "the node reset the stream (SPDY status {status})"
                        )));
                    }
                    spdy::Event::Closed(reason) => return Err(closed(reason)),
                }
            }
            Err(closed("the tunnel has ended".into()))
        };
        // The node's error message, if it sends one before ending the error stream.
        let errors = async {
            let mut message = Vec::new();
            while let Some(event) = error_events.recv().await {
                match event {
                    spdy::Event::Data(data) => message.extend_from_slice(&data),
                    _ => break,
                }
            }
            (!message.is_empty()).then(|| String::from_utf8_lossy(&message).into_owned())
        };
        let mut up = std::pin::pin!(up.fuse());
        let mut down = std::pin::pin!(down);
        let mut errors = std::pin::pin!(errors.fuse());
        let mut up_done = false;
        let mut error_seen: Option<Option<String>> = None;
        loop {
            tokio::select! {
                r = &mut up, if !up_done => {
                    up_done = true;
                    if let Err(broke) = r {
                        // A send that failed because the node gave up: its reason wins.
                        let remote = match error_seen.take() {
                            Some(seen) => seen,
                            None => tokio::time::timeout(ERROR_GRACE, &mut errors).await.ok().flatten(),
                        };
                        break (Err(remote.map_or(broke, Broke::Remote)), false);
                    }
                }
                message = &mut errors, if error_seen.is_none() => {
                    if let Some(message) = message {
                        break (Err(Broke::Remote(message)), false);
                    }
                    error_seen = Some(None);
                }
                r = &mut down => {
                    let remote = match error_seen.take() {
                        Some(seen) => seen,
                        None => tokio::time::timeout(ERROR_GRACE, &mut errors).await.ok().flatten(),
                    };
                    break match (remote, r) {
                        (Some(message), _) => (Err(Broke::Remote(message)), false),
                        (None, Err(broke)) => (Err(broke), false),
                        (None, Ok(())) => (Ok(()), up_done),
                    };
                }
            }
        }
    };
    sender.finished = clean;
    result
}

/// Forwards one accepted connection on a `v4.channel.k8s.io` WebSocket of its own.
async fn forward_channels(resolver: Resolver, mut tcp: TcpStream) -> Result<(), PortForwardError> {
    let namespace = resolver.namespace.clone();
    // A pod by name and a port by number need no lookup to be connected to: the forwarding
    // connection is opened while the pod is checked (running, ...), and dropped unused, before
    // any data, when the check fails. Other targets are resolved first.
    let (resolved, early) = match (&resolver.target, &resolver.port) {
        (PortForwardTarget::Pod(pod), RemotePort::Number(port)) => {
            let (early, resolved) = tokio::join!(
                connect(&resolver.client, &namespace, pod, *port),
                resolver.resolve()
            );
            (resolved, Some(early))
        }
        _ => (resolver.resolve().await, None),
    };
    let (pod, uid, port) = match resolved {
        Ok(x) => x,
        Err(e) => {
            reset(tcp);
            return Err(e);
        }
    };
    let connection = match early {
        Some(early) => early,
        None => connect(&resolver.client, &namespace, &pod, port).await,
    };
    let connection = match connection {
        Ok(c) => {
            tracing::debug!(%pod, "port-forward WebSocket connected");
            c
        }
        Err(source) => {
            reset(tcp);
            return Err(PortForwardError::Connect {
                source: Box::new(crate::Error::from_kube(
                    source,
                    crate::ObjectRef::new("Pod", Some(&namespace), &pod),
                )),
                namespace,
                pod,
                port,
            });
        }
    };
    let result = while_pod_lives(&resolver, &pod, &uid, relay(connection, &mut tcp, port)).await;
    finish(result, tcp, namespace, pod, port).await
}

/// Opens the forwarding WebSocket to `port` of `pod` (the request kube builds for
/// `Api::<Pod>::portforward`).
async fn connect(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
) -> Result<kube::client::Connection, kube::Error> {
    let request = kube::core::Request::new(Pod::url_path(&(), Some(namespace)))
        .portforward(pod, &[port])
        .map_err(kube::Error::BuildRequest)?;
    client.connect(request).await
}

/// Relays between `tcp` and the forwarding WebSocket until the pod's side ends (`Ok`) or
/// either side fails.
///
/// Protocol (`v4.channel.k8s.io`, one port): every binary message starts with its channel,
/// 0 for data and 1 for errors; the node's first message on each channel is the port, two
/// bytes little-endian. Each read of the local socket (up to [`UP_CHUNK`]) goes out as one
/// message; the pod's data is written to the local socket as it comes. The protocol has no
/// half-close: when the local client stops sending, the reply direction stays open.
async fn relay(
    connection: kube::client::Connection,
    tcp: &mut TcpStream,
    port: u16,
) -> Result<(), Broke> {
    let (mut to_pod, mut from_pod) = connection.into_stream().split();
    let (mut local_read, mut local_write) = tcp.split();
    let ws_error = |e| Broke::Io(std::io::Error::other(e));

    let up = async {
        loop {
            let mut frame = Vec::with_capacity(1 + UP_CHUNK);
            frame.push(DATA_CHANNEL);
            if local_read.read_buf(&mut frame).await.map_err(Broke::Io)? == 0 {
                return Ok(());
            }
            to_pod.send(frame.into()).await.map_err(ws_error)?;
        }
    };
    let down = async {
        // Whether the port prefix of the data and of the error channel has been seen.
        let mut started = [false; 2];
        while let Some(message) = from_pod.next().await {
            let message = message.map_err(ws_error)?;
            if message.is_close() {
                break;
            }
            if !message.is_binary() {
                continue;
            }
            let data = message.into_data();
            let payload = channel_payload(&data, &mut started, port).map_err(Broke::Remote)?;
            if !payload.is_empty() {
                local_write.write_all(payload).await.map_err(Broke::Io)?;
            }
        }
        Ok(())
    };

    let mut up = std::pin::pin!(up.fuse());
    let mut down = std::pin::pin!(down);
    let mut up_open = true;
    loop {
        tokio::select! {
            r = &mut up, if up_open => {
                up_open = false;
                if let Err(broke) = r {
                    // A send that failed because the node gave up: its reason wins.
                    return match tokio::time::timeout(ERROR_GRACE, &mut down).await {
                        Ok(Err(remote @ Broke::Remote(_))) => Err(remote),
                        _ => Err(broke),
                    };
                }
                // The local client closed its sending side: keep the reply direction open.
            }
            r = &mut down => return r,
        }
    }
}

/// The data for the local connection in one binary message of a `v4.channel.k8s.io`
/// forwarding WebSocket (a slice of `message`, possibly empty), or the reason the forward
/// ends: the node's error message, or a message the protocol does not allow.
///
/// `started` records whether the port prefix of the data and of the error channel has been
/// seen (the first message on each starts with the port, two bytes little-endian).
fn channel_payload<'a>(
    message: &'a [u8],
    started: &mut [bool; 2],
    port: u16,
) -> Result<&'a [u8], String> {
    let Some((&channel, mut payload)) = message.split_first() else {
        return Ok(&[]);
    };
    if channel != DATA_CHANNEL && channel != ERROR_CHANNEL {
        return Err(format!(
            "unexpected channel {channel} in the forwarding stream"
        ));
    }
    let first = &mut started[usize::from(channel)];
    if !*first {
        *first = true;
        let Some((prefix, rest)) = payload.split_first_chunk::<2>() else {
            return Err(format!(
                "bad first message on channel {channel}: {payload:?}"
            ));
        };
        if u16::from_le_bytes(*prefix) != port {
            return Err(format!(
                "channel {channel} is for port {}",
                u16::from_le_bytes(*prefix)
            ));
        }
        payload = rest;
    }
    if channel == ERROR_CHANNEL && !payload.is_empty() {
        return Err(String::from_utf8_lossy(payload).into_owned());
    }
    Ok(payload)
}

/// Closes `tcp` with a reset, so that its client sees an error rather than an end.
fn reset(tcp: TcpStream) {
    let _ = tcp.set_zero_linger();
    drop(tcp);
}

impl crate::Client {
    /// Forwards a local port to `port` of `target` until the returned guard is dropped.
    ///
    /// The target is resolved once up front (so a missing pod, Service, Deployment or port
    /// fails here) and again for every accepted connection.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::portforward::{PortForwardOptions, PortForwardTarget};
    ///
    /// let forward = client
    ///     .port_forward("deploy/web".parse::<PortForwardTarget>()?, "http", PortForwardOptions::new().local_port(8080))
    ///     .await?;
    /// assert_eq!(forward.local_addr().port(), 8080);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PortForwardError::Bind`] when the local address cannot be bound;
    /// [`Error::NotFound`](crate::Error::NotFound) / [`Error::Rejected`](crate::Error::Rejected), [`PortForwardError::NoPod`],
    /// [`PortForwardError::PodNotRunning`] or [`PortForwardError::NoSuchPort`] when the
    /// target cannot be resolved. Errors of single connections are collected in
    /// [`PortForward::take_errors`].
    pub async fn port_forward(
        &self,
        target: PortForwardTarget,
        port: impl Into<RemotePort>,
        options: PortForwardOptions,
    ) -> crate::Result<PortForward> {
        let resolver = Resolver {
            client: self.kube().clone(),
            namespace: self.namespace().to_string(),
            target: target.clone(),
            port: port.into(),
            protocol: options.protocol,
            tunnels: Arc::default(),
            pod_watches: Arc::default(),
        };
        resolver.resolve().await.map_err(|e| match e {
            // The target cannot be read: say it as the server did.
            PortForwardError::Resolve { source, .. } => *source,
            other => other.into(),
        })?;
        let addr = SocketAddr::new(options.address, options.local_port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| PortForwardError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| PortForwardError::Bind { addr, source })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let task_errors = errors.clone();
        let port = resolver.port.clone();
        let object = target.object(self.namespace());
        let span = tracing::info_span!(
            "port_forward",
            kind = %object.kind,
            namespace = object.namespace.as_deref(),
            name = %object.name,
            port = %port,
            local = %local_addr,
        );
        span.in_scope(|| tracing::info!("port-forward listening"));
        let task = tokio::spawn(
            async move {
                let mut connections = JoinSet::new();
                loop {
                    tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((tcp, peer)) => {
                                let _ = tcp.set_nodelay(true);
                                let span = tracing::debug_span!("connection", %peer);
                                span.in_scope(|| tracing::debug!("connection accepted"));
                                connections.spawn(forward(resolver.clone(), tcp).instrument(span));
                            }
                            Err(error) => {
                                tracing::warn!(%error, "accepting a connection failed; retrying");
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        },
                        Some(done) = connections.join_next() => {
                            if let Ok(Err(e)) = done {
                                tracing::warn!(error = %e, "forwarded connection failed");
                                if let Ok(mut errors) = task_errors.lock() {
                                    errors.push(e);
                                }
                            }
                        }
                    }
                }
            }
            .instrument(span),
        );
        Ok(PortForward {
            local_addr,
            target,
            port,
            errors,
            task: Some(task),
        })
    }

    /// Forwards a local port to `port` of pod `pod`: shorthand for
    /// [`Client::port_forward`](crate::Client::port_forward) with [`PortForwardTarget::Pod`]
    /// and a free local port on `127.0.0.1`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// let forward = client.port_forward_pod("web", 80).await?;
    /// println!("{}", forward.local_addr());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::port_forward`](crate::Client::port_forward).
    pub async fn port_forward_pod(
        &self,
        pod: &str,
        port: impl Into<RemotePort>,
    ) -> crate::Result<PortForward> {
        self.port_forward(PortForwardTarget::pod(pod), port, PortForwardOptions::new())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_kubectl() {
        assert_eq!(
            "web".parse::<PortForwardTarget>().ok(),
            Some(PortForwardTarget::pod("web"))
        );
        assert_eq!(
            "svc/web".parse::<PortForwardTarget>().ok(),
            Some(PortForwardTarget::service("web"))
        );
        assert_eq!(
            "deploy/web".parse::<PortForwardTarget>().ok(),
            Some(PortForwardTarget::deployment("web"))
        );
        assert!("cm/web".parse::<PortForwardTarget>().is_err());
        assert_eq!(RemotePort::from("80"), RemotePort::Number(80));
        assert_eq!(RemotePort::from("http"), RemotePort::Name("http".into()));
    }

    #[test]
    fn channel_messages_follow_the_v4_protocol() {
        let mut started = [false; 2];
        // The port prefix first on each channel, then data as it comes.
        assert_eq!(channel_payload(&[0, 80, 0], &mut started, 80), Ok(&[][..]));
        assert_eq!(channel_payload(&[1, 80, 0], &mut started, 80), Ok(&[][..]));
        assert_eq!(
            channel_payload(b"\0hello", &mut started, 80),
            Ok(&b"hello"[..])
        );
        assert_eq!(channel_payload(&[], &mut started, 80), Ok(&[][..]));
        assert_eq!(
            channel_payload(b"\x01refused", &mut started, 80),
            Err("refused".to_owned())
        );
        assert_eq!(
            channel_payload(&[2, 1], &mut [false; 2], 80),
            Err("unexpected channel 2 in the forwarding stream".to_owned())
        );
        assert_eq!(
            channel_payload(&[0, 81, 0, 9], &mut [false; 2], 80),
            Err("channel 0 is for port 81".to_owned())
        );
        assert_eq!(
            channel_payload(&[0, 80], &mut [false; 2], 80),
            Err("bad first message on channel 0: [80]".to_owned())
        );
    }

    use crate::test_support::proptest_cases as cases;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(cases(2048)))]

        /// Any messages: data that is a part of its message, or an end, never a panic.
        #[test]
        fn any_channel_messages_are_data_or_an_end(
            messages in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
                0..16,
            ),
            port in proptest::prelude::any::<u16>(),
        ) {
            let mut started = [false; 2];
            for message in &messages {
                match channel_payload(message, &mut started, port) {
                    Ok(payload) => proptest::prop_assert!(message.ends_with(payload)),
                    Err(_) => break,
                }
            }
        }

        /// Well-formed messages carry the data through, whatever its pieces.
        #[test]
        fn well_formed_channel_messages_carry_the_data(
            pieces in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
                0..16,
            ),
            port in proptest::prelude::any::<u16>(),
        ) {
            let mut started = [false; 2];
            let mut received = Vec::new();
            let prefix = [vec![DATA_CHANNEL], port.to_le_bytes().to_vec()].concat();
            let error_prefix = [vec![ERROR_CHANNEL], port.to_le_bytes().to_vec()].concat();
            for message in [prefix, error_prefix] {
                proptest::prop_assert_eq!(channel_payload(&message, &mut started, port), Ok(&[][..]));
            }
            for piece in &pieces {
                let message = [&[DATA_CHANNEL][..], piece].concat();
                match channel_payload(&message, &mut started, port) {
                    Ok(payload) => received.extend_from_slice(payload),
                    Err(error) => proptest::prop_assert!(false, "{}", error),
                }
            }
            proptest::prop_assert_eq!(received, pieces.concat());
        }
    }
}
