//! Server-side apply of typed objects.

use std::fmt::{self, Debug};

use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::{ApiObject, Client, Error, ObjectRef, Result};

/// What an apply did to the object on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyOutcome {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed.
    Configured,
    /// The object existed and the apply changed nothing in it: no new resourceVersion, or one
    /// that only records field ownership or a concurrent status update.
    Unchanged,
}

impl fmt::Display for ApplyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApplyOutcome::Created => "created",
            ApplyOutcome::Configured => "configured",
            ApplyOutcome::Unchanged => "unchanged",
        })
    }
}

/// Options of [`Client::apply_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Take over fields other field managers own instead of failing with
    /// [`Error::Conflict`].
    pub force: bool,
    /// Have the server validate and default the object without persisting it.
    pub dry_run: bool,
}

impl ApplyOptions {
    /// Options that take over conflicting fields.
    #[must_use]
    pub fn force() -> Self {
        Self {
            force: true,
            ..Self::default()
        }
    }

    /// Options for a server-side dry run.
    #[must_use]
    pub fn dry_run() -> Self {
        Self {
            dry_run: true,
            ..Self::default()
        }
    }
}

/// The result of an apply: the object as the server holds it now, and what changed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Applied<K> {
    /// The object as the server returned it (defaulted, with status and resourceVersion).
    pub object: K,
    /// Whether it was created, changed or left as it was.
    pub outcome: ApplyOutcome,
}

impl Client {
    /// Server-side applies `object` as this client's field manager (default `kubekit`),
    /// without taking over fields other managers own.
    ///
    /// Namespaced objects without a namespace go to the client's namespace. Re-applying the
    /// same object reports [`ApplyOutcome::Unchanged`] and leaves the resourceVersion alone.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use k8s_openapi::api::core::v1::ConfigMap;
    /// use kubekit::client::ApplyOutcome;
    ///
    /// let cm = ConfigMap {
    ///     metadata: kube::api::ObjectMeta { name: Some("settings".into()), ..Default::default() },
    ///     data: Some([("mode".to_string(), "fast".to_string())].into()),
    ///     ..Default::default()
    /// };
    /// let applied = client.apply(&cm).await?;
    /// assert_eq!(client.apply(&cm).await?.outcome, ApplyOutcome::Unchanged);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::BadObject`] when the object has no name;
    /// - [`Error::Validation`] when a Pod, Deployment, ReplicaSet, Service or Namespace breaks
    ///   a rule of [`builders::validate`](crate::builders::validate) (nothing is sent);
    /// - [`Error::Conflict`] when another field manager owns a field the object sets to a
    ///   different value, naming the manager and the fields;
    /// - [`Error::Invalid`] when the server rejects the object (422), with its causes;
    /// - [`Error::Rejected`] / [`Error::Kube`] for other failures.
    pub async fn apply<K: ApiObject>(&self, object: &K) -> Result<Applied<K>> {
        self.apply_with(object, ApplyOptions::default()).await
    }

