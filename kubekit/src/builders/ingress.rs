//! Ingresses: HTTP routes from outside the cluster to Services, made from the Services
//! themselves.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::{PortRef, non_empty, non_empty_map};
use super::pod::metadata_setters;
use super::validate::{Ctx, Validate};

/// How an Ingress path matches request paths (`pathType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PathType {
    /// The path and everything under it, by `/`-separated elements: `/api` matches `/api`
    /// and `/api/v1`, not `/apiary`.
    #[default]
    Prefix,
    /// This path only.
    Exact,
    /// As the ingress controller decides.
    ImplementationSpecific,
}

impl PathType {
    /// The value Kubernetes uses: `Prefix`, `Exact` or `ImplementationSpecific`.
    ///
    /// ```
    /// assert_eq!(kubekit::builders::PathType::Exact.as_str(), "Exact");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PathType::Prefix => "Prefix",
            PathType::Exact => "Exact",
            PathType::ImplementationSpecific => "ImplementationSpecific",
        }
    }
}

impl fmt::Display for PathType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an Ingress sends traffic: a port of a built Service, checked to exist. Made with
/// [`backend`]; converts into the `k8s-openapi` `IngressBackend`.
///
/// ```
/// use kubekit::builders::{backend, service};
/// use kubekit::k8s_openapi::api::networking::v1::IngressBackend;
/// let web = service().name("web").namespace("shop").selector([("app", "web")]).port(80, "http").build()?;
/// let b = backend(&web, "http")?;
/// assert_eq!(b.namespace(), Some("shop"));
/// let k8s: IngressBackend = b.into();
/// assert_eq!(k8s.service.map(|s| s.name).as_deref(), Some("web"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    backend: networking::IngressBackend,
    namespace: Option<String>,
    service: String,
}

impl Backend {
    /// The Service's namespace (the Ingress must be in it).
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}

impl From<Backend> for networking::IngressBackend {
    fn from(b: Backend) -> Self {
        b.backend
    }
}

/// A backend for an Ingress: port `port` (its name or its number) of the built Service
/// `service`. A port the Service does not have is an error naming the ports it has; the
/// Ingress refers to the port by name when the Service's port has one (so the Service's port
/// number can change), by number otherwise.
///
/// # Errors
///
/// When the Service has no such port (or no name).
///
/// ```
/// use kubekit::builders::{backend, service};
///
/// let web = service().name("web").selector([("app", "web")]).port(80, "http").build()?;
/// let by_name = backend(&web, "http")?;
/// let by_number = backend(&web, 80)?;
/// assert_eq!(by_name, by_number);
///
/// let err = backend(&web, 443).unwrap_err();
/// assert_eq!(err.to_string(), "Service \"web\": spec.ports \"443\" has no such port (its ports are: http/80)");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn backend(
    service: &core::Service,
    port: impl Into<PortRef>,
) -> Result<Backend, ValidationError> {
    let name = service.metadata.name.clone().unwrap_or_default();
    let ctx = Ctx {
        kind: "Service",
        name: &name,
    };
    if name.is_empty() {
        return Err(ctx.err("metadata.name", "", "is required to route to the Service"));
    }
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default();
    let port = port.into();
    let found = ports.iter().find(|p| match &port {
        PortRef::Number(n) => p.port == *n,
        PortRef::Name(wanted) => p.name.as_deref() == Some(wanted.as_str()),
    });
    let Some(found) = found else {
        let known: Vec<String> = ports
            .iter()
            .map(|p| match &p.name {
                Some(name) => format!("{name}/{}", p.port),
                None => p.port.to_string(),
            })
            .collect();
        let value = match &port {
            PortRef::Number(n) => n.to_string(),
            PortRef::Name(n) => n.clone(),
        };
        let known = if known.is_empty() {
            "it has none".to_string()
        } else {
            format!("its ports are: {}", known.join(", "))
        };
        return Err(ctx.err("spec.ports", value, format!("has no such port ({known})")));
    };
    // By name when the name can be one (an IANA service name; a Service's port names may be
    // longer), else by number.
    let port = match &found.name {
        Some(name) if super::validate::iana_svc_name(name).is_ok() => {
            networking::ServiceBackendPort {
                name: Some(name.clone()),
                ..Default::default()
            }
        }
        _ => networking::ServiceBackendPort {
            number: Some(found.port),
            ..Default::default()
        },
    };
    Ok(Backend {
        backend: networking::IngressBackend {
            service: Some(networking::IngressServiceBackend {
                name: name.clone(),
                port: Some(port),
            }),
            ..Default::default()
        },
        namespace: service.metadata.namespace.clone(),
        service: name,
    })
}

