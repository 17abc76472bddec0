//! PodDisruptionBudgets made for a built workload: how many of its pods voluntary
//! disruptions (node drains) may take down.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;

use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::ValidationError;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::service::ServiceTarget;
use super::validate::{Ctx, Validate};
use super::workload::IntOrPercent;

/// Builds a [`PodDisruptionBudget`](k8s_openapi::api::policy::v1::PodDisruptionBudget) for a
/// built Deployment, StatefulSet, ReplicaSet or DaemonSet (or a labelled Pod).
///
/// The selector and the namespace come from the target, so the budget covers exactly its
/// pods; the name is the target's unless set. Exactly one of
/// [`min_available`](PodDisruptionBudgetForBuilder::min_available) and
/// [`max_unavailable`](PodDisruptionBudgetForBuilder::max_unavailable) must be set (a number
/// or a percentage); `build()` says so otherwise.
///
/// ```
/// use kubekit::builders::{container, deployment, pod_disruption_budget_for, pod_template, IntOrPercent};
///
/// let web = deployment()
///     .name("web")
///     .replicas(3)
///     .template(pod_template().label("app", "web").container(container().name("web").image("nginx:1.28").build()?).build())
///     .build()?;
/// let pdb = pod_disruption_budget_for(&web).min_available(2).build()?;
/// let spec = pdb.spec.expect("spec");
/// assert_eq!(spec.selector.and_then(|s| s.match_labels).map(|l| l["app"].clone()).as_deref(), Some("web"));
///
/// let err = pod_disruption_budget_for(&web).build().unwrap_err();
/// assert_eq!(err.field, "spec.minAvailable");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn pod_disruption_budget_for<T: ServiceTarget>(
    #[builder(start_fn)] target: &T,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    /// The budget's name; the target's when not set.
    name: Option<String>,
    /// How many of the pods must stay available (`minAvailable`): a number, or
    /// `IntOrPercent::percent(..)`.
    #[builder(into)]
    min_available: Option<IntOrPercent>,
    /// How many of the pods may be unavailable (`maxUnavailable`).
    #[builder(into)]
    max_unavailable: Option<IntOrPercent>,
) -> Result<policy::PodDisruptionBudget, ValidationError> {
    let target_name = target.metadata().name.clone().unwrap_or_default();
    let name = name.unwrap_or_else(|| target_name.clone());
    let ctx = Ctx {
        kind: "PodDisruptionBudget",
        name: &name,
    };
    if min_available.is_none() == max_unavailable.is_none() {
        return Err(ctx.err(
            "spec.minAvailable",
            "",
            "exactly one of minAvailable and maxUnavailable must be set",
        ));
    }
    let selector = target.selector_labels().map_err(|why| {
        ctx.err(
            "spec.selector",
            "",
            format!(
                "cannot be derived: {} \"{target_name}\" {why}",
                target.kind()
            ),
        )
    })?;
    let pdb = policy::PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: target.metadata().namespace.clone(),
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(policy::PodDisruptionBudgetSpec {
            selector: Some(LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            }),
            min_available: min_available.map(Into::into),
            max_unavailable: max_unavailable.map(Into::into),
            ..Default::default()
        }),
        ..Default::default()
    };
    pdb.validate()?;
    Ok(pdb)
}

impl<'a, T: ServiceTarget, S: pod_disruption_budget_for_builder::State>
    PodDisruptionBudgetForBuilder<'a, T, S>
{
    metadata_setters!(@methods "PodDisruptionBudget");
}