    /// [`apply`](Self::apply) with [`ApplyOptions`]: `force` to take over conflicting fields,
    /// `dry_run` to have the server check the object without storing it.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, pod: k8s_openapi::api::core::v1::Pod)
    /// # -> kubekit::Result<()> {
    /// use kubekit::client::ApplyOptions;
    ///
    /// client.apply_with(&pod, ApplyOptions::dry_run()).await?; // checked, not stored
    /// client.apply_with(&pod, ApplyOptions::force()).await?; // owns every field it sets
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply`](Self::apply); with `force`, never [`Error::Conflict`].
    pub async fn apply_with<K: ApiObject>(
        &self,
        object: &K,
        options: ApplyOptions,
    ) -> Result<Applied<K>> {
        let meta = object.meta();
        let namespace = meta.namespace.as_deref();
        let name = meta.name.clone().unwrap_or_default();
        let object_ref = self.object_ref::<K>(namespace, &name);
        if name.is_empty() {
            return Err(Error::BadObject {
                object: Box::new(object_ref),
                message: "metadata.name is required for apply".into(),
            });
        }
        validate_known(object)?;
        let mut body = serde_json::to_value(object).map_err(|e| Error::BadObject {
            object: Box::new(object_ref.clone()),
            message: format!("cannot be serialized: {e}"),
        })?;
        prepare_body(&mut body);
        let api: Api<K> = self.api(namespace);
        let (object, outcome) =
            apply_value(&api, &object_ref, &body, &self.patch_params(options)).await?;
        Ok(Applied { object, outcome })
    }

    pub(crate) fn patch_params(&self, options: ApplyOptions) -> PatchParams {
        let mut params = PatchParams::apply(&self.field_manager).validation_strict();
        params.force = options.force;
        params.dry_run = options.dry_run;
        params
    }
}

/// Runs the validation of the kinds kubekit knows ([`Kind`](crate::kinds::Kind)); other
/// types pass.
fn validate_known<K: ApiObject>(object: &K) -> Result<()> {
    match crate::manifest::object::validate_any(object) {
        Some(checked) => checked.map_err(Error::from),
        None => Ok(()),
    }
}

/// Removes what the server owns or what would turn the apply into a precondition check:
/// managedFields (must be empty in an apply), resourceVersion, uid, creationTimestamp,
/// generation and status.
pub(crate) fn prepare_body(body: &mut Value) {
    if let Some(map) = body.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in crate::manifest::render::SERVER_METADATA {
                meta.remove(*key);
            }
        }
    }
}

/// Applies `body` through `api` and works out what changed by comparing the object before and
/// after.
#[tracing::instrument(name = "apply", level = "debug", skip_all, fields(kind = %object.kind, namespace = object.namespace.as_deref(), name = %object.name, dry_run = params.dry_run))]
pub(crate) async fn apply_value<T>(
    api: &Api<T>,
    object: &ObjectRef,
    body: &Value,
    params: &PatchParams,
) -> Result<(T, ApplyOutcome)>
where
    T: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let before = api
        .get_opt(&object.name)
        .await
        .map_err(|e| Error::from_kube(e, object.clone()))?;
    let after = api
        .patch(&object.name, params, &Patch::Apply(body))
        .await
        .map_err(|e| Error::from_kube(e, object.clone()))?;
    let outcome = match before {
        None => ApplyOutcome::Created,
        Some(before) => outcome_between(&before, &after),
    };
    tracing::debug!(%outcome, "applied");
    Ok((after, outcome))
}

/// Applies `body` through `api` when the object's state before is known already (`None`: it
/// does not exist), saving the read [`apply_value`] makes.
pub(crate) async fn apply_known<T>(
    api: &Api<T>,
    object: &ObjectRef,
    body: &Value,
    params: &PatchParams,
    before: Option<&T>,
) -> Result<(T, ApplyOutcome)>
where
    T: Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    let after = api
        .patch(&object.name, params, &Patch::Apply(body))
        .await
        .map_err(|e| Error::from_kube(e, object.clone()))?;
    let outcome = match before {
        None => ApplyOutcome::Created,
        Some(before) => outcome_between(before, &after),
    };
    Ok((after, outcome))
}

/// `Unchanged` when the resourceVersion did not move, or when only what is not the object's
/// content moved (status, e.g. a controller updating it in between, and managedFields);
/// `Configured` otherwise.
fn outcome_between<T: Resource + Serialize>(before: &T, after: &T) -> ApplyOutcome {
    let rv_before = before.meta().resource_version.as_deref();
    if rv_before.is_some() && rv_before == after.meta().resource_version.as_deref() {
        return ApplyOutcome::Unchanged;
    }
    match (serde_json::to_value(before), serde_json::to_value(after)) {
        (Ok(mut b), Ok(mut a)) => {
            comparable(&mut b);
            comparable(&mut a);
            if a == b {
                ApplyOutcome::Unchanged
            } else {
                ApplyOutcome::Configured
            }
        }
        _ => ApplyOutcome::Configured,
    }
}

fn comparable(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            // Field ownership is bookkeeping: the server records it even when no value moves
            // (e.g. `before-first-apply` on the first apply over an object created otherwise).
            meta.remove("managedFields");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn cm(rv: &str, data: &str, status_like_annotation: Option<&str>) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("c".into()),
                resource_version: Some(rv.into()),
                annotations: status_like_annotation
                    .map(|a| [("a".to_string(), a.to_string())].into()),
                ..Default::default()
            },
            data: Some([("k".to_string(), data.to_string())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn outcome_follows_resource_version_and_content() {
        assert_eq!(
            outcome_between(&cm("1", "x", None), &cm("1", "x", None)),
            ApplyOutcome::Unchanged
        );
        assert_eq!(
            outcome_between(&cm("1", "x", None), &cm("2", "y", None)),
            ApplyOutcome::Configured
        );
        // Moved only by someone else's status write in between: nothing the apply changed.
        assert_eq!(
            outcome_between(&cm("1", "x", None), &cm("2", "x", None)),
            ApplyOutcome::Unchanged
        );
        assert_eq!(
            outcome_between(&cm("1", "x", None), &cm("2", "x", Some("new"))),
            ApplyOutcome::Configured
        );
    }

    #[test]
    fn body_loses_server_owned_fields() {
        let mut body = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "4", "uid": "u", "managedFields": [],
                         "labels": {"a": "b"}},
            "status": {}
        });
        prepare_body(&mut body);
        assert_eq!(
            body,
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "c", "labels": {"a": "b"}}})
        );
    }
}
