//! DaemonSet: ready when scheduled, updated and available on every node it wants;
//! `kubectl get daemonsets` columns.

use k8s_openapi::{api::apps::v1::DaemonSet, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for DaemonSet {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when the controller has seen the latest generation and the pods of every node
    /// that should run one are updated and available.
    fn readiness(&self) -> Readiness {
        let Some(s) = &self.status else {
            return Readiness::NotReady("no status yet".into());
        };
        let desired = s.desired_number_scheduled;
        let updated = s.updated_number_scheduled.unwrap_or(0);
        let available = s.number_available.unwrap_or(0);
        let seen = s.observed_generation.unwrap_or(0) >= self.metadata.generation.unwrap_or(0);
        if seen && updated == desired && available == desired {
            Readiness::Ready
        } else {
            Readiness::NotReady(format!(
                "{available}/{desired} available, {updated}/{desired} updated"
            ))
        }
    }

    const COLUMNS: &'static [&'static str] = &[
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
    ];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let s = self.status.clone().unwrap_or_default();
        vec![
            name(self),
            s.desired_number_scheduled.to_string(),
            s.current_number_scheduled.to_string(),
            s.number_ready.to_string(),
            s.updated_number_scheduled.unwrap_or(0).to_string(),
            s.number_available.unwrap_or(0).to_string(),
            age(self, now),
        ]
    }
}
