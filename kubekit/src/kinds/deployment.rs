//! Deployment: validated; ready when rolled out and available; `kubectl get deployments`
//! columns.

use k8s_openapi::{api::apps::v1::Deployment, jiff::Timestamp};

use super::{Kind, Readiness, age, count, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Deployment {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when the controller has seen the latest generation and every replica is updated
    /// and available (`kubectl rollout status`); failed when the progress deadline passed.
    fn readiness(&self) -> Readiness {
        let wanted = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let Some(status) = &self.status else {
            return Readiness::NotReady("no status yet".into());
        };
        if let Some(c) = status.conditions.iter().flatten().find(|c| {
            c.type_ == "Progressing"
                && c.status == "False"
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        }) {
            return Readiness::Failed(format!(
                "ProgressDeadlineExceeded: {}",
                c.message.as_deref().unwrap_or_default()
            ));
        }
        if status.observed_generation.unwrap_or(0) < self.metadata.generation.unwrap_or(0) {
            return Readiness::NotReady("the controller has not seen the latest generation".into());
        }
        let (updated, available, total) = (
            status.updated_replicas.unwrap_or(0),
            status.available_replicas.unwrap_or(0),
            status.replicas.unwrap_or(0),
        );
        if updated == wanted && available == wanted && total == wanted {
            Readiness::Ready
        } else {
            Readiness::NotReady(format!(
                "{updated}/{wanted} updated, {available}/{wanted} available, {total} in all"
            ))
        }
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let wanted = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = self.status.as_ref();
        vec![
            name(self),
            format!("{}/{wanted}", count(status.and_then(|s| s.ready_replicas))),
            count(status.and_then(|s| s.updated_replicas)),
            count(status.and_then(|s| s.available_replicas)),
            age(self, now),
        ]
    }
}
