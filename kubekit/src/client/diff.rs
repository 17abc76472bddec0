//! What an apply would change, like `kubectl diff --server-side`: each object's live state
//! against the server's dry run of the apply.

use std::{collections::BTreeSet, fmt};

use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use super::{
    ApplyOptions, ApplySet, Client, Error, ObjectRef, Result,
    apply::apply_value,
    manifest::{CONCURRENCY, Planned},
};
use crate::manifest::Object;

/// What applying one object would do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// It does not exist and would be created.
    Created,
    /// It exists and these fields would change (server-owned fields left out).
    Changed(Vec<FieldChange>),
    /// Applying it would change nothing.
    Unchanged,
    /// It is a member of the ApplySet that is not among the objects: an apply of the set
    /// would delete it.
    Pruned,
}

/// One field an apply would change: its path (`spec.template.spec.containers[0].image`) and
/// its value before and after (`None`: absent). Secret values are shown as `***`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FieldChange {
    /// The field's path; map keys with dots or slashes are quoted
    /// (`metadata.labels["app.kubernetes.io/name"]`).
    pub path: String,
    /// The live value.
    pub old: Option<Value>,
    /// The value after the apply.
    pub new: Option<Value>,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| match v {
            None => "(absent)".to_string(),
            Some(v) => v.to_string(),
        };
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// One object of a [`Diff`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DiffEntry {
    /// The object.
    pub object: ObjectRef,
    /// Its apiVersion.
    pub api_version: String,
    /// What the apply would do to it.
    pub change: Change,
    /// The live object (server-owned fields and Secret values masked), if it exists.
    pub live: Option<Value>,
    /// The object after the apply (the same way), unless it would be pruned.
    pub merged: Option<Value>,
}

impl DiffEntry {
    /// The file name kubectl diff gives the object: `apps.v1.Deployment.demo.web`.
    pub fn file_name(&self) -> String {
        let version = self.api_version.replace('/', ".");
        match &self.object.namespace {
            Some(ns) => format!("{version}.{}.{ns}.{}", self.object.kind, self.object.name),
            None => format!("{version}.{}.{}", self.object.kind, self.object.name),
        }
    }

    /// The unified diff of the live and merged object as YAML (empty when unchanged).
    pub fn unified(&self) -> String {
        if self.change == Change::Unchanged {
            return String::new();
        }
        let yaml = |v: &Option<Value>| {
            v.as_ref()
                .and_then(|v| crate::manifest::to_yaml(v).ok())
                .unwrap_or_default()
        };
        let (old, new) = (yaml(&self.live), yaml(&self.merged));
        let name = self.file_name();
        similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("LIVE/{name}"), &format!("MERGED/{name}"))
            .to_string()
    }
}

/// What an apply of a set of objects would change, object by object, from
/// [`Client::diff`] or [`Client::diff_set`].
///
/// Displayed as a unified diff of each object that would change, as `kubectl diff` shows
/// it (`--- LIVE/apps.v1.Deployment.demo.web`, `+++ MERGED/...`); nothing when nothing would.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Diff {
    /// Every object, in the order an apply would take them.
    pub entries: Vec<DiffEntry>,
}

impl Diff {
    /// Whether an apply would change nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|e| e.change == Change::Unchanged)
    }

    /// The entry of `kind` `name`.
    pub fn find(&self, kind: &str, name: &str) -> Option<&DiffEntry> {
        self.entries
            .iter()
            .find(|e| e.object.kind == kind && e.object.name == name)
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            f.write_str(&entry.unified())?;
        }
        Ok(())
    }
}

impl Client {
    /// What applying `objects` would change, like `kubectl diff --server-side -f`: each
    /// object is checked as [`apply_all`](Self::apply_all) checks it, sent as a server-side
    /// dry run, and compared with the live object. Fields the server owns (`managedFields`,
    /// `resourceVersion`, `generation`, `uid`, `creationTimestamp`, `status`) are left out,
    /// and Secret values are masked (`***`, as kubectl does).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// use kubekit::client::Change;
    ///
    /// let diff = client.diff(&objects).await?;
    /// print!("{diff}"); // --- LIVE/apps.v1.Deployment.demo.web  +++ MERGED/...
    /// for entry in &diff.entries {
    ///     if let Change::Changed(fields) = &entry.change {
    ///         for field in fields {
    ///             println!("{}: {field}", entry.object); // spec.replicas: 2 -> 3
    ///         }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply_all`](Self::apply_all) before its first write; nothing is ever written.
    pub async fn diff(&self, objects: &[Object]) -> Result<Diff> {
        let planned = self.plan_objects(objects).await?;
        self.diff_planned(&planned).await
    }

