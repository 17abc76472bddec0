//! Writing YAML.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::ManifestError;

/// The annotation `kubectl apply` keeps the last applied configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Metadata fields the API server sets, which a manifest to re-apply must not carry.
pub(crate) const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// How [`to_yaml_with`](super::to_yaml_with) and [`to_yaml_all_with`](super::to_yaml_all_with)
/// render.
///
/// ```
/// use kubekit::manifest::RenderOptions;
///
/// let options = RenderOptions::default().clean(true);
/// assert!(options.clean);
/// assert!(!options.show_managed_fields);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Leave out what the server owns, for a manifest to apply again: see
    /// [`clean_for_reapply`](super::clean_for_reapply). Off by default.
    pub clean: bool,
    /// Keep `metadata.managedFields` (server-side apply's field ownership), as
    /// `kubectl get -o yaml --show-managed-fields` does. Off by default: like
    /// `kubectl get -o yaml` since Kubernetes 1.21, they are left out (also from the items of
    /// a `...List`). [`clean`](Self::clean) removes them regardless.
    pub show_managed_fields: bool,
}

impl RenderOptions {
    /// Sets [`clean`](Self::clean).
    #[must_use]
    pub fn clean(mut self, clean: bool) -> Self {
        self.clean = clean;
        self
    }

    /// Sets [`show_managed_fields`](Self::show_managed_fields).
    ///
    /// ```
    /// use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
    /// use kubekit::manifest::{self, RenderOptions};
    ///
    /// let mut pod = k8s_openapi::api::core::v1::Pod::default();
    /// pod.metadata.name = Some("web".into());
    /// pod.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
    ///     manager: Some("kubekit".into()),
    ///     ..Default::default()
    /// }]);
    /// assert!(!manifest::to_yaml(&pod)?.contains("managedFields"));
    /// let all = manifest::to_yaml_with(&pod, RenderOptions::default().show_managed_fields(true))?;
    /// assert!(all.contains("  managedFields:\n  - manager: kubekit\n"));
    /// # Ok::<(), manifest::ManifestError>(())
    /// ```
    #[must_use]
    pub fn show_managed_fields(mut self, show: bool) -> Self {
        self.show_managed_fields = show;
        self
    }
}

/// Removes from an object what the API server owns, so that it can be applied again:
/// `status`, the `metadata` fields `managedFields`, `resourceVersion`, `uid`,
/// `creationTimestamp`, `generation` and `selfLink`, and the
/// [`kubectl.kubernetes.io/last-applied-configuration`](LAST_APPLIED_ANNOTATION) annotation.
/// `annotations` and `labels` left empty are removed. In a `...List` kind, every item of
/// `items` is cleaned too.
///
/// ```
/// let mut pod = serde_json::json!({
///     "apiVersion": "v1",
///     "kind": "Pod",
///     "metadata": { "name": "web", "uid": "1234", "resourceVersion": "42", "labels": {} },
///     "status": { "phase": "Running" },
/// });
/// kubekit::manifest::clean_for_reapply(&mut pod);
/// assert_eq!(pod, serde_json::json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "web" } }));
/// ```
pub fn clean_for_reapply(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    map.shift_remove("status");
    if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
        for key in SERVER_METADATA {
            metadata.shift_remove(*key);
        }
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            annotations.shift_remove(LAST_APPLIED_ANNOTATION);
        }
        for key in ["annotations", "labels"] {
            let empty = match metadata.get(key) {
                Some(Value::Object(entries)) => entries.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                metadata.shift_remove(key);
            }
        }
    }
    let is_list = matches!(map.get("kind"), Some(Value::String(kind)) if kind.ends_with("List"));
    if is_list && let Some(Value::Array(items)) = map.get_mut("items") {
        items.iter_mut().for_each(clean_for_reapply);
    }
}

/// Removes `metadata.managedFields`, from the items of a `...List` too, as
/// `kubectl get -o yaml` does unless `--show-managed-fields`.
fn hide_managed_fields(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
        metadata.shift_remove("managedFields");
    }
    let is_list = matches!(map.get("kind"), Some(Value::String(kind)) if kind.ends_with("List"));
    if is_list && let Some(Value::Array(items)) = map.get_mut("items") {
        items.iter_mut().for_each(hide_managed_fields);
    }
}

/// Appends one rendered document to `out`.
pub(crate) fn render_into<T: Serialize + ?Sized>(
    out: &mut String,
    object: &T,
    options: RenderOptions,
) -> Result<(), ManifestError> {
    let mut value = serde_json::to_value(object).map_err(ManifestError::render)?;
    if options.clean {
        clean_for_reapply(&mut value);
    } else if !options.show_managed_fields {
        hide_managed_fields(&mut value);
    }
    serde_saphyr::to_fmt_writer(out, &KubectlOrder(&value)).map_err(ManifestError::render)?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

/// Serializes a value with its top-level keys in the order `kubectl get -o yaml` shows:
/// `apiVersion`, `kind`, `metadata`, `spec`, the others as they are, `status` last.
struct KubectlOrder<'a>(&'a Value);

const FIRST: &[&str] = &["apiVersion", "kind", "metadata", "spec"];
const LAST: &str = "status";

impl Serialize for KubectlOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.0 else {
            return self.0.serialize(serializer);
        };
        let mut out = serializer.serialize_map(Some(map.len()))?;
        let mut entry = |key: &str, map: &Map<String, Value>| match map.get_key_value(key) {
            Some((key, value)) => out.serialize_entry(key, value),
            None => Ok(()),
        };
        for key in FIRST {
            entry(key, map)?;
        }
        for (key, value) in map {
            if key != LAST && !FIRST.contains(&key.as_str()) {
                out.serialize_entry(key, value)?;
            }
        }
        if let Some(status) = map.get(LAST) {
            out.serialize_entry(LAST, status)?;
        }
        out.end()
    }
}
