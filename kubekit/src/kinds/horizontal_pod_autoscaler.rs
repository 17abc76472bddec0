//! HorizontalPodAutoscaler (`autoscaling/v2`): validated; ready once it exists; `kubectl get
//! hpa` columns.

use k8s_openapi::{api::autoscaling::v2::HorizontalPodAutoscaler, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for HorizontalPodAutoscaler {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &[
        "NAME",
        "REFERENCE",
        "TARGETS",
        "MINPODS",
        "MAXPODS",
        "REPLICAS",
        "AGE",
    ];

    /// Name, `Kind/name` of the target, `resource: current/target` per resource metric
    /// (`<unknown>` before the first measurement), bounds, current replicas, age.
    fn row(&self, now: Timestamp) -> Vec<String> {
        let spec = self.spec.as_ref();
        let status = self.status.as_ref();
        let current: Vec<(String, Option<i32>)> = status
            .and_then(|s| s.current_metrics.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let r = m.resource.as_ref()?;
                Some((r.name.clone(), r.current.average_utilization))
            })
            .collect();
        let targets: Vec<String> = spec
            .and_then(|s| s.metrics.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let r = m.resource.as_ref()?;
                let target = r.target.average_utilization?;
                let now = current
                    .iter()
                    .find(|(n, _)| *n == r.name)
                    .and_then(|(_, u)| *u)
                    .map_or_else(|| "<unknown>".to_string(), |u| format!("{u}%"));
                Some(format!("{}: {now}/{target}%", r.name))
            })
            .collect();
        vec![
            name(self),
            spec.map(|s| format!("{}/{}", s.scale_target_ref.kind, s.scale_target_ref.name))
                .unwrap_or_default(),
            if targets.is_empty() {
                "<none>".into()
            } else {
                targets.join(", ")
            },
            spec.and_then(|s| s.min_replicas).unwrap_or(1).to_string(),
            spec.map_or(0, |s| s.max_replicas).to_string(),
            status
                .and_then(|s| s.current_replicas)
                .unwrap_or(0)
                .to_string(),
            age(self, now),
        ]
    }
}