    /// [`diff`](Self::diff) of an apply of `objects` as the set `set`
    /// ([`apply_set`](Self::apply_set)): the members' labels included, and the members the
    /// apply would prune as [`Change::Pruned`].
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, objects: Vec<kubekit::manifest::Object>) -> kubekit::Result<()> {
    /// let set = kubekit::client::ApplySet::new("shop", client.namespace());
    /// print!("{}", client.diff_set(&set, &objects).await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`diff`](Self::diff), and [`Error::ApplySet`] when the parent belongs to another
    /// tool or set.
    pub async fn diff_set(&self, set: &ApplySet, objects: &[Object]) -> Result<Diff> {
        let mut planned = self.plan_objects(objects).await?;
        let id = set.id();
        for p in &mut planned {
            super::applyset::label_member(p, &id)?;
        }
        let mut diff = self.diff_planned(&planned).await?;
        for gone in self.would_prune(set, &planned).await? {
            let live = self.get_dynamic(&gone).await?;
            diff.entries.push(DiffEntry {
                api_version: live
                    .as_ref()
                    .and_then(|l| l["apiVersion"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                object: gone.object,
                change: Change::Pruned,
                live: live.map(|mut l| {
                    comparable(&mut l);
                    l
                }),
                merged: None,
            });
        }
        Ok(diff)
    }

    async fn diff_planned(&self, planned: &[Planned]) -> Result<Diff> {
        let created_namespaces: BTreeSet<&str> = planned
            .iter()
            .filter(|p| p.resource.group.is_empty() && p.resource.kind == "Namespace")
            .map(|p| p.object.name.as_str())
            .collect();
        let dry = self.patch_params(ApplyOptions::dry_run());
        let entries = planned.iter().map(|p| {
            let dry = &dry;
            let created_namespaces = &created_namespaces;
            async move {
                let api = self.dynamic_api(p);
                let live = api
                    .get_opt(&p.object.name)
                    .await
                    .map_err(|e| Error::from_kube(e, p.object.clone()))?
                    .map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
                let merged = match apply_value(&api, &p.object, &p.body, dry).await {
                    Ok((merged, _)) => serde_json::to_value(merged).unwrap_or(Value::Null),
                    // In a Namespace the same set creates: what would be sent.
                    Err(Error::NotFound { .. })
                        if p.object
                            .namespace
                            .as_deref()
                            .is_some_and(|ns| created_namespaces.contains(ns)) =>
                    {
                        p.body.clone()
                    }
                    Err(e) => {
                        return Err(Error::Document {
                            document: p.document,
                            source: Box::new(e),
                        });
                    }
                };
                Ok(entry(p, live, merged))
            }
        });
        let entries = futures::stream::iter(entries)
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Diff { entries })
    }

    async fn get_dynamic(&self, pruned: &super::PrunedObject) -> Result<Option<Value>> {
        let (kind, group) = pruned
            .group_kind
            .split_once('.')
            .unwrap_or((pruned.group_kind.as_str(), ""));
        let resources = self.api_resources().await?;
        let Some(r) = resources
            .iter()
            .find(|r| r.kind == kind && r.group() == group)
        else {
            return Ok(None);
        };
        let (resource, _) = r.api_resource();
        let api: kube::Api<kube::api::DynamicObject> = match &pruned.object.namespace {
            Some(ns) => kube::Api::namespaced_with(self.inner.clone(), ns, &resource),
            None => kube::Api::all_with(self.inner.clone(), &resource),
        };
        Ok(api
            .get_opt(&pruned.object.name)
            .await
            .map_err(|e| Error::from_kube(e, pruned.object.clone()))?
            .map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }
}

/// The entry of one planned object, from its live state and the dry run's result.
fn entry(p: &Planned, live: Option<Value>, merged: Value) -> DiffEntry {
    let mut merged = merged;
    comparable(&mut merged);
    let mut live = live.map(|mut l| {
        comparable(&mut l);
        l
    });
    if p.resource.group.is_empty() && p.resource.kind == "Secret" {
        mask_secret(live.as_mut(), &mut merged);
    }
    let change = match &live {
        None => Change::Created,
        Some(live) if *live == merged => Change::Unchanged,
        Some(live) => {
            let mut fields = Vec::new();
            changes("", Some(live), Some(&merged), &mut fields);
            if fields.is_empty() {
                Change::Unchanged
            } else {
                Change::Changed(fields)
            }
        }
    };
    DiffEntry {
        object: p.object.clone(),
        api_version: p.api_version.clone(),
        change,
        live,
        merged: Some(merged),
    }
}

/// Leaves out what the server owns.
fn comparable(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
            ] {
                meta.remove(key);
            }
        }
    }
}

