//! Applying a multi-document YAML manifest: all documents checked before any is sent.

use std::{
    collections::{BTreeSet, HashMap},
    fmt,
};

use kube::{
    Api,
    api::DynamicObject,
    discovery::{ApiResource, Scope},
};
use serde_json::Value;

use super::{
    ApplyOptions, ApplyOutcome, Client, Error, ObjectRef, Result,
    apply::{apply_value, prepare_body},
};
use crate::manifest::{self, Object};

/// One object of an applied manifest and what the apply did to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedObject {
    /// The 1-based number of the document the object came from.
    pub document: usize,
    /// The object's apiVersion, e.g. `apps/v1`.
    pub api_version: String,
    /// The object's kind, e.g. `Deployment`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The object's namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Whether it was created, changed or left as it was.
    pub outcome: ApplyOutcome,
}

impl AppliedObject {
    /// The reference to the object.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(&self.kind, self.namespace.as_deref(), &self.name)
    }
}

/// What [`Client::apply_manifest`] did, object by object, in the order they were applied
/// (Namespaces first, then the rest in document order).
///
/// Displayed like `kubectl apply`: `namespace/shop created`, `deployment.apps/web configured`,
/// `pod/web2 unchanged`, one a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyReport {
    /// The applied objects.
    pub objects: Vec<AppliedObject>,
    /// Whether this was a server-side dry run (nothing stored).
    pub dry_run: bool,
}

