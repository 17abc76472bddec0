//! What `container().build()`, `pod_template().build()` and `volume_from` return: the
//! `k8s-openapi` value plus what a workload's `build()` needs to know about it (that a
//! container was validated already, and the namespaces of the ConfigMaps and Secrets it
//! reads).

use std::ops::Deref;

use k8s_openapi::api::core::v1 as core;

use super::ValidationError;
use super::validate::Ctx;

/// A ConfigMap or Secret a container or volume refers to, kept so that the workload can check
/// that it is in the workload's namespace. Only sources that have a namespace are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceRef {
    /// `ConfigMap` or `Secret`.
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) namespace: String,
    /// The field holding the reference, formatted only for an error.
    pub(crate) field: SourceField,
}

impl SourceRef {
    /// The reference at `entry[entry_index].reference` of a container or volume not yet placed
    /// in a pod (the pod spec builder fills in `list` and `index`), kept only when the source
    /// has a namespace.
    pub(crate) fn unplaced(
        kind: &'static str,
        name: &str,
        namespace: Option<&str>,
        entry: &'static str,
        entry_index: usize,
        reference: &'static str,
    ) -> Option<SourceRef> {
        namespace.map(|namespace| SourceRef {
            kind,
            name: name.to_string(),
            namespace: namespace.to_string(),
            field: SourceField {
                list: "",
                index: 0,
                entry,
                entry_index,
                reference,
            },
        })
    }
}

/// Where a [`SourceRef`] is, without formatting it (most are never reported):
/// `{list}[{index}].{entry}[{entry_index}].{reference}`, e.g.
/// `containers[0].envFrom[1].configMapRef.name`; `list` is empty until the pod spec builder
/// places the container or volume, `entry` empty for a volume (`volumes[2].secret.secretName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceField {
    pub(crate) list: &'static str,
    pub(crate) index: usize,
    pub(crate) entry: &'static str,
    pub(crate) entry_index: usize,
    pub(crate) reference: &'static str,
}

impl std::fmt::Display for SourceField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.list.is_empty() {
            write!(f, "{}[{}].", self.list, self.index)?;
        }
        if !self.entry.is_empty() {
            write!(f, "{}[{}].", self.entry, self.entry_index)?;
        }
        f.write_str(self.reference)
    }
}

/// A container made by [`container()`](crate::builders::container()): the validated
/// `k8s-openapi` [`Container`](core::Container), plus the namespaces of the ConfigMaps and
/// Secrets it reads (through [`env_from`](crate::builders::ContainerBuilder::env_from) and
/// [`env_value_from`](crate::builders::ContainerBuilder::env_value_from)).
///
/// Give it to a pod or pod template builder as it is: the workload then does not validate the
/// container a second time, and refuses a ConfigMap or Secret of another namespace than its
/// own. It reads as a `Container` (it derefs to one) and converts into one
/// ([`into_inner`](Self::into_inner), `Into<Container>`). It cannot be changed in place, so it
/// stays valid; to change it, take the `Container` out (a raw `Container` given to a builder is
/// validated by the workload).
///
/// ```
/// use kubekit::builders::{config_map, container};
/// use kubekit::k8s_openapi::api::core::v1::Container;
///
/// let settings = config_map().name("settings").namespace("shop").data("MODE", "fast").build()?;
/// let web = container().name("web").image("nginx:1.28").env_from(&settings).build()?;
/// assert_eq!(web.name, "web"); // reads as a Container
/// let raw: Container = web.into_inner();
/// assert_eq!(raw.image.as_deref(), Some("nginx:1.28"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltContainer {
    pub(crate) container: core::Container,
    /// Validated by `container().build()` (false for a raw `Container` converted into one).
    pub(crate) validated: bool,
    pub(crate) sources: Vec<SourceRef>,
}

impl AsRef<core::Container> for BuiltContainer {
    fn as_ref(&self) -> &core::Container {
        &self.container
    }
}

