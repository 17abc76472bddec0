//! Containers and their parts: ports, pull policy, probes, resources, env vars, mounts.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ValidationError;
use super::built::{BuiltContainer, SourceRef};
use super::sources::EnvSource;
use super::validate::Validate;

/// When the kubelet pulls a container's image (`imagePullPolicy`).
///
/// ```
/// use kubekit::builders::PullPolicy;
/// assert_eq!(PullPolicy::default_for_image("nginx"), PullPolicy::Always);
/// assert_eq!(PullPolicy::default_for_image("nginx:latest"), PullPolicy::Always);
/// assert_eq!(PullPolicy::default_for_image("nginx:1.28"), PullPolicy::IfNotPresent);
/// assert_eq!(PullPolicy::default_for_image("localhost:5000/web"), PullPolicy::Always);
/// assert_eq!(
///     PullPolicy::default_for_image("nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31"),
///     PullPolicy::IfNotPresent
/// );
/// assert_eq!(PullPolicy::IfNotPresent.as_str(), "IfNotPresent");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PullPolicy {
    /// Pull the image every time the container starts.
    Always,
    /// Pull the image only when it is not on the node yet.
    IfNotPresent,
    /// Never pull: the image must be on the node.
    Never,
}

impl PullPolicy {
    /// The value Kubernetes uses: `Always`, `IfNotPresent` or `Never`.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }

    /// The policy Kubernetes picks when none is given: `Always` for an image without a tag or
    /// tagged `:latest`, `IfNotPresent` for any other tag or for an image pinned by digest
    /// (`name@sha256:...`).
    pub fn default_for_image(image: &str) -> Self {
        if image.contains('@') {
            return PullPolicy::IfNotPresent;
        }
        // The tag follows the last ':' of the last path segment (a ':' before a '/' is a
        // registry port).
        let last_segment = image.rsplit('/').next().unwrap_or(image);
        match last_segment.rsplit_once(':') {
            None => PullPolicy::Always,
            Some((_, "latest")) => PullPolicy::Always,
            Some(_) => PullPolicy::IfNotPresent,
        }
    }
}

impl fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A network protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// TCP (Kubernetes' default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The value Kubernetes uses: `TCP`, `UDP` or `SCTP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A port referred to by number or by the name of a container port: the target of a probe or
/// of a Service port.
///
/// Converts from an integer (`8080`) or a string (`"http"`).
///
/// ```
/// use kubekit::builders::PortRef;
/// assert_eq!(PortRef::from(8080), PortRef::Number(8080));
/// assert_eq!(PortRef::from("http"), PortRef::Name("http".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortRef {
    /// A port number.
    Number(i32),
    /// The name of a container port.
    Name(String),
}

impl From<i32> for PortRef {
    fn from(n: i32) -> Self {
        PortRef::Number(n)
    }
}

impl From<&str> for PortRef {
    fn from(s: &str) -> Self {
        PortRef::Name(s.to_string())
    }
}

impl From<String> for PortRef {
    fn from(s: String) -> Self {
        PortRef::Name(s)
    }
}

impl From<&String> for PortRef {
    fn from(s: &String) -> Self {
        PortRef::Name(s.clone())
    }
}

impl From<PortRef> for IntOrString {
    fn from(p: PortRef) -> Self {
        match p {
            PortRef::Number(n) => IntOrString::Int(n),
            PortRef::Name(s) => IntOrString::String(s),
        }
    }
}

/// A port a container listens on: number, optional name (what Services and probes refer to)
/// and protocol.
///
/// Converts from an integer: `.port(80)` is `.port(ContainerPort::new(80))`.
///
/// ```
/// use kubekit::builders::{ContainerPort, Protocol};
/// let p = ContainerPort::http(8080);
/// assert_eq!(p.name.as_deref(), Some("http"));
/// let dns = ContainerPort::named("dns", 53).protocol(Protocol::Udp);
/// let k8s: kubekit::k8s_openapi::api::core::v1::ContainerPort = dns.into();
/// assert_eq!(k8s.protocol.as_deref(), Some("UDP"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerPort {
    /// The port number (`containerPort`), `1..=65535`.
    pub number: i32,
    /// The port's name, an IANA service name such as `http`.
    pub name: Option<String>,
    /// The protocol; left out of the manifest (Kubernetes then uses TCP) when `None`.
    pub protocol: Option<Protocol>,
}

