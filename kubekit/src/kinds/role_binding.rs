//! RoleBinding: validated; ready once it exists; `kubectl get rolebindings` columns.

use k8s_openapi::{api::rbac::v1::RoleBinding, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for RoleBinding {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "ROLE", "AGE"];

    /// Name, `Kind/name` of the role, age.
    fn row(&self, now: Timestamp) -> Vec<String> {
        vec![
            name(self),
            format!("{}/{}", self.role_ref.kind, self.role_ref.name),
            age(self, now),
        ]
    }
}
