//! [`Object`], one Kubernetes object of any kind, and [`DynamicObject`] for kinds kubekit
//! has no type for.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::ser::{Error as _, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::ManifestError;
use super::parse::{self, Ctx};

/// Declares the kinds [`Object`] has a variant for, and everything generated from the list.
macro_rules! known_kinds {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// One Kubernetes object: typed for the kinds kubekit knows, [`DynamicObject`] for any
        /// other kind.
        ///
        /// [`from_yaml`](super::from_yaml) returns these. Every kubekit kind converts into an
        /// `Object` with [`From`], and back with [`TryFrom`] (which hands the `Object` back
        /// when the kind differs). An `Object` serializes as the object itself, so
        /// [`to_yaml`](super::to_yaml) renders it like its inner value.
        ///
        /// Each variant holds its object in a [`Box`], so an `Object` is two words: a stream of
        /// many small objects takes the memory of what they hold, not of the largest kind
        /// (a Deployment inline takes nearly 3 KB). Matching reads through the box
        /// (`Object::Pod(pod) => pod.metadata.name`); `*pod` moves the `Pod` out.
        ///
        /// ```
        /// use k8s_openapi::api::core::v1::Pod;
        /// use kubekit::manifest::Object;
        ///
        /// let mut pod = Pod::default();
        /// pod.metadata.name = Some("web".into());
        /// let object = Object::from(pod);
        /// assert_eq!((object.kind(), object.api_version()), ("Pod", "v1"));
        /// assert_eq!(object.name(), Some("web"));
        /// let pod = Pod::try_from(object).expect("a Pod");
        /// assert_eq!(pod.metadata.name.as_deref(), Some("web"));
        /// ```
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Object {
            $($(#[$doc])* $variant(Box<$ty>),)*
            /// Any other kind, e.g. a custom resource.
            Other(Box<DynamicObject>),
        }

        impl Object {
            /// The object's `kind`, e.g. `Deployment`.
            #[must_use]
            pub fn kind(&self) -> &str {
                match self {
                    $(Self::$variant(_) => <$ty as k8s_openapi::Resource>::KIND,)*
                    Self::Other(object) => &object.kind,
                }
            }

            /// The object's `apiVersion`, e.g. `apps/v1`.
            #[must_use]
            pub fn api_version(&self) -> &str {
                match self {
                    $(Self::$variant(_) => <$ty as k8s_openapi::Resource>::API_VERSION,)*
                    Self::Other(object) => &object.api_version,
                }
            }

            /// The object's `metadata`.
            #[must_use]
            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Self::$variant(object) => &object.metadata,)*
                    Self::Other(object) => &object.metadata,
                }
            }

            /// The object's `metadata`, to change it.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Self::$variant(object) => &mut object.metadata,)*
                    Self::Other(object) => &mut object.metadata,
                }
            }

            /// Checks the rules of the API server's that kubekit knows for the object's kind
            /// ([`Kind::validate`](crate::kinds::Kind::validate)); other kinds pass.
            ///
            /// # Errors
            ///
            /// The first rule the object breaks, with the field's path.
            pub fn validate(&self) -> Result<(), crate::builders::ValidationError> {
                match self {
                    $(Self::$variant(object) => crate::kinds::Kind::validate(&**object),)*
                    Self::Other(_) => Ok(()),
                }
            }

            /// Where the object stands by its kind's rule
            /// ([`Kind::readiness`](crate::kinds::Kind::readiness)); another kind is ready
            /// when it exists and, if it has conditions, `Ready` or `Available` is `True`.
            #[must_use]
            pub fn readiness(&self) -> crate::kinds::Readiness {
                match self {
                    $(Self::$variant(object) => crate::kinds::Kind::readiness(&**object),)*
                    Self::Other(object) => crate::kinds::readiness_of_conditions(&object.data),
                }
            }

            fn serialize_inner<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant(object) => object.serialize(serializer),)*
                    Self::Other(object) => object.serialize(serializer),
                }
            }
        }

        $(
            impl From<$ty> for Object {
                fn from(object: $ty) -> Self {
                    Self::$variant(Box::new(object))
                }
            }

            impl TryFrom<Object> for $ty {
                type Error = Object;

                /// Takes the typed object out, or gives the `Object` back if it is another kind.
                fn try_from(object: Object) -> Result<Self, Object> {
                    match object {
                        Object::$variant(object) => Ok(*object),
                        other => Err(other),
                    }
                }
            }
        )*

        /// [`Kind::validate`](crate::kinds::Kind::validate) of `object` when its type is one of
        /// the kinds kubekit knows (for calls generic over any resource type).
        #[cfg(feature = "client")]
        pub(crate) fn validate_any(
            object: &dyn std::any::Any,
        ) -> Option<Result<(), crate::builders::ValidationError>> {
            $(if let Some(object) = object.downcast_ref::<$ty>() {
                return Some(crate::kinds::Kind::validate(object));
            })*
            None
        }

        /// `(kind, apiVersion)` of every kind with a variant.
        const KNOWN: &[(&str, &str)] = &[$((
            <$ty as k8s_openapi::Resource>::KIND,
            <$ty as k8s_openapi::Resource>::API_VERSION,
        ),)*];

        /// Reads `value` as the typed kind `kind` (already checked against [`KNOWN`]).
        fn typed(kind: &str, value: Value, ctx: &Ctx<'_>) -> Result<Object, ManifestError> {
            $(if kind == <$ty as k8s_openapi::Resource>::KIND {
                return parse::typed::<$ty>(value, ctx, kind).map(Object::from);
            })*
            DynamicObject::from_value_in(value, ctx).map(Object::from)
        }
    };
}

