//! Snapshot assertions for objects read back from a cluster: what the server fills in and
//! what changes from run to run is replaced by stable placeholders, and unordered lists are
//! sorted, so that a snapshot holds across runs and providers.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// Metadata fields the server owns, replaced by `<redacted>` when present.
const SERVER_METADATA: &[&str] = &["uid", "resourceVersion", "creationTimestamp", "generation"];

/// Fields anywhere in an object whose values differ from run to run.
const VOLATILE: &[(&str, &str)] = &[
    ("uid", "<uid>"),
    ("podIP", "<pod-ip>"),
    ("hostIP", "<host-ip>"),
    ("clusterIP", "<cluster-ip>"),
    ("nodeName", "<node>"),
    ("containerID", "<container-id>"),
    ("imageID", "<image-id>"),
    ("startedAt", "<time>"),
    ("finishedAt", "<time>"),
    ("startTime", "<time>"),
    ("lastProbeTime", "<time>"),
    ("lastTransitionTime", "<time>"),
    ("lastUpdateTime", "<time>"),
    ("lastScheduleTime", "<time>"),
    ("lastSuccessfulTime", "<time>"),
    ("completionTime", "<time>"),
    ("observedGeneration", "<generation>"),
    ("pod-template-hash", "<hash>"),
    ("controller-revision-hash", "<hash>"),
    ("deployment.kubernetes.io/revision", "<revision>"),
];

/// Lists of addresses, replaced whole.
const VOLATILE_LISTS: &[(&str, &str)] = &[
    ("podIPs", "<pod-ip>"),
    ("hostIPs", "<host-ip>"),
    ("clusterIPs", "<cluster-ip>"),
];

/// `object` as a snapshot takes it: `managedFields` dropped; uids, resourceVersion,
/// creationTimestamp, generation, times, addresses, node names, container ids and hashes
/// replaced by placeholders (`<time>`, `<pod-ip>`, `<hash>`, ...); the object's namespace
/// replaced by `<namespace>` wherever it appears (a test namespace's name is random); a
/// generated name's random suffix and a ReplicaSet's or Pod's hash suffix replaced by
/// `<suffix>`; lists the API does not order (conditions, by type) sorted.
///
/// ```
/// use serde_json::json;
/// let pod = json!({
///     "metadata": {"name": "web-7d4b9c-x2k9p", "generateName": "web-7d4b9c-",
///                  "namespace": "my-test-a1b2c3", "uid": "0b1c",
///                  "labels": {"pod-template-hash": "7d4b9c"}},
///     "status": {"podIP": "10.98.0.7", "conditions": [
///         {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-04T10:00:00Z"},
///         {"type": "Initialized", "status": "True"}]}
/// });
/// let shown = kubekit::testing::redacted(&pod);
/// assert_eq!(shown["metadata"]["name"], "web-<hash>-<suffix>");
/// assert_eq!(shown["metadata"]["namespace"], "<namespace>");
/// assert_eq!(shown["metadata"]["uid"], "<redacted>");
/// assert_eq!(shown["status"]["podIP"], "<pod-ip>");
/// assert_eq!(shown["status"]["conditions"][0]["type"], "Initialized");
///
/// // A Deployment's messages name its ReplicaSet by a hash.
/// let deployment = json!({"kind": "Deployment", "metadata": {"name": "web"}, "status": {
///     "conditions": [{"type": "Progressing",
///                     "message": "ReplicaSet \"web-5d8f7c9b4\" has successfully progressed."}]}});
/// assert_eq!(
///     kubekit::testing::redacted(&deployment)["status"]["conditions"][0]["message"],
///     "ReplicaSet \"web-<hash>\" has successfully progressed."
/// );
/// ```
pub fn redacted<T: Serialize + ?Sized>(object: &T) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    let mut words: BTreeMap<String, String> = BTreeMap::new();
    if let Some(meta) = value.get("metadata").and_then(Value::as_object) {
        if let Some(ns) = meta.get("namespace").and_then(Value::as_str) {
            words.insert(ns.to_string(), "<namespace>".into());
        }
        let name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
        let labels = meta.get("labels").and_then(Value::as_object);
        let hash = labels
            .and_then(|l| {
                l.get("pod-template-hash")
                    .or_else(|| l.get("controller-revision-hash"))
            })
            .and_then(Value::as_str);
        if let Some(hash) = hash
            && hash.len() >= 5
        {
            words.insert(hash.to_string(), "<hash>".into());
        }
        if let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
            && let Some(suffix) = name.strip_prefix(prefix)
            && !suffix.is_empty()
        {
            words.insert(name.to_string(), format!("{prefix}<suffix>"));
        }
    }
    redact(&mut value, &words, None);
    // What a Deployment or CronJob names its children: `<name>-<hash>`.
    let name = value["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !name.is_empty() {
        hash_suffixes(&mut value, &format!("{name}-"));
    }
    // The volume of a pod's ServiceAccount token.
    hash_suffixes(&mut value, "kube-api-access-");
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("managedFields");
        for key in SERVER_METADATA {
            if meta.contains_key(*key) {
                meta.insert((*key).into(), Value::String("<redacted>".into()));
            }
        }
    }
    value
}

