//! Job: ready when complete, failed with the controller's reason; `kubectl get jobs`
//! columns.

use k8s_openapi::{api::batch::v1::Job, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Job {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when condition `Complete` is true; failed when `Failed` is (with its reason and
    /// message, e.g. `BackoffLimitExceeded`).
    fn readiness(&self) -> Readiness {
        let conditions = self.status.as_ref().and_then(|s| s.conditions.as_ref());
        for c in conditions.into_iter().flatten() {
            if c.status != "True" {
                continue;
            }
            match c.type_.as_str() {
                "Complete" => return Readiness::Ready,
                "Failed" => {
                    return Readiness::Failed(format!(
                        "{}: {}",
                        c.reason.as_deref().unwrap_or("Failed"),
                        c.message.as_deref().unwrap_or_default()
                    ));
                }
                _ => {}
            }
        }
        let s = self.status.as_ref();
        Readiness::NotReady(format!(
            "{} active, {} succeeded, {} failed",
            s.and_then(|s| s.active).unwrap_or(0),
            s.and_then(|s| s.succeeded).unwrap_or(0),
            s.and_then(|s| s.failed).unwrap_or(0)
        ))
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "STATUS", "COMPLETIONS", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let status = match self.readiness() {
            Readiness::Ready => "Complete".to_string(),
            Readiness::Failed(_) => "Failed".to_string(),
            Readiness::NotReady(_) => "Running".to_string(),
        };
        let wanted = self.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
        let done = self.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
        vec![
            name(self),
            status,
            format!("{done}/{wanted}"),
            age(self, now),
        ]
    }
}