/// A `tls` entry with the Secret it came from.
#[derive(Debug, Clone)]
struct TlsEntry {
    tls: networking::IngressTLS,
    namespace: Option<String>,
    name: String,
    type_: Option<String>,
}

/// One path of an Ingress as given to the builder.
#[derive(Debug, Clone)]
struct Route {
    host: Option<String>,
    path: String,
    path_type: PathType,
    backend: Backend,
}

/// Builds an [`Ingress`](k8s_openapi::api::networking::v1::Ingress): HTTP(S) routes by host and
/// path to Services.
///
/// `name` is required, and a route ([`route`](IngressBuilder::route),
/// [`host_route`](IngressBuilder::host_route)) or a [`default_backend`](IngressBuilder::default_backend):
/// an Ingress that routes nothing is an error. Each route goes to a [`backend`] made from a
/// built Service and one of its ports (checked to exist). The Ingress must be in its
/// Services' namespace: it takes theirs when not set, and a Service in another namespace is an
/// error. TLS comes from a built `kubernetes.io/tls` Secret ([`tls`](IngressBuilder::tls)).
///
/// ```
/// use kubekit::builders::{backend, ingress, secret, service};
///
/// let web = service().name("web").namespace("shop").selector([("app", "web")]).port(80, "http").build()?;
/// let api = service().name("api").namespace("shop").selector([("app", "api")]).port(8080, "http").build()?;
/// let cert = secret().name("shop-tls").namespace("shop").tls("cert", "key").build()?;
///
/// let shop = ingress()
///     .name("shop")
///     .class_name("traefik")
///     .host_route("shop.example.com", "/", backend(&web, "http")?)
///     .host_route("shop.example.com", "/api", backend(&api, "http")?)
///     .tls(&cert, ["shop.example.com"])
///     .build()?;
/// assert_eq!(shop.metadata.namespace.as_deref(), Some("shop"));
/// let rules = shop.spec.and_then(|s| s.rules).expect("rules");
/// assert_eq!(rules.len(), 1); // one host, two paths
///
/// let elsewhere = service().name("x").namespace("other").selector([("app", "x")]).port(80, 80).build()?;
/// let err = ingress().name("shop").namespace("shop").route("/", backend(&elsewhere, 80)?).build().unwrap_err();
/// assert_eq!(err.field, "spec.rules[0].http.paths[0].backend.service.name");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn ingress(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] routes: Vec<Route>,
    #[builder(field)] tls: Vec<TlsEntry>,
    /// The Ingress's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; its Services' namespace when not set (and must be theirs when set).
    namespace: Option<String>,
    /// The IngressClass whose controller serves it (`ingressClassName`, e.g. `traefik` or
    /// `nginx`); the cluster's default class when not set.
    class_name: Option<String>,
    /// Where requests no route matches go (`defaultBackend`).
    default_backend: Option<Backend>,
) -> Result<networking::Ingress, ValidationError> {
    let ctx = Ctx {
        kind: "Ingress",
        name: &name,
    };
    // The rules, one per host in the order first given, paths in order.
    let mut rules: Vec<networking::IngressRule> = Vec::new();
    let mut namespace = namespace;
    let mut placed: Vec<(String, &Backend)> = Vec::new();
    for route in &routes {
        let index = match rules.iter().position(|r| r.host == route.host) {
            Some(i) => i,
            None => {
                rules.push(networking::IngressRule {
                    host: route.host.clone(),
                    http: Some(networking::HTTPIngressRuleValue { paths: Vec::new() }),
                });
                rules.len() - 1
            }
        };
        let Some(http) = rules[index].http.as_mut() else {
            continue;
        };
        placed.push((
            format!(
                "spec.rules[{index}].http.paths[{}].backend.service.name",
                http.paths.len()
            ),
            &route.backend,
        ));
        http.paths.push(networking::HTTPIngressPath {
            path: Some(route.path.clone()),
            path_type: route.path_type.as_str().to_string(),
            backend: route.backend.backend.clone(),
        });
    }
    if let Some(default) = &default_backend {
        placed.push(("spec.defaultBackend.service.name".into(), default));
    }
    for (field, backend) in placed {
        match (&namespace, &backend.namespace) {
            (Some(ns), Some(service_ns)) if ns != service_ns => {
                return Err(ctx.err(
                    field,
                    &backend.service,
                    format!(
                        "is a Service in namespace \"{service_ns}\", not in the Ingress's \
                         namespace \"{ns}\": an Ingress routes to Services of its own namespace"
                    ),
                ));
            }
            (None, Some(service_ns)) => namespace = Some(service_ns.clone()),
            _ => {}
        }
    }
    for (i, entry) in tls.iter().enumerate() {
        if let (Some(ns), Some(secret_ns)) = (&namespace, &entry.namespace)
            && ns != secret_ns
        {
            return Err(ctx.err(
                format!("spec.tls[{i}].secretName"),
                &entry.name,
                format!(
                    "is a Secret in namespace \"{secret_ns}\", not in the Ingress's namespace \
                     \"{ns}\""
                ),
            ));
        }
        if entry.type_.as_deref() != Some("kubernetes.io/tls") {
            return Err(ctx.err(
                format!("spec.tls[{i}].secretName"),
                &entry.name,
                format!(
                    "is a Secret of type {}, not kubernetes.io/tls: make it with \
                     `secret().tls(cert, key)`",
                    entry.type_.as_deref().unwrap_or("Opaque")
                ),
            ));
        }
    }
    if rules.is_empty() && default_backend.is_none() {
        return Err(ctx.err(
            "spec.rules",
            "",
            "must not be empty: add a route (or a default backend)",
        ));
    }
    let ingress = networking::Ingress {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(networking::IngressSpec {
            ingress_class_name: class_name,
            default_backend: default_backend.map(Into::into),
            rules: non_empty(rules),
            tls: non_empty(tls.into_iter().map(|t| t.tls).collect()),
            ..Default::default()
        }),
        ..Default::default()
    };
    ingress.validate()?;
    Ok(ingress)
}

