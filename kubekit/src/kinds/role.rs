//! Role: validated; ready once it exists; `kubectl get roles` columns.

use k8s_openapi::{api::rbac::v1::Role, jiff::Timestamp};

use super::{Kind, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Role {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "CREATED AT"];

    fn row(&self, _now: Timestamp) -> Vec<String> {
        vec![name(self), super::created_at(self)]
    }
}
