//! kubekit: typed builders, YAML manifests and a finished client toolkit for Kubernetes.
//!
//! - [`builders`]: Pod, Deployment, Service, Namespace, ReplicaSet, ConfigMap, Secret and their
//!   parts, built with [`bon`], returning the real [`k8s_openapi`] types, validated before
//!   anything is sent.
//! - [`manifest`]: multi-document YAML in and out, typed for the kinds kubekit knows.
//! - [`client`] (feature `client`, on by default): the [`Client`] and everything it does —
//!   apply / get / list / delete, waits, discovery, tables, exec, logs, port-forward and
//!   rollouts — on top of [`kube`], one module per capability.
//!   It prints nothing: apply, delete, waits, exec, port-forward connections, log follows
//!   and rollout waits emit [`tracing`](https://docs.rs/tracing) spans (with the object's
//!   kind, namespace and name) and events, for the program's subscriber to show or not.
//! - `terminal` (feature, off by default): `Client::exec_interactive`, `kubectl exec -it`
//!   on this process's terminal (crossterm).
//! - [`Error`]: the one error type; every call returns [`Result`].
//! - [`prelude`]: the names most programs use, in one `use`.
//! - `testing` (feature `testing`): `#[kubekit::test]`, async tests against a real cluster
//!   that get a client and a namespace of their own, with YAML fixtures applied.
//!
//! ```no_run
//! use kubekit::prelude::*;
//!
//! # async fn demo() -> kubekit::Result<()> {
//! let client = Client::try_default().await?.in_namespace("demo");
//! let web = pod()
//!     .name("web")
//!     .container(container().name("web").image("nginx:1.28").build()?)
//!     .build()?;
//! client.apply(&web).await?;
//! client.wait_pod_ready("web", std::time::Duration::from_secs(60)).await?;
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod builders;
mod error;
pub mod kinds;
pub mod manifest;
mod selector;
pub mod table;
#[cfg(test)]
mod test_support;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;

#[cfg(feature = "client")]
pub use client::{exec, logs, portforward, rollout};

#[cfg(feature = "testing")]
mod faults;
#[cfg(feature = "testing")]
mod report;
#[cfg(feature = "testing")]
mod snapshot;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub use kubekit_macros::test;

pub use error::{Error, FieldCause, ObjectRef, Result};
pub use k8s_openapi;
#[cfg(feature = "client")]
pub use kube;

#[cfg(feature = "client")]
pub use client::Client;

/// The names most programs use: the [`Client`] and its option types, the
/// builders' entry points, [`Error`] and [`Result`].
///
/// ```
/// use kubekit::prelude::*;
/// let c = container().name("web").image("nginx:1.28").build()?;
/// # Ok::<(), kubekit::Error>(())
/// ```
pub mod prelude {
    pub use crate::builders::{
        ContainerPort, PullPolicy, backend, cluster_role, cluster_role_binding_for, config_map,
        container, cron_job, daemon_set, deployment, expose, grant, headless_service_for,
        horizontal_pod_autoscaler_for, ingress, job, namespace, network_policy_for,
        persistent_volume_claim, pod, pod_disruption_budget_for, pod_template, replica_set, role,
        role_binding_for, secret, service, service_account, service_for, stateful_set, volume_from,
    };
    #[cfg(feature = "client")]
    pub use crate::client::{
        ApplyOptions, ApplyOutcome, Client, DeleteOptions, Propagation,
        exec::ExecOptions,
        logs::LogOptions,
        portforward::{PortForwardOptions, PortForwardTarget},
    };
    pub use crate::kinds::{Kind, Readiness};
    pub use crate::manifest::{Object, from_yaml, to_yaml, to_yaml_all};
    #[cfg(feature = "testing")]
    pub use crate::testing::{ClusterExt as _, TestNamespaceExt as _};
    pub use crate::{Error, Result};
}

/// The README's code, compiled as doctests (its `#[kubekit::test]` needs feature `testing`).
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
