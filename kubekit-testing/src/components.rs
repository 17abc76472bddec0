//! The parts of a whole cluster beyond the API server and a node: cluster DNS, storage,
//! resource metrics, an ingress controller and a service load balancer (what k3s ships), chosen with [`Components`] / `KUBEKIT_COMPONENTS`.

use std::{fmt, net::SocketAddr};

use k8s_openapi::{
    api::{
        coordination::v1::Lease, core::v1::Service, networking::v1::IngressClass,
        storage::v1::StorageClass,
    },
    kube_aggregator::pkg::apis::apiregistration::v1::APIService,
};
use kube::{Api, api::ListParams};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A part of the cluster that applications rely on and that the local provider can leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Component {
    /// Cluster DNS: CoreDNS answering for `cluster.local` behind the `kube-system/kube-dns`
    /// Service at `10.97.0.10` (the conventional `.10` of the Service range), which every
    /// pod's `/etc/resolv.conf` names. Names outside the cluster fail at once unless
    /// `KUBEKIT_DNS_UPSTREAM` names a resolver to forward them to.
    Dns,
    /// Storage: a default StorageClass `local-path` with Rancher's local-path-provisioner
    /// (as k3s ships it), so a PersistentVolumeClaim binds to a directory on the node that is
    /// removed with the claim and with the cluster.
    Storage,
    /// Resource metrics: metrics-server behind the aggregation layer (`metrics.k8s.io`), so
    /// `kubectl top` works and a HorizontalPodAutoscaler on CPU or memory scales. Pods' usage
    /// shows about 15 s after they start (one scrape of the kubelet).
    Metrics,
    /// Ingress: Traefik (as k3s ships it) serving Ingresses on the node's address
    /// ([`NODE_IP`](crate::NODE_IP)) ports 80 and 443, with the default IngressClass `traefik`;
    /// it writes that address into each Ingress's `status.loadBalancer`. Reachable from this
    /// machine and from pods, not from other hosts.
    Ingress,
    /// Service load balancer: each `type: LoadBalancer` Service gets a loopback address of its
    /// own (`127.77.0.1`, `127.77.0.2`, ...), reported in its `status.loadBalancer` and
    /// forwarding every TCP port there to the Service, as k3s's ServiceLB gives them the node's
    /// address. Reachable from this machine only. See [`run_service_lb`](crate::run_service_lb).
    ServiceLb,
}

impl Component {
    /// Every component, in the order they start.
    pub const ALL: &[Component] = &[
        Component::Dns,
        Component::Storage,
        Component::Metrics,
        Component::Ingress,
        Component::ServiceLb,
    ];

    /// The name `KUBEKIT_COMPONENTS` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Storage => "storage",
            Self::Metrics => "metrics",
            Self::Ingress => "ingress",
            Self::ServiceLb => "servicelb",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where this machine reaches a cluster's ingress controller ([`Component::Ingress`]):
/// loopback addresses, from [`Cluster::ingress`](crate::Cluster::ingress). Send requests there
/// with the `Host` an Ingress rule names.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let cluster = kubekit_testing::Cluster::shared().await?;
/// let ingress = cluster.ingress().ok_or("no ingress controller")?;
/// let mut s = tokio::net::TcpStream::connect(ingress.http).await?;
/// s.write_all(b"GET / HTTP/1.0\r\nHost: shop.test\r\n\r\n").await?;
/// let mut answer = String::new();
/// s.read_to_string(&mut answer).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IngressAddress {
    /// Plain HTTP (the controller's port 80).
    pub http: SocketAddr,
    /// HTTPS (port 443; the controller's default certificate unless an Ingress names a
    /// Secret).
    pub https: SocketAddr,
}

impl IngressAddress {
    pub(crate) fn new(http: SocketAddr, https: SocketAddr) -> Self {
        Self { http, https }
    }
}