metadata_setters!(IngressBuilder, ingress_builder::State, "Ingress");

impl<S: ingress_builder::State> IngressBuilder<S> {
    /// Routes requests for any host whose path is `path` or under it (`Prefix`) to
    /// `backend`.
    pub fn route(self, path: impl Into<String>, backend: Backend) -> Self {
        self.route_with(None, PathType::Prefix, path, backend)
    }

    /// Routes requests for `host` (e.g. `shop.example.com`, or `*.example.com`) whose path
    /// is `path` or under it (`Prefix`) to `backend`.
    pub fn host_route(
        self,
        host: impl Into<String>,
        path: impl Into<String>,
        backend: Backend,
    ) -> Self {
        self.route_with(Some(host.into()), PathType::Prefix, path, backend)
    }

    /// Routes requests for `host` (any host when `None`) matching `path` by `path_type` to
    /// `backend`.
    pub fn route_with(
        mut self,
        host: Option<String>,
        path_type: PathType,
        path: impl Into<String>,
        backend: Backend,
    ) -> Self {
        self.routes.push(Route {
            host,
            path: path.into(),
            path_type,
            backend,
        });
        self
    }

    /// Serves `hosts` over HTTPS with the certificate of a built `kubernetes.io/tls` Secret
    /// (its name comes from the Secret; it must be in the Ingress's namespace).
    pub fn tls(
        mut self,
        secret: &core::Secret,
        hosts: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let hosts: Vec<String> = hosts.into_iter().map(Into::into).collect();
        self.tls.push(TlsEntry {
            tls: networking::IngressTLS {
                hosts: non_empty(hosts),
                secret_name: Some(name.clone()),
            },
            namespace: secret.metadata.namespace.clone(),
            name,
            type_: secret.type_.clone(),
        });
        self
    }
}

