//! ConfigMap: validated by [`builders::validate`](crate::builders::validate); ready once it
//! exists; `kubectl get configmaps` columns.

use k8s_openapi::{api::core::v1::ConfigMap, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for ConfigMap {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "DATA", "AGE"];

    /// Name, number of keys (`data` and `binaryData`), age.
    fn row(&self, now: Timestamp) -> Vec<String> {
        let keys = self.data.as_ref().map_or(0, |d| d.len())
            + self.binary_data.as_ref().map_or(0, |b| b.len());
        vec![name(self), keys.to_string(), age(self, now)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_counts_data_and_binary_data() -> Result<(), ValidationError> {
        let cm = crate::builders::config_map()
            .name("c")
            .data("a", "1")
            .binary_data("b", [2u8])
            .build()?;
        let now: Timestamp = "2025-01-03T00:00:05Z".parse().expect("a time");
        assert_eq!(cm.row(now), ["c", "2", "<unknown>"]);
        Ok(())
    }
}