known_kinds! {
    /// A `v1` Namespace.
    Namespace(Namespace),
    /// A `v1` Pod.
    Pod(Pod),
    /// An `apps/v1` Deployment.
    Deployment(Deployment),
    /// An `apps/v1` ReplicaSet.
    ReplicaSet(ReplicaSet),
    /// An `apps/v1` StatefulSet.
    StatefulSet(StatefulSet),
    /// An `apps/v1` DaemonSet.
    DaemonSet(DaemonSet),
    /// A `batch/v1` Job.
    Job(Job),
    /// A `batch/v1` CronJob.
    CronJob(CronJob),
    /// A `v1` Service.
    Service(Service),
    /// A `v1` ConfigMap.
    ConfigMap(ConfigMap),
    /// A `v1` Secret.
    Secret(Secret),
    /// A `v1` ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// A `v1` PersistentVolumeClaim.
    PersistentVolumeClaim(PersistentVolumeClaim),
    /// A `networking.k8s.io/v1` Ingress.
    Ingress(Ingress),
    /// A `networking.k8s.io/v1` NetworkPolicy.
    NetworkPolicy(NetworkPolicy),
    /// An `autoscaling/v2` HorizontalPodAutoscaler.
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    /// A `policy/v1` PodDisruptionBudget.
    PodDisruptionBudget(PodDisruptionBudget),
    /// A `rbac.authorization.k8s.io/v1` Role.
    Role(Role),
    /// A `rbac.authorization.k8s.io/v1` ClusterRole.
    ClusterRole(ClusterRole),
    /// A `rbac.authorization.k8s.io/v1` RoleBinding.
    RoleBinding(RoleBinding),
    /// A `rbac.authorization.k8s.io/v1` ClusterRoleBinding.
    ClusterRoleBinding(ClusterRoleBinding),
}

/// The apiVersion kubekit knows for `kind`, if it has a variant for it.
pub(crate) fn known_api_version(kind: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(known, _)| *known == kind)
        .map(|(_, api_version)| *api_version)
}

