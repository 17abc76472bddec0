//! StatefulSet: ready when rolled out (every replica ready and on the update revision);
//! `kubectl get statefulsets` columns.

use k8s_openapi::{api::apps::v1::StatefulSet, jiff::Timestamp};

use super::{Kind, Readiness, age, count, name};
use crate::builders::{Validate, ValidationError};

impl Kind for StatefulSet {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when the controller has seen the latest generation, every replica is ready and
    /// updated, and the current revision is the update revision (`kubectl rollout status`).
    fn readiness(&self) -> Readiness {
        let wanted = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let Some(status) = &self.status else {
            return Readiness::NotReady("no status yet".into());
        };
        let ready = status.ready_replicas.unwrap_or(0);
        let updated = status.updated_replicas.unwrap_or(0);
        let seen = status.observed_generation.unwrap_or(0) >= self.metadata.generation.unwrap_or(0);
        let revision_done =
            status.update_revision.is_none() || status.current_revision == status.update_revision;
        if seen && ready == wanted && updated == wanted && revision_done {
            Readiness::Ready
        } else {
            Readiness::NotReady(format!(
                "{ready}/{wanted} ready, {updated}/{wanted} updated"
            ))
        }
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "READY", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let wanted = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let ready = count(self.status.as_ref().and_then(|s| s.ready_replicas));
        vec![name(self), format!("{ready}/{wanted}"), age(self, now)]
    }
}
