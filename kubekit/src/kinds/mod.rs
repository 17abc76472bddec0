//! The kinds kubekit knows, one module each: what makes a kind known is one trait, [`Kind`],
//! carrying its validation, its readiness rule for waits and its kubectl table, and one row
//! of the list in [`manifest::Object`](crate::manifest::Object) (which gives its typed parse,
//! its unknown-field checks and its dispatch in apply and manifests).
//!
//! Adding a kind: a module here with `impl Kind for TheKind`, and its row in
//! `known_kinds!` (`kubekit/src/manifest/object.rs`). `ARCHITECTURE.md` walks through it.
//!
//! ```
//! use kubekit::kinds::{Kind, Readiness};
//! use kubekit::k8s_openapi::api::core::v1::ConfigMap;
//!
//! let cm = kubekit::builders::config_map().name("settings").data("mode", "fast").build()?;
//! assert!(cm.validate().is_ok());
//! assert_eq!(cm.readiness(), Readiness::Ready); // a ConfigMap is ready once it exists
//! # Ok::<(), kubekit::Error>(())
//! ```

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Serialize, de::DeserializeOwned};

use crate::builders::ValidationError;

mod cluster_role;
mod cluster_role_binding;
mod config_map;
mod cron_job;
mod daemon_set;
mod deployment;
mod horizontal_pod_autoscaler;
mod ingress;
mod job;
mod namespace;
mod network_policy;
mod persistent_volume_claim;
mod pod;
mod pod_disruption_budget;
mod replica_set;
mod role;
mod role_binding;
mod secret;
mod service;
mod service_account;
mod stateful_set;

/// Where an object stands for a wait: ready, not yet (and why), or never going to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Ready by its kind's rule.
    Ready,
    /// Not ready yet; the text says what is missing (e.g. `1/3 replicas available`).
    NotReady(String),
    /// It will not become ready without a change (a failed Job, a Pod that ended).
    Failed(String),
}

impl Readiness {
    /// Whether it is [`Readiness::Ready`].
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

/// A kind kubekit knows: its validation, its readiness rule and its kubectl table.
///
/// Every method has a default, so a kind needs to say only what it has: validation that
/// finds nothing, ready once it exists, a `NAME AGE` table.
pub trait Kind:
    k8s_openapi::Resource
    + k8s_openapi::Metadata<Ty = ObjectMeta>
    + Serialize
    + DeserializeOwned
    + Clone
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The first rule of the API server's the object breaks, with the field's path; found
    /// before anything is sent (apply, manifests).
    fn validate(&self) -> Result<(), ValidationError> {
        Ok(())
    }

    /// Where the object stands by its kind's rule, for `Client::wait_ready`.
    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }

    /// kubectl's columns for `kubectl get` of this kind.
    const COLUMNS: &'static [&'static str] = &["NAME", "AGE"];

    /// The object's row under [`COLUMNS`](Self::COLUMNS), ages counted from `now`.
    fn row(&self, now: k8s_openapi::jiff::Timestamp) -> Vec<String> {
        vec![name(self), age(self, now)]
    }
}

/// kubectl's table of `objects` (`kubectl get KIND`), ages counted from now; `No resources
/// found` when there are none.
///
/// ```
/// use kubekit::k8s_openapi::api::core::v1::ConfigMap;
/// let cm = kubekit::builders::config_map().name("settings").data("a", "1").build()?;
/// let table = kubekit::kinds::table(&[cm]);
/// assert!(table.starts_with("NAME       DATA   AGE\nsettings   1"), "{table}");
/// # Ok::<(), kubekit::Error>(())
/// ```
pub fn table<K: Kind>(objects: &[K]) -> String {
    table_at(objects, k8s_openapi::jiff::Timestamp::now())
}

/// [`table`] with ages counted from `now`.
pub fn table_at<K: Kind>(objects: &[K], now: k8s_openapi::jiff::Timestamp) -> String {
    if objects.is_empty() {
        return "No resources found\n".to_string();
    }
    let rows: Vec<Vec<String>> = objects.iter().map(|o| o.row(now)).collect();
    render(K::COLUMNS, &rows)
}

pub(crate) use crate::table::render;

/// The object's name, for a table.
pub(crate) fn name<K: Kind>(object: &K) -> String {
    object.metadata().name.clone().unwrap_or_default()
}

/// The object's age as kubectl shows it (`3m10s`, `5d`).
pub(crate) fn age<K: Kind>(object: &K, now: k8s_openapi::jiff::Timestamp) -> String {
    crate::table::age(object.metadata().creation_timestamp.as_ref(), now)
}

/// The object's creation time as kubectl's `CREATED AT` shows it (`2026-12-04T13:40:00Z`).
pub(crate) fn created_at<K: Kind>(object: &K) -> String {
    object
        .metadata()
        .creation_timestamp
        .as_ref()
        .map_or_else(|| "<unknown>".to_string(), |t| t.0.to_string())
}

/// A count, `0` when not set.
pub(crate) fn count(n: Option<i32>) -> String {
    n.unwrap_or(0).to_string()
}

/// The readiness of an object of a kind kubekit does not know, from the fields besides
/// `apiVersion`, `kind` and `metadata`: ready when it has no `status.conditions`, or when
/// condition `Ready` (else `Available`) is `True`; not ready with that condition's reason
/// and message otherwise.
///
/// ```
/// use kubekit::kinds::{Readiness, readiness_of_conditions};
/// let status = serde_json::json!({"status": {"conditions": [
///     {"type": "Ready", "status": "False", "reason": "Waiting", "message": "no endpoints"}
/// ]}});
/// assert_eq!(
///     readiness_of_conditions(&status),
///     Readiness::NotReady("Ready=False: Waiting: no endpoints".into())
/// );
/// assert_eq!(readiness_of_conditions(&serde_json::json!({"spec": {}})), Readiness::Ready);
/// ```
pub fn readiness_of_conditions(fields: &serde_json::Value) -> Readiness {
    let Some(conditions) = fields["status"]["conditions"].as_array() else {
        return Readiness::Ready;
    };
    let find = |type_: &str| conditions.iter().find(|c| c["type"] == type_);
    let Some(condition) = find("Ready").or_else(|| find("Available")) else {
        return Readiness::Ready;
    };
    if condition["status"] == "True" {
        return Readiness::Ready;
    }
    let text = |key: &str| condition[key].as_str().unwrap_or_default().to_string();
    let mut said = format!("{}={}", text("type"), text("status"));
    for part in [text("reason"), text("message")] {
        if !part.is_empty() {
            said.push_str(": ");
            said.push_str(&part);
        }
    }
    Readiness::NotReady(said)
}
