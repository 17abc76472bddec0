//! Volumes and environment variables taken from built ConfigMaps, Secrets, claims and
//! ServiceAccounts: the reference is made from the object, so its name cannot be misspelled and a
//! missing key is an error when the container is built.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use k8s_openapi::api::core::v1 as core;

use super::built::{BuiltVolume, SourceRef};

mod sealed {
    pub trait Sealed {}
    impl Sealed for k8s_openapi::api::core::v1::ConfigMap {}
    impl Sealed for k8s_openapi::api::core::v1::Secret {}
    impl Sealed for k8s_openapi::api::core::v1::PersistentVolumeClaim {}
}

/// A ConfigMap or a Secret, whose keys a container can take environment variables from
/// ([`env_from`](crate::builders::ContainerBuilder::env_from),
/// [`env_value_from`](crate::builders::ContainerBuilder::env_value_from)).
///
/// ```
/// use kubekit::builders::{config_map, EnvSource};
/// let settings = config_map().name("settings").data("MODE", "fast").build()?;
/// assert_eq!((settings.kind(), settings.name()), ("ConfigMap", "settings"));
/// assert_eq!(settings.keys(), ["MODE"]);
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub trait EnvSource: sealed::Sealed {
    /// The kind: `ConfigMap` or `Secret`.
    fn kind(&self) -> &'static str;
    /// The object's name.
    fn name(&self) -> &str;
    /// The object's namespace, if it has one (a workload reading it must be in it).
    fn namespace(&self) -> Option<&str>;
    /// Its keys, in order.
    fn keys(&self) -> Vec<&str>;
    /// An `envFrom` entry taking every key as a variable.
    fn env_from_source(&self) -> core::EnvFromSource;
    /// A `valueFrom` taking the value of `key`.
    fn value_from(&self, key: &str) -> core::EnvVarSource;
}

impl EnvSource for core::ConfigMap {
    fn kind(&self) -> &'static str {
        "ConfigMap"
    }
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }
    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .data
            .iter()
            .flat_map(|d| d.keys())
            .chain(self.binary_data.iter().flat_map(|d| d.keys()))
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }
    fn env_from_source(&self) -> core::EnvFromSource {
        core::EnvFromSource {
            config_map_ref: Some(core::ConfigMapEnvSource {
                name: self.name().to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
    fn value_from(&self, key: &str) -> core::EnvVarSource {
        core::EnvVarSource {
            config_map_key_ref: Some(core::ConfigMapKeySelector {
                name: self.name().to_string(),
                key: key.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl EnvSource for core::Secret {
    fn kind(&self) -> &'static str {
        "Secret"
    }
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }
    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .data
            .iter()
            .flat_map(|d| d.keys())
            .chain(self.string_data.iter().flat_map(|d| d.keys()))
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
    fn env_from_source(&self) -> core::EnvFromSource {
        core::EnvFromSource {
            secret_ref: Some(core::SecretEnvSource {
                name: self.name().to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
    fn value_from(&self, key: &str) -> core::EnvVarSource {
        core::EnvVarSource {
            secret_key_ref: Some(core::SecretKeySelector {
                name: self.name().to_string(),
                key: key.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A ConfigMap, a Secret or a PersistentVolumeClaim, which a pod can mount as a volume
/// ([`volume_from`]).
///
/// ```
/// use kubekit::builders::{secret, VolumeFrom};
/// let tls = secret().name("web-tls").tls("cert", "key").build()?;
/// let mut volume = kubekit::k8s_openapi::api::core::v1::Volume::default();
/// tls.volume_source(&mut volume);
/// assert_eq!(volume.secret.and_then(|s| s.secret_name).as_deref(), Some("web-tls"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub trait VolumeFrom: sealed::Sealed {
    /// The volume source naming this object.
    fn volume_source(&self, volume: &mut core::Volume);
    /// The object's kind, name and namespace, and the field of a volume that names it
    /// (`configMap.name`).
    #[doc(hidden)]
    fn source_of_volume(&self) -> (&'static str, &str, Option<&str>, &'static str);
}

impl VolumeFrom for core::ConfigMap {
    fn volume_source(&self, volume: &mut core::Volume) {
        volume.config_map = Some(core::ConfigMapVolumeSource {
            name: self.name().to_string(),
            ..Default::default()
        });
    }
    fn source_of_volume(&self) -> (&'static str, &str, Option<&str>, &'static str) {
        ("ConfigMap", self.name(), self.namespace(), "configMap.name")
    }
}

impl VolumeFrom for core::Secret {
    fn volume_source(&self, volume: &mut core::Volume) {
        volume.secret = Some(core::SecretVolumeSource {
            secret_name: Some(self.name().to_string()),
            ..Default::default()
        });
    }
    fn source_of_volume(&self) -> (&'static str, &str, Option<&str>, &'static str) {
        ("Secret", self.name(), self.namespace(), "secret.secretName")
    }
}

impl VolumeFrom for core::PersistentVolumeClaim {
    fn volume_source(&self, volume: &mut core::Volume) {
        volume.persistent_volume_claim = Some(core::PersistentVolumeClaimVolumeSource {
            claim_name: self.metadata.name.clone().unwrap_or_default(),
            ..Default::default()
        });
    }
    fn source_of_volume(&self) -> (&'static str, &str, Option<&str>, &'static str) {
        (
            "PersistentVolumeClaim",
            self.metadata.name.as_deref().unwrap_or_default(),
            self.metadata.namespace.as_deref(),
            "persistentVolumeClaim.claimName",
        )
    }
}

/// A volume named `name` holding `source`: a ConfigMap's or a Secret's keys as files, or a
/// PersistentVolumeClaim's volume. The object's name is taken from the object itself, and its
/// namespace is kept in the [`BuiltVolume`]: a workload in another namespace refuses it.
///
/// ```
/// use kubekit::builders::{config_map, persistent_volume_claim, secret, volume_from};
///
/// let settings = config_map().name("web-config").data("nginx.conf", "...").build()?;
/// let tls = secret().name("web-tls").tls("cert", "key").build()?;
/// let uploads = persistent_volume_claim().name("uploads").storage("1Gi").build()?;
///
/// let v = volume_from("config", &settings);
/// assert_eq!(v.config_map.as_ref().map(|c| c.name.as_str()), Some("web-config"));
/// let v = volume_from("tls", &tls).into_inner();
/// assert_eq!(v.secret.and_then(|s| s.secret_name).as_deref(), Some("web-tls"));
/// let v = volume_from("data", &uploads).into_inner();
/// assert_eq!(v.persistent_volume_claim.map(|c| c.claim_name).as_deref(), Some("uploads"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn volume_from(name: impl Into<String>, source: &impl VolumeFrom) -> BuiltVolume {
    let mut volume = core::Volume {
        name: name.into(),
        ..Default::default()
    };
    source.volume_source(&mut volume);
    let (kind, source_name, namespace, field) = source.source_of_volume();
    BuiltVolume {
        volume,
        source: SourceRef::unplaced(kind, source_name, namespace, "", 0, field),
    }
}
