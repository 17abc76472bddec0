//! ServiceAccounts: the identity a workload's pods call the API server with.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::{non_empty, non_empty_map};
use super::pod::metadata_setters;
use super::validate::Validate;

/// Builds a [`ServiceAccount`](k8s_openapi::api::core::v1::ServiceAccount).
///
/// `name` (a DNS-1123 subdomain) is required. Pods run as it with
/// [`service_account_from`](crate::builders::PodTemplateBuilder::service_account_from); give
/// it rights with a RoleBinding.
///
/// ```
/// use kubekit::builders::{secret, service_account};
///
/// let pull = secret().name("registry").docker_config_json(r#"{"auths":{}}"#).build()?;
/// let worker = service_account()
///     .name("worker")
///     .namespace("shop")
///     .automount_token(false)
///     .image_pull_secret(&pull)
///     .build()?;
/// assert_eq!(worker.automount_service_account_token, Some(false));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn service_account(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] image_pull_secrets: Vec<core::LocalObjectReference>,
    /// The ServiceAccount's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// Whether pods running as it get its API token mounted
    /// (`automountServiceAccountToken`, Kubernetes' default: yes); a pod may override it.
    automount_token: Option<bool>,
) -> Result<core::ServiceAccount, ValidationError> {
    let account = core::ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        automount_service_account_token: automount_token,
        image_pull_secrets: non_empty(image_pull_secrets),
        ..Default::default()
    };
    account.validate()?;
    Ok(account)
}

metadata_setters!(
    ServiceAccountBuilder,
    service_account_builder::State,
    "ServiceAccount"
);

impl<S: service_account_builder::State> ServiceAccountBuilder<S> {
    /// Adds a Secret (of type `kubernetes.io/dockerconfigjson`) that pods running as this
    /// account pull their images with (`imagePullSecrets`); its name comes from the Secret.
    pub fn image_pull_secret(mut self, secret: &core::Secret) -> Self {
        self.image_pull_secrets.push(core::LocalObjectReference {
            name: secret.metadata.name.clone().unwrap_or_default(),
            ..Default::default()
        });
        self
    }
}