fn redact(value: &mut Value, words: &BTreeMap<String, String>, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let Some((_, placeholder)) = VOLATILE.iter().find(|(name, _)| name == k)
                    && !v.is_object()
                    && !v.is_array()
                {
                    *v = Value::String((*placeholder).into());
                    continue;
                }
                if let Some((_, placeholder)) = VOLATILE_LISTS.iter().find(|(name, _)| name == k) {
                    *v = Value::String((*placeholder).into());
                    continue;
                }
                redact(v, words, Some(k));
            }
            sort_keys(map);
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                redact(item, words, None);
            }
            if key == Some("conditions") {
                items.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
            }
        }
        Value::String(text) => {
            // Longest first, so that a generated name is replaced before its hash.
            let mut by_length: Vec<(&String, &String)> = words.iter().collect();
            by_length.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
            for (word, placeholder) in by_length {
                if text.contains(word.as_str()) {
                    *text = text.replace(word.as_str(), placeholder);
                }
            }
        }
        _ => {}
    }
}

/// Replaces `<prefix><5-10 lowercase letters or digits>` (a ReplicaSet's or Job's name made
/// by its owner, a token volume's name) with `<prefix><hash>` in every string.
fn hash_suffixes(value: &mut Value, prefix: &str) {
    match value {
        Value::String(text) => {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(at) = rest.find(prefix) {
                let after = &rest[at + prefix.len()..];
                let run = after
                    .bytes()
                    .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    .count();
                out.push_str(&rest[..at + prefix.len()]);
                if (5..=10).contains(&run) {
                    out.push_str("<hash>");
                    rest = &after[run..];
                } else {
                    rest = after;
                }
            }
            out.push_str(rest);
            *text = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| hash_suffixes(v, prefix)),
        Value::Object(map) => map.values_mut().for_each(|v| hash_suffixes(v, prefix)),
        _ => {}
    }
}

/// Keeps the object's key order (kubectl's), only making it independent of insertion order
/// for maps whose order is the server's whim (labels, annotations, data): sorted.
fn sort_keys(map: &mut Map<String, Value>) {
    for key in [
        "labels",
        "annotations",
        "data",
        "selector",
        "matchLabels",
        "nodeSelector",
    ] {
        if let Some(Value::Object(inner)) = map.get_mut(key) {
            let mut entries: Vec<(String, Value)> = std::mem::take(inner).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            inner.extend(entries);
        }
    }
}

/// The YAML an object snapshot holds: [`redacted`], rendered as kubectl would.
pub fn snapshot_yaml<T: Serialize + ?Sized>(object: &T) -> String {
    crate::manifest::to_yaml(&redacted(object)).unwrap_or_else(|e| format!("<unrenderable: {e}>"))
}

/// The YAML a list snapshot holds: each object [`redacted`], sorted by kind, namespace and
/// name, as a multi-document stream.
pub fn snapshot_yaml_all<T: Serialize>(objects: &[T]) -> String {
    let mut values: Vec<Value> = objects.iter().map(|o| redacted(o)).collect();
    values.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["kind"].as_str().unwrap_or_default().to_string(),
                v["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    crate::manifest::to_yaml_all(values.iter()).unwrap_or_else(|e| format!("<unrenderable: {e}>"))
}

/// Asserts that an object (anything `Serialize`: a `k8s-openapi` object read back from the
/// cluster) matches its insta snapshot, after [`redacted`](crate::testing::redacted) has
/// replaced what changes from run to run. Review new or changed snapshots with
/// `cargo insta review` (or accept them with `INSTA_UPDATE=always`).
///
/// ```no_run
/// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
/// let web: k8s_openapi::api::apps::v1::Deployment = client.get("web").await?;
/// kubekit::assert_object_snapshot!(web);                 // named after the test
/// kubekit::assert_object_snapshot!("web_deployment", web); // or named
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! assert_object_snapshot {
    ($object:expr $(,)?) => {
        $crate::testing::__private::insta::assert_snapshot!($crate::testing::snapshot_yaml(
            &$object
        ))
    };
    ($name:expr, $object:expr $(,)?) => {
        $crate::testing::__private::insta::assert_snapshot!(
            $name,
            $crate::testing::snapshot_yaml(&$object)
        )
    };
}

/// [`assert_object_snapshot!`] for a list of objects: each redacted, sorted by kind and name,
/// as one multi-document YAML snapshot.
///
/// ```no_run
/// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
/// let pods: Vec<k8s_openapi::api::core::v1::Pod> = client.list(("app", "web")).await?;
/// kubekit::assert_objects_snapshot!("web_pods", pods);
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! assert_objects_snapshot {
    ($objects:expr $(,)?) => {
        $crate::testing::__private::insta::assert_snapshot!($crate::testing::snapshot_yaml_all(
            &$objects
        ))
    };
    ($name:expr, $objects:expr $(,)?) => {
        $crate::testing::__private::insta::assert_snapshot!(
            $name,
            $crate::testing::snapshot_yaml_all(&$objects)
        )
    };
}
