//! Volumes and environment variables taken from built ConfigMaps, Secrets, claims and
//! ServiceAccounts: the reference is made from the object, so its name cannot be misspelled and a
//! missing key is an error when the container is built.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use k8s_openapi::api::core::v1 as core;

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
}

impl VolumeFrom for core::ConfigMap {
    fn volume_source(&self, volume: &mut core::Volume) {
        volume.config_map = Some(core::ConfigMapVolumeSource {
            name: self.name().to_string(),
            ..Default::default()
        });
    }
}

impl VolumeFrom for core::Secret {
    fn volume_source(&self, volume: &mut core::Volume) {
        volume.secret = Some(core::SecretVolumeSource {
            secret_name: Some(self.name().to_string()),
            ..Default::default()
        });
    }
}

impl VolumeFrom for core::PersistentVolumeClaim {
    fn volume_source(&self, volume: &mut core::Volume) {
        volume.persistent_volume_claim = Some(core::PersistentVolumeClaimVolumeSource {
            claim_name: self.metadata.name.clone().unwrap_or_default(),
            ..Default::default()
        });
    }
}

/// A volume named `name` holding `source`: a ConfigMap's or a Secret's keys as files, or a
/// PersistentVolumeClaim's volume. The object's name is taken from the object itself.
///
/// ```
/// use kubekit::builders::{config_map, persistent_volume_claim, secret, volume_from};
///
/// let settings = config_map().name("web-config").data("nginx.conf", "...").build()?;
/// let tls = secret().name("web-tls").tls("cert", "key").build()?;
/// let uploads = persistent_volume_claim().name("uploads").storage("1Gi").build()?;
///
/// let v = volume_from("config", &settings);
/// assert_eq!(v.config_map.map(|c| c.name).as_deref(), Some("web-config"));
/// let v = volume_from("tls", &tls);
/// assert_eq!(v.secret.and_then(|s| s.secret_name).as_deref(), Some("web-tls"));
/// let v = volume_from("data", &uploads);
/// assert_eq!(v.persistent_volume_claim.map(|c| c.claim_name).as_deref(), Some("uploads"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn volume_from(name: impl Into<String>, source: &impl VolumeFrom) -> core::Volume {
    let mut volume = core::Volume {
        name: name.into(),
        ..Default::default()
    };
    source.volume_source(&mut volume);
    volume
}
