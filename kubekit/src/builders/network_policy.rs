//! NetworkPolicies made for a built workload: which pods may reach its pods, on which of
//! their named ports, and where its pods may connect.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ValidationError;
use super::container::{PortRef, non_empty, non_empty_map};
use super::pod::metadata_setters;
use super::service::ServiceTarget;
use super::validate::{Ctx, Validate};

/// The label every namespace carries with its own name (set by the API server).
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A peer and ports as given to the builder, resolved in `build()`.
#[derive(Debug, Clone)]
struct Rule {
    /// The peer's kind and name, for errors.
    peer: String,
    /// The peer's pod labels, or why there are none.
    selector: Result<BTreeMap<String, String>, &'static str>,
    namespace: Option<String>,
    /// The ports: of the policy's pods (ingress) or of the peer's (egress), with the
    /// container ports they may name.
    ports: Vec<PortRef>,
    /// The named container ports of the pods the ports belong to: `(name, protocol)`.
    named: Vec<(String, String)>,
    /// The owner of those ports, for errors.
    owner: String,
}

fn named_ports<T: ServiceTarget>(target: &T) -> Vec<(String, String)> {
    target
        .pod_spec()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let name = p.name.clone()?;
            Some((name, p.protocol.clone().unwrap_or_else(|| "TCP".into())))
        })
        .collect()
}

fn describe<T: ServiceTarget>(target: &T) -> String {
    format!(
        "{} \"{}\"",
        target.kind(),
        target.metadata().name.as_deref().unwrap_or_default()
    )
}

/// Builds a [`NetworkPolicy`](k8s_openapi::api::networking::v1::NetworkPolicy) for the pods of
/// a built workload (Deployment, StatefulSet, ReplicaSet, DaemonSet or a labelled Pod).
///
/// Nothing is required. The pod selector and the namespace come from the target. The policy
/// always isolates the target's pods for ingress: only what
/// [`allow_from`](NetworkPolicyForBuilder::allow_from) lets in reaches them (nothing, without
/// it). [`allow_to`](NetworkPolicyForBuilder::allow_to) isolates them for egress too, letting
/// them connect only to the peers given (add [`allow_dns`](NetworkPolicyForBuilder::allow_dns)
/// to keep name lookups working).
///
/// Peers are built workloads: the rule selects their pods by their pod labels (and their
/// namespace by its name, when it is another). Ports are numbers or names of container ports:
/// a name must be a port of the pods receiving the traffic (the target's for `allow_from`,
/// the peer's for `allow_to`), or `build()` fails naming the ports they have.
///
/// ```
/// use kubekit::builders::{container, deployment, network_policy_for, pod_template, stateful_set, ContainerPort};
///
/// let web = deployment()
///     .name("web")
///     .template(pod_template().label("app", "web").container(container().name("web").image("nginx:1.28").build()?).build())
///     .build()?;
/// let db = stateful_set()
///     .name("db")
///     .template(
///         pod_template()
///             .label("app", "db")
///             .container(container().name("db").image("postgres:17").port(ContainerPort::named("postgres", 5432)).build()?)
///             .build(),
///     )
///     .build()?;
/// // Only web reaches db, and only on its postgres port.
/// let only_web = network_policy_for(&db).allow_from(&web, ["postgres"]).build()?;
/// let rule = &only_web.spec.as_ref().and_then(|s| s.ingress.clone()).expect("ingress")[0];
/// assert_eq!(
///     rule.from.as_ref().and_then(|f| f[0].pod_selector.clone()).and_then(|s| s.match_labels).map(|l| l["app"].clone()).as_deref(),
///     Some("web")
/// );
///
/// let err = network_policy_for(&db).allow_from(&web, ["mysql"]).build().unwrap_err();
/// assert_eq!(err.field, "spec.ingress[0].ports[0].port");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn network_policy_for<T: ServiceTarget>(
    #[builder(start_fn)] target: &T,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] ingress: Vec<Rule>,
    #[builder(field)] egress: Vec<Rule>,
    #[builder(field)] dns: bool,
    /// The policy's name; the target's when not set.
    name: Option<String>,
) -> Result<networking::NetworkPolicy, ValidationError> {
    let target_desc = describe(target);
    let name = name.unwrap_or_else(|| target.metadata().name.clone().unwrap_or_default());
    let ctx = Ctx {
        kind: "NetworkPolicy",
        name: &name,
    };
    let namespace = target.metadata().namespace.clone();
    let selector = target.selector_labels().map_err(|why| {
        ctx.err(
            "spec.podSelector",
            "",
            format!("cannot be derived: {target_desc} {why}"),
        )
    })?;
    let resolve = |direction: &str, index: usize, rule: &Rule| {
        let peer_labels = rule.selector.clone().map_err(|why| {
            ctx.err(
                format!(
                    "spec.{direction}[{index}].{}[0].podSelector",
                    if direction == "ingress" { "from" } else { "to" }
                ),
                "",
                format!("cannot be derived: {} {why}", rule.peer),
            )
        })?;
        let namespace_selector = match (&namespace, &rule.namespace) {
            (Some(ns), Some(peer_ns)) if ns != peer_ns => Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    NAMESPACE_NAME_LABEL.to_string(),
                    peer_ns.clone(),
                )])),
                ..Default::default()
            }),
            _ => None,
        };
        let peer = networking::NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(peer_labels),
                ..Default::default()
            }),
            namespace_selector,
            ..Default::default()
        };
        let mut ports = Vec::new();
        for (j, port) in rule.ports.iter().enumerate() {
            let (value, protocol) = match port {
                PortRef::Number(n) => (IntOrString::Int(*n), None),
                PortRef::Name(wanted) => {
                    let Some((_, protocol)) = rule.named.iter().find(|(n, _)| n == wanted) else {
                        let known: Vec<&str> = rule.named.iter().map(|(n, _)| n.as_str()).collect();
                        let known = if known.is_empty() {
                            "it has no named ports".to_string()
                        } else {
                            format!("its named ports are: {}", known.join(", "))
                        };
                        return Err(ctx.err(
                            format!("spec.{direction}[{index}].ports[{j}].port"),
                            wanted,
                            format!("does not name a container port of {} ({known})", rule.owner),
                        ));
                    };
                    (
                        IntOrString::String(wanted.clone()),
                        (protocol != "TCP").then(|| protocol.clone()),
                    )
                }
            };
            ports.push(networking::NetworkPolicyPort {
                port: Some(value),
                protocol,
                ..Default::default()
            });
        }
        Ok((peer, non_empty(ports)))
    };
    let mut ingress_rules = Vec::new();
    for (i, rule) in ingress.iter().enumerate() {
        let (peer, ports) = resolve("ingress", i, rule)?;
        ingress_rules.push(networking::NetworkPolicyIngressRule {
            from: Some(vec![peer]),
            ports,
        });
    }
    let mut egress_rules = Vec::new();
    for (i, rule) in egress.iter().enumerate() {
        let (peer, ports) = resolve("egress", i, rule)?;
        egress_rules.push(networking::NetworkPolicyEgressRule {
            to: Some(vec![peer]),
            ports,
        });
    }
    if dns {
        let port = |protocol: &str| networking::NetworkPolicyPort {
            port: Some(IntOrString::Int(53)),
            protocol: Some(protocol.into()),
            ..Default::default()
        };
        egress_rules.push(networking::NetworkPolicyEgressRule {
            to: None,
            ports: Some(vec![port("UDP"), port("TCP")]),
        });
    }
    let mut policy_types = vec!["Ingress".to_string()];
    if !egress_rules.is_empty() {
        policy_types.push("Egress".into());
    }
    let policy = networking::NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(networking::NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            }),
            ingress: non_empty(ingress_rules),
            egress: non_empty(egress_rules),
            policy_types: Some(policy_types),
            ..Default::default()
        }),
        ..Default::default()
    };
    policy.validate()?;
    Ok(policy)
}