/// A raw container, validated by the workload that holds it.
impl From<core::Container> for BuiltContainer {
    fn from(container: core::Container) -> Self {
        BuiltContainer {
            container,
            validated: false,
            sources: Vec::new(),
        }
    }
}

/// A volume made by [`volume_from`](crate::builders::volume_from): the `k8s-openapi`
/// [`Volume`](core::Volume), plus the namespace of the ConfigMap or Secret it holds, which the
/// workload checks against its own. Derefs to and converts into a `Volume`; the pod and pod
/// template builders' [`volume`](crate::builders::PodTemplateBuilder::volume) takes either.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltVolume {
    pub(crate) volume: core::Volume,
    pub(crate) source: Option<SourceRef>,
}

impl From<core::Volume> for BuiltVolume {
    fn from(volume: core::Volume) -> Self {
        BuiltVolume {
            volume,
            source: None,
        }
    }
}

/// A pod template made by [`pod_template()`](crate::builders::pod_template()): the
/// `k8s-openapi` [`PodTemplateSpec`](core::PodTemplateSpec), plus which of its containers were
/// validated already and the namespaces of the ConfigMaps and Secrets its containers and
/// volumes read. The workload builders' `template` takes it or a raw `PodTemplateSpec` (whose
/// containers the workload validates, and whose references it cannot check). Derefs to and
/// converts into a `PodTemplateSpec`.
///
/// ```
/// use kubekit::builders::{container, pod_template};
/// let t = pod_template()
///     .label("app", "web")
///     .container(container().name("web").image("nginx:1.28").build()?)
///     .build();
/// assert_eq!(t.spec.as_ref().map(|s| s.containers.len()), Some(1));
/// let raw: kubekit::k8s_openapi::api::core::v1::PodTemplateSpec = t.into_inner();
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltPodTemplate {
    pub(crate) template: core::PodTemplateSpec,
    pub(crate) checks: PodChecks,
}

impl From<core::PodTemplateSpec> for BuiltPodTemplate {
    fn from(template: core::PodTemplateSpec) -> Self {
        BuiltPodTemplate {
            template,
            checks: PodChecks::default(),
        }
    }
}

/// What a pod spec's builder knows about its parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PodChecks {
    /// Bit `i`: `spec.containers[i]` was validated by `container().build()` (containers past
    /// the 64th are always validated by the workload).
    pub(crate) validated: u64,
    /// References to ConfigMaps and Secrets with a namespace, their fields relative to the pod
    /// spec (`containers[0].envFrom[0].configMapRef.name`, `volumes[1].secret.secretName`).
    pub(crate) sources: Vec<SourceRef>,
}

