//! NetworkPolicy: validated; ready once it exists; `kubectl get networkpolicies` columns.

use k8s_openapi::{api::networking::v1::NetworkPolicy, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for NetworkPolicy {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "POD-SELECTOR", "AGE"];

    /// Name, the pod selector in kubectl's syntax (`<none>` for every pod), age.
    fn row(&self, now: Timestamp) -> Vec<String> {
        let selector = self
            .spec
            .as_ref()
            .and_then(|s| s.pod_selector.as_ref())
            .and_then(crate::selector::string)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "<none>".into());
        vec![name(self), selector, age(self, now)]
    }
}
