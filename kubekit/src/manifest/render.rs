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
///
/// Objects whose top level is a map or struct are streamed straight into the YAML writer,
/// top-level keys in kubectl's order (see [`stream_into`]); the rest (and
/// [`RenderOptions::clean`]) go through a `serde_json::Value`. Both give the same text (a unit
/// test renders every conformance fixture both ways).
pub(crate) fn render_into<T: Serialize + ?Sized>(
    out: &mut String,
    object: &T,
    options: RenderOptions,
) -> Result<(), ManifestError> {
    let start = out.len();
    if !options.clean && stream_into(out, object, options).is_ok() {
        return Ok(());
    }
    out.truncate(start);
    render_value_into(out, object, options)
}

/// The `serde_json::Value` path: any object, and the only one that cleans.
pub(crate) fn render_value_into<T: Serialize + ?Sized>(
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
    write_yaml(out, &KubectlOrder(&value))
}

/// Appends `value` as YAML: with the fast writer where it knows the shape, else with
/// serde-saphyr (the same text either way, see `emit.rs`).
fn write_yaml<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), ManifestError> {
    let start = out.len();
    if super::emit::write(out, value).is_err() {
        out.truncate(start);
        serde_saphyr::to_fmt_writer(out, &value).map_err(ManifestError::render)?;
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

/// Renders `object` without building a `serde_json::Value` (which costs more than the YAML
/// writing itself): its top-level keys are read first (their values are not serialized), then
/// it is serialized once per top-level key in kubectl's order, each pass forwarding only that
/// key's entry, so every value is serialized exactly once. `metadata.managedFields` is left out
/// as it goes unless asked for. Fails (and the caller falls back to the `Value` path) for a
/// top level that is not a map or struct, keys that are not strings, duplicate keys, or a
/// `...List` whose items would need their `managedFields` hidden.
fn stream_into<T: Serialize + ?Sized>(
    out: &mut String,
    object: &T,
    options: RenderOptions,
) -> Result<(), ManifestError> {
    let mut keys = KeyList::default();
    object
        .serialize(Entries(&mut keys))
        .map_err(ManifestError::render)?;
    let mut order: Vec<&str> = keys.keys.iter().map(String::as_str).collect();
    let unique: std::collections::BTreeSet<&str> = order.iter().copied().collect();
    if unique.len() != order.len() {
        return Err(ManifestError::render(Unsupported));
    }
    order.sort_by_key(|key| rank(key));
    let hide = !options.show_managed_fields;
    if hide && keys.is_list {
        return Err(ManifestError::render(Unsupported));
    }
    let ordered = Ordered {
        object,
        order: &order,
        hide_managed_fields: hide,
    };
    write_yaml(out, &ordered)
}

/// Where a top-level key goes in kubectl's order (stable sort: equal ranks keep their order).
fn rank(key: &str) -> usize {
    match key {
        "apiVersion" => 0,
        "kind" => 1,
        "metadata" => 2,
        "spec" => 3,
        LAST => 5,
        _ => 4,
    }
}

/// The fast path does not apply; the caller renders through a `Value`.
#[derive(Debug)]
struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a map with string keys")
    }
}

impl std::error::Error for Unsupported {}

impl serde::ser::Error for Unsupported {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Unsupported
    }
}

/// Receives the entries of a map or struct, one `(key, value)` at a time.
trait EntrySink {
    type Error: serde::ser::Error;
    fn entry<V: Serialize + ?Sized>(&mut self, key: &str, value: &V) -> Result<(), Self::Error>;
}

/// Collects the top-level keys without serializing the values (but `kind`, to tell a list).
#[derive(Default)]
struct KeyList {
    keys: Vec<String>,
    is_list: bool,
}

impl EntrySink for KeyList {
    type Error = Unsupported;
    fn entry<V: Serialize + ?Sized>(&mut self, key: &str, value: &V) -> Result<(), Unsupported> {
        if key == "kind" {
            let kind = value.serialize(KeyString)?;
            self.is_list = kind.ends_with("List");
        }
        self.keys.push(key.to_owned());
        Ok(())
    }
}

/// Forwards the entry named `key` of each map it is given to `map`, `metadata` with its
/// `managedFields` left out when `hide_managed_fields`.
struct Pick<'a, M> {
    map: &'a mut M,
    key: &'a str,
    hide_managed_fields: bool,
}

impl<M: SerializeMap> EntrySink for Pick<'_, M> {
    type Error = M::Error;
    fn entry<V: Serialize + ?Sized>(&mut self, key: &str, value: &V) -> Result<(), M::Error> {
        if key != self.key {
            Ok(())
        } else if key == "metadata" && self.hide_managed_fields {
            self.map.serialize_entry(key, &WithoutManagedFields(value))
        } else {
            self.map.serialize_entry(key, value)
        }
    }
}