/// What [`expose`] makes: the Service, and the Ingress routing a host to it when one was
/// asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposed {
    /// The Service for the workload's pods.
    pub service: core::Service,
    /// The Ingress routing `host` to the Service, when a host was given.
    pub ingress: Option<networking::Ingress>,
}

impl Exposed {
    /// The Service, then the Ingress if any, as manifest objects (for
    /// [`to_yaml_all`](crate::manifest::to_yaml_all) or `apply_manifest`).
    ///
    /// ```
    /// use kubekit::builders::{container, deployment, expose, pod_template, ContainerPort};
    /// let web = deployment()
    ///     .name("web")
    ///     .template(pod_template().container(container().name("web").image("nginx:1.28").port(ContainerPort::http(80)).build()?).build())
    ///     .build()?;
    /// let objects = expose(&web).port("http").host("shop.test").build()?.into_objects();
    /// assert_eq!(objects.len(), 2);
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn into_objects(self) -> Vec<crate::manifest::Object> {
        let mut objects = vec![crate::manifest::Object::from(self.service)];
        objects.extend(self.ingress.map(crate::manifest::Object::from));
        objects
    }
}

/// Exposes a built workload's named container port: a Service for its pods (named after the
/// workload, on the container port's number unless `service_port` says otherwise), and with
/// `host` an Ingress routing that host (under `path`, default `/`) to the Service — what
/// `kubectl expose` and `kubectl create ingress` do, in one step that cannot get the names,
/// selector or ports wrong.
///
/// `port` (the name of a container port of the workload) is required; `build()` fails naming
/// the ports the workload has when it is not one.
///
/// ```
/// use kubekit::builders::{container, deployment, expose, pod_template, ContainerPort};
///
/// let web = deployment()
///     .name("web")
///     .namespace("shop")
///     .template(
///         pod_template()
///             .label("app", "web")
///             .container(container().name("web").image("nginx:1.28").port(ContainerPort::http(8080)).build()?)
///             .build(),
///     )
///     .build()?;
/// let exposed = expose(&web).port("http").service_port(80).host("shop.example.com").class_name("traefik").build()?;
/// assert_eq!(exposed.service.metadata.name.as_deref(), Some("web"));
/// let ingress = exposed.ingress.expect("an Ingress");
/// assert_eq!(ingress.metadata.namespace.as_deref(), Some("shop"));
///
/// let err = expose(&web).port("https").build().unwrap_err();
/// assert_eq!(err.field, "spec.ports[0].targetPort");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn expose<T: super::ServiceTarget>(
    #[builder(start_fn)] target: &T,
    /// The name of the container port to expose.
    port: String,
    /// The Service's port; the container port's number when not set.
    service_port: Option<i32>,
    /// The Service's type (Kubernetes' default: `ClusterIP`).
    service_type: Option<super::ServiceType>,
    /// The host to route to the Service through an Ingress; no Ingress when not set.
    host: Option<String>,
    /// The path prefix routed (default `/`).
    path: Option<String>,
    /// The Ingress's class (`ingressClassName`); the cluster's default when not set.
    class_name: Option<String>,
) -> Result<Exposed, ValidationError> {
    let number = target
        .pod_spec()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(port.as_str()))
        .map(|p| p.container_port);
    let name = target.metadata().name.clone().unwrap_or_default();
    // An unknown port name is reported by `service_for`, with the ports the workload has.
    let service = super::service_for(target)
        .name(name.clone())
        .port(service_port.or(number).unwrap_or(80), port.as_str())
        .maybe_service_type(service_type)
        .build()?;
    let ingress = match host {
        Some(host) => Some(
            ingress()
                .name(name)
                .maybe_class_name(class_name)
                .host_route(
                    host,
                    path.unwrap_or_else(|| "/".into()),
                    backend(&service, port)?,
                )
                .build()?,
        ),
        None => None,
    };
    Ok(Exposed { service, ingress })
}
