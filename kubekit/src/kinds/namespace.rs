//! Namespace: validated; ready when `Active`; `kubectl get namespaces` columns.

use k8s_openapi::{api::core::v1::Namespace, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Namespace {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when its phase is `Active` (a `Terminating` namespace takes no new objects).
    fn readiness(&self) -> Readiness {
        match self.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Active") => Readiness::Ready,
            Some(phase) => Readiness::NotReady(format!("phase {phase}")),
            None => Readiness::NotReady("no phase yet".into()),
        }
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "STATUS", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let phase = self.status.as_ref().and_then(|s| s.phase.clone());
        vec![name(self), phase.unwrap_or_default(), age(self, now)]
    }
}
