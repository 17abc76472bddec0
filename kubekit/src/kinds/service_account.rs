//! ServiceAccount: ready once it exists; `kubectl get serviceaccounts` columns.

use k8s_openapi::{api::core::v1::ServiceAccount, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for ServiceAccount {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "SECRETS", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let secrets = self.secrets.as_ref().map_or(0, Vec::len);
        vec![name(self), secrets.to_string(), age(self, now)]
    }
}