impl ContainerPort {
    /// An unnamed TCP port.
    pub fn new(number: i32) -> Self {
        Self {
            number,
            name: None,
            protocol: None,
        }
    }

    /// A named TCP port.
    pub fn named(name: impl Into<String>, number: i32) -> Self {
        Self::new(number).name(name)
    }

    /// A TCP port named `http`.
    pub fn http(number: i32) -> Self {
        Self::named("http", number)
    }

    /// A TCP port named `https`.
    pub fn https(number: i32) -> Self {
        Self::named("https", number)
    }

    /// Sets the port's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the port's protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }
}

impl From<i32> for ContainerPort {
    fn from(number: i32) -> Self {
        Self::new(number)
    }
}

impl From<ContainerPort> for core::ContainerPort {
    fn from(p: ContainerPort) -> Self {
        core::ContainerPort {
            container_port: p.number,
            name: p.name,
            protocol: p.protocol.map(|p| p.as_str().to_string()),
            ..Default::default()
        }
    }
}

/// A readiness, liveness or startup probe: an HTTP GET, a TCP connect, a command or a gRPC
/// health check, with its timing.
///
/// Converts into [`k8s_openapi::api::core::v1::Probe`]; the container builder's probe setters
/// take either.
///
/// ```
/// use kubekit::builders::Probe;
/// let ready = Probe::http_get("/healthz", "http").period_seconds(5).failure_threshold(3);
/// let alive = Probe::tcp(8080).initial_delay_seconds(10);
/// let exec = Probe::exec(["cat", "/tmp/healthy"]);
/// let p: kubekit::k8s_openapi::api::core::v1::Probe = ready.into();
/// assert_eq!(p.period_seconds, Some(5));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Probe(core::Probe);

