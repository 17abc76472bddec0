//! ClusterRole: validated; ready once it exists; `kubectl get clusterroles` columns.

use k8s_openapi::{api::rbac::v1::ClusterRole, jiff::Timestamp};

use super::{Kind, name};
use crate::builders::{Validate, ValidationError};

impl Kind for ClusterRole {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "CREATED AT"];

    fn row(&self, _now: Timestamp) -> Vec<String> {
        vec![name(self), super::created_at(self)]
    }
}
