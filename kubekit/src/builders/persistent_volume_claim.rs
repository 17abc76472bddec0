//! PersistentVolumeClaims: storage a pod (or each pod of a StatefulSet) asks for.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::validate::Validate;

/// How a volume may be mounted (`accessModes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessMode {
    /// Read-write by the pods of a single node (`ReadWriteOnce`, what most storage offers).
    #[default]
    ReadWriteOnce,
    /// Read-only by many nodes (`ReadOnlyMany`).
    ReadOnlyMany,
    /// Read-write by many nodes (`ReadWriteMany`).
    ReadWriteMany,
    /// Read-write by a single pod (`ReadWriteOncePod`); may not be combined with other modes.
    ReadWriteOncePod,
}

impl AccessMode {
    /// The value Kubernetes uses, e.g. `ReadWriteOnce`.
    ///
    /// ```
    /// assert_eq!(kubekit::builders::AccessMode::ReadOnlyMany.as_str(), "ReadOnlyMany");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadOnlyMany => "ReadOnlyMany",
            AccessMode::ReadWriteMany => "ReadWriteMany",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
        }
    }
}

impl fmt::Display for AccessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a claim's volume is a filesystem or a raw block device (`volumeMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VolumeMode {
    /// A mounted filesystem (Kubernetes' default).
    #[default]
    Filesystem,
    /// A raw block device, for containers' `volumeDevices`.
    Block,
}

impl VolumeMode {
    /// The value Kubernetes uses: `Filesystem` or `Block`.
    ///
    /// ```
    /// assert_eq!(kubekit::builders::VolumeMode::Block.as_str(), "Block");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeMode::Filesystem => "Filesystem",
            VolumeMode::Block => "Block",
        }
    }
}

/// Builds a [`PersistentVolumeClaim`](k8s_openapi::api::core::v1::PersistentVolumeClaim).
///
/// `name` and `storage` (the size asked for, a quantity such as `1Gi`) are required: a claim
/// without either does not compile. The access mode is `ReadWriteOnce` unless set with
/// [`access_mode`](PersistentVolumeClaimBuilder::access_mode) (repeatable); the storage class
/// is the cluster's default unless set.
///
/// `build()` checks the name, the size (a valid quantity above zero), the access modes
/// (`ReadWriteOncePod` alone) and the storage class name. Mount the claim in a pod with
/// [`volume_from`](crate::builders::volume_from), or give it to a StatefulSet as a
/// [`volume_claim_template`](crate::builders::StatefulSetBuilder::volume_claim_template). It is
/// ready when `Bound`.
///
/// ```
/// use kubekit::builders::{persistent_volume_claim, AccessMode};
///
/// let data = persistent_volume_claim()
///     .name("data")
///     .storage("1Gi")
///     .storage_class("local-path")
///     .build()?;
/// let spec = data.spec.as_ref().expect("a claim has a spec");
/// assert_eq!(spec.access_modes.as_deref(), Some(&["ReadWriteOnce".to_string()][..]));
///
/// let err = persistent_volume_claim()
///     .name("data")
///     .storage("1GB")
///     .access_mode(AccessMode::ReadWriteMany)
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field, "spec.resources.requests.storage");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn persistent_volume_claim(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] access_modes: Vec<AccessMode>,
    /// The claim's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The size asked for (`resources.requests.storage`), a quantity such as `512Mi` or `10Gi`.
    storage: String,
    /// The most the volume may grow to (`resources.limits.storage`), where the storage
    /// supports it.
    storage_limit: Option<String>,
    /// The StorageClass to provision from (`storageClassName`); the cluster's default class
    /// when not set.
    storage_class: Option<String>,
    /// Filesystem (Kubernetes' default) or raw block device (`volumeMode`).
    volume_mode: Option<VolumeMode>,
) -> Result<core::PersistentVolumeClaim, ValidationError> {
    let modes = if access_modes.is_empty() {
        vec![AccessMode::ReadWriteOnce]
    } else {
        let mut modes = access_modes;
        let mut seen = Vec::new();
        modes.retain(|m| {
            let new = !seen.contains(m);
            seen.push(*m);
            new
        });
        modes
    };
    let limits = storage_limit.map(|limit| BTreeMap::from([("storage".into(), Quantity(limit))]));
    let claim = core::PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(core::PersistentVolumeClaimSpec {
            access_modes: Some(modes.iter().map(|m| m.as_str().to_string()).collect()),
            resources: Some(core::VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), Quantity(storage))])),
                limits,
                ..Default::default()
            }),
            storage_class_name: storage_class,
            volume_mode: volume_mode.map(|m| m.as_str().to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    claim.validate()?;
    Ok(claim)
}

metadata_setters!(
    PersistentVolumeClaimBuilder,
    persistent_volume_claim_builder::State,
    "PersistentVolumeClaim"
);

impl<S: persistent_volume_claim_builder::State> PersistentVolumeClaimBuilder<S> {
    /// Adds an access mode (`accessModes`); `ReadWriteOnce` when none is added.
    pub fn access_mode(mut self, mode: AccessMode) -> Self {
        self.access_modes.push(mode);
        self
    }
}
