//! Secret: validated by [`builders::validate`](crate::builders::validate) (per-type keys);
//! ready once it exists; `kubectl get secrets` columns (values are never shown).

use std::collections::BTreeSet;

use k8s_openapi::{api::core::v1::Secret, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Secret {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "TYPE", "DATA", "AGE"];

    /// Name, type (`Opaque` when unset, the API server's default), number of keys (a key of
    /// `stringData` counts once, as the server merges it into `data`), age.
    fn row(&self, now: Timestamp) -> Vec<String> {
        let data = self.data.iter().flat_map(|d| d.keys());
        let string_data = self.string_data.iter().flat_map(|d| d.keys());
        let keys: BTreeSet<&String> = data.chain(string_data).collect();
        let secret_type = self
            .type_
            .as_deref()
            .filter(|t| !t.is_empty())
            .unwrap_or("Opaque");
        vec![
            name(self),
            secret_type.to_string(),
            keys.len().to_string(),
            age(self, now),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_shows_type_and_key_count_never_values() {
        let s: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"password": "x", "user": "y"}
        }))
        .expect("a Secret");
        let now: Timestamp = "2025-01-03T00:00:05Z".parse().expect("a time");
        let table = crate::kinds::table_at(&[s], now);
        assert_eq!(
            table,
            "NAME   TYPE     DATA   AGE\ndb     Opaque   2      2d\n"
        );
        assert!(!table.contains("aHVudGVyMg"));
    }
}