impl ApplyReport {
    /// The entry for `kind` `name`, if the manifest had one.
    pub fn find(&self, kind: &str, name: &str) -> Option<&AppliedObject> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
    }

    /// How many objects had `outcome`.
    pub fn count(&self, outcome: ApplyOutcome) -> usize {
        self.objects.iter().filter(|o| o.outcome == outcome).count()
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.objects {
            let group = o
                .api_version
                .rsplit_once('/')
                .map_or(String::new(), |(g, _)| format!(".{g}"));
            write!(
                f,
                "{}{group}/{} {}",
                o.kind.to_lowercase(),
                o.name,
                o.outcome
            )?;
            if self.dry_run {
                f.write_str(" (server dry run)")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// One document, checked and resolved, ready to send.
struct Planned {
    document: usize,
    api_version: String,
    resource: ApiResource,
    scope: Scope,
    object: ObjectRef,
    body: Value,
}

/// Whether the server refused `failed`'s dry run because another object of the manifest does
/// not exist yet: its message names that object as not found (`serviceaccount "app" not
/// found`), in the same namespace.
fn needs_planned(error: &Error, failed: &Planned, planned: &[Planned]) -> bool {
    let message = error.to_string();
    planned.iter().any(|other| {
        !std::ptr::eq(other, failed)
            && other.object.namespace == failed.object.namespace
            && message.contains(&format!(
                "{} \"{}\" not found",
                other.resource.kind.to_lowercase(),
                other.object.name
            ))
    })
}

impl Client {
    /// Applies every object of a multi-document YAML manifest, like
    /// `kubectl apply --server-side -f web-pod.yaml`, all or nothing as far as checking goes:
    ///
    /// 1. the YAML is read with [`manifest::from_yaml`] (syntax, unknown fields, wrong
    ///    apiVersions are errors);
    /// 2. every document is validated with the builders' rules (known kinds), must have a
    ///    name, and its apiVersion and kind must be served by the cluster (discovery);
    /// 3. every object is sent as a server-side dry run;
    /// 4. only when all of that passed are the objects applied, Namespaces first.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// let report = client.apply_manifest(&std::fs::read_to_string("web-pod.yaml").expect("file")).await?;
    /// print!("{report}"); // pod/web2 created
    /// # Ok(()) }
    /// ```
    ///
    /// Objects in a Namespace the same manifest creates cannot be dry-run before it exists,
    /// nor objects the server refuses because another object of the manifest does not exist
    /// yet (a Pod whose ServiceAccount the manifest creates); they are checked by the real
    /// apply, which creates what they need first, as `kubectl apply -f` does.
    ///
    /// # Errors
    ///
    /// Nothing is sent when
    /// - the YAML cannot be read: [`Error::Manifest`] (with document, line and column);
    /// - a document breaks a validation rule or has no name: [`Error::Document`] wrapping
    ///   [`Error::Validation`] / [`Error::BadObject`];
    /// - a kind is not served: [`Error::UnknownKind`] naming the document, apiVersion and kind;
    /// - the server's dry run rejects a document: [`Error::Document`] wrapping
    ///   [`Error::Invalid`], [`Error::Conflict`], ...
    ///
    /// An error while applying for real (after the checks passed) is returned as
    /// [`Error::Document`] too; the objects before it stay applied.
    pub async fn apply_manifest(&self, yaml: &str) -> Result<ApplyReport> {
        self.apply_manifest_with(yaml, ApplyOptions::default())
            .await
    }

    /// [`apply_manifest`](Self::apply_manifest) with [`ApplyOptions`] (`force`, or `dry_run`
    /// to stop after the checks).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client, yaml: &str) -> kubekit::Result<()> {
    /// use kubekit::client::ApplyOptions;
    ///
    /// let report = client.apply_manifest_with(yaml, ApplyOptions::dry_run()).await?;
    /// print!("{report}"); // pod/web2 created (server dry run)
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`apply_manifest`](Self::apply_manifest).
    pub async fn apply_manifest_with(
        &self,
        yaml: &str,
        options: ApplyOptions,
    ) -> Result<ApplyReport> {
        let documents = manifest::from_yaml_documents(yaml)?;
        let mut cache = HashMap::new();
        let mut planned = Vec::with_capacity(documents.len());
        for document in documents {
            planned.push(
                self.plan(document.object, document.index, &mut cache)
                    .await?,
            );
        }
        // Namespaces first, the rest in document order.
        planned.sort_by_key(|p| !(p.resource.group.is_empty() && p.resource.kind == "Namespace"));

        let created_namespaces: BTreeSet<&str> = planned
            .iter()
            .filter(|p| p.resource.group.is_empty() && p.resource.kind == "Namespace")
            .map(|p| p.object.name.as_str())
            .collect();
        let dry = self.patch_params(ApplyOptions {
            dry_run: true,
            ..options
        });
        let mut dry_outcomes = Vec::with_capacity(planned.len());
        for p in &planned {
            match apply_value(&self.dynamic_api(p), &p.object, &p.body, &dry).await {
                Ok((_, outcome)) => dry_outcomes.push(outcome),
                // Its namespace is created by this very manifest: the real apply checks it.
                Err(Error::NotFound { .. })
                    if p.object
                        .namespace
                        .as_deref()
                        .is_some_and(|ns| created_namespaces.contains(ns)) =>
                {
                    dry_outcomes.push(ApplyOutcome::Created);
                }
                // It needs an object this manifest creates (a Pod's ServiceAccount, which
                // admission looks up): `kubectl apply -f` creates that first, and so does the
                // real apply; it checks this one.
                Err(e) if needs_planned(&e, p, &planned) => {
                    dry_outcomes.push(ApplyOutcome::Created);
                }
                Err(e) => {
                    return Err(Error::Document {
                        document: p.document,
                        source: Box::new(e),
                    });
                }
            }
        }

        let mut report = ApplyReport {
            objects: Vec::with_capacity(planned.len()),
            dry_run: options.dry_run,
        };
        let real = self.patch_params(options);
        for (p, dry_outcome) in planned.into_iter().zip(dry_outcomes) {
            let outcome = if options.dry_run {
                dry_outcome
            } else {
                apply_value(&self.dynamic_api(&p), &p.object, &p.body, &real)
                    .await
                    .map_err(|e| Error::Document {
                        document: p.document,
                        source: Box::new(e),
                    })?
                    .1
            };
            report.objects.push(AppliedObject {
                document: p.document,
                api_version: p.api_version,
                kind: p.object.kind,
                name: p.object.name,
                namespace: p.object.namespace,
                outcome,
            });
        }
        Ok(report)
    }

    async fn plan(
        &self,
        object: Object,
        document: usize,
        cache: &mut HashMap<
            (String, String),
            Option<(ApiResource, kube::discovery::ApiCapabilities)>,
        >,
    ) -> Result<Planned> {
        let in_document = |e: Error| Error::Document {
            document,
            source: Box::new(e),
        };
        object.validate().map_err(|e| in_document(Error::from(e)))?;
        let api_version = object.api_version().to_string();
        let kind = object.kind().to_string();
        let Some((resource, scope)) = self.resolve_kind(&api_version, &kind, cache).await? else {
            return Err(Error::UnknownKind {
                document,
                api_version,
                kind,
            });
        };
        let namespace = match scope {
            Scope::Namespaced => Some(object.namespace().unwrap_or(&self.namespace).to_string()),
            Scope::Cluster => None,
        };
        let name = object.name().unwrap_or_default().to_string();
        let object_ref = ObjectRef {
            kind: kind.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
        };
        if name.is_empty() {
            return Err(in_document(Error::BadObject {
                object: Box::new(object_ref),
                message: "metadata.name is required for apply".into(),
            }));
        }
        let mut body = object
            .to_value()
            .map_err(|e| in_document(Error::Manifest(e)))?;
        prepare_body(&mut body);
        if let (Some(ns), Some(meta)) = (
            &namespace,
            body.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            meta.insert("namespace".into(), Value::String(ns.clone()));
        }
        Ok(Planned {
            document,
            api_version,
            resource,
            scope,
            object: object_ref,
            body,
        })
    }

    fn dynamic_api(&self, planned: &Planned) -> Api<DynamicObject> {
        let api = Api::dynamic(self.inner.clone(), &planned.resource, &planned.scope);
        match &planned.object.namespace {
            Some(ns) => api.constrain(ns),
            None => api,
        }
    }
}
