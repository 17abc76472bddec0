//! The error returned when an object breaks a rule Kubernetes would enforce.

use std::fmt::Display;

/// An object (or a part of one) breaks a rule that the Kubernetes API server would enforce.
///
/// It names the object (`kind` and `name`), the offending field by its JSON path as the API
/// server spells it (`spec.containers[1].ports[0].containerPort`), the offending value and the
/// rule that value breaks.
///
/// ```
/// use kubekit::builders::pod;
/// use kubekit::builders::container;
///
/// let web = container().name("web").image("nginx:1.28").build()?;
/// let err = pod().name("Web").container(web).build().unwrap_err();
/// assert_eq!(err.kind, "Pod");
/// assert_eq!(err.field, "metadata.name");
/// assert_eq!(
///     err.to_string(),
///     "Pod \"Web\": metadata.name \"Web\" is not a valid DNS-1123 subdomain: must consist of \
///      lower case alphanumeric characters, '-' or '.', and must start and end with an \
///      alphanumeric character"
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} \"{name}\": {field} \"{value}\" {rule}")]
pub struct ValidationError {
    /// The kind of the object that is invalid: `Pod`, `Deployment`, `Container`, ...
    pub kind: String,
    /// The object's name (empty when the object has none).
    pub name: String,
    /// The path of the offending field, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The offending value, as text (empty for a missing value).
    pub value: String,
    /// The rule the value breaks, phrased to follow the value, e.g. `is required` or
    /// `must be between 1 and 65535, inclusive`.
    pub rule: String,
}

impl ValidationError {
    /// Creates an error from its parts.
    ///
    /// ```
    /// use kubekit::builders::ValidationError;
    /// let e = ValidationError::new("Service", "web", "spec.ports", "", "must not be empty");
    /// assert_eq!(e.to_string(), "Service \"web\": spec.ports \"\" must not be empty");
    /// ```
    pub fn new(
        kind: impl Into<String>,
        name: impl Into<String>,
        field: impl Into<String>,
        value: impl Display,
        rule: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            field: field.into(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }
}