/// Forwards every entry but `managedFields`.
struct AllBut<'a, M> {
    map: &'a mut M,
    skip: &'static str,
}

impl<M: SerializeMap> EntrySink for AllBut<'_, M> {
    type Error = M::Error;
    fn entry<V: Serialize + ?Sized>(&mut self, key: &str, value: &V) -> Result<(), M::Error> {
        if key == self.skip {
            Ok(())
        } else {
            self.map.serialize_entry(key, value)
        }
    }
}

/// The object, its top-level keys in the order given.
struct Ordered<'a, T: ?Sized> {
    object: &'a T,
    order: &'a [&'a str],
    hide_managed_fields: bool,
}

impl<T: Serialize + ?Sized> Serialize for Ordered<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.order.len()))?;
        for key in self.order {
            self.object.serialize(Entries(&mut Pick {
                map: &mut map,
                key,
                hide_managed_fields: self.hide_managed_fields,
            }))?;
        }
        map.end()
    }
}

/// `metadata` without `managedFields` (a map or struct; anything else fails the fast path).
struct WithoutManagedFields<'a, V: ?Sized>(&'a V);

impl<V: Serialize + ?Sized> Serialize for WithoutManagedFields<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.serialize(Entries(&mut AllBut {
            map: &mut map,
            skip: "managedFields",
        }))?;
        map.end()
    }
}

/// A serializer that accepts only a map or a struct (through newtypes and `Some`) and hands
/// its entries to a sink.
struct Entries<'a, E>(&'a mut E);

/// The serializer's `SerializeMap` / `SerializeStruct`: the pending key of a map.
struct EntriesMap<'a, E> {
    sink: &'a mut E,
    key: Option<String>,
}

impl<E: EntrySink> serde::ser::SerializeMap for EntriesMap<'_, E> {
    type Ok = ();
    type Error = E::Error;
    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), E::Error> {
        self.key = Some(
            key.serialize(KeyString)
                .map_err(|_| <E::Error as serde::ser::Error>::custom(Unsupported))?,
        );
        Ok(())
    }
    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), E::Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| <E::Error as serde::ser::Error>::custom(Unsupported))?;
        self.sink.entry(&key, value)
    }
    fn end(self) -> Result<(), E::Error> {
        Ok(())
    }
}

impl<E: EntrySink> serde::ser::SerializeStruct for EntriesMap<'_, E> {
    type Ok = ();
    type Error = E::Error;
    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), E::Error> {
        self.sink.entry(key, value)
    }
    fn end(self) -> Result<(), E::Error> {
        Ok(())
    }
}

impl<'a, E: EntrySink> Serializer for Entries<'a, E> {
    type Ok = ();
    type Error = E::Error;
    type SerializeSeq = serde::ser::Impossible<(), E::Error>;
    type SerializeTuple = serde::ser::Impossible<(), E::Error>;
    type SerializeTupleStruct = serde::ser::Impossible<(), E::Error>;
    type SerializeTupleVariant = serde::ser::Impossible<(), E::Error>;
    type SerializeMap = EntriesMap<'a, E>;
    type SerializeStruct = EntriesMap<'a, E>;
    type SerializeStructVariant = serde::ser::Impossible<(), E::Error>;

