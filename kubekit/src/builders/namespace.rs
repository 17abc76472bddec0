//! Namespaces.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::validate::Validate;

/// Builds a [`Namespace`](k8s_openapi::api::core::v1::Namespace).
///
/// `name` (a DNS-1123 label) is required.
///
/// ```
/// use kubekit::builders::namespace;
///
/// let ns = namespace().name("team-a").label("team", "a").build()?;
/// assert_eq!(ns.metadata.name.as_deref(), Some("team-a"));
/// assert!(namespace().name("team_a").build().is_err());
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn namespace(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    /// The Namespace's name, a DNS-1123 label.
    name: String,
) -> Result<core::Namespace, ValidationError> {
    let namespace = core::Namespace {
        metadata: ObjectMeta {
            name: Some(name),
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        ..Default::default()
    };
    namespace.validate()?;
    Ok(namespace)
}

metadata_setters!(NamespaceBuilder, namespace_builder::State, "Namespace");