/// Which [`Component`]s a cluster runs.
///
/// The default is every component (`dns,storage,metrics,ingress,servicelb`: together they add
/// about a second to a cluster's start, see BENCHMARKS.md). `KUBEKIT_COMPONENTS` chooses for
/// the test run's shared cluster: a comma-separated list (`dns`, `storage`, `metrics`,
/// `ingress`, `servicelb`), `all`, or `none`
/// (only the API server and the node).
///
/// ```
/// use kubekit_testing::{Component, Components};
///
/// let c = Components::parse("dns")?;
/// assert!(c.contains(Component::Dns));
/// assert!(!c.contains(Component::Storage));
/// assert_eq!(Components::parse("all")?, Components::all());
/// assert!(Components::parse("dns,ingres").is_err());
/// assert_eq!(
///     Components::all().without(Component::Ingress).to_string(),
///     "dns,storage,metrics,servicelb"
/// );
/// # Ok::<(), kubekit_testing::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Components {
    dns: bool,
    storage: bool,
    #[serde(default)]
    metrics: bool,
    #[serde(default)]
    ingress: bool,
    #[serde(default)]
    servicelb: bool,
}

impl Default for Components {
    /// [`Components::all`].
    fn default() -> Self {
        Self::all()
    }
}

impl Components {
    /// Every component.
    pub fn all() -> Self {
        Self {
            dns: true,
            storage: true,
            metrics: true,
            ingress: true,
            servicelb: true,
        }
    }

    /// No component: the API server and the node only.
    pub fn none() -> Self {
        Self {
            dns: false,
            storage: false,
            metrics: false,
            ingress: false,
            servicelb: false,
        }
    }

    /// These components and `component`.
    #[must_use]
    pub fn with(mut self, component: Component) -> Self {
        *self.slot(component) = true;
        self
    }

    /// These components without `component`.
    #[must_use]
    pub fn without(mut self, component: Component) -> Self {
        *self.slot(component) = false;
        self
    }

    fn slot(&mut self, component: Component) -> &mut bool {
        match component {
            Component::Dns => &mut self.dns,
            Component::Storage => &mut self.storage,
            Component::Metrics => &mut self.metrics,
            Component::Ingress => &mut self.ingress,
            Component::ServiceLb => &mut self.servicelb,
        }
    }

    /// Whether `component` is among these.
    pub fn contains(self, component: Component) -> bool {
        match component {
            Component::Dns => self.dns,
            Component::Storage => self.storage,
            Component::Metrics => self.metrics,
            Component::Ingress => self.ingress,
            Component::ServiceLb => self.servicelb,
        }
    }

    /// The components, in the order they start.
    pub fn iter(self) -> impl Iterator<Item = Component> {
        Component::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    /// Reads a list as `KUBEKIT_COMPONENTS` holds it: names separated by commas, `all` or
    /// `none` (an empty list is `none`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming a component kubekit-testing does not know.
    pub fn parse(list: &str) -> Result<Self> {
        let mut out = Self::none();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => out = Self::all(),
                "none" => {}
                other => {
                    let c = Component::ALL
                        .iter()
                        .copied()
                        .find(|c| c.as_str() == other)
                        .ok_or_else(|| {
                            Error::Setting(format!(
                                "KUBEKIT_COMPONENTS: {other:?} is not a cluster component; \
                                 use a comma-separated list of {}, or `all` or `none`",
                                Component::ALL
                                    .iter()
                                    .map(|c| c.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        })?;
                    out = out.with(c);
                }
            }
        }
        Ok(out)
    }

    /// The components `KUBEKIT_COMPONENTS` selects; every component when it is unset.
    ///
    /// # Errors
    ///
    /// As [`Components::parse`].
    pub fn from_env() -> Result<Self> {
        match std::env::var("KUBEKIT_COMPONENTS") {
            Ok(v) => Self::parse(&v),
            Err(_) => Ok(Self::all()),
        }
    }
}

impl fmt::Display for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.iter().map(Component::as_str).collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// The APIService metrics-server serves.
pub(crate) const METRICS_API_SERVICE: &str = "v1beta1.metrics.k8s.io";

/// Whether the cluster behind `client` runs `component`, found from the cluster itself (so it
/// holds for every provider, k3s and foreign clusters included): the `kube-system/kube-dns`
/// Service for DNS, a StorageClass marked default for storage, the metrics APIService, an
/// IngressClass marked default for ingress.
pub(crate) async fn present(client: &kube::Client, component: Component) -> Result<bool> {
    Ok(match component {
        Component::Dns => {
            let services: Api<Service> = Api::namespaced(client.clone(), "kube-system");
            services.get_opt("kube-dns").await?.is_some()
        }
        Component::Metrics => {
            let services: Api<APIService> = Api::all(client.clone());
            services.get_opt(METRICS_API_SERVICE).await?.is_some()
        }
        Component::Storage => {
            let classes: Api<StorageClass> = Api::all(client.clone());
            classes
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .any(is_default_class)
        }
        Component::Ingress => {
            let classes: Api<IngressClass> = Api::all(client.clone());
            classes
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .any(|c| has_true(&c.metadata, "ingressclass.kubernetes.io/is-default-class"))
        }
        Component::ServiceLb => {
            let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
            leases.get_opt(crate::service_lb::LEASE).await?.is_some()
        }
    })
}

/// Whether a StorageClass carries the default-class annotation.
pub(crate) fn is_default_class(class: &StorageClass) -> bool {
    has_true(
        &class.metadata,
        "storageclass.kubernetes.io/is-default-class",
    )
}

/// Whether `annotation` is `"true"` on an object.
fn has_true(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    annotation: &str,
) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(annotation))
        .is_some_and(|v| v == "true")
}