impl PodChecks {
    /// Refuses a ConfigMap or Secret in another namespace than the object's. As for an
    /// Ingress's TLS Secret, nothing is checked when either namespace is not set (the client's
    /// default namespace is not known here).
    pub(crate) fn check_namespace(
        &self,
        ctx: Ctx<'_>,
        namespace: Option<&str>,
        prefix: &str,
    ) -> Result<(), ValidationError> {
        let Some(ns) = namespace else { return Ok(()) };
        for source in &self.sources {
            if source.namespace != ns {
                return Err(ctx.err(
                    format!("{prefix}.{}", source.field),
                    &source.name,
                    format!(
                        "is a {} in namespace \"{}\", not in the {}'s namespace \"{ns}\": \
                         pods read ConfigMaps and Secrets of their own namespace",
                        source.kind, source.namespace, ctx.kind
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What every built type has: `into_inner()`, `Deref` to and `From` into the `k8s-openapi`
/// value it holds, and serialization as that value.
macro_rules! built_type {
    ($built:ident, $field:ident, $raw:ty, $what:literal) => {
        impl $built {
            #[doc = concat!("The `k8s-openapi` ", $what, ".")]
            pub fn into_inner(self) -> $raw {
                self.$field
            }
        }

        impl Deref for $built {
            type Target = $raw;
            fn deref(&self) -> &$raw {
                &self.$field
            }
        }

        impl From<$built> for $raw {
            fn from(built: $built) -> Self {
                built.$field
            }
        }

        /// Serialized as the `k8s-openapi` value it holds.
        impl serde::Serialize for $built {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.$field.serialize(serializer)
            }
        }
    };
}

built_type!(BuiltContainer, container, core::Container, "container");
built_type!(BuiltVolume, volume, core::Volume, "volume");
built_type!(
    BuiltPodTemplate,
    template,
    core::PodTemplateSpec,
    "pod template"
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use k8s_openapi::api::core::v1 as core;

    use crate::builders::validate::CONTAINER_CHECKS;
    use crate::builders::{
        config_map, container, cron_job, deployment, job, pod, pod_template, secret, volume_from,
    };

    fn checks() -> usize {
        CONTAINER_CHECKS.with(|n| n.get())
    }

    #[test]
    fn env_from_a_config_map_of_another_namespace_is_refused() {
        let settings = config_map()
            .name("settings")
            .namespace("b")
            .data("MODE", "fast")
            .build()
            .unwrap();
        let web = container()
            .name("web")
            .image("nginx:1.28")
            .env_from(&settings)
            .build()
            .unwrap();
        let err = deployment()
            .name("web")
            .namespace("a")
            .template(pod_template().container(web).build())
            .build()
            .unwrap_err();
        assert_eq!(err.kind, "Deployment");
        assert_eq!(err.name, "web");
        assert_eq!(
            err.field,
            "spec.template.spec.containers[0].envFrom[0].configMapRef.name"
        );
        assert_eq!(
            err.to_string(),
            "Deployment \"web\": spec.template.spec.containers[0].envFrom[0].configMapRef.name \
             \"settings\" is a ConfigMap in namespace \"b\", not in the Deployment's namespace \
             \"a\": pods read ConfigMaps and Secrets of their own namespace"
        );
    }

    #[test]
    fn env_value_from_a_secret_of_another_namespace_is_refused() {
        let db = secret()
            .name("db")
            .namespace("b")
            .string_data("password", "x")
            .build()
            .unwrap();
        let main = container()
            .name("main")
            .image("busybox:1.37")
            .build()
            .unwrap();
        let reader = container()
            .name("reader")
            .image("busybox:1.37")
            .env("A", "1")
            .env_value_from("PASSWORD", &db, "password")
            .build()
            .unwrap();
        let err = job()
            .name("migrate")
            .namespace("a")
            .template(pod_template().container(main).and_container(reader).build())
            .build()
            .unwrap_err();
        assert_eq!(err.kind, "Job");
        assert_eq!(
            err.field,
            "spec.template.spec.containers[1].env[1].valueFrom.secretKeyRef.name"
        );
        assert_eq!(err.value, "db");
        assert!(err.rule.contains("is a Secret in namespace \"b\""), "{err}");
        assert!(err.rule.contains("the Job's namespace \"a\""), "{err}");
    }

    #[test]
    fn volume_from_another_namespace_is_refused() {
        let tls = secret()
            .name("tls")
            .namespace("b")
            .tls("cert", "key")
            .build()
            .unwrap();
        let c = || container().name("c").image("busybox:1.37").build().unwrap();
        let err = cron_job()
            .name("nightly")
            .namespace("a")
            .schedule("0 3 * * *")
            .template(
                pod_template()
                    .container(c())
                    .volume(volume_from("tls", &tls))
                    .build(),
            )
            .build()
            .unwrap_err();
        assert_eq!(err.kind, "CronJob");
        assert_eq!(
            err.field,
            "spec.jobTemplate.spec.template.spec.volumes[0].secret.secretName"
        );
        assert!(err.rule.contains("is a Secret in namespace \"b\""), "{err}");

        let settings = config_map().name("s").namespace("b").build().unwrap();
        let err = pod()
            .name("p")
            .namespace("a")
            .container(c())
            .volume(volume_from("cfg", &settings))
            .build()
            .unwrap_err();
        assert_eq!(err.kind, "Pod");
        assert_eq!(err.field, "spec.volumes[0].configMap.name");
        assert!(err.rule.contains("the Pod's namespace \"a\""), "{err}");
    }

    #[test]
    fn sources_in_the_namespace_or_without_one_are_accepted() {
        let same = config_map()
            .name("same")
            .namespace("a")
            .data("K", "v")
            .build()
            .unwrap();
        let none = secret().name("none").string_data("K", "v").build().unwrap();
        let elsewhere = config_map()
            .name("x")
            .namespace("b")
            .data("K", "v")
            .build()
            .unwrap();
        let c = container()
            .name("c")
            .image("busybox:1.37")
            .env_from(&same)
            .env_value_from("K", &none, "K")
            .build()
            .unwrap();
        let built = |namespace: Option<&str>, c, extra: Option<&core::ConfigMap>| {
            let mut t = pod_template().container(c).volume(volume_from("v", &same));
            if let Some(extra) = extra {
                t = t.volume(volume_from("w", extra));
            }
            let d = deployment().name("d").template(t.build());
            match namespace {
                Some(ns) => d.namespace(ns).build(),
                None => d.build(),
            }
        };
        assert!(built(Some("a"), c.clone(), None).is_ok());
        // A workload without a namespace is not checked (its namespace is the client's).
        assert!(built(None, c.clone(), Some(&elsewhere)).is_ok());
        assert!(built(Some("a"), c, Some(&elsewhere)).is_err());
    }

    #[test]
    fn a_built_container_is_validated_once() {
        let before = checks();
        let web = container()
            .name("web")
            .image("nginx:1.28")
            .port(80)
            .build()
            .unwrap();
        let sidecar = container()
            .name("side")
            .image("busybox:1.37")
            .build()
            .unwrap();
        assert_eq!(checks() - before, 2, "container().build() validates");
        let before = checks();
        deployment()
            .name("web")
            .template(pod_template().container(web).and_container(sidecar).build())
            .build()
            .unwrap();
        assert_eq!(
            checks() - before,
            0,
            "the Deployment does not validate them again"
        );

        // A raw container is validated by the workload, and its errors keep their paths.
        let raw = core::Container {
            name: "Raw".into(),
            image: Some("busybox:1.37".into()),
            ..Default::default()
        };
        let ok = container()
            .name("ok")
            .image("busybox:1.37")
            .build()
            .unwrap();
        let before = checks();
        let err = deployment()
            .name("web")
            .template(pod_template().container(ok).and_container(raw).build())
            .build()
            .unwrap_err();
        assert_eq!(checks() - before, 1, "only the raw container is checked");
        assert_eq!(err.field, "spec.template.spec.containers[1].name");
    }

    #[test]
    fn a_built_container_still_mounts_only_volumes_of_the_pod() {
        let c = container()
            .name("c")
            .image("busybox:1.37")
            .mount("data", "/data")
            .build()
            .unwrap();
        let err = deployment()
            .name("d")
            .template(pod_template().container(c).build())
            .build()
            .unwrap_err();
        assert_eq!(
            err.field,
            "spec.template.spec.containers[0].volumeMounts[0].name"
        );
        assert_eq!(err.rule, "does not name a volume of the pod (spec.volumes)");
    }

    #[test]
    fn a_built_init_container_is_checked_as_an_init_container() {
        let c = || container().name("c").image("busybox:1.37");
        let init = container()
            .name("init")
            .image("busybox:1.37")
            .readiness_probe(crate::builders::Probe::tcp(80))
            .build()
            .unwrap();
        let err = deployment()
            .name("d")
            .template(
                pod_template()
                    .container(c().build().unwrap())
                    .init_container(init)
                    .build(),
            )
            .build()
            .unwrap_err();
        assert_eq!(
            err.field,
            "spec.template.spec.initContainers[0].readinessProbe"
        );
    }
}
