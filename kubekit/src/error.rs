//! [`Error`], the one error type of kubekit, and [`Result`].
//!
//! Every fallible call of the client returns [`Error`]; the offline parts (builders,
//! manifests) return their own structured part ([`ValidationError`](crate::builders::ValidationError),
//! [`ManifestError`](crate::manifest::ManifestError)), which converts into [`Error`] with `?`:
//!
//! ```no_run
//! # async fn demo() -> kubekit::Result<()> {
//! use kubekit::builders::{container, pod};
//!
//! let client = kubekit::Client::try_default().await?;
//! let web = pod()
//!     .name("web")
//!     .container(container().name("web").image("nginx:1.28").build()?) // ValidationError -> Error
//!     .build()?;
//! match client.get::<k8s_openapi::api::core::v1::Pod>("web").await {
//!     Err(kubekit::Error::NotFound { object }) => println!("{object} is not there yet"),
//!     other => println!("{:?}", other.map(|pod| pod.metadata.name)),
//! }
//! client.apply(&web).await?;
//! # Ok(()) }
//! ```
//!
//! Errors from [`kube`] become the variants a caller branches on in exactly one place,
//! [`Error::from_kube`]: 404 is [`Error::NotFound`], a field-manager conflict is
//! [`Error::Conflict`], 422 is [`Error::Invalid`] with the server's causes, any other status
//! [`Error::Rejected`]. `?` on a bare [`kube::Error`] goes through the same mapping.

use std::{fmt, time::Duration};

/// Which object a call was about: its kind, namespace (for namespaced kinds) and name.
///
/// Displayed as `Pod team-a/web` or, for cluster-scoped kinds, `Namespace team-a`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The object's kind, e.g. `Pod`.
    pub kind: String,
    /// The object's namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

impl ObjectRef {
    /// A reference to the object `kind` `namespace/name`.
    pub fn new(kind: impl Into<String>, namespace: Option<&str>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One reason the API server gave for rejecting a request: a field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCause {
    /// The field's path as the server names it, e.g. `spec.containers[0].image`.
    pub field: String,
    /// A machine-readable reason, e.g. `FieldValueRequired`.
    pub reason: String,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for FieldCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.field.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{}: {}", self.field, self.message),
            (false, true) => write!(f, "{}: {}", self.field, self.reason),
            _ => f.write_str(&self.message),
        }
    }
}

struct Causes<'a>(&'a [FieldCause]);

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cause) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { " (" } else { "; " })?;
            write!(f, "{cause}")?;
        }
        if !self.0.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Why a kubekit call failed: the one error type of the crate.
