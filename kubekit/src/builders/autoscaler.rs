//! HorizontalPodAutoscalers (`autoscaling/v2`) made for a built Deployment, StatefulSet or
//! ReplicaSet.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::{non_empty, non_empty_map};
use super::pod::metadata_setters;
use super::service::ServiceTarget;
use super::validate::{Ctx, Validate};

mod sealed {
    pub trait Sealed {}
    impl Sealed for k8s_openapi::api::apps::v1::Deployment {}
    impl Sealed for k8s_openapi::api::apps::v1::StatefulSet {}
    impl Sealed for k8s_openapi::api::apps::v1::ReplicaSet {}
}

/// A workload an HPA can scale ([`horizontal_pod_autoscaler_for`]): a
/// [`Deployment`](apps::Deployment), a [`StatefulSet`](apps::StatefulSet) or a
/// [`ReplicaSet`](apps::ReplicaSet).
///
/// ```
/// use kubekit::builders::{container, pod_template, stateful_set, ScaleTarget, ServiceTarget};
/// let db = stateful_set()
///     .name("db")
///     .template(pod_template().container(container().name("db").image("postgres:17").build()?).build())
///     .build()?;
/// assert_eq!((db.api_version(), db.kind()), ("apps/v1", "StatefulSet"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub trait ScaleTarget: ServiceTarget + sealed::Sealed {
    /// Its `apiVersion`: `apps/v1`.
    fn api_version(&self) -> &'static str {
        "apps/v1"
    }
}

impl ScaleTarget for apps::Deployment {}
impl ScaleTarget for apps::StatefulSet {}
impl ScaleTarget for apps::ReplicaSet {}

fn utilization(resource: &str, percent: i32) -> autoscaling::MetricSpec {
    autoscaling::MetricSpec {
        type_: "Resource".into(),
        resource: Some(autoscaling::ResourceMetricSource {
            name: resource.into(),
            target: autoscaling::MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(percent),
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

/// Builds a [`HorizontalPodAutoscaler`](k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler)
/// (`autoscaling/v2`) for a built Deployment, StatefulSet or ReplicaSet.
///
/// `max_replicas` is required. The `scaleTargetRef`, the namespace and (unless set) the name
/// come from the target. Scale on the pods' average CPU or memory use as a percentage of
/// their request with [`cpu_utilization`](HorizontalPodAutoscalerForBuilder::cpu_utilization)
/// and [`memory_utilization`](HorizontalPodAutoscalerForBuilder::memory_utilization): every
/// container of the target must then request that resource (the HPA cannot compute a
/// percentage of nothing), which `build()` checks, naming the container.
///
/// ```
/// use kubekit::builders::{container, deployment, horizontal_pod_autoscaler_for, pod_template};
///
/// let web = deployment()
///     .name("web")
///     .template(
///         pod_template()
///             .container(container().name("web").image("nginx:1.28").request("cpu", "100m").build()?)
///             .build(),
///     )
///     .build()?;
/// let hpa = horizontal_pod_autoscaler_for(&web)
///     .min_replicas(2)
///     .max_replicas(10)
///     .cpu_utilization(70)
///     .build()?;
/// let spec = hpa.spec.expect("spec");
/// assert_eq!((spec.scale_target_ref.kind.as_str(), spec.scale_target_ref.name.as_str()), ("Deployment", "web"));
///
/// // Memory is not requested: no percentage to scale on.
/// let err = horizontal_pod_autoscaler_for(&web).max_replicas(10).memory_utilization(80).build().unwrap_err();
/// assert_eq!(err.field, "spec.metrics[0].resource.name");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn horizontal_pod_autoscaler_for<T: ScaleTarget>(
    #[builder(start_fn)] target: &T,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] metrics: Vec<autoscaling::MetricSpec>,
    /// The HPA's name; the target's when not set.
    name: Option<String>,
    /// The fewest replicas (`minReplicas`, Kubernetes' default: 1).
    min_replicas: Option<i32>,
    /// The most replicas (`maxReplicas`).
    max_replicas: i32,
    /// Seconds of lower recommendations before scaling down
    /// (`behavior.scaleDown.stabilizationWindowSeconds`, Kubernetes' default: 300).
    scale_down_stabilization_seconds: Option<i32>,
) -> Result<autoscaling::HorizontalPodAutoscaler, ValidationError> {
    let target_name = target.metadata().name.clone().unwrap_or_default();
    let name = name.unwrap_or_else(|| target_name.clone());
    let ctx = Ctx {
        kind: "HorizontalPodAutoscaler",
        name: &name,
    };
    let containers = target
        .pod_spec()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    for (i, metric) in metrics.iter().enumerate() {
        let Some(resource) = &metric.resource else {
            continue;
        };
        if resource.target.type_ != "Utilization" {
            continue;
        }
        let unrequested = containers.iter().find(|c| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_none_or(|r| !r.contains_key(&resource.name))
        });
        if let Some(container) = unrequested {
            return Err(ctx.err(
                format!("spec.metrics[{i}].resource.name"),
                &resource.name,
                format!(
                    "is not requested by container \"{}\" of {} \"{target_name}\": a \
                     utilization is a percentage of the request (set `.request(\"{}\", ...)`)",
                    container.name,
                    target.kind(),
                    resource.name
                ),
            ));
        }
    }
    let behavior = scale_down_stabilization_seconds.map(|seconds| {
        autoscaling::HorizontalPodAutoscalerBehavior {
            scale_down: Some(autoscaling::HPAScalingRules {
                stabilization_window_seconds: Some(seconds),
                ..Default::default()
            }),
            ..Default::default()
        }
    });
    let hpa = autoscaling::HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: target.metadata().namespace.clone(),
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(autoscaling::HorizontalPodAutoscalerSpec {
            scale_target_ref: autoscaling::CrossVersionObjectReference {
                api_version: Some(target.api_version().into()),
                kind: target.kind().into(),
                name: target_name,
            },
            min_replicas,
            max_replicas,
            metrics: non_empty(metrics),
            behavior,
            ..Default::default()
        }),
        ..Default::default()
    };
    hpa.validate()?;
    Ok(hpa)
}

impl<'a, T: ScaleTarget, S: horizontal_pod_autoscaler_for_builder::State>
    HorizontalPodAutoscalerForBuilder<'a, T, S>
{
    metadata_setters!(@methods "HorizontalPodAutoscaler");

    /// Scales to keep the pods' average CPU use at `percent` of their CPU request.
    pub fn cpu_utilization(mut self, percent: i32) -> Self {
        self.metrics.push(utilization("cpu", percent));
        self
    }

    /// Scales to keep the pods' average memory use at `percent` of their memory request.
    pub fn memory_utilization(mut self, percent: i32) -> Self {
        self.metrics.push(utilization("memory", percent));
        self
    }

    /// Adds any `k8s-openapi` metric (pods, object or external metrics).
    pub fn metric(mut self, metric: autoscaling::MetricSpec) -> Self {
        self.metrics.push(metric);
        self
    }
}
