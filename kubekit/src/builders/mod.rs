//! Typed builders for Kubernetes objects that return the real [`k8s_openapi`] types.
//!
//! Each builder is a function that starts a [`bon`] builder: set the members with chained
//! calls, then `build()`. What Kubernetes requires is required at compile time (a Pod without a
//! name or without a container does not compile), and `build()` checks the rest of Kubernetes'
//! rules (names, labels, ports, probes, resources, ...) and returns
//! `Result<T, `[`ValidationError`]`>`, where `T` is a plain `k8s-openapi` type ready for
//! `kube::Api`, serialization or further changes.
//!
//! | builder | returns | required |
//! | --- | --- | --- |
//! | [`container()`](container()) | [`BuiltContainer`] (a validated [`Container`](k8s_openapi::api::core::v1::Container)) | `name`, `image` |
//! | [`pod()`](pod()) | [`Pod`](k8s_openapi::api::core::v1::Pod) | `name`, `container` |
//! | [`pod_template()`](pod_template()) | [`BuiltPodTemplate`] (a [`PodTemplateSpec`](k8s_openapi::api::core::v1::PodTemplateSpec)) | `container` |
//! | [`deployment()`](deployment()) | [`Deployment`](k8s_openapi::api::apps::v1::Deployment) | `name`, `template` |
//! | [`replica_set()`](replica_set()) | [`ReplicaSet`](k8s_openapi::api::apps::v1::ReplicaSet) | `name`, `template` |
//! | [`service()`](service()) | [`Service`](k8s_openapi::api::core::v1::Service) | `name`, `selector`, `port` |
//! | [`service_for(&target)`](service_for()) | [`Service`](k8s_openapi::api::core::v1::Service) | `name`, `port` |
//! | [`namespace()`](namespace()) | [`Namespace`](k8s_openapi::api::core::v1::Namespace) | `name` |
//! | [`config_map()`](config_map()) | [`ConfigMap`](k8s_openapi::api::core::v1::ConfigMap) | `name` |
//! | [`secret()`](secret()) | [`Secret`](k8s_openapi::api::core::v1::Secret) | `name` |
//! | [`job()`](job()) | [`Job`](k8s_openapi::api::batch::v1::Job) | `name`, `template` |
//! | [`cron_job()`](cron_job()) | [`CronJob`](k8s_openapi::api::batch::v1::CronJob) | `name`, `schedule`, `template` |
//! | [`stateful_set()`](stateful_set()) | [`StatefulSet`](k8s_openapi::api::apps::v1::StatefulSet) | `name`, `template` |
//! | [`headless_service_for(&set)`](headless_service_for()) | [`Service`](k8s_openapi::api::core::v1::Service) | — |
//! | [`daemon_set()`](daemon_set()) | [`DaemonSet`](k8s_openapi::api::apps::v1::DaemonSet) | `name`, `template` |
//! | [`persistent_volume_claim()`](persistent_volume_claim()) | [`PersistentVolumeClaim`](k8s_openapi::api::core::v1::PersistentVolumeClaim) | `name`, `storage` |
//! | [`service_account()`](service_account()) | [`ServiceAccount`](k8s_openapi::api::core::v1::ServiceAccount) | `name` |
//! | [`role()`](role()) | [`Role`](k8s_openapi::api::rbac::v1::Role) | `name` |
//! | [`cluster_role()`](cluster_role()) | [`ClusterRole`](k8s_openapi::api::rbac::v1::ClusterRole) | `name` |
//! | [`role_binding_for(&role)`](role_binding_for()) | [`RoleBinding`](k8s_openapi::api::rbac::v1::RoleBinding) | a `subject` (checked at build) |
//! | [`cluster_role_binding_for(&role)`](cluster_role_binding_for()) | [`ClusterRoleBinding`](k8s_openapi::api::rbac::v1::ClusterRoleBinding) | a `subject` (checked at build) |
//! | [`grant(name, &account, verbs, resources)`](grant()) | `(Role, RoleBinding)` | (a function) |
//! | [`ingress()`](ingress()) | [`Ingress`](k8s_openapi::api::networking::v1::Ingress) | `name`, a route (checked at build) |
//! | [`backend(&service, port)`](backend()) | [`Backend`] of an Ingress | (a function, the port checked) |
//! | [`expose(&workload)`](expose()) | [`Exposed`]: Service + Ingress | `port` |
//! | [`horizontal_pod_autoscaler_for(&workload)`](horizontal_pod_autoscaler_for()) | [`HorizontalPodAutoscaler`](k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler) | `max_replicas` |
//! | [`pod_disruption_budget_for(&workload)`](pod_disruption_budget_for()) | [`PodDisruptionBudget`](k8s_openapi::api::policy::v1::PodDisruptionBudget) | one of `min_available` / `max_unavailable` (checked at build) |
//! | [`network_policy_for(&workload)`](network_policy_for()) | [`NetworkPolicy`](k8s_openapi::api::networking::v1::NetworkPolicy) | — |
//!
//! Leaving out a required member is a compile error on `build()` that names the member, e.g.
//! for `container().name("web").build()`:
//!
//! ```text
//! error[E0277]: the member `Unset<...::container_builder::members::image>` was not set, but
//!               this method requires it to be set
//! ```
//!
//! (set it with `.image(...)`); setting a member twice is an error naming it as well.
//!
//! The output holds only what you set plus what Kubernetes requires: no empty maps, lists or
//! strings that would take over fields under server-side apply.
//!
//! Objects are consistent by construction: where one object refers to another, the reference
//! is made from the other object, so the two cannot disagree.
//!
//! - A workload's selector (Deployment, ReplicaSet, StatefulSet, DaemonSet) is derived from its
//!   pod template's labels.
//! - A Service made with [`service_for`] takes its selector and namespace from its Deployment
//!   (or ReplicaSet, StatefulSet, DaemonSet or Pod) and checks that each named target port is
//!   a container port of it; [`headless_service_for`] also takes its name from the
//!   StatefulSet's `serviceName`.
//! - A StatefulSet's claims are [`persistent_volume_claim`]s given as
//!   [`volume_claim_template`](StatefulSetBuilder::volume_claim_template)s, which its
//!   containers mount by the claim's name.
//! - Volumes ([`volume_from`]) and environment variables
//!   ([`env_from`](ContainerBuilder::env_from),
//!   [`env_value_from`](ContainerBuilder::env_value_from)) are made from built ConfigMaps,
//!   Secrets and claims; a key the ConfigMap or Secret lacks fails `build()`, and so does a
//!   ConfigMap, Secret or claim in another namespace than the Pod's or workload's (checked
//!   when both have a namespace, as for an Ingress's TLS Secret).
//! - A pod's `serviceAccountName` comes from a built ServiceAccount
//!   ([`service_account_from`](PodTemplateBuilder::service_account_from)); a RoleBinding's
//!   `roleRef` and namespace from its Role, its subjects from ServiceAccounts
//!   ([`role_binding_for`], [`grant`]).
//! - An Ingress routes to a [`backend`] made from a built Service and one of its ports
//!   (checked), in the Service's namespace; [`expose`] makes a workload's Service and Ingress
//!   at once. An HPA's target, a PodDisruptionBudget's selector and a NetworkPolicy's pods,
//!   peers and named ports come from the workloads.
//! - A Job's pods restart `Never` unless told `OnFailure`; `Always` is refused.
//!
//! Every `build()` validates what it made, once: a [`BuiltContainer`] from `container().build()`
//! is not validated again by the workload that holds it (only what depends on the pod, such as
//! its volume mounts naming the pod's volumes), while a raw `k8s-openapi` `Container` given to
//! a pod or pod template builder is validated by the workload.
//!
//! # Changes
//!
//! **Breaking (issue 14, namespace consistency):** `container().build()` returns a
//! [`BuiltContainer`] instead of a `Container`, `pod_template().build()` a
//! [`BuiltPodTemplate`] instead of a `PodTemplateSpec`, and [`volume_from`] a [`BuiltVolume`]
//! instead of a `Volume`, so that the namespaces of the ConfigMaps and Secrets a container
//! reads reach the workload's `build()`, which refuses one of another namespace. Each derefs
//! to the `k8s-openapi` type (reading fields works unchanged) and converts into it
//! (`into_inner()`, `.into()`); moving a field out (`c.env.unwrap()`) now needs
//! `c.into_inner().env`. The pod, pod template and workload builders take the new types or
//! the raw `k8s-openapi` ones.
//!
//! The rules are in [`validate`], usable on their own (`validate::dns1123_label("web")`) and on
//! objects that did not come from a builder, e.g. parsed from YAML ([`Validate`]).
//!
//! # Example: a Deployment and its Service
//!
//! ```
//! use kubekit::builders::{
//!     container, deployment, empty_dir, pod_template, service_for, ContainerPort, IntOrPercent,
//!     Probe, PullPolicy, ServiceType,
//! };
//!
//! // The app and a sidecar that ships its logs, sharing an emptyDir volume.
//! let web = container()
//!     .name("web")
//!     .image("nginx:1.28")
//!     .pull_policy(PullPolicy::IfNotPresent)
//!     .port(ContainerPort::http(80))
//!     .request("cpu", "100m")
//!     .limit("memory", "128Mi")
//!     .readiness_probe(Probe::http_get("/", "http").period_seconds(5))
//!     .liveness_probe(Probe::tcp("http"))
//!     .mount("logs", "/var/log/nginx")
//!     .build()?;
//! let shipper = container()
//!     .name("log-shipper")
//!     .image("busybox:1.37")
//!     .args(["sh", "-c", "tail -F /logs/access.log"])
//!     .mount_read_only("logs", "/logs")
//!     .build()?;
//!
//! let web_deployment = deployment()
//!     .name("web")
//!     .namespace("demo")
//!     .replicas(3)
//!     .template(
//!         pod_template()
//!             .label("app", "web")
//!             .container(web)
//!             .and_container(shipper)
//!             .volume(empty_dir("logs"))
//!             .build(),
//!     )
//!     .rolling_update(1, IntOrPercent::percent(0))
//!     .build()?;
//!
//! // Selector `app: web` and namespace `demo` come from the Deployment; "http" must be the name
//! // of one of its container ports.
//! let web_service = service_for(&web_deployment)
//!     .name("web")
//!     .port(80, "http")
//!     .service_type(ServiceType::NodePort)
//!     .build()?;
//!
//! let spec = web_service.spec.as_ref().expect("a Service has a spec");
//! assert_eq!(web_service.metadata.namespace.as_deref(), Some("demo"));
//! assert_eq!(
//!     spec.selector.as_ref().map(|s| s["app"].as_str()),
//!     Some("web")
//! );
//!
//! // Mistakes are caught before anything reaches the cluster.
//! let err = service_for(&web_deployment).name("web").port(443, "https").build().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "Service \"web\": spec.ports[0].targetPort \"https\" does not name a container port of \
//!      Deployment \"web\" (its named ports are: http)"
//! );
//! # Ok::<(), kubekit::builders::ValidationError>(())
//! ```

