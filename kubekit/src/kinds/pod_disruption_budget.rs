//! PodDisruptionBudget: validated; ready once it exists; `kubectl get pdb` columns.

use k8s_openapi::{api::policy::v1::PodDisruptionBudget, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for PodDisruptionBudget {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &[
        "NAME",
        "MIN AVAILABLE",
        "MAX UNAVAILABLE",
        "ALLOWED DISRUPTIONS",
        "AGE",
    ];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let spec = self.spec.as_ref();
        let show = |v: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>| {
            v.map_or_else(
                || "N/A".to_string(),
                crate::builders::validate::fmt_int_or_string,
            )
        };
        vec![
            name(self),
            show(spec.and_then(|s| s.min_available.as_ref())),
            show(spec.and_then(|s| s.max_unavailable.as_ref())),
            self.status
                .as_ref()
                .map_or(0, |s| s.disruptions_allowed)
                .to_string(),
            age(self, now),
        ]
    }
}