///
/// Each variant names the object (kind, namespace, name) or the manifest document
/// concerned and the rule that was broken; [`Error::object`] gives the object whatever the
/// variant. The variants a caller branches on are structured: [`Error::NotFound`],
/// [`Error::Conflict`] (manager and fields), [`Error::Invalid`] (the server's causes),
/// [`Error::Timeout`] (the object's last state), [`Error::Validation`] (the field path).
/// The parts of exec, logs, port-forward and rollouts keep their own structured variants
/// ([`Error::Exec`], [`Error::Logs`], [`Error::PortForward`], [`Error::Rollout`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist.
    #[error("{object} not found")]
    NotFound {
        /// The object that was asked for.
        object: Box<ObjectRef>,
    },

    /// A server-side apply would change fields another field manager owns. Apply with
    /// `ApplyOptions::force` to take them over.
    #[error(
        "apply of {object} conflicts with field manager {manager} on {}; \
         apply with force to take the field(s) over",
        .fields.join(", ")
    )]
    Conflict {
        /// The object being applied.
        object: Box<ObjectRef>,
        /// The conflicting fields, as the server names them, e.g. `.data.key`.
        fields: Vec<String>,
        /// The field manager(s) that own the fields, e.g. `"kubectl"` (comma-separated when
        /// several).
        manager: String,
    },

    /// A manifest document's apiVersion and kind are not served by the cluster.
    #[error(
        "document {document}: the cluster serves no kind `{kind}` in apiVersion `{api_version}`"
    )]
    UnknownKind {
        /// The 1-based number of the document in the manifest.
        document: usize,
        /// The document's apiVersion.
        api_version: String,
        /// The document's kind.
        kind: String,
    },

    /// The API server rejected the object as invalid (HTTP 422), with the fields at fault.
    #[error("{object} is invalid: {}", InvalidText(.message, .causes))]
    Invalid {
        /// The object that was sent.
        object: Box<ObjectRef>,
        /// The server's message.
        message: String,
        /// The fields at fault and why.
        causes: Vec<FieldCause>,
    },

    /// The API server refused the request for another reason (forbidden, already exists,
    /// bad request, ...).
    #[error("{object}: {message} ({code} {reason})")]
    Rejected {
        /// The object concerned.
        object: Box<ObjectRef>,
        /// The HTTP status code.
        code: u16,
        /// The server's machine-readable reason, e.g. `Forbidden`.
        reason: String,
        /// The server's message.
        message: String,
    },

    /// An object handed to the client cannot be sent as it is (e.g. it has no name).
    #[error("{object}: {message}")]
    BadObject {
        /// The object concerned (its name may be empty).
        object: Box<ObjectRef>,
        /// What is wrong.
        message: String,
    },

    /// A wait ran out of time; `state` says where the object was at that moment.
    #[error("timed out after {after:?} waiting for {what}; current state: {state}")]
    Timeout {
        /// What was awaited, naming the object, e.g. `Pod team-a/web to be running`.
        what: String,
        /// How long the wait lasted.
        after: Duration,
        /// The object's state when the wait gave up: phase, conditions, container reasons.
        state: String,
    },

    /// An awaited object reached a state from which the wanted one cannot follow (e.g. a Pod
    /// that failed while waiting for it to run).
    #[error("{what} will not happen; current state: {state}")]
    Unreachable {
        /// What was awaited, naming the object.
        what: String,
        /// The object's state.
        state: String,
    },

    /// An object breaks a rule the API server would enforce, found before sending it (by the
    /// builders' validation, for the kinds it covers). The error names the field's path.
    #[error("invalid object: {0}")]
    Validation(#[source] Box<crate::builders::ValidationError>),

    /// A manifest could not be read or rendered (with the document, line and column).
    #[error("invalid manifest: {0}")]
    Manifest(#[source] crate::manifest::ManifestError),

    /// An error about one document of a manifest.
    #[error("document {document}: {source}")]
    Document {
        /// The 1-based number of the document in the manifest.
        document: usize,
        /// What went wrong with it.
        #[source]
        source: Box<Error>,
    },

    /// Applying several objects stopped after some were written: what was applied, and the
    /// error of the one that failed (an [`Error::Document`]). Nothing was pruned. Re-running
    /// the apply once the cause is fixed converges.
    #[cfg(feature = "client")]
    #[error("{source}\n(applied {} of {total} objects before it, nothing pruned:\n{applied})", applied.objects.len())]
    Incomplete {
        /// The objects applied before the failure, in order.
        applied: Box<crate::client::ApplyReport>,
        /// How many objects the apply had.
        total: usize,
        /// Why it stopped.
        #[source]
        source: Box<Error>,
    },

    /// An ApplySet's parent object cannot be used: it belongs to another tool, or its
    /// labels or annotations are not those of the set (the ApplySet specification, KEP-3659).
    #[cfg(feature = "client")]
    #[error("ApplySet parent {parent}: {message}")]
    ApplySet {
        /// The parent object (a Secret or ConfigMap).
        parent: Box<ObjectRef>,
        /// What is wrong with it.
        message: String,
    },

    /// Watching an object failed.
    #[cfg(feature = "client")]
    #[error("watching {object} failed: {source}")]
    Watch {
        /// The watched object.
        object: Box<ObjectRef>,
        /// The watcher's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An exec call failed after the connection was opened: the command was not found, it
    /// exited non-zero (`exec_ok`), timed out, or the stream broke.
    #[cfg(feature = "client")]
    #[error(transparent)]
    Exec(#[from] crate::client::exec::ExecError),

    /// A log call failed for a reason of its own (no such container, no selector).
    #[cfg(feature = "client")]
    #[error(transparent)]
    Logs(#[from] crate::client::logs::LogsError),

    /// Port-forwarding failed for a reason of its own (bad target, no pod, no such port, the
    /// node's error for a connection, local I/O).
    #[cfg(feature = "client")]
    #[error(transparent)]
    PortForward(#[from] crate::client::portforward::PortForwardError),

    /// A rollout failed, timed out, or was asked for a revision or container that does not
    /// exist.
    #[cfg(feature = "client")]
    #[error(transparent)]
    Rollout(#[from] crate::client::rollout::RolloutError),

    /// Any other error from the Kubernetes client (connection, TLS, kubeconfig, decoding).
    #[cfg(feature = "client")]
    #[error("Kubernetes client error: {0}")]
    Kube(#[source] kube::Error),

    /// The test cluster could not be started or reached (feature `testing`).
    #[cfg(feature = "testing")]
    #[error("test cluster: {0}")]
    Cluster(#[from] kubekit_testing::Error),

    /// Local I/O of the caller's failed (reading a manifest file, a socket).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The result type of kubekit's calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Turns an error of [`kube`] about `object` into the matching variant: `NotFound` for 404,
    /// `Conflict` for a field manager conflict, `Invalid` for 422, `Rejected` for other API
    /// statuses, `Kube` otherwise. This is the one place kube's errors are mapped.
    ///
    /// ```
    /// use kubekit::{Error, ObjectRef};
    /// let status = kube::core::Status::failure("pods \"web\" not found", "NotFound").with_code(404);
    /// let err = Error::from_kube(kube::Error::Api(Box::new(status)), ObjectRef::new("Pod", Some("a"), "web"));
    /// assert!(matches!(err, Error::NotFound { .. }));
    /// assert_eq!(err.to_string(), "Pod a/web not found");
    /// ```
    #[cfg(feature = "client")]
    pub fn from_kube(err: kube::Error, object: ObjectRef) -> Self {
        let kube::Error::Api(status) = &err else {
            return Error::Kube(err);
        };
        let object = Box::new(object);
        let causes: Vec<FieldCause> = status
            .details
            .as_ref()
            .map(|d| {
                d.causes
                    .iter()
                    .map(|c| FieldCause {
                        field: c.field.clone(),
                        reason: c.reason.clone(),
                        message: c.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        match status.code {
            404 if status.reason == "NotFound" || status.reason.is_empty() => {
                Error::NotFound { object }
            }
            409 if causes.iter().any(|c| c.reason == "FieldManagerConflict") => {
                let mut managers: Vec<String> = Vec::new();
                let mut fields = Vec::new();
                for cause in causes.iter().filter(|c| c.reason == "FieldManagerConflict") {
                    fields.push(cause.field.clone());
                    let manager = conflict_manager(&cause.message);
                    if !managers.contains(&manager) {
                        managers.push(manager);
                    }
                }
                Error::Conflict {
                    object,
                    fields,
                    manager: managers.join(", "),
                }
            }
            422 => Error::Invalid {
                object,
                message: status.message.clone(),
                causes,
            },
            code => Error::Rejected {
                object,
                code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
        }
    }

    /// The object the error is about, when it is about one (whatever the variant).
    pub fn object(&self) -> Option<ObjectRef> {
        match self {
            Error::NotFound { object }
            | Error::Conflict { object, .. }
            | Error::Invalid { object, .. }
            | Error::Rejected { object, .. }
            | Error::BadObject { object, .. } => Some(ObjectRef::clone(object)),
            #[cfg(feature = "client")]
            Error::Watch { object, .. } => Some(ObjectRef::clone(object)),
            Error::Validation(err) => Some(ObjectRef::new(&err.kind, None, &err.name)),
            Error::Document { source, .. } => source.object(),
            #[cfg(feature = "client")]
            Error::Incomplete { source, .. } => source.object(),
            #[cfg(feature = "client")]
            Error::ApplySet { parent, .. } => Some(ObjectRef::clone(parent)),
            #[cfg(feature = "client")]
            Error::Exec(err) => Some(err.object()),
            #[cfg(feature = "client")]
            Error::Logs(err) => Some(err.object()),
            #[cfg(feature = "client")]
            Error::PortForward(err) => err.object(),
            #[cfg(feature = "client")]
            Error::Rollout(err) => Some(ObjectRef::clone(err.deployment())),
            _ => None,
        }
    }

    /// Whether the error says an object does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Document { source, .. } => source.is_not_found(),
            #[cfg(feature = "client")]
            Error::Incomplete { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// Whether the error is a server-side apply conflict with another field manager.
    pub fn is_conflict(&self) -> bool {
        match self {
            Error::Conflict { .. } => true,
            Error::Document { source, .. } => source.is_conflict(),
            #[cfg(feature = "client")]
            Error::Incomplete { source, .. } => source.is_conflict(),
            _ => false,
        }
    }

    /// Whether a wait (of an object, a rollout, an exec) ran out of time.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Document { source, .. } => source.is_timeout(),
            #[cfg(feature = "client")]
            Error::Incomplete { source, .. } => source.is_timeout(),
            #[cfg(feature = "client")]
            Error::Exec(crate::client::exec::ExecError::Timeout { .. })
            | Error::Rollout(crate::client::rollout::RolloutError::Timeout { .. }) => true,
            _ => false,
        }
    }
}

/// Maps a kube error that is not about one known object. For API statuses the object is
/// taken from the status' details (`pods "web"`: kind `pods`, name `web`).
#[cfg(feature = "client")]
impl From<kube::Error> for Error {
    fn from(err: kube::Error) -> Self {
        let object = match &err {
            kube::Error::Api(status) => {
                let details = status.details.as_ref();
                ObjectRef::new(
                    details.map(|d| d.kind.as_str()).unwrap_or("object"),
                    None,
                    details.map(|d| d.name.as_str()).unwrap_or(""),
                )
            }
            _ => ObjectRef::new("object", None, ""),
        };
        Error::from_kube(err, object)
    }
}

impl From<crate::builders::ValidationError> for Error {
    fn from(err: crate::builders::ValidationError) -> Self {
        Error::Validation(Box::new(err))
    }
}

impl From<crate::manifest::ManifestError> for Error {
    fn from(err: crate::manifest::ManifestError) -> Self {
        Error::Manifest(err)
    }
}

/// The text of a 422: the server's message without the object's name it starts with
/// (`Pod "web" is invalid: spec...`), then the causes — or only the causes when the message
/// is nothing but them (the server's usual form), so nothing is said twice.
struct InvalidText<'a>(&'a str, &'a [FieldCause]);

impl fmt::Display for InvalidText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self.0.split_once(" is invalid: ") {
            Some((_, rest)) => rest,
            None => self.0,
        };
        let covered = !self.1.is_empty() && self.1.iter().all(|c| message.contains(&c.message));
        if covered {
            for (i, cause) in self.1.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{cause}")?;
            }
            return Ok(());
        }
        write!(f, "{message}{}", Causes(self.1))
    }
}

/// The manager named in a conflict cause's message, e.g. `conflict with "kubectl" using v1`
/// gives `"kubectl"` (quoted, as the server prints it).
#[cfg(feature = "client")]
fn conflict_manager(message: &str) -> String {
    let rest = message.strip_prefix("conflict with ").unwrap_or(message);
    if let Some((quoted, _)) = rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
        return format!("\"{quoted}\"");
    }
    rest.split(" using ").next().unwrap_or(rest).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "client")]
    #[test]
    fn conflict_manager_is_read_from_the_cause() {
        assert_eq!(
            conflict_manager("conflict with \"kubectl-edit\" using v1"),
            "\"kubectl-edit\""
        );
        assert_eq!(
            conflict_manager("conflict with \"other\" with subresource \"status\" using v1"),
            "\"other\""
        );
        assert_eq!(conflict_manager("conflict with other"), "other");
    }

    #[test]
    fn object_ref_display() {
        assert_eq!(
            ObjectRef::new("Pod", Some("a"), "web").to_string(),
            "Pod a/web"
        );
        assert_eq!(
            ObjectRef::new("Namespace", None, "a").to_string(),
            "Namespace a"
        );
    }

    #[cfg(feature = "client")]
    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, reason).with_code(code),
        ))
    }

    #[cfg(feature = "client")]
    fn details(
        kind: &str,
        name: &str,
        causes: Vec<kube::core::response::StatusCause>,
    ) -> kube::core::response::StatusDetails {
        kube::core::response::StatusDetails {
            name: name.into(),
            group: String::new(),
            kind: kind.into(),
            uid: String::new(),
            causes,
            retry_after_seconds: 0,
        }
    }

    #[cfg(feature = "client")]
    #[test]
    fn a_bare_kube_404_through_question_mark_is_not_found() {
        fn get() -> Result<()> {
            Err(status(404, "NotFound", "pods \"web\" not found"))?;
            Ok(())
        }
        let Err(err) = get() else {
            panic!("a 404 must fail")
        };
        assert!(err.is_not_found(), "{err:?}");
        assert!(matches!(err, Error::NotFound { .. }));
    }

    #[cfg(feature = "client")]
    #[test]
    fn the_object_of_a_bare_kube_error_comes_from_the_status_details() {
        let mut s =
            kube::core::Status::failure("pods \"web\" not found", "NotFound").with_code(404);
        s.details = Some(details("pods", "web", vec![]));
        let err = Error::from(kube::Error::Api(Box::new(s)));
        assert_eq!(err.to_string(), "pods web not found");
        assert_eq!(err.object().map(|o| o.name), Some("web".to_string()));
    }

    #[cfg(feature = "client")]
    #[test]
    fn a_422_says_its_causes_once() {
        let mut s = kube::core::Status::failure(
            "Pod \"web\" is invalid: spec.containers[0].image: Required value",
            "Invalid",
        )
        .with_code(422);
        s.details = Some(details(
            "pods",
            "web",
            vec![kube::core::response::StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.containers[0].image".into(),
            }],
        ));
        let err = Error::from_kube(
            kube::Error::Api(Box::new(s)),
            ObjectRef::new("Pod", Some("a"), "web"),
        );
        assert_eq!(
            err.to_string(),
            "Pod a/web is invalid: spec.containers[0].image: Required value"
        );
        let Error::Invalid { causes, .. } = &err else {
            panic!("not Invalid: {err:?}")
        };
        assert_eq!(causes[0].reason, "FieldValueRequired");
    }

    #[cfg(feature = "client")]
    #[test]
    fn a_rejection_is_said_with_the_server_message_not_its_debug_form() {
        let err = Error::from_kube(
            status(
                403,
                "Forbidden",
                "pods \"web\" is forbidden: User \"x\" cannot get resource",
            ),
            ObjectRef::new("Pod", Some("a"), "web"),
        );
        let text = err.to_string();
        assert_eq!(
            text,
            "Pod a/web: pods \"web\" is forbidden: User \"x\" cannot get resource (403 Forbidden)"
        );
        assert!(!text.contains("Status {"), "{text}");
    }

    #[test]
    fn a_validation_error_names_its_object() {
        let err = Error::from(crate::builders::ValidationError::new(
            "Pod",
            "Web",
            "metadata.name",
            "Web",
            "is not valid",
        ));
        assert_eq!(err.object(), Some(ObjectRef::new("Pod", None, "Web")));
    }
}
/// `Result<T, Error>` stays small: clippy's `result_large_err` (128 bytes) would flag every
/// caller's function returning `kubekit::Result`, so the object and the large parts are boxed.
#[cfg(all(test, feature = "client"))]
mod size {
    #[test]
    fn the_error_stays_well_under_clippys_large_error_threshold() {
        let size = std::mem::size_of::<super::Error>();
        assert!(size <= 96, "kubekit::Error is {size} bytes");
    }
}