mod autoscaler;
mod built;
mod config_map;
mod container;
mod disruption_budget;
mod error;
mod ingress;
mod job;
mod namespace;
mod network_policy;
mod persistent_volume_claim;
mod pod;
mod rbac;
mod secret;
mod service;
mod service_account;
mod sources;
mod stateful_set;
pub mod validate;
mod workload;

pub use autoscaler::{
    HorizontalPodAutoscalerForBuilder, ScaleTarget, horizontal_pod_autoscaler_for,
};
pub use built::{BuiltContainer, BuiltPodTemplate, BuiltVolume};
pub use config_map::{ConfigMapBuilder, config_map};
pub use container::{
    ContainerBuilder, ContainerPort, PortRef, Probe, Protocol, PullPolicy, container,
    restricted_security_context,
};
pub use disruption_budget::{PodDisruptionBudgetForBuilder, pod_disruption_budget_for};
pub use error::ValidationError;
pub use ingress::{
    Backend, ExposeBuilder, Exposed, IngressBuilder, PathType, backend, expose, ingress,
};
pub use job::{ConcurrencyPolicy, CronJobBuilder, JobBuilder, cron_job, job};
pub use namespace::{NamespaceBuilder, namespace};
pub use network_policy::{NAMESPACE_NAME_LABEL, NetworkPolicyForBuilder, network_policy_for};
pub use persistent_volume_claim::{
    AccessMode, PersistentVolumeClaimBuilder, VolumeMode, persistent_volume_claim,
};
pub use pod::{
    PodBuilder, PodTemplateBuilder, RestartPolicy, config_map_volume, empty_dir,
    empty_dir_in_memory, pod, pod_template, secret_volume,
};
pub use rbac::{
    ClusterRoleBindingForBuilder, ClusterRoleBuilder, KNOWN_VERBS, RBAC_API_GROUP,
    RoleBindingForBuilder, RoleBuilder, RoleRefTarget, cluster_role, cluster_role_binding_for,
    grant, role, role_binding_for,
};
pub use secret::{SERVICE_ACCOUNT_NAME_ANNOTATION, SecretBuilder, SecretType, secret};
pub use service::{
    ServiceBuilder, ServiceForBuilder, ServicePort, ServiceTarget, ServiceType, service,
    service_for, service_for_deployment, service_for_pod,
};
pub use service_account::{ServiceAccountBuilder, service_account};
pub use sources::{EnvSource, VolumeFrom, volume_from};
pub use stateful_set::{
    HeadlessServiceForBuilder, PodManagementPolicy, StatefulSetBuilder, headless_service_for,
    stateful_set,
};
pub use validate::Validate;
pub use workload::{
    DEFAULT_SELECTOR_KEY, DaemonSetBuilder, DeploymentBuilder, IntOrPercent, ReplicaSetBuilder,
    Strategy, UpdateStrategy, daemon_set, deployment, replica_set,
};
