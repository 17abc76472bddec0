//! ReplicaSet: validated; ready when every replica is ready; `kubectl get replicasets`
//! columns.

use k8s_openapi::{api::apps::v1::ReplicaSet, jiff::Timestamp};

use super::{Kind, Readiness, age, count, name};
use crate::builders::{Validate, ValidationError};

impl Kind for ReplicaSet {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when the controller has seen the latest generation and all replicas are ready.
    fn readiness(&self) -> Readiness {
        let wanted = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let Some(status) = &self.status else {
            return Readiness::NotReady("no status yet".into());
        };
        let ready = status.ready_replicas.unwrap_or(0);
        if status.observed_generation.unwrap_or(0) >= self.metadata.generation.unwrap_or(0)
            && ready == wanted
            && status.replicas == wanted
        {
            Readiness::Ready
        } else {
            Readiness::NotReady(format!("{ready}/{wanted} ready"))
        }
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "DESIRED", "CURRENT", "READY", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let status = self.status.as_ref();
        vec![
            name(self),
            count(self.spec.as_ref().and_then(|s| s.replicas).or(Some(1))),
            count(status.map(|s| s.replicas)),
            count(status.and_then(|s| s.ready_replicas)),
            age(self, now),
        ]
    }
}
