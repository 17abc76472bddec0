//! Pod: validated; ready when its `Ready` condition is true (failed once it has ended);
//! `kubectl get pods` columns (see [`table::pods_wide`](crate::table::pods_wide) for `-o wide`).

use k8s_openapi::{api::core::v1::Pod, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Pod {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when condition `Ready` is `True`; failed when the Pod has ended
    /// (`Succeeded`/`Failed`: it will not become ready again).
    fn readiness(&self) -> Readiness {
        let status = self.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
        if ready.is_some_and(|c| c.status == "True") {
            return Readiness::Ready;
        }
        match status.and_then(|s| s.phase.as_deref()) {
            Some(phase @ ("Succeeded" | "Failed")) => Readiness::Failed(format!(
                "the pod has ended ({phase}): {}",
                crate::table::pod_status(self)
            )),
            _ => Readiness::NotReady(crate::table::pod_status(self)),
        }
    }

    const COLUMNS: &'static [&'static str] = &crate::table::POD_COLUMNS;

    fn row(&self, now: Timestamp) -> Vec<String> {
        vec![
            name(self),
            crate::table::pod_ready(self),
            crate::table::pod_status(self),
            crate::table::pod_restarts(self, now),
            age(self, now),
        ]
    }
}