/// Whether `api_version` belongs to a group of Kubernetes itself (the core group, `apps`,
/// `batch`, `*.k8s.io`, ...), as opposed to a custom resource's group (which has a dot).
fn is_builtin_group(api_version: &str) -> bool {
    match api_version.split_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

/// Reads a value whose top level is known to be a mapping into an [`Object`].
pub(crate) fn object_from_value(value: Value, ctx: &Ctx<'_>) -> Result<Object, ManifestError> {
    let Value::Object(map) = &value else {
        return Err(ctx.document_error(super::ManifestErrorKind::NotAnObject {
            found: parse::describe(&value),
        }));
    };
    let kind = match map.get("kind") {
        None | Some(Value::Null) => {
            return Err(ctx.document_error(super::ManifestErrorKind::MissingKind));
        }
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        Some(_) => return Err(ctx.field_error("kind", "must be a non-empty string")),
    };
    let api_version = match map.get("apiVersion") {
        None | Some(Value::Null) => {
            return Err(ctx.key_error(
                &[parse::Seg::Key("kind".into())],
                super::ManifestErrorKind::MissingApiVersion {
                    expected: known_api_version(&kind),
                    kind,
                },
            ));
        }
        Some(Value::String(api_version)) if !api_version.is_empty() => api_version.as_str(),
        Some(_) => {
            return Err(ctx.field_error("apiVersion", "must be a non-empty string"));
        }
    };
    match known_api_version(&kind) {
        Some(expected) if expected == api_version => typed(&kind, value, ctx),
        Some(expected) if is_builtin_group(api_version) => Err(ctx.key_error(
            &[parse::Seg::Key("apiVersion".into())],
            super::ManifestErrorKind::WrongApiVersion {
                found: api_version.to_owned(),
                kind,
                expected,
            },
        )),
        _ => DynamicObject::from_value_in(value, ctx).map(Object::from),
    }
}

impl Object {
    /// Reads a JSON value into the typed variant for its kind, or [`Object::Other`].
    ///
    /// The checks are those of [`from_yaml`](super::from_yaml): `kind` and `apiVersion`
    /// present, the apiVersion right for a kind kubekit knows, no unknown fields.
    ///
    /// # Errors
    ///
    /// A [`ManifestError`] without position when one of those checks fails.
    pub fn from_value(value: Value) -> Result<Self, ManifestError> {
        object_from_value(value, &Ctx::detached())
    }

    /// The object as a JSON value, `apiVersion` and `kind` included.
    ///
    /// # Errors
    ///
    /// [`ManifestErrorKind::Render`](super::ManifestErrorKind::Render) if it cannot be
    /// represented (only a [`DynamicObject`] whose `data` is not a JSON object).
    pub fn to_value(&self) -> Result<Value, ManifestError> {
        serde_json::to_value(self).map_err(ManifestError::render)
    }

    /// The object's `metadata.name`.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.metadata().name.as_deref()
    }

    /// The object's `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_inner(serializer)
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl From<DynamicObject> for Object {
    fn from(object: DynamicObject) -> Self {
        Self::Other(Box::new(object))
    }
}

/// An object of a kind kubekit has no type for, e.g. a custom resource.
///
/// It has the shape of kube's `DynamicObject`: `apiVersion`, `kind`, a typed `metadata`, and
/// every other top-level field (`spec`, `status`, `data`, ...) in [`data`](Self::data).
///
/// ```
/// use kubekit::manifest::DynamicObject;
///
/// let mut object = DynamicObject::new("example.com/v1", "Widget");
/// object.metadata.name = Some("w1".into());
/// object.data = serde_json::json!({ "spec": { "size": 3 } });
/// let yaml = kubekit::manifest::to_yaml(&object)?;
/// assert_eq!(yaml, "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n");
/// # Ok::<(), kubekit::manifest::ManifestError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DynamicObject {
    /// `apiVersion`, e.g. `example.com/v1`.
    pub api_version: String,
    /// `kind`, e.g. `Widget`.
    pub kind: String,
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// The other top-level fields, as a JSON object (or `null` for none).
    pub data: Value,
}

impl DynamicObject {
    /// An object with this apiVersion and kind, empty metadata and no other field.
    #[must_use]
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            metadata: ObjectMeta::default(),
            data: Value::Object(Map::new()),
        }
    }

    /// `metadata.name`.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.metadata.name.as_deref()
    }

    /// `metadata.namespace`.
    #[must_use]
    pub fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }

    /// Splits a mapping with `apiVersion` and `kind` into a `DynamicObject`.
    pub(crate) fn from_value_in(value: Value, ctx: &Ctx<'_>) -> Result<Self, ManifestError> {
        let Value::Object(mut map) = value else {
            return Err(ctx.document_error(super::ManifestErrorKind::NotAnObject {
                found: parse::describe(&value),
            }));
        };
        let mut take_string = |key: &str| match map.shift_remove(key) {
            Some(Value::String(text)) => text,
            _ => String::new(),
        };
        let api_version = take_string("apiVersion");
        let kind = take_string("kind");
        let metadata = match map.shift_remove("metadata") {
            None | Some(Value::Null) => ObjectMeta::default(),
            Some(metadata) => parse::typed_at::<ObjectMeta>(
                metadata,
                ctx,
                &kind,
                &[parse::Seg::Key("metadata".into())],
            )?,
        };
        // Fields set to null are left out, as `kubectl` leaves them out of what it sends.
        map.values_mut().for_each(drop_nulls);
        map.retain(|_, value| !value.is_null());
        Ok(Self {
            api_version,
            kind,
            metadata,
            data: Value::Object(map),
        })
    }
}

/// Removes the entries whose value is null from every mapping in `value`.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, value| !value.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

impl Serialize for DynamicObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra = match &self.data {
            Value::Object(map) => Some(map),
            Value::Null => None,
            _ => {
                return Err(S::Error::custom(
                    "DynamicObject.data must be a JSON object (or null)",
                ));
            }
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("apiVersion", &self.api_version)?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("metadata", &self.metadata)?;
        for (key, value) in extra.into_iter().flatten() {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for DynamicObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value_in(value, &Ctx::detached()).map_err(serde::de::Error::custom)
    }
}