/// The error for a test that needs `component` on a cluster without it.
pub(crate) fn missing(component: Component, provider: &str) -> Error {
    Error::MissingComponent {
        component,
        hint: match provider {
            "kubeconfig" => format!(
                "the cluster of KUBECONFIG has no {}; install it there, or run the tests on a \
                 cluster kubekit-testing starts (KUBEKIT_PROVIDER=local or k3s)",
                describe(component)
            ),
            _ => format!(
                "the test run's cluster was started without {} (KUBEKIT_COMPONENTS={}); run \
                 with KUBEKIT_COMPONENTS unset or listing `{component}`, and let the next run \
                 start a fresh cluster (a running one keeps its components: stop it with \
                 `kubekit-cluster stop` if KUBEKIT_KEEP kept it)",
                describe(component),
                std::env::var("KUBEKIT_COMPONENTS").unwrap_or_else(|_| "<unset>".into())
            ),
        },
    }
}

fn describe(component: Component) -> &'static str {
    match component {
        Component::Dns => "cluster DNS (the kube-system/kube-dns Service)",
        Component::Storage => "a default StorageClass",
        Component::Metrics => "resource metrics (the v1beta1.metrics.k8s.io APIService)",
        Component::Ingress => "an ingress controller (a default IngressClass)",
        Component::ServiceLb => {
            "a service load balancer (kubekit's, holding the Lease kube-system/kubekit-servicelb)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        assert_eq!(
            Components::parse("").expect("a list of components"),
            Components::none()
        );
        assert_eq!(
            Components::parse("none").expect("a list of components"),
            Components::none()
        );
        assert_eq!(
            Components::parse(" dns , storage,metrics,ingress, servicelb ")
                .expect("a list of components"),
            Components::all()
        );
        assert_eq!(
            Components::parse("storage").expect("a list of components"),
            Components::none().with(Component::Storage)
        );
        assert_eq!(
            Components::all().without(Component::Dns).to_string(),
            "storage,metrics,ingress,servicelb"
        );
        assert_eq!(Components::none().to_string(), "none");
        let missing = missing(Component::Storage, "local").to_string();
        assert!(
            missing.contains("a default StorageClass") && missing.contains("KUBEKIT_COMPONENTS"),
            "{missing}"
        );
        let foreign = super::missing(Component::Dns, "kubeconfig").to_string();
        assert!(
            foreign.contains("KUBECONFIG has no cluster DNS"),
            "{foreign}"
        );
        let err = Components::parse("dns,ingres")
            .expect_err("not a component")
            .to_string();
        assert!(
            err.contains("\"ingres\"") && err.contains("dns, storage"),
            "{err}"
        );
    }
}