impl Probe {
    /// An HTTP GET of `path` on `port` (a number or the name of a container port); any status
    /// from 200 to 399 counts as success.
    pub fn http_get(path: impl Into<String>, port: impl Into<PortRef>) -> Self {
        Probe(core::Probe {
            http_get: Some(core::HTTPGetAction {
                path: Some(path.into()),
                port: port.into().into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// A TCP connect to `port` (a number or the name of a container port).
    pub fn tcp(port: impl Into<PortRef>) -> Self {
        Probe(core::Probe {
            tcp_socket: Some(core::TCPSocketAction {
                port: port.into().into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Runs `command` in the container; exit status 0 counts as success.
    pub fn exec(command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Probe(core::Probe {
            exec: Some(core::ExecAction {
                command: Some(command.into_iter().map(Into::into).collect()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// A gRPC health check on `port`.
    pub fn grpc(port: i32) -> Self {
        Probe(core::Probe {
            grpc: Some(core::GRPCAction {
                port,
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Uses HTTPS instead of HTTP for an [`http_get`](Self::http_get) probe.
    pub fn https(mut self) -> Self {
        if let Some(http) = &mut self.0.http_get {
            http.scheme = Some("HTTPS".into());
        }
        self
    }

    /// Seconds after the container starts before the first probe.
    pub fn initial_delay_seconds(mut self, seconds: i32) -> Self {
        self.0.initial_delay_seconds = Some(seconds);
        self
    }

    /// Seconds between probes (Kubernetes' default: 10).
    pub fn period_seconds(mut self, seconds: i32) -> Self {
        self.0.period_seconds = Some(seconds);
        self
    }

    /// Seconds after which a probe times out (Kubernetes' default: 1).
    pub fn timeout_seconds(mut self, seconds: i32) -> Self {
        self.0.timeout_seconds = Some(seconds);
        self
    }

    /// Consecutive successes needed after a failure (must be 1 for liveness and startup probes).
    pub fn success_threshold(mut self, count: i32) -> Self {
        self.0.success_threshold = Some(count);
        self
    }

    /// Consecutive failures before the probe counts as failed (Kubernetes' default: 3).
    pub fn failure_threshold(mut self, count: i32) -> Self {
        self.0.failure_threshold = Some(count);
        self
    }
}

impl From<Probe> for core::Probe {
    fn from(p: Probe) -> Self {
        p.0
    }
}

/// A key asked of a ConfigMap or Secret that it does not have, reported by `build()`.
#[derive(Debug, Clone)]
pub(crate) struct MissingKey {
    field: String,
    key: String,
    rule: String,
}

/// A container security context that passes the `restricted` Pod Security Standard: not root,
/// no privilege escalation, every capability dropped, the runtime's default seccomp profile.
///
/// ```
/// use kubekit::builders::{container, restricted_security_context};
/// let c = container()
///     .name("web")
///     .image("nginxinc/nginx-unprivileged:1.28")
///     .security_context(restricted_security_context())
///     .build()?;
/// let sc = c.into_inner().security_context.expect("a security context");
/// assert_eq!(sc.run_as_non_root, Some(true));
/// assert_eq!(sc.allow_privilege_escalation, Some(false));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn restricted_security_context() -> core::SecurityContext {
    core::SecurityContext {
        run_as_non_root: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(core::Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        seccomp_profile: Some(core::SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() { None } else { Some(v) }
}

pub(crate) fn non_empty_map<K, V>(m: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    if m.is_empty() { None } else { Some(m) }
}

fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

/// Builds a [`Container`](k8s_openapi::api::core::v1::Container).
///
/// `name` and `image` are required (leaving either out does not compile). `build()` checks the
/// container against Kubernetes' rules (name, ports, probes, resources, env var names) and
/// returns a [`BuiltContainer`]: the `k8s-openapi` type (it derefs to it; `into_inner()` or
/// `.into()` takes it out) plus the namespaces of the ConfigMaps and Secrets it reads, which
/// the workload holding it checks against its own. A workload does not validate a
/// `BuiltContainer` again.
///
/// Repeatable setters add to lists: [`port`](ContainerBuilder::port),
/// [`env`](ContainerBuilder::env), [`mount`](ContainerBuilder::mount),
/// [`request`](ContainerBuilder::request), [`limit`](ContainerBuilder::limit).
///
/// ```
/// use kubekit::builders::{container, ContainerPort, Probe, PullPolicy};
///
/// let web = container()
///     .name("web")
///     .image("nginx:1.28")
///     .pull_policy(PullPolicy::IfNotPresent)
///     .port(ContainerPort::http(80))
///     .env("NGINX_PORT", "80")
///     .request("cpu", "100m")
///     .request("memory", "64Mi")
///     .limit("memory", "128Mi")
///     .readiness_probe(Probe::http_get("/", "http"))
///     .liveness_probe(Probe::tcp("http").period_seconds(20))
///     .mount("logs", "/var/log/nginx")
///     .build()?;
/// assert_eq!(web.name, "web");
/// assert_eq!(web.image_pull_policy.as_deref(), Some("IfNotPresent"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn container(
    #[builder(field)] ports: Vec<core::ContainerPort>,
    #[builder(field)] env: Vec<core::EnvVar>,
    #[builder(field)] volume_mounts: Vec<core::VolumeMount>,
    #[builder(field)] requests: BTreeMap<String, Quantity>,
    #[builder(field)] limits: BTreeMap<String, Quantity>,
    #[builder(field)] env_from: Vec<core::EnvFromSource>,
    #[builder(field)] missing_key: Option<MissingKey>,
    #[builder(field)] sources: Vec<SourceRef>,
    /// The container's name, a DNS-1123 label unique within its pod.
    name: String,
    /// The image to run, e.g. `nginx:1.28`.
    image: String,
    /// When to pull the image (`imagePullPolicy`); left out (so Kubernetes applies
    /// [`PullPolicy::default_for_image`]) unless set.
    pull_policy: Option<PullPolicy>,
    /// The entrypoint (`command`), replacing the image's `ENTRYPOINT`.
    #[builder(with = |command: impl IntoIterator<Item = impl Into<String>>| strings(command))]
    command: Option<Vec<String>>,
    /// Arguments to the entrypoint (`args`), replacing the image's `CMD`.
    #[builder(with = |args: impl IntoIterator<Item = impl Into<String>>| strings(args))]
    args: Option<Vec<String>>,
    /// The working directory (`workingDir`).
    working_dir: Option<String>,
    /// When the container is ready to serve (`readinessProbe`): a [`Probe`] or a `k8s-openapi`
    /// probe.
    #[builder(into)]
    readiness_probe: Option<core::Probe>,
    /// When the container must be restarted (`livenessProbe`).
    #[builder(into)]
    liveness_probe: Option<core::Probe>,
    /// When the container has started (`startupProbe`); the other probes wait for it.
    #[builder(into)]
    startup_probe: Option<core::Probe>,
    /// Privileges and access control of the container (`securityContext`), e.g.
    /// [`restricted_security_context()`](crate::builders::restricted_security_context).
    security_context: Option<core::SecurityContext>,
) -> Result<BuiltContainer, ValidationError> {
    if let Some(missing) = missing_key {
        return Err(ValidationError::new(
            "Container",
            name,
            missing.field,
            missing.key,
            missing.rule,
        ));
    }
    let resources = if requests.is_empty() && limits.is_empty() {
        None
    } else {
        Some(core::ResourceRequirements {
            requests: non_empty_map(requests),
            limits: non_empty_map(limits),
            ..Default::default()
        })
    };
    let container = core::Container {
        name,
        image: Some(image),
        image_pull_policy: pull_policy.map(|p| p.as_str().to_string()),
        command: command.and_then(non_empty),
        args: args.and_then(non_empty),
        working_dir,
        ports: non_empty(ports),
        env: non_empty(env),
        resources,
        readiness_probe,
        liveness_probe,
        startup_probe,
        volume_mounts: non_empty(volume_mounts),
        env_from: non_empty(env_from),
        security_context,
        ..Default::default()
    };
    container.validate()?;
    Ok(BuiltContainer {
        container,
        validated: true,
        sources,
    })
}

impl<S: container_builder::State> ContainerBuilder<S> {
    /// Adds a port the container listens on: a number (`80`) or a [`ContainerPort`].
    pub fn port(mut self, port: impl Into<ContainerPort>) -> Self {
        self.ports.push(port.into().into());
        self
    }

    /// Adds several ports.
    pub fn ports(mut self, ports: impl IntoIterator<Item = impl Into<ContainerPort>>) -> Self {
        self.ports.extend(
            ports
                .into_iter()
                .map(|p| core::ContainerPort::from(p.into())),
        );
        self
    }

    /// Adds an environment variable with a literal value.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push(core::EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..Default::default()
        });
        self
    }

    /// Adds several environment variables with literal values.
    pub fn envs(
        mut self,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        for (name, value) in vars {
            self = self.env(name, value);
        }
        self
    }

    /// Adds an environment variable taken from a field of the pod (the downward API), e.g.
    /// `env_from_field("POD_NAME", "metadata.name")`.
    pub fn env_from_field(
        mut self,
        name: impl Into<String>,
        field_path: impl Into<String>,
    ) -> Self {
        self.env.push(core::EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(core::EnvVarSource {
                field_ref: Some(core::ObjectFieldSelector {
                    field_path: field_path.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        });
        self
    }

    /// Adds an environment variable taken from the key `key` of the Secret `secret`.
    pub fn env_from_secret(
        mut self,
        name: impl Into<String>,
        secret: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        self.env.push(core::EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(core::EnvVarSource {
                secret_key_ref: Some(core::SecretKeySelector {
                    name: secret.into(),
                    key: key.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        });
        self
    }

    /// Takes every key of a built ConfigMap or Secret as an environment variable (`envFrom`);
    /// the object's name comes from the object.
    ///
    /// ```
    /// use kubekit::builders::{config_map, container};
    /// let settings = config_map().name("settings").data("MODE", "fast").build()?;
    /// let c = container().name("web").image("nginx:1.28").env_from(&settings).build()?;
    /// let from = c.into_inner().env_from.expect("envFrom");
    /// assert_eq!(from[0].config_map_ref.as_ref().map(|r| r.name.as_str()), Some("settings"));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn env_from(mut self, source: &impl EnvSource) -> Self {
        let reference = match source.kind() {
            "ConfigMap" => "configMapRef.name",
            _ => "secretRef.name",
        };
        self.sources.extend(SourceRef::unplaced(
            source.kind(),
            source.name(),
            source.namespace(),
            "envFrom",
            self.env_from.len(),
            reference,
        ));
        self.env_from.push(source.env_from_source());
        self
    }

    /// Adds an environment variable `name` with the value of `key` of a built ConfigMap or
    /// Secret (`valueFrom.configMapKeyRef` / `valueFrom.secretKeyRef`). A key the object does
    /// not have is an error when the container is built, naming the field and the keys it has.
    ///
    /// ```
    /// use kubekit::builders::{container, secret};
    /// let db = secret().name("db").string_data("password", "s3cr3t").build()?;
    /// let c = container()
    ///     .name("web")
    ///     .image("nginx:1.28")
    ///     .env_value_from("DB_PASSWORD", &db, "password")
    ///     .build()?;
    /// let var = &c.into_inner().env.expect("env")[0];
    /// let secret_ref = var.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref());
    /// assert_eq!(secret_ref.map(|r| (r.name.as_str(), r.key.as_str())), Some(("db", "password")));
    ///
    /// let err = container()
    ///     .name("web")
    ///     .image("nginx:1.28")
    ///     .env_value_from("DB_PASSWORD", &db, "pasword")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "Container \"web\": env[0].valueFrom.secretKeyRef.key \"pasword\" is not a key of \
    ///      Secret \"db\" (its keys are: password)"
    /// );
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn env_value_from(
        mut self,
        name: impl Into<String>,
        source: &impl EnvSource,
        key: impl Into<String>,
    ) -> Self {
        let key = key.into();
        let (reference, name_field) = match source.kind() {
            "ConfigMap" => ("configMapKeyRef", "valueFrom.configMapKeyRef.name"),
            _ => ("secretKeyRef", "valueFrom.secretKeyRef.name"),
        };
        self.sources.extend(SourceRef::unplaced(
            source.kind(),
            source.name(),
            source.namespace(),
            "env",
            self.env.len(),
            name_field,
        ));
        let keys = source.keys();
        if self.missing_key.is_none() && !keys.contains(&key.as_str()) {
            let known = if keys.is_empty() {
                "it has no keys".to_string()
            } else {
                format!("its keys are: {}", keys.join(", "))
            };
            self.missing_key = Some(MissingKey {
                field: format!("env[{}].valueFrom.{reference}.key", self.env.len()),
                rule: format!(
                    "is not a key of {} \"{}\" ({known})",
                    source.kind(),
                    source.name()
                ),
                key: key.clone(),
            });
        }
        self.env.push(core::EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(source.value_from(&key)),
        });
        self
    }

    /// Adds any `k8s-openapi` environment variable (e.g. one taken from a ConfigMap).
    pub fn env_var(mut self, var: core::EnvVar) -> Self {
        self.env.push(var);
        self
    }

    /// Mounts the pod's volume `volume` at `path`.
    pub fn mount(mut self, volume: impl Into<String>, path: impl Into<String>) -> Self {
        self.volume_mounts.push(core::VolumeMount {
            name: volume.into(),
            mount_path: path.into(),
            ..Default::default()
        });
        self
    }

    /// Mounts the pod's volume `volume` at `path`, read-only.
    pub fn mount_read_only(mut self, volume: impl Into<String>, path: impl Into<String>) -> Self {
        self.volume_mounts.push(core::VolumeMount {
            name: volume.into(),
            mount_path: path.into(),
            read_only: Some(true),
            ..Default::default()
        });
        self
    }

    /// Adds any `k8s-openapi` volume mount (sub paths, propagation, ...).
    pub fn volume_mount(mut self, mount: core::VolumeMount) -> Self {
        self.volume_mounts.push(mount);
        self
    }

    /// Requests an amount of a resource, e.g. `request("cpu", "250m")` or
    /// `request("memory", "64Mi")` (`resources.requests`).
    pub fn request(mut self, resource: impl Into<String>, quantity: impl Into<String>) -> Self {
        self.requests
            .insert(resource.into(), Quantity(quantity.into()));
        self
    }

    /// Limits a resource, e.g. `limit("memory", "128Mi")` (`resources.limits`).
    pub fn limit(mut self, resource: impl Into<String>, quantity: impl Into<String>) -> Self {
        self.limits
            .insert(resource.into(), Quantity(quantity.into()));
        self
    }
}