impl<'a, T: ServiceTarget, S: network_policy_for_builder::State> NetworkPolicyForBuilder<'a, T, S> {
    metadata_setters!(@methods "NetworkPolicy");

    /// Lets the pods of `peer` (a built workload) connect to the target's pods on `ports`
    /// (numbers, or names of the target's container ports; every port when empty).
    pub fn allow_from<P: ServiceTarget>(
        mut self,
        peer: &P,
        ports: impl IntoIterator<Item = impl Into<PortRef>>,
    ) -> Self {
        self.ingress.push(Rule {
            peer: describe(peer),
            selector: peer.selector_labels(),
            namespace: peer.metadata().namespace.clone(),
            ports: ports.into_iter().map(Into::into).collect(),
            named: named_ports(self.target),
            owner: describe(self.target),
        });
        self
    }

    /// Lets the target's pods connect to the pods of `peer` on `ports` (numbers, or names of
    /// the peer's container ports; every port when empty), and isolates them for egress:
    /// they may connect only where `allow_to` (and [`allow_dns`](Self::allow_dns)) lets them.
    pub fn allow_to<P: ServiceTarget>(
        mut self,
        peer: &P,
        ports: impl IntoIterator<Item = impl Into<PortRef>>,
    ) -> Self {
        self.egress.push(Rule {
            peer: describe(peer),
            selector: peer.selector_labels(),
            namespace: peer.metadata().namespace.clone(),
            ports: ports.into_iter().map(Into::into).collect(),
            named: named_ports(peer),
            owner: describe(peer),
        });
        self
    }

    /// Lets the pods of `peer` connect to the target's pods on every port.
    ///
    /// ```
    /// use kubekit::builders::{container, deployment, network_policy_for, pod_template};
    /// let app = |name: &str| {
    ///     deployment()
    ///         .name(name)
    ///         .template(pod_template().label("app", name).container(container().name("c").image("busybox").build()?).build())
    ///         .build()
    /// };
    /// let (api, web) = (app("api")?, app("web")?);
    /// let p = network_policy_for(&api).allow_all_from(&web).build()?;
    /// assert_eq!(p.spec.and_then(|s| s.ingress).map(|i| i[0].ports.is_none()), Some(true));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn allow_all_from<P: ServiceTarget>(self, peer: &P) -> Self {
        self.allow_from(peer, std::iter::empty::<PortRef>())
    }

    /// Lets the target's pods connect to the pods of `peer` on every port (and isolates them
    /// for egress, as [`allow_to`](Self::allow_to)).
    pub fn allow_all_to<P: ServiceTarget>(self, peer: &P) -> Self {
        self.allow_to(peer, std::iter::empty::<PortRef>())
    }

    /// Lets the target's pods send DNS queries (port 53, UDP and TCP) anywhere, and isolates
    /// them for egress.
    pub fn allow_dns(mut self) -> Self {
        self.dns = true;
        self
    }
}
