//! The error type of the client calls.

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

/// Why a client call failed. Each variant names the object (kind, namespace, name) or the
/// manifest document concerned and the rule that was broken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist.
    #[error("{object} not found")]
    NotFound {
        /// The object that was asked for.
        object: ObjectRef,
    },

    /// A server-side apply would change fields another field manager owns. Apply with
    /// [`ApplyOptions::force`](super::ApplyOptions::force) to take them over.
    #[error(
        "apply of {object} conflicts with field manager {manager} on {}; \
         apply with force to take the field(s) over",
        .fields.join(", ")
    )]
    Conflict {
        /// The object being applied.
        object: ObjectRef,
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
    #[error("{object} is invalid: {message}{}", Causes(.causes))]
    Invalid {
        /// The object that was sent.
        object: ObjectRef,
        /// The server's message.
        message: String,
        /// The fields at fault and why.
        causes: Vec<FieldCause>,
    },

    /// The API server refused the request for another reason (forbidden, already exists,
    /// bad request, ...).
    #[error("{object}: the API server refused the request ({code} {reason}): {message}")]
    Rejected {
        /// The object concerned.
        object: ObjectRef,
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
        object: ObjectRef,
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
    /// builders' validation, for the kinds it covers).
    #[error("invalid object: {0}")]
    Validation(#[source] crate::builders::ValidationError),

    /// A manifest could not be read.
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

    /// Watching an object during a wait failed.
    #[error("watching {object} failed: {source}")]
    Watch {
        /// The watched object.
        object: ObjectRef,
        /// The watcher's error.
        #[source]
        source: Box<kube::runtime::wait::Error>,
    },

    /// Any other error from the Kubernetes client (connection, TLS, kubeconfig, decoding).
    #[error("Kubernetes client error: {0}")]
    Kube(#[source] kube::Error),
}

/// The result type of the client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Turns an error of [`kube`] about `object` into the matching variant: `NotFound` for 404,
    /// `Conflict` for a field manager conflict, `Invalid` for 422, `Rejected` for other API
    /// statuses, `Kube` otherwise.
    pub fn from_kube(err: kube::Error, object: ObjectRef) -> Self {
        let kube::Error::Api(status) = &err else {
            return Error::Kube(err);
        };
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

    /// The object the error is about, when it is about one.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            Error::NotFound { object }
            | Error::Conflict { object, .. }
            | Error::Invalid { object, .. }
            | Error::Rejected { object, .. }
            | Error::BadObject { object, .. }
            | Error::Watch { object, .. } => Some(object),
            Error::Document { source, .. } => source.object(),
            _ => None,
        }
    }

    /// Whether the error says an object does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Document { source, .. } => source.is_not_found(),
            _ => false,
        }
    }
}

impl From<kube::Error> for Error {
    fn from(err: kube::Error) -> Self {
        Error::Kube(err)
    }
}

impl From<crate::builders::ValidationError> for Error {
    fn from(err: crate::builders::ValidationError) -> Self {
        Error::Validation(err)
    }
}

impl From<crate::manifest::ManifestError> for Error {
    fn from(err: crate::manifest::ManifestError) -> Self {
        Error::Manifest(err)
    }
}

/// The manager named in a conflict cause's message, e.g. `conflict with "kubectl" using v1`
/// gives `"kubectl"` (quoted, as the server prints it).
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
}
