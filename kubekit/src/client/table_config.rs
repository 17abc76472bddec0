//! kubectl's tables for ConfigMaps and Secrets: `kubectl get configmaps` (NAME DATA AGE) and
//! `kubectl get secrets` (NAME TYPE DATA AGE), laid out by [`render`].
//!
//! Not wired into `client/mod.rs` yet: it is meant to move to the per-kind place, next to the
//! ConfigMap and Secret builders. Once it is a module `table_config` of `client`:
//!
//! ```
//! use k8s_openapi::api::core::v1::ConfigMap;
//!
//! let config_maps: Vec<ConfigMap> = Vec::new();
//! assert_eq!(kubekit::client::table_config::config_maps(&config_maps), "No resources found\n");
//! ```

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::jiff::Timestamp;

use super::table::{age, render};

/// The columns of `kubectl get configmaps`.
pub const CONFIG_MAP_COLUMNS: [&str; 3] = ["NAME", "DATA", "AGE"];
/// The columns of `kubectl get secrets`.
pub const SECRET_COLUMNS: [&str; 4] = ["NAME", "TYPE", "DATA", "AGE"];

/// `kubectl get configmaps`: NAME DATA AGE, ages counted from now.
///
/// ```
/// let cm = kubekit::builders::config_map().name("settings").data("mode", "fast").build()?;
/// assert!(kubekit::client::table_config::config_maps(&[cm]).starts_with("NAME       DATA   AGE\n"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn config_maps(config_maps: &[ConfigMap]) -> String {
    config_maps_at(config_maps, Timestamp::now())
}

/// The table of [`config_maps`], with ages counted from `now`. DATA is the number of keys in
/// `data` and `binaryData` together.
///
/// ```
/// use k8s_openapi::{api::core::v1::ConfigMap, jiff::Timestamp};
///
/// let cm: ConfigMap = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "settings", "creationTimestamp": "2025-01-01T00:00:00Z"},
///     "data": {"mode": "fast"}
/// })).unwrap();
/// let now: Timestamp = "2025-01-01T00:03:10Z".parse().unwrap();
/// assert_eq!(
///     kubekit::client::table_config::config_maps_at(&[cm], now),
///     "NAME       DATA   AGE\n\
///      settings   1      3m10s\n"
/// );
/// ```
pub fn config_maps_at(config_maps: &[ConfigMap], now: Timestamp) -> String {
    if config_maps.is_empty() {
        return "No resources found\n".to_string();
    }
    let rows: Vec<Vec<String>> = config_maps
        .iter()
        .map(|cm| config_map_row(cm, now))
        .collect();
    render(&CONFIG_MAP_COLUMNS, &rows)
}

/// One row of [`config_maps_at`]: name, number of keys, age.
///
/// ```
/// let cm = kubekit::builders::config_map().name("c").data("a", "1").binary_data("b", [2u8]).build()?;
/// let now = k8s_openapi::jiff::Timestamp::now();
/// assert_eq!(kubekit::client::table_config::config_map_row(&cm, now), ["c", "2", "<unknown>"]);
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn config_map_row(config_map: &ConfigMap, now: Timestamp) -> Vec<String> {
    let keys = config_map.data.as_ref().map_or(0, |d| d.len())
        + config_map.binary_data.as_ref().map_or(0, |b| b.len());
    vec![
        config_map.metadata.name.clone().unwrap_or_default(),
        keys.to_string(),
        age(config_map.metadata.creation_timestamp.as_ref(), now),
    ]
}

/// `kubectl get secrets`: NAME TYPE DATA AGE, ages counted from now.
///
/// ```
/// let s = kubekit::builders::secret().name("web-tls").tls("cert", "key").build()?;
/// assert!(kubekit::client::table_config::secrets(&[s]).contains("web-tls   kubernetes.io/tls   2"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn secrets(secrets: &[Secret]) -> String {
    secrets_at(secrets, Timestamp::now())
}

/// The table of [`secrets`], with ages counted from `now`. DATA is the number of keys (a key of
/// `stringData` counts once, as the API server merges it into `data`); TYPE is `Opaque` when
/// the Secret has none (the API server's default). Values are never shown.
///
/// ```
/// use k8s_openapi::{api::core::v1::Secret, jiff::Timestamp};
///
/// let s: Secret = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "db", "creationTimestamp": "2025-01-01T00:00:00Z"},
///     "data": {"password": "aHVudGVyMg=="}
/// })).unwrap();
/// let now: Timestamp = "2025-01-03T00:00:05Z".parse().unwrap();
/// assert_eq!(
///     kubekit::client::table_config::secrets_at(&[s], now),
///     "NAME   TYPE     DATA   AGE\n\
///      db     Opaque   1      2d\n"
/// );
/// ```
pub fn secrets_at(secrets: &[Secret], now: Timestamp) -> String {
    if secrets.is_empty() {
        return "No resources found\n".to_string();
    }
    let rows: Vec<Vec<String>> = secrets.iter().map(|s| secret_row(s, now)).collect();
    render(&SECRET_COLUMNS, &rows)
}

/// One row of [`secrets_at`]: name, type, number of keys, age.
///
/// ```
/// let s = kubekit::builders::secret().name("git").basic_auth("bot", "hunter2").build()?;
/// let now = k8s_openapi::jiff::Timestamp::now();
/// assert_eq!(
///     kubekit::client::table_config::secret_row(&s, now),
///     ["git", "kubernetes.io/basic-auth", "2", "<unknown>"]
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn secret_row(secret: &Secret, now: Timestamp) -> Vec<String> {
    let data = secret.data.iter().flat_map(|d| d.keys());
    let string_data = secret.string_data.iter().flat_map(|d| d.keys());
    let keys: std::collections::BTreeSet<&String> = data.chain(string_data).collect();
    let secret_type = secret
        .type_
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("Opaque");
    vec![
        secret.metadata.name.clone().unwrap_or_default(),
        secret_type.to_string(),
        keys.len().to_string(),
        age(secret.metadata.creation_timestamp.as_ref(), now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    #[test]
    fn config_maps_table() {
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "settings", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "data": {"mode": "fast", "retries": "3"},
            "binaryData": {"logo.png": "iVBORw=="}
        }))
        .expect("a ConfigMap");
        let empty: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kube-root-ca.crt-empty"}
        }))
        .expect("a ConfigMap");
        assert_eq!(
            config_maps_at(&[cm, empty], at("2025-01-01T00:03:10Z")),
            "NAME                     DATA   AGE\n\
             settings                 3      3m10s\n\
             kube-root-ca.crt-empty   0      <unknown>\n"
        );
        assert_eq!(config_maps(&[]), "No resources found\n");
    }

    #[test]
    fn secrets_table() {
        let tls: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-tls", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Yw==", "tls.key": "aw=="}
        }))
        .expect("a Secret");
        let local: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db", "creationTimestamp": "2024-12-30T00:00:00Z"},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"password": "hunter2", "username": "shop"}
        }))
        .expect("a Secret");
        let table = secrets_at(&[tls, local], at("2025-01-01T00:00:05Z"));
        assert_eq!(
            table,
            "NAME      TYPE                DATA   AGE\n\
             web-tls   kubernetes.io/tls   2      5s\n\
             db        Opaque              2      2d\n"
        );
        assert!(!table.contains("hunter2"));
        assert_eq!(secrets(&[]), "No resources found\n");
    }
}