    refuse! {
        serde::ser::Error::custom(Unsupported);
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Result<(), E::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<(), E::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), E::Error> {
        Err(serde::ser::Error::custom(Unsupported))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, E::Error> {
        Ok(EntriesMap {
            sink: self.0,
            key: None,
        })
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, E::Error> {
        Ok(EntriesMap {
            sink: self.0,
            key: None,
        })
    }
}

/// Serializes a string (a map key, or `kind`) to a `String`; anything else fails.
struct KeyString;

impl Serializer for KeyString {
    type Ok = String;
    type Error = Unsupported;
    type SerializeSeq = serde::ser::Impossible<String, Unsupported>;
    type SerializeTuple = serde::ser::Impossible<String, Unsupported>;
    type SerializeTupleStruct = serde::ser::Impossible<String, Unsupported>;
    type SerializeTupleVariant = serde::ser::Impossible<String, Unsupported>;
    type SerializeMap = serde::ser::Impossible<String, Unsupported>;
    type SerializeStruct = serde::ser::Impossible<String, Unsupported>;
    type SerializeStructVariant = serde::ser::Impossible<String, Unsupported>;

    refuse! {
        serde::ser::Error::custom(Unsupported);
        serialize_bool(bool) -> String;
        serialize_i8(i8) -> String;
        serialize_i16(i16) -> String;
        serialize_i32(i32) -> String;
        serialize_i64(i64) -> String;
        serialize_u8(u8) -> String;
        serialize_u16(u16) -> String;
        serialize_u32(u32) -> String;
        serialize_u64(u64) -> String;
        serialize_f32(f32) -> String;
        serialize_f64(f64) -> String;
        serialize_char(char) -> String;
        serialize_bytes(&[u8]) -> String;
        serialize_none() -> String;
        serialize_unit() -> String;
        serialize_unit_struct(&'static str) -> String;
        serialize_unit_variant(&'static str, u32, &'static str) -> String;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_str(self, value: &str) -> Result<String, Unsupported> {
        Ok(value.to_owned())
    }
    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<String, Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<String, Unsupported> {
        Err(Unsupported)
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::manifest::{self, Object};

    /// Every way of rendering `object`, streamed and through a `Value`, must give the same text.
    fn assert_same(object: &(impl Serialize + ?Sized), what: &str) {
        for options in [
            RenderOptions::default(),
            RenderOptions::default().show_managed_fields(true),
        ] {
            let mut streamed = String::new();
            let streamed_ok = stream_into(&mut streamed, object, options);
            let mut value = String::new();
            render_value_into(&mut value, object, options).unwrap();
            if streamed_ok.is_ok() {
                assert_eq!(streamed, value, "{what} ({options:?})");
            }
            let mut rendered = String::new();
            render_into(&mut rendered, object, options).unwrap();
            assert_eq!(rendered, value, "{what} ({options:?})");
        }
    }

    /// The conformance fixtures' objects (typed, dynamic, as `Value`s with their top-level keys
    /// reversed) render the same streamed as through a `Value`, with and without
    /// `managedFields`; and the typed ones do stream.
    #[test]
    fn streaming_renders_as_the_value_path() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
        let mut objects: Vec<Object> = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "yaml")
                && let Ok(read) = manifest::from_yaml(&std::fs::read_to_string(&path).unwrap())
            {
                objects.extend(read);
            }
        }
        assert!(objects.len() > 20, "{} objects", objects.len());
        let managed = serde_json::json!([{ "manager": "kubectl", "operation": "Apply" }]);
        let mut streamed = 0;
        for mut object in objects {
            let what = format!("{} {:?}", object.kind(), object.name());
            assert_same(&object, &what);
            let mut out = String::new();
            if stream_into(&mut out, &object, RenderOptions::default()).is_ok() {
                streamed += 1;
            }
            object.metadata_mut().managed_fields =
                Some(serde_json::from_value(managed.clone()).unwrap());
            assert_same(&object, &format!("{what} with managedFields"));
            let value = serde_json::to_value(&object).unwrap();
            assert_same(&value, &format!("{what} as a Value"));
            let serde_json::Value::Object(map) = value else {
                panic!("{what} is not a map")
            };
            let reversed: serde_json::Map<_, _> = map.into_iter().rev().collect();
            assert_same(&reversed, &format!("{what} reversed"));
        }
        assert!(streamed > 20, "only {streamed} objects streamed");
    }

    /// Lists (whose items' `managedFields` go), a metadata with nothing but `managedFields`, and
    /// values that are not maps.
    #[test]
    fn streaming_edge_cases_render_as_the_value_path() {
        let list = serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [{ "kind": "Pod", "metadata": { "name": "a", "managedFields": [{ "manager": "x" }] } }],
        });
        assert_same(&list, "a List");
        let only_managed = serde_json::json!({
            "status": {}, "kind": "Pod", "metadata": { "managedFields": [{ "manager": "x" }] },
        });
        assert_same(&only_managed, "metadata with only managedFields");
        let scrambled = serde_json::json!({
            "status": { "phase": "Running" }, "data": { "a": "b" }, "spec": { "x": 1 },
            "kind": "Thing", "metadata": { "name": "t" }, "apiVersion": "example.com/v1",
        });
        assert_same(&scrambled, "keys out of kubectl's order");
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": { "name": "web" },
            "spec": { "containers": [{ "name": "web", "image": "nginx" }] },
            "status": { "phase": "Running" },
        }))
        .unwrap();
        assert_same(&pod, "a Pod with a status");
        let mut out = String::new();
        stream_into(&mut out, &pod, RenderOptions::default()).unwrap();
        assert!(out.find("spec:") < out.find("status:"), "{out}");
        assert_same(&serde_json::json!(["a", 1]), "a sequence");
        assert_same(&serde_json::json!("text"), "a string");
        assert_same(&std::collections::BTreeMap::from([(1, 2)]), "integer keys");
    }
}
