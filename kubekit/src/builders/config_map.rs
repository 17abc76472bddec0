//! ConfigMaps: text and binary configuration for pods.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::validate::Validate;

/// Builds a [`ConfigMap`](k8s_openapi::api::core::v1::ConfigMap).
///
/// `name` (a DNS-1123 subdomain) is required: a ConfigMap without one does not compile. Add
/// text entries with [`data`](ConfigMapBuilder::data) and binary ones with
/// [`binary_data`](ConfigMapBuilder::binary_data); a key set twice keeps the last value.
/// `build()` checks what the API server would: the name, every key (a valid config key:
/// `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`, `..` or starting with `..`), no key in
/// both `data` and `binaryData`, at most 1 MiB of values in total, labels and annotations.
///
/// Mount it with [`config_map_volume`](crate::builders::config_map_volume). A ConfigMap is
/// ready as soon as it exists: there is no status to wait for.
///
/// ```
/// use kubekit::builders::config_map;
///
/// let settings = config_map()
///     .name("settings")
///     .namespace("shop")
///     .label("app", "shop")
///     .data("mode", "fast")
///     .data("retries", "3")
///     .binary_data("logo.png", [0x89, b'P', b'N', b'G'])
///     .immutable(true)
///     .build()?;
/// assert_eq!(settings.data.as_ref().map(|d| d["mode"].as_str()), Some("fast"));
/// assert_eq!(settings.binary_data.map(|b| b["logo.png"].0.len()), Some(4));
///
/// let err = config_map().name("settings").data("bad key", "x").build().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "ConfigMap \"settings\": data[bad key] \"bad key\" is not a valid config key: must \
///      consist of alphanumeric characters, '-', '_' or '.'"
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn config_map(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] data: BTreeMap<String, String>,
    #[builder(field)] binary_data: BTreeMap<String, ByteString>,
    /// The ConfigMap's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// When `true`, the data can never be changed (only the ConfigMap deleted); kubelets then
    /// stop watching it.
    immutable: Option<bool>,
) -> Result<core::ConfigMap, ValidationError> {
    let config_map = core::ConfigMap {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        data: non_empty_map(data),
        binary_data: non_empty_map(binary_data),
        immutable,
        ..Default::default()
    };
    config_map.validate()?;
    Ok(config_map)
}

metadata_setters!(ConfigMapBuilder, config_map_builder::State, "ConfigMap");

impl<S: config_map_builder::State> ConfigMapBuilder<S> {
    /// Adds a text entry (`data`): `key` becomes a file name when the ConfigMap is mounted, or
    /// an environment variable's source.
    ///
    /// ```
    /// let cm = kubekit::builders::config_map().name("c").data("app.conf", "port = 80\n").build()?;
    /// assert_eq!(cm.data.map(|d| d["app.conf"].clone()).as_deref(), Some("port = 80\n"));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    /// Adds text entries (`data`): anything that iterates over `(key, value)` pairs.
    ///
    /// ```
    /// let cm = kubekit::builders::config_map()
    ///     .name("c")
    ///     .data_entries([("mode", "fast"), ("retries", "3")])
    ///     .build()?;
    /// assert_eq!(cm.data.map(|d| d.len()), Some(2));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn data_entries(
        mut self,
        entries: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.data.extend(super::pod::labels_from(entries));
        self
    }

    /// Adds a binary entry (`binaryData`, base64 in YAML and JSON): anything that converts
    /// into bytes, e.g. a `Vec<u8>`, `&[u8]` or `[u8; N]`. A key may not also be in `data`.
    ///
    /// ```
    /// let blob: Vec<u8> = vec![0, 1, 2, 255];
    /// let cm = kubekit::builders::config_map().name("c").binary_data("blob", blob).build()?;
    /// assert_eq!(cm.binary_data.map(|b| b["blob"].0.clone()), Some(vec![0, 1, 2, 255]));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn binary_data(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.binary_data
            .insert(key.into(), ByteString(value.into()));
        self
    }

    /// Adds binary entries (`binaryData`): anything that iterates over `(key, bytes)` pairs.
    ///
    /// ```
    /// let cm = kubekit::builders::config_map()
    ///     .name("c")
    ///     .binary_data_entries([("a", vec![1u8]), ("b", vec![2u8])])
    ///     .build()?;
    /// assert_eq!(cm.binary_data.map(|b| b.len()), Some(2));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn binary_data_entries(
        mut self,
        entries: impl IntoIterator<Item = (impl Into<String>, impl Into<Vec<u8>>)>,
    ) -> Self {
        for (key, value) in entries {
            self = self.binary_data(key, value);
        }
        self
    }
}