/// Replaces Secret values with `***` (`*** (before)` / `*** (after)` where they differ), as
/// kubectl diff does.
fn mask_secret(live: Option<&mut Value>, merged: &mut Value) {
    let before: Map<String, Value> = live
        .as_ref()
        .and_then(|l| l.get("data"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let after: Map<String, Value> = merged
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let masked = |mine: &Map<String, Value>, other: &Map<String, Value>, tag: &str| {
        mine.iter()
            .map(|(k, v)| {
                let text = if other.get(k) == Some(v) {
                    "***".to_string()
                } else {
                    format!("*** ({tag})")
                };
                (k.clone(), Value::String(text))
            })
            .collect::<Map<String, Value>>()
    };
    if let Some(live) = live
        && let Some(data) = live.get_mut("data")
    {
        *data = Value::Object(masked(&before, &after, "before"));
    }
    if let Some(data) = merged.get_mut("data") {
        *data = Value::Object(masked(&after, &before, "after"));
    }
}

/// The leaf fields that differ between `old` and `new` under `path`.
fn changes(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (key, value) in a {
                changes(&join(path, key), Some(value), b.get(key), out);
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    changes(&join(path, key), None, Some(value), out);
                }
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                changes(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path: path.to_string(),
            old: a.cloned(),
            new: b.cloned(),
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    let quoted = key.contains(['.', '/', '[', ']', '"']);
    match (path.is_empty(), quoted) {
        (_, true) => format!("{path}[{key:?}]"),
        (true, false) => key.to_string(),
        (false, false) => format!("{path}.{key}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_changes_name_their_paths() {
        let old = json!({"metadata": {"labels": {"app.kubernetes.io/name": "web", "tier": "a"}},
                         "spec": {"replicas": 2, "template": {"spec": {"containers": [
                             {"name": "web", "image": "nginx:1.27"}]}}}});
        let new = json!({"metadata": {"labels": {"app.kubernetes.io/name": "shop"}},
                         "spec": {"replicas": 3, "paused": true, "template": {"spec": {"containers": [
                             {"name": "web", "image": "nginx:1.28"}]}}}});
        let mut out = Vec::new();
        changes("", Some(&old), Some(&new), &mut out);
        let shown: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"metadata.labels["app.kubernetes.io/name"]: "web" -> "shop""#,
                r#"metadata.labels.tier: "a" -> (absent)"#,
                "spec.replicas: 2 -> 3",
                r#"spec.template.spec.containers[0].image: "nginx:1.27" -> "nginx:1.28""#,
                "spec.paused: (absent) -> true",
            ]
        );
    }

    #[test]
    fn secret_values_are_masked() {
        let mut live = json!({"data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}});
        let mut merged = json!({"data": {"same": "YQ==", "changed": "ZA==", "new": "ZQ=="}});
        mask_secret(Some(&mut live), &mut merged);
        assert_eq!(
            live,
            json!({"data": {"same": "***", "changed": "*** (before)", "gone": "*** (before)"}})
        );
        assert_eq!(
            merged,
            json!({"data": {"same": "***", "changed": "*** (after)", "new": "*** (after)"}})
        );
        assert!(!format!("{live}{merged}").contains("=="));
    }
}
