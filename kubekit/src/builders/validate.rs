//! Kubernetes' validation rules, reusable on their own and on whole objects.
//!
//! The string and number rules ([`dns1123_label`], [`dns1123_subdomain`], [`dns1035_label`],
//! [`iana_svc_name`], [`qualified_name`], [`label_value`], [`port_number`], [`quantity`], ...)
//! return `Err(rule)` where `rule` is a static text that reads after the value, e.g.
//! `"is not a valid DNS-1123 label: must be no more than 63 characters"`.
//!
//! The object rules ([`Validate`], [`validate_pod`], [`validate_deployment`], ...) check a whole
//! `k8s-openapi` object the way the API server would (and a few things it only finds out at run
//! time, like a volume mount naming no volume), and return the first broken rule as a
//! [`ValidationError`] naming the object, the field path, the value and the rule. The builders run
//! them on everything they build, so an object parsed from YAML can be checked with the very same
//! rules:
//!
//! ```
//! use kubekit::builders::validate::{self, Validate};
//! use kubekit::k8s_openapi::api::core::v1::Pod;
//!
//! assert!(validate::dns1123_label("web").is_ok());
//! assert_eq!(
//!     validate::port_number(0),
//!     Err("must be between 1 and 65535, inclusive")
//! );
//!
//! let pod: Pod = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "v1",
//!     "kind": "Pod",
//!     "metadata": { "name": "web" },
//!     "spec": { "containers": [{ "name": "web", "image": "nginx", "ports": [{ "containerPort": 0 }] }] }
//! }))?;
//! let err = pod.validate().unwrap_err();
//! assert_eq!(err.field, "spec.containers[0].ports[0].containerPort");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy, ReplicaSet};
use k8s_openapi::api::core::v1::{
    Container, Namespace, Pod, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::ValidationError;

// ---------------------------------------------------------------------------------------------
// String and number rules
// ---------------------------------------------------------------------------------------------

/// Maximum length of a DNS-1123 label (and of a DNS-1035 label).
pub const DNS1123_LABEL_MAX_LEN: usize = 63;
/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;
/// Maximum length of an IANA service name (a port name).
pub const IANA_SVC_NAME_MAX_LEN: usize = 15;
/// Maximum length of a label value, and of the name part of a qualified name.
pub const LABEL_VALUE_MAX_LEN: usize = 63;

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn matches_label_chars(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_lower_alnum(first)
                && is_lower_alnum(last)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// Checks that `s` is a DNS-1123 label (RFC 1123): at most 63 characters, lower case
/// alphanumeric characters or `-`, starting and ending with an alphanumeric character.
///
/// Kubernetes uses it for Namespace names, container names, volume names and Service port names.
///
/// ```
/// use kubekit::builders::validate::dns1123_label;
/// assert!(dns1123_label("web-1").is_ok());
/// assert!(dns1123_label("1web").is_ok());
/// assert!(dns1123_label("Web").is_err());
/// assert!(dns1123_label("web.app").is_err());
/// ```
pub fn dns1123_label(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is not a valid DNS-1123 label: must not be empty");
    }
    if s.len() > DNS1123_LABEL_MAX_LEN {
        return Err("is not a valid DNS-1123 label: must be no more than 63 characters");
    }
    if !matches_label_chars(s) {
        return Err(
            "is not a valid DNS-1123 label: must consist of lower case alphanumeric characters \
             or '-', and must start and end with an alphanumeric character",
        );
    }
    Ok(())
}

/// Checks that `s` is a DNS-1123 subdomain: at most 253 characters, lower case alphanumeric
/// characters, `-` or `.`, each dot-separated part starting and ending with an alphanumeric
/// character.
///
/// Kubernetes uses it for the names of most objects, Pods and Deployments among them.
///
/// ```
/// use kubekit::builders::validate::dns1123_subdomain;
/// assert!(dns1123_subdomain("web.example.com").is_ok());
/// assert!(dns1123_subdomain("web..example").is_err());
/// assert!(dns1123_subdomain("Web").is_err());
/// ```
pub fn dns1123_subdomain(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is not a valid DNS-1123 subdomain: must not be empty");
    }
    if s.len() > DNS1123_SUBDOMAIN_MAX_LEN {
        return Err("is not a valid DNS-1123 subdomain: must be no more than 253 characters");
    }
    if !s.split('.').all(matches_label_chars) {
        return Err(
            "is not a valid DNS-1123 subdomain: must consist of lower case alphanumeric \
             characters, '-' or '.', and must start and end with an alphanumeric character",
        );
    }
    Ok(())
}

/// Checks that `s` is a DNS-1035 label: a DNS-1123 label that starts with a letter.
///
/// Kubernetes uses it for Service names.
///
/// ```
/// use kubekit::builders::validate::dns1035_label;
/// assert!(dns1035_label("web").is_ok());
/// assert!(dns1035_label("1web").is_err());
/// ```
pub fn dns1035_label(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is not a valid DNS-1035 label: must not be empty");
    }
    if s.len() > DNS1123_LABEL_MAX_LEN {
        return Err("is not a valid DNS-1035 label: must be no more than 63 characters");
    }
    if !matches_label_chars(s) || !s.as_bytes()[0].is_ascii_lowercase() {
        return Err(
            "is not a valid DNS-1035 label: must consist of lower case alphanumeric characters \
             or '-', start with an alphabetic character, and end with an alphanumeric character",
        );
    }
    Ok(())
}

/// Checks that `s` is an IANA service name (`IANA_SVC_NAME`), the rule for container port names
/// and named target ports: at most 15 characters, lower case alphanumeric characters or `-`, at
/// least one letter, no leading, trailing or doubled `-`.
///
/// ```
/// use kubekit::builders::validate::iana_svc_name;
/// assert!(iana_svc_name("http").is_ok());
/// assert!(iana_svc_name("http-alt").is_ok());
/// assert!(iana_svc_name("8080").is_err());
/// assert!(iana_svc_name("http--alt").is_err());
/// assert!(iana_svc_name("metrics-endpoint").is_err()); // 16 characters
/// ```
pub fn iana_svc_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is not a valid port name: must not be empty");
    }
    if s.len() > IANA_SVC_NAME_MAX_LEN {
        return Err("is not a valid port name: must be no more than 15 characters");
    }
    if !s.bytes().all(|c| is_lower_alnum(c) || c == b'-') {
        return Err(
            "is not a valid port name: must contain only lower case alphanumeric characters or '-'",
        );
    }
    if !s.bytes().any(|c| c.is_ascii_lowercase()) {
        return Err("is not a valid port name: must contain at least one letter (a-z)");
    }
    if s.contains("--") {
        return Err("is not a valid port name: must not contain consecutive hyphens");
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("is not a valid port name: must not begin or end with a hyphen");
    }
    Ok(())
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`
fn matches_qualified_name_chars(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Checks that `s` is a qualified name, the rule for label and annotation keys: an optional
/// DNS-1123 subdomain prefix (at most 253 characters) and `/`, then a name of at most 63
/// characters matching `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
///
/// ```
/// use kubekit::builders::validate::qualified_name;
/// assert!(qualified_name("app").is_ok());
/// assert!(qualified_name("app.kubernetes.io/name").is_ok());
/// assert!(qualified_name("App_Name.v2").is_ok());
/// assert!(qualified_name("Example.com/app").is_err());
/// assert!(qualified_name("-app").is_err());
/// assert!(qualified_name("a/b/c").is_err());
/// ```
pub fn qualified_name(s: &str) -> Result<(), &'static str> {
    let (prefix, name) = match s.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err("is not a valid qualified name: prefix part must not be empty");
        }
        if prefix.len() > DNS1123_SUBDOMAIN_MAX_LEN {
            return Err(
                "is not a valid qualified name: prefix part must be no more than 253 characters",
            );
        }
        if dns1123_subdomain(prefix).is_err() {
            return Err(
                "is not a valid qualified name: prefix part must be a DNS-1123 subdomain: lower \
                 case alphanumeric characters, '-' or '.', starting and ending with an \
                 alphanumeric character",
            );
        }
    }
    if name.is_empty() {
        return Err("is not a valid qualified name: name part must not be empty");
    }
    if name.len() > LABEL_VALUE_MAX_LEN {
        return Err("is not a valid qualified name: name part must be no more than 63 characters");
    }
    if !matches_qualified_name_chars(name) {
        return Err(
            "is not a valid qualified name: name part must consist of alphanumeric characters, \
             '-', '_' or '.', and must start and end with an alphanumeric character \
             (optionally prefixed by a DNS subdomain and '/')",
        );
    }
    Ok(())
}

/// Checks that `s` is a label key (a [`qualified_name`]).
///
/// ```
/// use kubekit::builders::validate::label_key;
/// assert!(label_key("app.kubernetes.io/name").is_ok());
/// assert!(label_key("").is_err());
/// ```
pub fn label_key(s: &str) -> Result<(), &'static str> {
    qualified_name(s)
}

/// Checks that `s` is a label value: empty, or at most 63 characters matching
/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`.
///
/// ```
/// use kubekit::builders::validate::label_value;
/// assert!(label_value("").is_ok());
/// assert!(label_value("v1.2_3-beta").is_ok());
/// assert!(label_value("a b").is_err());
/// assert!(label_value("-x").is_err());
/// ```
pub fn label_value(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Ok(());
    }
    if s.len() > LABEL_VALUE_MAX_LEN {
        return Err("is not a valid label value: must be no more than 63 characters");
    }
    if !matches_qualified_name_chars(s) {
        return Err(
            "is not a valid label value: must be empty or consist of alphanumeric characters, \
             '-', '_' or '.', and must start and end with an alphanumeric character",
        );
    }
    Ok(())
}

/// Checks that `port` is a valid port number: `1..=65535`.
///
/// ```
/// use kubekit::builders::validate::port_number;
/// assert!(port_number(1).is_ok());
/// assert!(port_number(65535).is_ok());
/// assert!(port_number(0).is_err());
/// assert!(port_number(65536).is_err());
/// ```
pub fn port_number(port: i32) -> Result<(), &'static str> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err("must be between 1 and 65535, inclusive")
    }
}

/// Checks a port given by number or by name: a number must pass [`port_number`], a name
/// [`iana_svc_name`].
///
/// ```
/// use kubekit::builders::validate::int_or_name_port;
/// use kubekit::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
/// assert!(int_or_name_port(&IntOrString::Int(8080)).is_ok());
/// assert!(int_or_name_port(&IntOrString::String("http".into())).is_ok());
/// assert!(int_or_name_port(&IntOrString::String("HTTP".into())).is_err());
/// ```
pub fn int_or_name_port(port: &IntOrString) -> Result<(), &'static str> {
    match port {
        IntOrString::Int(n) => port_number(*n),
        IntOrString::String(s) => iana_svc_name(s),
    }
}

/// Checks that `s` is an environment variable name: not empty, printable ASCII characters other
/// than `=` (the rule of Kubernetes 1.34, which no longer requires a C identifier).
///
/// ```
/// use kubekit::builders::validate::env_var_name;
/// assert!(env_var_name("RUST_LOG").is_ok());
/// assert!(env_var_name("my.setting").is_ok());
/// assert!(env_var_name("A=B").is_err());
/// assert!(env_var_name("").is_err());
/// ```
pub fn env_var_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is not a valid environment variable name: must not be empty");
    }
    if !s.bytes().all(|c| (b' '..=b'~').contains(&c) && c != b'=') {
        return Err(
            "is not a valid environment variable name: must consist of printable ASCII \
             characters except '='",
        );
    }
    Ok(())
}

/// Checks a container image reference the way the API server does: not empty and without
/// leading or trailing whitespace.
///
/// ```
/// use kubekit::builders::validate::image;
/// assert!(image("nginx:1.28").is_ok());
/// assert!(image(" nginx").is_err());
/// assert!(image("").is_err());
/// ```
pub fn image(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is required: a container image must not be empty");
    }
    if s.trim() != s {
        return Err("must not have leading or trailing whitespace");
    }
    Ok(())
}

/// Parses a resource quantity (`100m`, `0.5`, `128Mi`, `1G`, `1e3`) into its numeric value.
/// Returns `None` when `s` is not a quantity.
fn parse_quantity(s: &str) -> Option<f64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let num_len = rest
        .bytes()
        .take_while(|c| c.is_ascii_digit() || *c == b'.')
        .count();
    let (number, suffix) = rest.split_at(num_len);
    if !number.bytes().any(|c| c.is_ascii_digit())
        || number.bytes().filter(|c| *c == b'.').count() > 1
    {
        return None;
    }
    // Most quantities are small integers (`100m`, `128Mi`): read them without the float
    // parser (exact, as any integer below 2^53 is).
    let mut value: f64 = if number.len() <= 15 && !number.contains('.') {
        number
            .bytes()
            .fold(0u64, |n, c| n * 10 + u64::from(c - b'0')) as f64
    } else {
        number.parse().ok()?
    };
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let exp: i32 = exp.parse().ok()?;
            10f64.powi(exp)
        }
    };
    value *= multiplier;
    if negative {
        value = -value;
    }
    Some(value)
}

/// Checks that `s` is a non-negative resource quantity such as `100m`, `0.5`, `128Mi`, `1G`.
///
/// ```
/// use kubekit::builders::validate::quantity;
/// assert!(quantity("250m").is_ok());
/// assert!(quantity("128Mi").is_ok());
/// assert!(quantity("1.5").is_ok());
/// assert!(quantity("128MB").is_err());
/// assert!(quantity("-1").is_err());
/// ```
pub fn quantity(s: &str) -> Result<(), &'static str> {
    match parse_quantity(s) {
        None => Err(
            "is not a valid resource quantity: must be a number with an optional suffix \
             (n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like e3), \
             e.g. '100m', '0.5', '128Mi'",
        ),
        Some(v) if v < 0.0 => Err("must be greater than or equal to 0"),
        Some(_) => Ok(()),
    }
}

fn non_negative(n: i32) -> Result<(), &'static str> {
    if n < 0 {
        Err("must be greater than or equal to 0")
    } else {
        Ok(())
    }
}

fn non_negative_i64(n: i64) -> Result<(), &'static str> {
    if n < 0 {
        Err("must be greater than or equal to 0")
    } else {
        Ok(())
    }
}

fn one_of(
    value: &str,
    allowed: &'static [&'static str],
    rule: &'static str,
) -> Result<(), &'static str> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(rule)
    }
}

/// Checks an `imagePullPolicy` value: `Always`, `IfNotPresent` or `Never`.
///
/// ```
/// use kubekit::builders::validate::pull_policy;
/// assert!(pull_policy("IfNotPresent").is_ok());
/// assert!(pull_policy("ifnotpresent").is_err());
/// ```
pub fn pull_policy(s: &str) -> Result<(), &'static str> {
    one_of(
        s,
        &["Always", "IfNotPresent", "Never"],
        "is not a supported value: supported values: \"Always\", \"IfNotPresent\", \"Never\"",
    )
}

/// Checks a pod `restartPolicy` value: `Always`, `OnFailure` or `Never`.
///
/// ```
/// use kubekit::builders::validate::restart_policy;
/// assert!(restart_policy("OnFailure").is_ok());
/// assert!(restart_policy("Sometimes").is_err());
/// ```
pub fn restart_policy(s: &str) -> Result<(), &'static str> {
    one_of(
        s,
        &["Always", "OnFailure", "Never"],
        "is not a supported value: supported values: \"Always\", \"OnFailure\", \"Never\"",
    )
}

/// Checks a port `protocol` value: `TCP`, `UDP` or `SCTP`.
///
/// ```
/// use kubekit::builders::validate::protocol;
/// assert!(protocol("UDP").is_ok());
/// assert!(protocol("tcp").is_err());
/// ```
pub fn protocol(s: &str) -> Result<(), &'static str> {
    one_of(
        s,
        &["TCP", "UDP", "SCTP"],
        "is not a supported value: supported values: \"SCTP\", \"TCP\", \"UDP\"",
    )
}

/// Checks a Service `type` value: `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
///
/// ```
/// use kubekit::builders::validate::service_type;
/// assert!(service_type("NodePort").is_ok());
/// assert!(service_type("Nodeport").is_err());
/// ```
pub fn service_type(s: &str) -> Result<(), &'static str> {
    one_of(
        s,
        &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
        "is not a supported value: supported values: \"ClusterIP\", \"ExternalName\", \
         \"LoadBalancer\", \"NodePort\"",
    )
}

/// Checks a rolling update `maxSurge` / `maxUnavailable` value: a non-negative integer or a
/// non-negative percentage like `"25%"`. (Whether a percentage may exceed 100% depends on the
/// field; that is checked with the Deployment.)
///
/// ```
/// use kubekit::builders::validate::int_or_percent;
/// use kubekit::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
/// assert!(int_or_percent(&IntOrString::Int(1)).is_ok());
/// assert!(int_or_percent(&IntOrString::String("25%".into())).is_ok());
/// assert!(int_or_percent(&IntOrString::String("25".into())).is_err());
/// assert!(int_or_percent(&IntOrString::Int(-1)).is_err());
/// ```
pub fn int_or_percent(v: &IntOrString) -> Result<(), &'static str> {
    match v {
        IntOrString::Int(n) => non_negative(*n),
        IntOrString::String(s) => match percent_value(s) {
            Some(_) => Ok(()),
            None => Err("must be a non-negative integer or a percentage like '25%'"),
        },
    }
}

fn percent_value(s: &str) -> Option<u64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// True when the value is zero (`0` or `"0%"`).
fn is_zero(v: &IntOrString) -> bool {
    match v {
        IntOrString::Int(n) => *n == 0,
        IntOrString::String(s) => percent_value(s) == Some(0),
    }
}

// ---------------------------------------------------------------------------------------------
// Object rules
// ---------------------------------------------------------------------------------------------

/// An object that can be checked against Kubernetes' validation rules.
///
/// Implemented for the `k8s-openapi` types kubekit builds: [`Pod`], [`Container`],
/// [`Deployment`], [`ReplicaSet`], [`StatefulSet`], [`DaemonSet`], [`Job`], [`CronJob`],
/// [`Service`], [`Namespace`], [`ConfigMap`], [`Secret`] and [`PersistentVolumeClaim`].
///
/// ```
/// use kubekit::builders::validate::Validate;
/// use kubekit::k8s_openapi::api::core::v1::Namespace;
///
/// let mut ns = Namespace::default();
/// ns.metadata.name = Some("team_a".into());
/// let err = ns.validate().unwrap_err();
/// assert_eq!(err.kind, "Namespace");
/// assert_eq!(err.field, "metadata.name");
/// ```
pub trait Validate {
    /// Returns the first rule the object breaks, if any.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// Validates a Pod: metadata, containers, init containers, ports, probes, resources, volumes.
///
/// ```
/// use kubekit::builders::validate::validate_pod;
/// use kubekit::k8s_openapi::api::core::v1::Pod;
/// // A Pod without containers.
/// let mut pod = Pod::default();
/// pod.metadata.name = Some("web".into());
/// assert_eq!(validate_pod(&pod).unwrap_err().field, "spec.containers");
/// ```
pub fn validate_pod(pod: &Pod) -> Result<(), ValidationError> {
    pod.validate()
}

/// Validates a Deployment: metadata, selector (which must match the template's labels),
/// strategy, counts and the pod template.
///
/// ```
/// use kubekit::builders::validate::validate_deployment;
/// use kubekit::k8s_openapi::api::apps::v1::Deployment;
/// let mut d = Deployment::default();
/// d.metadata.name = Some("web".into());
/// assert_eq!(validate_deployment(&d).unwrap_err().field, "spec");
/// ```
pub fn validate_deployment(deployment: &Deployment) -> Result<(), ValidationError> {
    deployment.validate()
}

/// Validates a ReplicaSet: metadata, selector (which must match the template's labels), counts
/// and the pod template.
///
/// ```
/// use kubekit::builders::validate::validate_replica_set;
/// use kubekit::k8s_openapi::api::apps::v1::ReplicaSet;
/// let mut rs = ReplicaSet::default();
/// rs.metadata.name = Some("web".into());
/// assert_eq!(validate_replica_set(&rs).unwrap_err().field, "spec");
/// ```
pub fn validate_replica_set(replica_set: &ReplicaSet) -> Result<(), ValidationError> {
    replica_set.validate()
}

/// Validates a Service: metadata (the name must be a DNS-1035 label), type, ports, node ports
/// and selector.
///
/// ```
/// use kubekit::builders::validate::validate_service;
/// use kubekit::k8s_openapi::api::core::v1::Service;
/// let mut s = Service::default();
/// s.metadata.name = Some("1web".into());
/// assert_eq!(validate_service(&s).unwrap_err().field, "metadata.name");
/// ```
pub fn validate_service(service: &Service) -> Result<(), ValidationError> {
    service.validate()
}

/// Validates a Namespace: its name must be a DNS-1123 label; labels and annotations.
///
/// ```
/// use kubekit::builders::validate::validate_namespace;
/// use kubekit::k8s_openapi::api::core::v1::Namespace;
/// let mut ns = Namespace::default();
/// ns.metadata.name = Some("team-a".into());
/// assert!(validate_namespace(&ns).is_ok());
/// ```
pub fn validate_namespace(namespace: &Namespace) -> Result<(), ValidationError> {
    namespace.validate()
}

/// Validates a single container on its own (outside a Pod, so volume mounts are not matched
/// against volumes). Errors name the kind `Container` and the container's name.
///
/// ```
/// use kubekit::builders::validate::validate_container;
/// use kubekit::k8s_openapi::api::core::v1::Container;
/// let c = Container { name: "web".into(), image: Some("nginx".into()), ..Default::default() };
/// assert!(validate_container(&c).is_ok());
/// ```
pub fn validate_container(container: &Container) -> Result<(), ValidationError> {
    container.validate()
}

/// Which object an error is reported against.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        field: impl Into<String>,
        value: impl Display,
        rule: impl Into<String>,
    ) -> ValidationError {
        ValidationError::new(self.kind, self.name, field, value, rule)
    }

    fn check(
        &self,
        field: impl FnOnce() -> String,
        value: &str,
        rule: fn(&str) -> Result<(), &'static str>,
    ) -> Result<(), ValidationError> {
        rule(value).map_err(|r| self.err(field(), value, r))
    }
}

type VResult = Result<(), ValidationError>;

thread_local! {
    /// Bit `i`: `spec.containers[i]` of the pod spec about to be checked was validated by
    /// `container().build()` already (set by the builders through
    /// [`with_validated_containers`], taken by the first pod spec checked).
    static VALIDATED_CONTAINERS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
thread_local! {
    /// How many containers `check_container` checked on this thread (tests only).
    pub(crate) static CONTAINER_CHECKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `validate` (a builder's check of the object it made) knowing that the containers of
/// `validated` (bit `i`: `containers[i]` of the object's pod spec) passed
/// [`Validate for Container`](Container) already: only what depends on the pod (volume mounts
/// naming its volumes, duplicate names and ports) is checked for them.
pub(crate) fn with_validated_containers<T>(validated: u64, validate: impl FnOnce() -> T) -> T {
    let previous = VALIDATED_CONTAINERS.with(|v| v.replace(validated));
    let result = validate();
    VALIDATED_CONTAINERS.with(|v| v.set(previous));
    result
}

fn object_name(meta: &ObjectMeta) -> &str {
    meta.name
        .as_deref()
        .or(meta.generate_name.as_deref())
        .unwrap_or("")
}

/// `generateName` is a prefix: a trailing `-` is fine.
fn mask_trailing_dash(s: &str) -> String {
    match s.strip_suffix('-') {
        Some(rest) if !rest.is_empty() => format!("{rest}a"),
        _ => s.to_string(),
    }
}

fn check_meta(
    ctx: Ctx<'_>,
    meta: &ObjectMeta,
    name_rule: fn(&str) -> Result<(), &'static str>,
    namespaced: bool,
) -> VResult {
    match (&meta.name, &meta.generate_name) {
        (Some(name), _) => ctx.check(|| "metadata.name".into(), name, name_rule)?,
        (None, Some(generate)) => name_rule(&mask_trailing_dash(generate))
            .map_err(|r| ctx.err("metadata.generateName", generate, r))?,
        (None, None) => return Err(ctx.err("metadata.name", "", "is required")),
    }
    if namespaced && let Some(ns) = &meta.namespace {
        ctx.check(|| "metadata.namespace".into(), ns, dns1123_label)?;
    }
    check_labels(ctx, "metadata.labels", meta.labels.as_ref())?;
    check_annotations(ctx, "metadata.annotations", meta.annotations.as_ref())
}

pub(crate) fn check_labels(
    ctx: Ctx<'_>,
    path: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> VResult {
    for (key, value) in labels.into_iter().flatten() {
        ctx.check(|| path.to_string(), key, label_key)?;
        ctx.check(|| format!("{path}.{key}"), value, label_value)?;
    }
    Ok(())
}

const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

fn check_annotations(
    ctx: Ctx<'_>,
    path: &str,
    annotations: Option<&BTreeMap<String, String>>,
) -> VResult {
    let mut total = 0usize;
    for (key, value) in annotations.into_iter().flatten() {
        ctx.check(|| path.to_string(), key, qualified_name)?;
        total = total.saturating_add(key.len()).saturating_add(value.len());
    }
    if total > ANNOTATIONS_MAX_BYTES {
        return Err(ctx.err(
            path,
            format!("{total} bytes"),
            "is too long: annotations must have at most 262144 bytes in total",
        ));
    }
    Ok(())
}

/// How strict the pod spec rules are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PodMode {
    /// A Pod: images are required.
    Pod,
    /// The pod template of a Deployment, ReplicaSet, StatefulSet or DaemonSet: images may be
    /// left to be filled in, the restart policy must be `Always`.
    WorkloadTemplate,
    /// The pod template of a Job (or a CronJob's Job): the restart policy must be set, to
    /// `OnFailure` or `Never`.
    JobTemplate,
}

fn fmt_protocol(p: Option<&str>) -> &str {
    p.unwrap_or("TCP")
}

fn check_pod_spec(ctx: Ctx<'_>, prefix: &str, spec: &PodSpec, mode: PodMode) -> VResult {
    check_pod_spec_with(ctx, prefix, spec, mode, &[])
}

/// [`check_pod_spec`] where `claims` also name volumes the containers may mount (a
/// StatefulSet's volume claim templates).
fn check_pod_spec_with(
    ctx: Ctx<'_>,
    prefix: &str,
    spec: &PodSpec,
    mode: PodMode,
    claims: &[&str],
) -> VResult {
    if spec.containers.is_empty() {
        return Err(ctx.err(
            format!("{prefix}.containers"),
            "",
            "must contain at least one container",
        ));
    }

    let mut volume_names: BTreeSet<&str> = claims.iter().copied().collect();
    for (i, volume) in spec.volumes.iter().flatten().enumerate() {
        let field = || format!("{prefix}.volumes[{i}].name");
        ctx.check(field, &volume.name, dns1123_label)?;
        if !volume_names.insert(volume.name.as_str()) {
            return Err(ctx.err(
                field(),
                &volume.name,
                "is a duplicate: volume names must be unique within a pod",
            ));
        }
    }

    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| ("initContainers", c));
    let regular = spec.containers.iter().map(|c| ("containers", c));
    let mut container_names = BTreeSet::new();
    let mut ports: BTreeMap<(i32, &str), &str> = BTreeMap::new();
    let mut counters = BTreeMap::new();
    let validated = VALIDATED_CONTAINERS.with(|v| v.replace(0));
    for (list, container) in init.chain(regular) {
        let counter = counters.entry(list).or_insert(0usize);
        let index = *counter;
        *counter += 1;
        let path = format_args!("{prefix}.{list}[{index}]");
        let is_init = list == "initContainers";
        if !is_init && index < 64 && validated & (1 << index) != 0 {
            // Checked on its own by `container().build()` (with the image required); what
            // depends on the pod is left.
            check_mounts_name_volumes(ctx, &path, container, &volume_names)?;
        } else {
            check_container(
                ctx,
                &path,
                container,
                ContainerOpts {
                    require_image: mode == PodMode::Pod,
                    volumes: Some(&volume_names),
                    init: is_init,
                },
            )?;
        }
        if !container_names.insert(container.name.as_str()) {
            return Err(ctx.err(
                format!("{path}.name"),
                &container.name,
                "is a duplicate: container names must be unique within a pod",
            ));
        }
        if is_init {
            continue;
        }
        for (j, port) in container.ports.iter().flatten().enumerate() {
            let protocol = fmt_protocol(port.protocol.as_deref());
            if let Some(other) = ports.insert((port.container_port, protocol), &container.name) {
                return Err(ctx.err(
                    format!("{path}.ports[{j}].containerPort"),
                    port.container_port,
                    format!(
                        "duplicates port {}/{protocol} of container \"{other}\": container ports \
                         must be unique within a pod",
                        port.container_port
                    ),
                ));
            }
        }
    }

    if let Some(policy) = &spec.restart_policy {
        ctx.check(|| format!("{prefix}.restartPolicy"), policy, restart_policy)?;
        if mode == PodMode::WorkloadTemplate && policy != "Always" {
            return Err(ctx.err(
                format!("{prefix}.restartPolicy"),
                policy,
                format!(
                    "is not supported in the pod template of a {}: supported values: \"Always\"",
                    ctx.kind
                ),
            ));
        }
    }
    if mode == PodMode::JobTemplate {
        match spec.restart_policy.as_deref() {
            Some("OnFailure" | "Never") => {}
            Some(policy) => {
                return Err(ctx.err(
                    format!("{prefix}.restartPolicy"),
                    policy,
                    "is not supported in the pod template of a Job: supported values: \
                     \"OnFailure\", \"Never\" (a Job's pods run to completion)",
                ));
            }
            None => {
                return Err(ctx.err(
                    format!("{prefix}.restartPolicy"),
                    "",
                    "is required in the pod template of a Job (Kubernetes' default, \"Always\", \
                     is not allowed): supported values: \"OnFailure\", \"Never\"",
                ));
            }
        }
    }
    if let Some(sa) = &spec.service_account_name {
        ctx.check(
            || format!("{prefix}.serviceAccountName"),
            sa,
            dns1123_subdomain,
        )?;
    }
    if let Some(grace) = spec.termination_grace_period_seconds {
        non_negative_i64(grace)
            .map_err(|r| ctx.err(format!("{prefix}.terminationGracePeriodSeconds"), grace, r))?;
    }
    if let Some(deadline) = spec.active_deadline_seconds
        && deadline <= 0
    {
        return Err(ctx.err(
            format!("{prefix}.activeDeadlineSeconds"),
            deadline,
            "must be greater than 0",
        ));
    }
    check_labels(
        ctx,
        &format!("{prefix}.nodeSelector"),
        spec.node_selector.as_ref(),
    )
}

#[derive(Clone, Copy)]
struct ContainerOpts<'a> {
    require_image: bool,
    /// The pod's volume names; `None` for a container checked on its own.
    volumes: Option<&'a BTreeSet<&'a str>>,
    init: bool,
}

/// The part of [`check_container`] that depends on the pod: each volume mount names a volume.
fn check_mounts_name_volumes(
    ctx: Ctx<'_>,
    path: &dyn Display,
    c: &Container,
    volumes: &BTreeSet<&str>,
) -> VResult {
    for (j, mount) in c.volume_mounts.iter().flatten().enumerate() {
        if !volumes.contains(mount.name.as_str()) {
            return Err(ctx.err(
                format!("{path}.volumeMounts[{j}].name"),
                &mount.name,
                "does not name a volume of the pod (spec.volumes)",
            ));
        }
    }
    Ok(())
}

fn check_container(
    ctx: Ctx<'_>,
    path: &dyn Display,
    c: &Container,
    opts: ContainerOpts<'_>,
) -> VResult {
    #[cfg(test)]
    CONTAINER_CHECKS.with(|n| n.set(n.get() + 1));
    ctx.check(|| format!("{path}.name"), &c.name, dns1123_label)?;
    match c.image.as_deref() {
        None | Some("") if opts.require_image => {
            return Err(ctx.err(format!("{path}.image"), "", "is required"));
        }
        None | Some("") => {}
        Some(img) => ctx.check(|| format!("{path}.image"), img, image)?,
    }
    if let Some(policy) = &c.image_pull_policy {
        ctx.check(|| format!("{path}.imagePullPolicy"), policy, pull_policy)?;
    }

    let mut port_names = BTreeSet::new();
    let mut port_numbers = BTreeSet::new();
    for (j, port) in c.ports.iter().flatten().enumerate() {
        let p = format_args!("{path}.ports[{j}]");
        port_number(port.container_port)
            .map_err(|r| ctx.err(format!("{p}.containerPort"), port.container_port, r))?;
        if let Some(host_port) = port.host_port
            && host_port != 0
        {
            port_number(host_port).map_err(|r| ctx.err(format!("{p}.hostPort"), host_port, r))?;
        }
        if let Some(protocol_value) = &port.protocol {
            ctx.check(|| format!("{p}.protocol"), protocol_value, protocol)?;
        }
        if let Some(name) = &port.name {
            ctx.check(|| format!("{p}.name"), name, iana_svc_name)?;
            if !port_names.insert(name.as_str()) {
                return Err(ctx.err(
                    format!("{p}.name"),
                    name,
                    "is a duplicate: port names must be unique within a container",
                ));
            }
        }
        let protocol_name = fmt_protocol(port.protocol.as_deref());
        if !port_numbers.insert((port.container_port, protocol_name)) {
            return Err(ctx.err(
                format!("{p}.containerPort"),
                port.container_port,
                format!(
                    "is a duplicate: port {}/{protocol_name} is already declared by this container",
                    port.container_port
                ),
            ));
        }
    }

    for (j, env) in c.env.iter().flatten().enumerate() {
        ctx.check(|| format!("{path}.env[{j}].name"), &env.name, env_var_name)?;
        if env.value.is_some() && env.value_from.is_some() {
            return Err(ctx.err(
                format!("{path}.env[{j}].valueFrom"),
                &env.name,
                "may not be specified when `value` is not empty",
            ));
        }
    }

    if let Some(resources) = &c.resources {
        check_resources(ctx, format_args!("{path}.resources"), resources)?;
    }

    let probes = [
        ("readinessProbe", &c.readiness_probe),
        ("livenessProbe", &c.liveness_probe),
        ("startupProbe", &c.startup_probe),
    ];
    let sidecar = c.restart_policy.as_deref() == Some("Always");
    for (probe_field, probe) in probes {
        let Some(probe) = probe else { continue };
        let probe_path = format_args!("{path}.{probe_field}");
        if opts.init && !sidecar {
            return Err(ctx.err(
                probe_path.to_string(),
                "",
                "may not be set for init containers without restartPolicy=Always",
            ));
        }
        check_probe(
            ctx,
            probe_path,
            probe,
            probe_field != "readinessProbe",
            &port_names,
        )?;
    }
    if let Some(policy) = &c.restart_policy
        && (!opts.init || policy != "Always")
    {
        return Err(ctx.err(
            format!("{path}.restartPolicy"),
            policy,
            "may only be set to \"Always\", and only for init containers (sidecars)",
        ));
    }

    let mut mount_paths = BTreeSet::new();
    for (j, mount) in c.volume_mounts.iter().flatten().enumerate() {
        let p = format_args!("{path}.volumeMounts[{j}]");
        if mount.name.is_empty() {
            return Err(ctx.err(format!("{p}.name"), "", "is required"));
        }
        if let Some(volumes) = opts.volumes
            && !volumes.contains(mount.name.as_str())
        {
            return Err(ctx.err(
                format!("{p}.name"),
                &mount.name,
                "does not name a volume of the pod (spec.volumes)",
            ));
        }
        if mount.mount_path.is_empty() {
            return Err(ctx.err(format!("{p}.mountPath"), "", "is required"));
        }
        if !mount_paths.insert(mount.mount_path.as_str()) {
            return Err(ctx.err(
                format!("{p}.mountPath"),
                &mount.mount_path,
                "must be unique: another volume is already mounted at this path",
            ));
        }
    }
    if let Some(dir) = &c.working_dir
        && dir.is_empty()
    {
        return Err(ctx.err(
            format!("{path}.workingDir"),
            "",
            "must not be empty when set",
        ));
    }
    Ok(())
}

fn check_resources(ctx: Ctx<'_>, path: fmt::Arguments<'_>, r: &ResourceRequirements) -> VResult {
    // Each quantity is parsed once: the limits' values (the first few, without allocating)
    // are kept for the comparison with the requests.
    const KEPT: usize = 8;
    let mut limit_values: [(&str, f64); KEPT] = [("", 0.0); KEPT];
    let mut kept = 0;
    let mut request_values: [(&str, f64); KEPT] = [("", 0.0); KEPT];
    let mut kept_requests = 0;
    for (which, map) in [("limits", &r.limits), ("requests", &r.requests)] {
        for (name, qty) in map.iter().flatten() {
            ctx.check(|| format!("{path}.{which}"), name, qualified_name)?;
            let Some(value) = parse_quantity(&qty.0).filter(|v| *v >= 0.0) else {
                let rule = quantity(&qty.0).err().unwrap_or_default();
                return Err(ctx.err(format!("{path}.{which}.{name}"), &qty.0, rule));
            };
            let (values, count) = if which == "limits" {
                (&mut limit_values, &mut kept)
            } else {
                (&mut request_values, &mut kept_requests)
            };
            if *count < KEPT {
                values[*count] = (name.as_str(), value);
                *count += 1;
            }
        }
    }
    let known = |values: &[(&str, f64)], name: &str| {
        values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    };
    if let (Some(requests), Some(limits)) = (&r.requests, &r.limits) {
        for (name, request) in requests {
            let Some(limit) = limits.get(name) else {
                continue;
            };
            let req = known(&request_values[..kept_requests], name)
                .or_else(|| parse_quantity(&request.0));
            let lim = known(&limit_values[..kept], name).or_else(|| parse_quantity(&limit.0));
            if let (Some(req), Some(lim)) = (req, lim)
                && req > lim
            {
                return Err(ctx.err(
                    format!("{path}.requests.{name}"),
                    &request.0,
                    format!(
                        "must be less than or equal to the {name} limit \"{}\"",
                        limit.0
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_probe(
    ctx: Ctx<'_>,
    path: fmt::Arguments<'_>,
    probe: &Probe,
    success_must_be_one: bool,
    port_names: &BTreeSet<&str>,
) -> VResult {
    let handlers = [
        probe.exec.is_some(),
        probe.http_get.is_some(),
        probe.tcp_socket.is_some(),
        probe.grpc.is_some(),
    ];
    let count = handlers.iter().filter(|h| **h).count();
    if count != 1 {
        return Err(ctx.err(
            path.to_string(),
            format!("{count} handlers"),
            "must specify exactly one handler: exec, httpGet, tcpSocket or grpc",
        ));
    }
    // Paths are formatted only for an error: validation runs on every `build()`.
    let check_port = |field: &dyn Fn() -> String, port: &IntOrString| -> VResult {
        int_or_name_port(port).map_err(|r| ctx.err(field(), fmt_int_or_string(port), r))?;
        if let IntOrString::String(name) = port
            && !port_names.contains(name.as_str())
        {
            return Err(ctx.err(
                field(),
                name,
                "does not name a port of this container (ports[].name)",
            ));
        }
        Ok(())
    };
    if let Some(exec) = &probe.exec
        && exec.command.as_ref().is_none_or(|c| c.is_empty())
    {
        return Err(ctx.err(format!("{path}.exec.command"), "", "is required"));
    }
    if let Some(http) = &probe.http_get {
        check_port(&|| format!("{path}.httpGet.port"), &http.port)?;
        if let Some(scheme) = &http.scheme
            && scheme != "HTTP"
            && scheme != "HTTPS"
        {
            return Err(ctx.err(
                format!("{path}.httpGet.scheme"),
                scheme,
                "is not a supported value: supported values: \"HTTP\", \"HTTPS\"",
            ));
        }
    }
    if let Some(tcp) = &probe.tcp_socket {
        check_port(&|| format!("{path}.tcpSocket.port"), &tcp.port)?;
    }
    if let Some(grpc) = &probe.grpc {
        port_number(grpc.port).map_err(|r| ctx.err(format!("{path}.grpc.port"), grpc.port, r))?;
    }
    let numbers = [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("periodSeconds", probe.period_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ];
    for (field, value) in numbers {
        if let Some(value) = value {
            non_negative(value).map_err(|r| ctx.err(format!("{path}.{field}"), value, r))?;
        }
    }
    if success_must_be_one
        && let Some(threshold) = probe.success_threshold
        && threshold != 1
    {
        return Err(ctx.err(
            format!("{path}.successThreshold"),
            threshold,
            "must be 1 for liveness and startup probes",
        ));
    }
    Ok(())
}

pub(crate) fn fmt_int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

pub(crate) fn fmt_labels(labels: &BTreeMap<String, String>) -> String {
    kube_core::Selector::from_iter(labels.clone()).to_string()
}

fn check_selector(ctx: Ctx<'_>, path: &str, selector: &LabelSelector) -> VResult {
    let empty = selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty());
    if empty {
        return Err(ctx.err(
            path,
            "",
            "must not be empty: an empty selector would select every pod",
        ));
    }
    check_labels(
        ctx,
        &format!("{path}.matchLabels"),
        selector.match_labels.as_ref(),
    )?;
    for (i, e) in selector.match_expressions.iter().flatten().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        ctx.check(|| format!("{p}.key"), &e.key, label_key)?;
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    return Err(ctx.err(
                        format!("{p}.values"),
                        "",
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    return Err(ctx.err(
                        format!("{p}.values"),
                        values.join(","),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => {
                return Err(ctx.err(
                    format!("{p}.operator"),
                    other,
                    "is not a supported value: supported values: \"DoesNotExist\", \"Exists\", \
                     \"In\", \"NotIn\"",
                ));
            }
        }
        for (j, v) in values.iter().enumerate() {
            ctx.check(|| format!("{p}.values[{j}]"), v, label_value)?;
        }
    }
    Ok(())
}

/// Checks the parts shared by Deployment and ReplicaSet: selector, template and counts.
fn check_workload(
    ctx: Ctx<'_>,
    selector: &LabelSelector,
    template: Option<&PodTemplateSpec>,
    replicas: Option<i32>,
    min_ready_seconds: Option<i32>,
) -> VResult {
    check_workload_with(ctx, selector, template, replicas, min_ready_seconds, &[])
}

/// [`check_workload`] for any controller of long-running pods (StatefulSet, DaemonSet too);
/// `claims` are the names of volume claim templates the containers may mount.
fn check_workload_with(
    ctx: Ctx<'_>,
    selector: &LabelSelector,
    template: Option<&PodTemplateSpec>,
    replicas: Option<i32>,
    min_ready_seconds: Option<i32>,
    claims: &[&str],
) -> VResult {
    if let Some(replicas) = replicas {
        non_negative(replicas).map_err(|r| ctx.err("spec.replicas", replicas, r))?;
    }
    if let Some(min_ready) = min_ready_seconds {
        non_negative(min_ready).map_err(|r| ctx.err("spec.minReadySeconds", min_ready, r))?;
    }
    check_selector(ctx, "spec.selector", selector)?;
    let Some(template) = template else {
        return Err(ctx.err("spec.template", "", "is required"));
    };
    let empty = BTreeMap::new();
    let meta = template.metadata.as_ref();
    let labels = meta.and_then(|m| m.labels.as_ref()).unwrap_or(&empty);
    check_labels(ctx, "spec.template.metadata.labels", Some(labels))?;
    if let Some(annotations) = meta.and_then(|m| m.annotations.as_ref()) {
        check_annotations(ctx, "spec.template.metadata.annotations", Some(annotations))?;
    }
    if !crate::selector::matches(selector, labels) {
        return Err(ctx.err(
            "spec.template.metadata.labels",
            fmt_labels(labels),
            format!(
                "does not match the selector ({}): the selector must select the pods of the template",
                crate::selector::string(selector).unwrap_or_default()
            ),
        ));
    }
    let Some(spec) = &template.spec else {
        return Err(ctx.err("spec.template.spec", "", "is required"));
    };
    check_pod_spec_with(
        ctx,
        "spec.template.spec",
        spec,
        PodMode::WorkloadTemplate,
        claims,
    )
}

fn check_strategy(ctx: Ctx<'_>, strategy: &DeploymentStrategy) -> VResult {
    let kind = strategy.type_.as_deref().unwrap_or("RollingUpdate");
    match kind {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                return Err(ctx.err(
                    "spec.strategy.rollingUpdate",
                    "",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            let Some(rolling) = &strategy.rolling_update else {
                return Ok(());
            };
            for (field, value) in [
                ("maxSurge", &rolling.max_surge),
                ("maxUnavailable", &rolling.max_unavailable),
            ] {
                if let Some(value) = value {
                    let path = format!("spec.strategy.rollingUpdate.{field}");
                    int_or_percent(value)
                        .map_err(|r| ctx.err(path.clone(), fmt_int_or_string(value), r))?;
                }
            }
            if let Some(IntOrString::String(s)) = &rolling.max_unavailable
                && percent_value(s).is_some_and(|p| p > 100)
            {
                return Err(ctx.err(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    s,
                    "must not be greater than 100%",
                ));
            }
            // Kubernetes defaults both to 25%; only explicit zeros can make both zero.
            if let (Some(surge), Some(unavailable)) = (&rolling.max_surge, &rolling.max_unavailable)
                && is_zero(surge)
                && is_zero(unavailable)
            {
                return Err(ctx.err(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    fmt_int_or_string(unavailable),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
        }
        other => {
            return Err(ctx.err(
                "spec.strategy.type",
                other,
                "is not a supported value: supported values: \"Recreate\", \"RollingUpdate\"",
            ));
        }
    }
    Ok(())
}

impl Validate for Pod {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Pod",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec.containers", "", "must contain at least one container"));
        };
        check_pod_spec(ctx, "spec", spec, PodMode::Pod)
    }
}

impl Validate for Container {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Container",
            name: &self.name,
        };
        check_container(
            ctx,
            &"",
            self,
            ContainerOpts {
                require_image: true,
                volumes: None,
                init: false,
            },
        )
        .map_err(|mut e| {
            // Paths of a lone container start at the container: `name`, `ports[0]`, ...
            if let Some(stripped) = e.field.strip_prefix('.') {
                e.field = stripped.to_string();
            }
            e
        })
    }
}

impl Validate for Deployment {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Deployment",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        if let Some(limit) = spec.revision_history_limit {
            non_negative(limit).map_err(|r| ctx.err("spec.revisionHistoryLimit", limit, r))?;
        }
        if let Some(deadline) = spec.progress_deadline_seconds {
            if deadline <= 0 {
                return Err(ctx.err(
                    "spec.progressDeadlineSeconds",
                    deadline,
                    "must be greater than 0",
                ));
            }
            let min_ready = spec.min_ready_seconds.unwrap_or(0);
            if deadline <= min_ready {
                return Err(ctx.err(
                    "spec.progressDeadlineSeconds",
                    deadline,
                    format!("must be greater than minReadySeconds ({min_ready})"),
                ));
            }
        }
        if let Some(strategy) = &spec.strategy {
            check_strategy(ctx, strategy)?;
        }
        check_workload(
            ctx,
            &spec.selector,
            Some(&spec.template),
            spec.replicas,
            spec.min_ready_seconds,
        )
    }
}

impl Validate for ReplicaSet {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "ReplicaSet",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        check_workload(
            ctx,
            &spec.selector,
            spec.template.as_ref(),
            spec.replicas,
            spec.min_ready_seconds,
        )
    }
}

impl Validate for Service {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Service",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1035_label, true)?;
        let default_spec = Default::default();
        let spec = self.spec.as_ref().unwrap_or(&default_spec);
        let service_type = spec.type_.as_deref().unwrap_or("ClusterIP");
        ctx.check(|| "spec.type".into(), service_type, self::service_type)?;
        let ports = spec.ports.as_deref().unwrap_or_default();
        let headless = spec.cluster_ip.as_deref() == Some("None");
        if ports.is_empty() && service_type != "ExternalName" && !headless {
            return Err(ctx.err("spec.ports", "", "must contain at least one port"));
        }
        let mut names = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        let node_ports_allowed = matches!(service_type, "NodePort" | "LoadBalancer");
        for (i, port) in ports.iter().enumerate() {
            let p = format!("spec.ports[{i}]");
            // The target first: a port named after its target would otherwise be reported by
            // a name the user never wrote.
            if let Some(target) = &port.target_port {
                int_or_name_port(target).map_err(|r| {
                    ctx.err(format!("{p}.targetPort"), fmt_int_or_string(target), r)
                })?;
            }
            match &port.name {
                Some(name) if !name.is_empty() => {
                    ctx.check(|| format!("{p}.name"), name, dns1123_label)?;
                    if !names.insert(name.as_str()) {
                        return Err(ctx.err(
                            format!("{p}.name"),
                            name,
                            "is a duplicate: port names must be unique within a Service",
                        ));
                    }
                }
                _ if ports.len() > 1 => {
                    return Err(ctx.err(
                        format!("{p}.name"),
                        "",
                        "is required when a Service has more than one port",
                    ));
                }
                _ => {}
            }
            port_number(port.port).map_err(|r| ctx.err(format!("{p}.port"), port.port, r))?;
            if let Some(protocol_value) = &port.protocol {
                ctx.check(|| format!("{p}.protocol"), protocol_value, protocol)?;
            }
            let protocol_name = fmt_protocol(port.protocol.as_deref());
            if !numbers.insert((port.port, protocol_name)) {
                return Err(ctx.err(
                    format!("{p}.port"),
                    port.port,
                    format!(
                        "is a duplicate: port {}/{protocol_name} is already declared by this Service",
                        port.port
                    ),
                ));
            }
            if let Some(node_port) = port.node_port
                && node_port != 0
            {
                if !node_ports_allowed {
                    return Err(ctx.err(
                        format!("{p}.nodePort"),
                        node_port,
                        format!(
                            "may not be used when `type` is '{service_type}' (only NodePort and \
                             LoadBalancer)"
                        ),
                    ));
                }
                port_number(node_port)
                    .map_err(|r| ctx.err(format!("{p}.nodePort"), node_port, r))?;
            }
        }
        if service_type != "ExternalName" {
            check_labels(ctx, "spec.selector", spec.selector.as_ref())?;
        }
        Ok(())
    }
}

impl Validate for Namespace {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Namespace",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_label, false)
    }
}

// ---------------------------------------------------------------------------------------------
// ConfigMap and Secret
// ---------------------------------------------------------------------------------------------

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

/// Maximum length of a ConfigMap or Secret key.
pub const CONFIG_KEY_MAX_LEN: usize = 253;
/// Maximum total size of the values of a ConfigMap (`data` and `binaryData`) or of a Secret
/// (`data` and `stringData`): 1 MiB.
pub const CONFIG_DATA_MAX_BYTES: usize = 1024 * 1024;
/// What an error about a Secret shows instead of a value, as the API server writes it.
pub const REDACTED: &str = "<secret contents redacted>";

/// Checks that `s` is a valid key of a ConfigMap or a Secret (`IsConfigMapKey`): at most 253
/// characters, alphanumeric characters, `-`, `_` or `.`, and not `.`, `..` or starting with
/// `..` (keys become file names when mounted).
///
/// ```
/// use kubekit::builders::validate::config_key;
/// assert!(config_key("app.conf").is_ok());
/// assert!(config_key(".dockerconfigjson").is_ok());
/// assert!(config_key("KEY_NAME").is_ok());
/// assert!(config_key("bad key").is_err());
/// assert!(config_key("..data").is_err());
/// assert!(config_key("").is_err());
/// ```
pub fn config_key(s: &str) -> Result<(), &'static str> {
    if s.len() > CONFIG_KEY_MAX_LEN {
        return Err("is not a valid config key: must be no more than 253 characters");
    }
    let allowed = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    if s.is_empty() || !s.bytes().all(allowed) {
        return Err(
            "is not a valid config key: must consist of alphanumeric characters, '-', '_' or '.'",
        );
    }
    match s {
        "." => Err("is not a valid config key: must not be '.'"),
        ".." => Err("is not a valid config key: must not be '..'"),
        _ if s.starts_with("..") => Err("is not a valid config key: must not start with '..'"),
        _ => Ok(()),
    }
}

/// Validates a ConfigMap: metadata, keys of `data` and `binaryData` (see [`config_key`]), no
/// key in both, at most 1 MiB of values in total.
///
/// ```
/// use kubekit::builders::validate::validate_config_map;
/// use kubekit::k8s_openapi::api::core::v1::ConfigMap;
/// let mut cm = ConfigMap::default();
/// cm.metadata.name = Some("settings".into());
/// cm.data = Some([("..data".to_string(), "x".to_string())].into());
/// assert_eq!(validate_config_map(&cm).unwrap_err().field, "data[..data]");
/// ```
pub fn validate_config_map(config_map: &ConfigMap) -> Result<(), ValidationError> {
    config_map.validate()
}

/// Validates a Secret: metadata, keys of `data` and `stringData` (see [`config_key`]), at most
/// 1 MiB of values in total, and the keys (or annotation) its `type` requires. Errors name
/// keys, never values.
///
/// ```
/// use kubekit::builders::validate::validate_secret;
/// use kubekit::k8s_openapi::api::core::v1::Secret;
/// let mut s = Secret::default();
/// s.metadata.name = Some("web-tls".into());
/// s.type_ = Some("kubernetes.io/tls".into());
/// assert_eq!(validate_secret(&s).unwrap_err().field, "data[tls.crt]");
/// ```
pub fn validate_secret(secret: &Secret) -> Result<(), ValidationError> {
    secret.validate()
}

fn check_config_size(ctx: Ctx<'_>, total: usize, rule: &'static str) -> VResult {
    if total > CONFIG_DATA_MAX_BYTES {
        return Err(ctx.err("data", format!("{total} bytes"), rule));
    }
    Ok(())
}

impl Validate for ConfigMap {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "ConfigMap",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let mut total = 0usize;
        for (key, value) in self.data.iter().flatten() {
            ctx.check(|| format!("data[{key}]"), key, config_key)?;
            total = total.saturating_add(value.len());
        }
        let data = self.data.as_ref();
        for (key, value) in self.binary_data.iter().flatten() {
            let field = || format!("binaryData[{key}]");
            ctx.check(field, key, config_key)?;
            if data.is_some_and(|d| d.contains_key(key)) {
                return Err(ctx.err(
                    field(),
                    key,
                    "is a duplicate: a key may not be in both data and binaryData",
                ));
            }
            total = total.saturating_add(value.0.len());
        }
        check_config_size(
            ctx,
            total,
            "is too long: data and binaryData must hold at most 1048576 bytes in total",
        )
    }
}

/// Checks that a Secret's value is a JSON object (or `null`), as the API server does for the
/// docker config types. The rule never quotes the value.
fn secret_json_object(bytes: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(_) | serde_json::Value::Null) => Ok(()),
        Ok(_) => Err("must be a JSON object".to_string()),
        Err(e) => Err(format!(
            "must be a JSON object: invalid JSON at line {} column {}",
            e.line(),
            e.column()
        )),
    }
}

impl Validate for Secret {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Secret",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        // The API server merges `stringData` into `data` (`stringData` wins) before it checks.
        let mut merged: BTreeMap<&str, &[u8]> = BTreeMap::new();
        for (key, value) in self.data.iter().flatten() {
            ctx.check(|| format!("data[{key}]"), key, config_key)?;
            merged.insert(key, &value.0);
        }
        for (key, value) in self.string_data.iter().flatten() {
            ctx.check(|| format!("stringData[{key}]"), key, config_key)?;
            merged.insert(key, value.as_bytes());
        }
        let total = merged
            .values()
            .fold(0usize, |sum, v| sum.saturating_add(v.len()));
        check_config_size(
            ctx,
            total,
            "is too long: data and stringData must hold at most 1048576 bytes in total",
        )?;

        let secret_type = self.type_.as_deref().unwrap_or_default();
        let required = |key: &str| {
            ctx.err(
                format!("data[{key}]"),
                "",
                format!("is required for a Secret of type {secret_type}"),
            )
        };
        match secret_type {
            "kubernetes.io/service-account-token" => {
                let annotation = super::SERVICE_ACCOUNT_NAME_ANNOTATION;
                let named = self
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(annotation))
                    .is_some_and(|v| !v.is_empty());
                if !named {
                    return Err(ctx.err(
                        format!("metadata.annotations[{annotation}]"),
                        "",
                        format!(
                            "is required for a Secret of type {secret_type}: the name of its \
                             ServiceAccount"
                        ),
                    ));
                }
            }
            "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
                let key = if secret_type == "kubernetes.io/dockercfg" {
                    ".dockercfg"
                } else {
                    ".dockerconfigjson"
                };
                let Some(value) = merged.get(key) else {
                    return Err(required(key));
                };
                secret_json_object(value)
                    .map_err(|rule| ctx.err(format!("data[{key}]"), REDACTED, rule))?;
            }
            "kubernetes.io/basic-auth"
                if !merged.contains_key("username") && !merged.contains_key("password") =>
            {
                return Err(ctx.err(
                    "data[username]",
                    "",
                    format!(
                        "is required for a Secret of type {secret_type} (unless `password` is set)"
                    ),
                ));
            }
            "kubernetes.io/ssh-auth"
                if merged.get("ssh-privatekey").is_none_or(|v| v.is_empty()) =>
            {
                return Err(ctx.err(
                    "data[ssh-privatekey]",
                    "",
                    format!(
                        "is required, and must not be empty, for a Secret of type {secret_type}"
                    ),
                ));
            }
            "kubernetes.io/tls" => {
                for key in ["tls.crt", "tls.key"] {
                    if !merged.contains_key(key) {
                        return Err(required(key));
                    }
                }
            }
            // `Opaque`, empty (the API server then writes `Opaque`) and any other type: no rule.
            _ => {}
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs and CronJobs
// ---------------------------------------------------------------------------------------------

use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};

/// Maximum length of a CronJob's name: its Jobs are named `<name>-<11 characters>`.
pub const CRON_JOB_NAME_MAX_LEN: usize = 52;

/// One field of a standard cron schedule: its name, bounds and the names it accepts.
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    CronField {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    CronField {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    CronField {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    CronField {
        name: "day of week",
        min: 0,
        max: 6,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

/// The `@` macros a CronJob's schedule may be (besides `@every <duration>`).
pub const CRON_MACROS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

impl CronField {
    fn value(&self, s: &str) -> Result<u32, String> {
        let value = if let Some(i) = self.names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            // Names count from the field's minimum: JAN is 1, SUN is 0.
            self.min + i as u32
        } else {
            s.parse::<u32>().map_err(|_| {
                format!(
                    "is not a valid cron schedule: {:?} in the {} field is not a number{}",
                    s,
                    self.name,
                    if self.names.is_empty() {
                        ""
                    } else {
                        " or a name"
                    }
                )
            })?
        };
        if value < self.min || value > self.max {
            return Err(format!(
                "is not a valid cron schedule: {value} in the {} field is out of range {}-{}",
                self.name, self.min, self.max
            ));
        }
        Ok(value)
    }

    /// `*`, `?`, `a`, `a-b`, each optionally `/step`.
    fn check_part(&self, part: &str) -> Result<(), String> {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(n) if n > 0 => {}
                _ => {
                    return Err(format!(
                        "is not a valid cron schedule: step {step:?} in the {} field must be a \
                         positive number",
                        self.name
                    ));
                }
            }
        }
        if range == "*" || range == "?" {
            return Ok(());
        }
        match range.split_once('-') {
            Some((start, end)) => {
                let (start, end) = (self.value(start)?, self.value(end)?);
                if start > end {
                    return Err(format!(
                        "is not a valid cron schedule: range {range} in the {} field ends before \
                         it starts",
                        self.name
                    ));
                }
            }
            None => {
                self.value(range)?;
            }
        }
        Ok(())
    }
}

/// Whether `s` is a Go duration such as `1h30m`, `90s` or `1.5h` (for `@every`).
fn go_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u) && !(**u == "m" && rest.starts_with("ms")))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// Checks a CronJob's `schedule` the way the API server does (standard cron syntax): five
/// fields — minute (0-59), hour (0-23), day of month (1-31), month (1-12 or `JAN`-`DEC`), day
/// of week (0-6 or `SUN`-`SAT`) — each a comma-separated list of `*`, `?`, `n`, `a-b`, with an
/// optional `/step`; or one of the macros ([`CRON_MACROS`], e.g. `@hourly`) or `@every
/// <duration>`. A time zone belongs in the CronJob's `timeZone`, not in the schedule
/// (`TZ=...` / `CRON_TZ=...`).
///
/// Returns the rule broken, naming the field and the value.
///
/// ```
/// use kubekit::builders::validate::cron_schedule;
/// assert!(cron_schedule("*/5 * * * *").is_ok());
/// assert!(cron_schedule("0 3 * * MON-FRI").is_ok());
/// assert!(cron_schedule("30 2 1,15 JAN,JUL ?").is_ok());
/// assert!(cron_schedule("@hourly").is_ok());
/// assert!(cron_schedule("@every 1h30m").is_ok());
/// assert_eq!(
///     cron_schedule("60 * * * *").unwrap_err(),
///     "is not a valid cron schedule: 60 in the minute field is out of range 0-59"
/// );
/// assert!(cron_schedule("* * * *").is_err()); // four fields
/// assert!(cron_schedule("@sometimes").is_err());
/// assert!(cron_schedule("TZ=UTC 0 3 * * *").is_err());
/// ```
pub fn cron_schedule(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("is required".into());
    }
    if s.contains("TZ") {
        return Err(
            "is not a valid cron schedule: cannot use TZ or CRON_TZ in the schedule, use the \
             timeZone field instead"
                .into(),
        );
    }
    if let Some(descriptor) = s.strip_prefix('@') {
        if let Some(duration) = descriptor.strip_prefix("every ") {
            if go_duration(duration.trim()) {
                return Ok(());
            }
            return Err(format!(
                "is not a valid cron schedule: {:?} is not a duration such as 1h30m",
                duration.trim()
            ));
        }
        if CRON_MACROS.contains(&s) {
            return Ok(());
        }
        return Err(format!(
            "is not a valid cron schedule: unknown macro; supported macros: {}, @every <duration>",
            CRON_MACROS.join(", ")
        ));
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "is not a valid cron schedule: expected 5 fields (minute hour day-of-month month \
             day-of-week), found {}",
            fields.len()
        ));
    }
    for (field, text) in CRON_FIELDS.iter().zip(fields) {
        for part in text.split(',') {
            field.check_part(part)?;
        }
    }
    Ok(())
}

/// Checks a CronJob's `timeZone`: an explicit IANA time zone name such as `Etc/UTC` or
/// `Europe/Paris` — not empty, not `Local`, letters, digits, `/`, `_`, `-` and `+` only.
/// (Whether the name exists is up to the API server's time zone database.)
///
/// ```
/// use kubekit::builders::validate::time_zone;
/// assert!(time_zone("Europe/Paris").is_ok());
/// assert!(time_zone("Etc/GMT+5").is_ok());
/// assert!(time_zone("Local").is_err());
/// assert!(time_zone("Europe/ Paris").is_err());
/// ```
pub fn time_zone(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("is not a valid time zone: must not be empty");
    }
    if s.eq_ignore_ascii_case("local") {
        return Err(
            "is not a valid time zone: must be an explicit time zone as defined in \
             https://www.iana.org/time-zones",
        );
    }
    let allowed = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'+');
    if !s.bytes().all(allowed) || s.starts_with('/') || s.ends_with('/') || s.contains("//") {
        return Err(
            "is not a valid time zone: must be an IANA time zone name such as Europe/Paris or \
             Etc/UTC",
        );
    }
    Ok(())
}

/// Checks a Job's spec at `prefix` (`spec`, or `spec.jobTemplate.spec` in a CronJob).
fn check_job_spec(ctx: Ctx<'_>, prefix: &str, spec: &JobSpec) -> VResult {
    let counts = [
        ("parallelism", spec.parallelism),
        ("completions", spec.completions),
        ("backoffLimit", spec.backoff_limit),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished),
    ];
    for (field, value) in counts {
        if let Some(value) = value {
            non_negative(value).map_err(|r| ctx.err(format!("{prefix}.{field}"), value, r))?;
        }
    }
    if let Some(deadline) = spec.active_deadline_seconds
        && deadline <= 0
    {
        return Err(ctx.err(
            format!("{prefix}.activeDeadlineSeconds"),
            deadline,
            "must be greater than 0",
        ));
    }
    match spec.completion_mode.as_deref() {
        None | Some("NonIndexed") => {}
        Some("Indexed") => {
            if spec.completions.is_none() {
                return Err(ctx.err(
                    format!("{prefix}.completions"),
                    "",
                    "is required when completionMode is Indexed",
                ));
            }
        }
        Some(other) => {
            return Err(ctx.err(
                format!("{prefix}.completionMode"),
                other,
                "is not a supported value: supported values: \"Indexed\", \"NonIndexed\"",
            ));
        }
    }
    let template = &spec.template;
    let meta = template.metadata.as_ref();
    check_labels(
        ctx,
        &format!("{prefix}.template.metadata.labels"),
        meta.and_then(|m| m.labels.as_ref()),
    )?;
    check_annotations(
        ctx,
        &format!("{prefix}.template.metadata.annotations"),
        meta.and_then(|m| m.annotations.as_ref()),
    )?;
    if spec.manual_selector == Some(true) {
        let Some(selector) = &spec.selector else {
            return Err(ctx.err(
                format!("{prefix}.selector"),
                "",
                "is required when manualSelector is true",
            ));
        };
        check_selector(ctx, &format!("{prefix}.selector"), selector)?;
        let empty = BTreeMap::new();
        let labels = meta.and_then(|m| m.labels.as_ref()).unwrap_or(&empty);
        if !crate::selector::matches(selector, labels) {
            return Err(ctx.err(
                format!("{prefix}.template.metadata.labels"),
                fmt_labels(labels),
                "does not match the selector: the selector must select the pods of the template",
            ));
        }
    }
    let Some(pod_spec) = &template.spec else {
        return Err(ctx.err(format!("{prefix}.template.spec"), "", "is required"));
    };
    check_pod_spec(
        ctx,
        &format!("{prefix}.template.spec"),
        pod_spec,
        PodMode::JobTemplate,
    )
}

impl Validate for Job {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Job",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        check_job_spec(ctx, "spec", spec)
    }
}

impl Validate for CronJob {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "CronJob",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        if let Some(name) = &self.metadata.name
            && name.len() > CRON_JOB_NAME_MAX_LEN
        {
            return Err(ctx.err(
                "metadata.name",
                name,
                "must be no more than 52 characters: the CronJob's Jobs are named after it, \
                 with 11 more characters",
            ));
        }
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        cron_schedule(&spec.schedule).map_err(|r| ctx.err("spec.schedule", &spec.schedule, r))?;
        if let Some(tz) = &spec.time_zone {
            ctx.check(|| "spec.timeZone".into(), tz, time_zone)?;
        }
        if let Some(policy) = &spec.concurrency_policy {
            ctx.check(
                || "spec.concurrencyPolicy".into(),
                policy,
                concurrency_policy,
            )?;
        }
        if let Some(deadline) = spec.starting_deadline_seconds {
            non_negative_i64(deadline)
                .map_err(|r| ctx.err("spec.startingDeadlineSeconds", deadline, r))?;
        }
        let limits = [
            (
                "successfulJobsHistoryLimit",
                spec.successful_jobs_history_limit,
            ),
            ("failedJobsHistoryLimit", spec.failed_jobs_history_limit),
        ];
        for (field, value) in limits {
            if let Some(value) = value {
                non_negative(value).map_err(|r| ctx.err(format!("spec.{field}"), value, r))?;
            }
        }
        let template = &spec.job_template;
        if let Some(meta) = &template.metadata {
            check_labels(
                ctx,
                "spec.jobTemplate.metadata.labels",
                meta.labels.as_ref(),
            )?;
            check_annotations(
                ctx,
                "spec.jobTemplate.metadata.annotations",
                meta.annotations.as_ref(),
            )?;
        }
        let Some(job) = &template.spec else {
            return Err(ctx.err("spec.jobTemplate.spec", "", "is required"));
        };
        check_job_spec(ctx, "spec.jobTemplate.spec", job)
    }
}

/// Checks a CronJob's `concurrencyPolicy`: `Allow`, `Forbid` or `Replace`.
///
/// ```
/// use kubekit::builders::validate::concurrency_policy;
/// assert!(concurrency_policy("Forbid").is_ok());
/// assert!(concurrency_policy("forbid").is_err());
/// ```
pub fn concurrency_policy(s: &str) -> Result<(), &'static str> {
    one_of(
        s,
        &["Allow", "Forbid", "Replace"],
        "is not a supported value: supported values: \"Allow\", \"Forbid\", \"Replace\"",
    )
}

// ---------------------------------------------------------------------------------------------
// StatefulSets, DaemonSets and PersistentVolumeClaims
// ---------------------------------------------------------------------------------------------

use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec};

/// Checks a PersistentVolumeClaim `accessModes` value: `ReadWriteOnce`, `ReadOnlyMany`,
/// `ReadWriteMany` or `ReadWriteOncePod`.
///
/// ```
/// use kubekit::builders::validate::access_mode;
/// assert!(access_mode("ReadWriteOnce").is_ok());
/// assert!(access_mode("RWO").is_err());
/// ```
pub fn access_mode(s: &str) -> Result<(), &'static str> {
    one_of(
        s,
        &[
            "ReadWriteOnce",
            "ReadOnlyMany",
            "ReadWriteMany",
            "ReadWriteOncePod",
        ],
        "is not a supported value: supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \
         \"ReadWriteOnce\", \"ReadWriteOncePod\"",
    )
}

/// Checks a claim's spec at `prefix` (`spec`, or `spec.volumeClaimTemplates[i].spec`).
fn check_claim_spec(ctx: Ctx<'_>, prefix: &str, spec: &PersistentVolumeClaimSpec) -> VResult {
    let modes = spec.access_modes.as_deref().unwrap_or_default();
    if modes.is_empty() {
        return Err(ctx.err(
            format!("{prefix}.accessModes"),
            "",
            "must contain at least one access mode",
        ));
    }
    for (i, mode) in modes.iter().enumerate() {
        ctx.check(|| format!("{prefix}.accessModes[{i}]"), mode, access_mode)?;
    }
    if modes.len() > 1 && modes.iter().any(|m| m == "ReadWriteOncePod") {
        return Err(ctx.err(
            format!("{prefix}.accessModes"),
            modes.join(","),
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    let resources = spec.resources.as_ref();
    let requests = resources.and_then(|r| r.requests.as_ref());
    let Some(storage) = requests.and_then(|r| r.get("storage")) else {
        return Err(ctx.err(
            format!("{prefix}.resources.requests.storage"),
            "",
            "is required",
        ));
    };
    for (which, map) in [
        ("requests", requests),
        ("limits", resources.and_then(|r| r.limits.as_ref())),
    ] {
        for (name, qty) in map.into_iter().flatten() {
            ctx.check(
                || format!("{prefix}.resources.{which}"),
                name,
                qualified_name,
            )?;
            ctx.check(
                || format!("{prefix}.resources.{which}.{name}"),
                &qty.0,
                quantity,
            )?;
        }
    }
    if parse_quantity(&storage.0).is_some_and(|v| v <= 0.0) {
        return Err(ctx.err(
            format!("{prefix}.resources.requests.storage"),
            &storage.0,
            "must be greater than zero",
        ));
    }
    if let Some(class) = &spec.storage_class_name
        && !class.is_empty()
    {
        ctx.check(
            || format!("{prefix}.storageClassName"),
            class,
            dns1123_subdomain,
        )?;
    }
    if let Some(mode) = &spec.volume_mode {
        ctx.check(
            || format!("{prefix}.volumeMode"),
            mode,
            |m| {
                one_of(
                    m,
                    &["Block", "Filesystem"],
                    "is not a supported value: supported values: \"Block\", \"Filesystem\"",
                )
            },
        )?;
    }
    Ok(())
}

impl Validate for PersistentVolumeClaim {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "PersistentVolumeClaim",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        check_claim_spec(ctx, "spec", spec)
    }
}

impl Validate for StatefulSet {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "StatefulSet",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        if let Some(service) = &spec.service_name
            && !service.is_empty()
        {
            ctx.check(|| "spec.serviceName".into(), service, dns1035_label)?;
        }
        if let Some(policy) = &spec.pod_management_policy {
            ctx.check(
                || "spec.podManagementPolicy".into(),
                policy,
                |p| {
                    one_of(
                        p,
                        &["OrderedReady", "Parallel"],
                        "is not a supported value: supported values: \"OrderedReady\", \
                         \"Parallel\"",
                    )
                },
            )?;
        }
        if let Some(limit) = spec.revision_history_limit {
            non_negative(limit).map_err(|r| ctx.err("spec.revisionHistoryLimit", limit, r))?;
        }
        if let Some(strategy) = &spec.update_strategy {
            let kind = strategy.type_.as_deref().unwrap_or("RollingUpdate");
            match kind {
                "RollingUpdate" => {
                    if let Some(partition) =
                        strategy.rolling_update.as_ref().and_then(|r| r.partition)
                    {
                        non_negative(partition).map_err(|r| {
                            ctx.err("spec.updateStrategy.rollingUpdate.partition", partition, r)
                        })?;
                    }
                }
                "OnDelete" => {
                    if strategy.rolling_update.is_some() {
                        return Err(ctx.err(
                            "spec.updateStrategy.rollingUpdate",
                            "",
                            "may not be specified when strategy `type` is 'OnDelete'",
                        ));
                    }
                }
                other => {
                    return Err(ctx.err(
                        "spec.updateStrategy.type",
                        other,
                        "is not a supported value: supported values: \"OnDelete\", \
                         \"RollingUpdate\"",
                    ));
                }
            }
        }
        let mut claims = Vec::new();
        for (i, claim) in spec.volume_claim_templates.iter().flatten().enumerate() {
            let p = format!("spec.volumeClaimTemplates[{i}]");
            let name = claim.metadata.name.as_deref().unwrap_or_default();
            ctx.check(|| format!("{p}.metadata.name"), name, dns1123_label)?;
            if claims.contains(&name) {
                return Err(ctx.err(
                    format!("{p}.metadata.name"),
                    name,
                    "is a duplicate: volume claim template names must be unique",
                ));
            }
            if spec
                .template
                .spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .any(|v| v.name == name)
            {
                return Err(ctx.err(
                    format!("{p}.metadata.name"),
                    name,
                    "is also the name of a volume of the pod template: the claim's volume would \
                     be hidden",
                ));
            }
            check_labels(
                ctx,
                &format!("{p}.metadata.labels"),
                claim.metadata.labels.as_ref(),
            )?;
            let Some(claim_spec) = &claim.spec else {
                return Err(ctx.err(format!("{p}.spec"), "", "is required"));
            };
            check_claim_spec(ctx, &format!("{p}.spec"), claim_spec)?;
            claims.push(name);
        }
        check_workload_with(
            ctx,
            &spec.selector,
            Some(&spec.template),
            spec.replicas,
            spec.min_ready_seconds,
            &claims,
        )
    }
}

impl Validate for DaemonSet {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "DaemonSet",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        if let Some(limit) = spec.revision_history_limit {
            non_negative(limit).map_err(|r| ctx.err("spec.revisionHistoryLimit", limit, r))?;
        }
        if let Some(strategy) = &spec.update_strategy {
            match strategy.type_.as_deref().unwrap_or("RollingUpdate") {
                "RollingUpdate" => {
                    if let Some(rolling) = &strategy.rolling_update {
                        for (field, value) in [
                            ("maxSurge", &rolling.max_surge),
                            ("maxUnavailable", &rolling.max_unavailable),
                        ] {
                            if let Some(value) = value {
                                int_or_percent(value).map_err(|r| {
                                    ctx.err(
                                        format!("spec.updateStrategy.rollingUpdate.{field}"),
                                        fmt_int_or_string(value),
                                        r,
                                    )
                                })?;
                            }
                        }
                        // Kubernetes defaults maxUnavailable to 1 and maxSurge to 0.
                        let surge_zero = rolling.max_surge.as_ref().is_none_or(is_zero);
                        if let Some(unavailable) = &rolling.max_unavailable
                            && is_zero(unavailable)
                            && surge_zero
                        {
                            return Err(ctx.err(
                                "spec.updateStrategy.rollingUpdate.maxUnavailable",
                                fmt_int_or_string(unavailable),
                                "may not be 0 when `maxSurge` is 0",
                            ));
                        }
                    }
                }
                "OnDelete" => {
                    if strategy.rolling_update.is_some() {
                        return Err(ctx.err(
                            "spec.updateStrategy.rollingUpdate",
                            "",
                            "may not be specified when strategy `type` is 'OnDelete'",
                        ));
                    }
                }
                other => {
                    return Err(ctx.err(
                        "spec.updateStrategy.type",
                        other,
                        "is not a supported value: supported values: \"OnDelete\", \
                         \"RollingUpdate\"",
                    ));
                }
            }
        }
        check_workload_with(
            ctx,
            &spec.selector,
            Some(&spec.template),
            None,
            spec.min_ready_seconds,
            &[],
        )
    }
}

impl Validate for k8s_openapi::api::core::v1::ServiceAccount {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "ServiceAccount",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        for (i, secret) in self.image_pull_secrets.iter().flatten().enumerate() {
            ctx.check(
                || format!("imagePullSecrets[{i}].name"),
                &secret.name,
                dns1123_subdomain,
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// RBAC
// ---------------------------------------------------------------------------------------------

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};

/// Checks that `s` is a valid path segment name, the rule for RBAC objects' names: not
/// empty, not `.` or `..`, without `/` or `%` (so `system:controller:x` is fine).
///
/// ```
/// use kubekit::builders::validate::path_segment_name;
/// assert!(path_segment_name("system:pod-reader").is_ok());
/// assert!(path_segment_name("a/b").is_err());
/// assert!(path_segment_name("..").is_err());
/// ```
pub fn path_segment_name(s: &str) -> Result<(), &'static str> {
    match s {
        "" => Err("is not a valid name: must not be empty"),
        "." | ".." => Err("is not a valid name: may not be '.' or '..'"),
        _ if s.contains('/') || s.contains('%') => {
            Err("is not a valid name: may not contain '/' or '%'")
        }
        _ => Ok(()),
    }
}

fn check_policy_rules(ctx: Ctx<'_>, rules: Option<&Vec<PolicyRule>>, namespaced: bool) -> VResult {
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let p = format!("rules[{i}]");
        if rule.verbs.is_empty() {
            return Err(ctx.err(format!("{p}.verbs"), "", "must contain at least 1 verb"));
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        if !urls.is_empty() {
            if namespaced {
                return Err(ctx.err(
                    format!("{p}.nonResourceURLs"),
                    urls.join(","),
                    "may not be used in a namespaced rule (a Role): use a ClusterRole",
                ));
            }
            if !resources.is_empty() {
                return Err(ctx.err(
                    format!("{p}.nonResourceURLs"),
                    urls.join(","),
                    "may not be used with resources in the same rule",
                ));
            }
            continue;
        }
        if rule.api_groups.as_ref().is_none_or(|g| g.is_empty()) {
            return Err(ctx.err(
                format!("{p}.apiGroups"),
                "",
                "is required: resource rules must supply at least one API group (\"\" for the \
                 core group)",
            ));
        }
        if resources.is_empty() {
            return Err(ctx.err(
                format!("{p}.resources"),
                "",
                "is required: resource rules must supply at least one resource",
            ));
        }
    }
    Ok(())
}

fn check_role_ref(ctx: Ctx<'_>, role_ref: &RoleRef, cluster: bool) -> VResult {
    if role_ref.api_group != super::RBAC_API_GROUP {
        return Err(ctx.err(
            "roleRef.apiGroup",
            &role_ref.api_group,
            "is not a supported value: supported values: \"rbac.authorization.k8s.io\"",
        ));
    }
    let kinds: &[&str] = if cluster {
        &["ClusterRole"]
    } else {
        &["Role", "ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        return Err(ctx.err(
            "roleRef.kind",
            &role_ref.kind,
            if cluster {
                "is not a supported value: supported values: \"ClusterRole\""
            } else {
                "is not a supported value: supported values: \"ClusterRole\", \"Role\""
            },
        ));
    }
    ctx.check(|| "roleRef.name".into(), &role_ref.name, path_segment_name)
}

fn check_subjects(ctx: Ctx<'_>, subjects: Option<&Vec<Subject>>, cluster: bool) -> VResult {
    for (i, subject) in subjects.into_iter().flatten().enumerate() {
        let p = format!("subjects[{i}]");
        match subject.kind.as_str() {
            "ServiceAccount" => {
                ctx.check(|| format!("{p}.name"), &subject.name, dns1123_subdomain)?;
                if subject.api_group.as_deref().is_some_and(|g| !g.is_empty()) {
                    return Err(ctx.err(
                        format!("{p}.apiGroup"),
                        subject.api_group.as_deref().unwrap_or_default(),
                        "must be empty for a ServiceAccount",
                    ));
                }
                match subject.namespace.as_deref() {
                    None | Some("") if cluster => {
                        return Err(ctx.err(
                            format!("{p}.namespace"),
                            "",
                            "is required for a ServiceAccount subject of a ClusterRoleBinding \
                             (give the ServiceAccount a namespace)",
                        ));
                    }
                    Some(ns) if !ns.is_empty() => {
                        ctx.check(|| format!("{p}.namespace"), ns, dns1123_label)?;
                    }
                    _ => {}
                }
            }
            "User" | "Group" => {
                if subject.name.is_empty() {
                    return Err(ctx.err(format!("{p}.name"), "", "is required"));
                }
                if subject.api_group.as_deref() != Some(super::RBAC_API_GROUP) {
                    return Err(ctx.err(
                        format!("{p}.apiGroup"),
                        subject.api_group.as_deref().unwrap_or_default(),
                        "is not a supported value: supported values: \
                         \"rbac.authorization.k8s.io\"",
                    ));
                }
            }
            other => {
                return Err(ctx.err(
                    format!("{p}.kind"),
                    other,
                    "is not a supported value: supported values: \"Group\", \"ServiceAccount\", \
                     \"User\"",
                ));
            }
        }
    }
    Ok(())
}

impl Validate for Role {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Role",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, path_segment_name, true)?;
        check_policy_rules(ctx, self.rules.as_ref(), true)
    }
}

impl Validate for ClusterRole {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "ClusterRole",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, path_segment_name, false)?;
        check_policy_rules(ctx, self.rules.as_ref(), false)
    }
}

impl Validate for RoleBinding {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "RoleBinding",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, path_segment_name, true)?;
        check_role_ref(ctx, &self.role_ref, false)?;
        check_subjects(ctx, self.subjects.as_ref(), false)
    }
}

impl Validate for ClusterRoleBinding {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "ClusterRoleBinding",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, path_segment_name, false)?;
        check_role_ref(ctx, &self.role_ref, true)?;
        check_subjects(ctx, self.subjects.as_ref(), true)
    }
}

// ---------------------------------------------------------------------------------------------
// Ingress
// ---------------------------------------------------------------------------------------------

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend};

/// Checks an Ingress host: a DNS-1123 subdomain, optionally starting with `*.` (a wildcard
/// for one label), and not an IP address.
///
/// ```
/// use kubekit::builders::validate::ingress_host;
/// assert!(ingress_host("shop.example.com").is_ok());
/// assert!(ingress_host("*.example.com").is_ok());
/// assert!(ingress_host("10.0.0.1").is_err());
/// assert!(ingress_host("Shop.example.com").is_err());
/// ```
pub fn ingress_host(s: &str) -> Result<(), &'static str> {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return Err("must be a DNS name, not an IP address");
    }
    let name = s.strip_prefix("*.").unwrap_or(s);
    dns1123_subdomain(name)
}

fn check_ingress_backend(ctx: Ctx<'_>, path: &str, backend: &IngressBackend) -> VResult {
    match (&backend.service, &backend.resource) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(path, "", "may specify only one of service and resource"));
        }
        (None, None) => {
            return Err(ctx.err(path, "", "must specify a service or a resource"));
        }
        _ => {}
    }
    let Some(service) = &backend.service else {
        return Ok(());
    };
    ctx.check(
        || format!("{path}.service.name"),
        &service.name,
        dns1035_label,
    )?;
    let port = service.port.as_ref();
    match (
        port.and_then(|p| p.name.as_deref()),
        port.and_then(|p| p.number),
    ) {
        (Some(_), Some(_)) => Err(ctx.err(
            format!("{path}.service.port"),
            "",
            "may specify only one of name and number",
        )),
        (Some(name), None) => {
            ctx.check(|| format!("{path}.service.port.name"), name, iana_svc_name)
        }
        (None, Some(number)) => port_number(number)
            .map_err(|r| ctx.err(format!("{path}.service.port.number"), number, r)),
        (None, None) => Err(ctx.err(
            format!("{path}.service.port"),
            "",
            "is required: a port name or number",
        )),
    }
}

impl Validate for Ingress {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "Ingress",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        if let Some(class) = &spec.ingress_class_name {
            ctx.check(|| "spec.ingressClassName".into(), class, dns1123_subdomain)?;
        }
        let rules = spec.rules.as_deref().unwrap_or_default();
        if rules.is_empty() && spec.default_backend.is_none() {
            return Err(ctx.err(
                "spec.rules",
                "",
                "either defaultBackend or rules must be specified",
            ));
        }
        if let Some(backend) = &spec.default_backend {
            check_ingress_backend(ctx, "spec.defaultBackend", backend)?;
        }
        for (i, rule) in rules.iter().enumerate() {
            if let Some(host) = &rule.host {
                ctx.check(|| format!("spec.rules[{i}].host"), host, ingress_host)?;
            }
            let paths = rule
                .http
                .as_ref()
                .map(|h| h.paths.as_slice())
                .unwrap_or_default();
            for (j, http_path) in paths.iter().enumerate() {
                let p = format!("spec.rules[{i}].http.paths[{j}]");
                let path_type = http_path.path_type.as_str();
                match path_type {
                    "Prefix" | "Exact" => {
                        let path = http_path.path.as_deref().unwrap_or_default();
                        if !path.starts_with('/') {
                            return Err(ctx.err(
                                format!("{p}.path"),
                                path,
                                format!("must be an absolute path (start with '/') for pathType {path_type}"),
                            ));
                        }
                    }
                    "ImplementationSpecific" => {}
                    other => {
                        return Err(ctx.err(
                            format!("{p}.pathType"),
                            other,
                            "is not a supported value: supported values: \"Exact\", \
                             \"ImplementationSpecific\", \"Prefix\"",
                        ));
                    }
                }
                check_ingress_backend(ctx, &format!("{p}.backend"), &http_path.backend)?;
            }
        }
        for (i, tls) in spec.tls.iter().flatten().enumerate() {
            for (j, host) in tls.hosts.iter().flatten().enumerate() {
                ctx.check(|| format!("spec.tls[{i}].hosts[{j}]"), host, ingress_host)?;
            }
            if let Some(secret) = &tls.secret_name
                && !secret.is_empty()
            {
                ctx.check(
                    || format!("spec.tls[{i}].secretName"),
                    secret,
                    dns1123_subdomain,
                )?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy
// ---------------------------------------------------------------------------------------------

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

impl Validate for HorizontalPodAutoscaler {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "HorizontalPodAutoscaler",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Err(ctx.err("spec", "", "is required"));
        };
        let target = &spec.scale_target_ref;
        if target.kind.is_empty() {
            return Err(ctx.err("spec.scaleTargetRef.kind", "", "is required"));
        }
        ctx.check(
            || "spec.scaleTargetRef.name".into(),
            &target.name,
            path_segment_name,
        )?;
        let min = spec.min_replicas.unwrap_or(1);
        if min < 1 {
            return Err(ctx.err(
                "spec.minReplicas",
                min,
                "must be greater than or equal to 1",
            ));
        }
        if spec.max_replicas < min {
            return Err(ctx.err(
                "spec.maxReplicas",
                spec.max_replicas,
                format!("must be greater than or equal to minReplicas ({min})"),
            ));
        }
        for (i, metric) in spec.metrics.iter().flatten().enumerate() {
            let p = format!("spec.metrics[{i}]");
            match metric.type_.as_str() {
                "Resource" => {
                    let Some(resource) = &metric.resource else {
                        return Err(ctx.err(
                            format!("{p}.resource"),
                            "",
                            "must be populated for type Resource",
                        ));
                    };
                    ctx.check(
                        || format!("{p}.resource.name"),
                        &resource.name,
                        qualified_name,
                    )?;
                    let t = &resource.target;
                    match t.type_.as_str() {
                        "Utilization" => match t.average_utilization {
                            Some(u) if u > 0 => {}
                            other => {
                                return Err(ctx.err(
                                    format!("{p}.resource.target.averageUtilization"),
                                    other.map(|u| u.to_string()).unwrap_or_default(),
                                    "must be greater than 0 for a Utilization target",
                                ));
                            }
                        },
                        "AverageValue" | "Value" => {}
                        other => {
                            return Err(ctx.err(
                                format!("{p}.resource.target.type"),
                                other,
                                "is not a supported value: supported values: \"AverageValue\", \
                                 \"Utilization\", \"Value\"",
                            ));
                        }
                    }
                }
                "Pods" | "Object" | "External" | "ContainerResource" => {}
                other => {
                    return Err(ctx.err(
                        format!("{p}.type"),
                        other,
                        "is not a supported value: supported values: \"ContainerResource\", \
                         \"External\", \"Object\", \"Pods\", \"Resource\"",
                    ));
                }
            }
        }
        if let Some(behavior) = &spec.behavior {
            for (which, rules) in [
                ("scaleUp", &behavior.scale_up),
                ("scaleDown", &behavior.scale_down),
            ] {
                if let Some(window) = rules.as_ref().and_then(|r| r.stabilization_window_seconds)
                    && !(0..=3600).contains(&window)
                {
                    return Err(ctx.err(
                        format!("spec.behavior.{which}.stabilizationWindowSeconds"),
                        window,
                        "must be between 0 and 3600, inclusive",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Validate for PodDisruptionBudget {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "PodDisruptionBudget",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        if spec.min_available.is_some() && spec.max_unavailable.is_some() {
            return Err(ctx.err(
                "spec.minAvailable",
                "",
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        for (field, value) in [
            ("minAvailable", &spec.min_available),
            ("maxUnavailable", &spec.max_unavailable),
        ] {
            if let Some(value) = value {
                let path = format!("spec.{field}");
                int_or_percent(value)
                    .map_err(|r| ctx.err(path.clone(), fmt_int_or_string(value), r))?;
                if let IntOrString::String(s) = value
                    && percent_value(s).is_some_and(|p| p > 100)
                {
                    return Err(ctx.err(path, s, "must not be greater than 100%"));
                }
            }
        }
        if let Some(selector) = &spec.selector {
            check_selector(ctx, "spec.selector", selector)?;
        }
        Ok(())
    }
}

impl Validate for NetworkPolicy {
    fn validate(&self) -> Result<(), ValidationError> {
        let ctx = Ctx {
            kind: "NetworkPolicy",
            name: object_name(&self.metadata),
        };
        check_meta(ctx, &self.metadata, dns1123_subdomain, true)?;
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        for (i, policy_type) in spec.policy_types.iter().flatten().enumerate() {
            if policy_type != "Ingress" && policy_type != "Egress" {
                return Err(ctx.err(
                    format!("spec.policyTypes[{i}]"),
                    policy_type,
                    "is not a supported value: supported values: \"Egress\", \"Ingress\"",
                ));
            }
        }
        let ingress = spec.ingress.iter().flatten().enumerate().map(|(i, r)| {
            (
                format!("spec.ingress[{i}]"),
                "from",
                r.from.as_ref(),
                r.ports.as_ref(),
            )
        });
        let egress = spec.egress.iter().flatten().enumerate().map(|(i, r)| {
            (
                format!("spec.egress[{i}]"),
                "to",
                r.to.as_ref(),
                r.ports.as_ref(),
            )
        });
        for (path, peers_field, peers, ports) in ingress.chain(egress) {
            for (j, port) in ports.into_iter().flatten().enumerate() {
                let p = format!("{path}.ports[{j}]");
                if let Some(protocol_value) = &port.protocol {
                    ctx.check(|| format!("{p}.protocol"), protocol_value, protocol)?;
                }
                if let Some(value) = &port.port {
                    int_or_name_port(value)
                        .map_err(|r| ctx.err(format!("{p}.port"), fmt_int_or_string(value), r))?;
                }
                if let Some(end) = port.end_port {
                    match &port.port {
                        Some(IntOrString::Int(start)) if end >= *start => {}
                        _ => {
                            return Err(ctx.err(
                                format!("{p}.endPort"),
                                end,
                                "must be greater than or equal to a numeric `port`",
                            ));
                        }
                    }
                }
            }
            for (j, peer) in peers.into_iter().flatten().enumerate() {
                let p = format!("{path}.{peers_field}[{j}]");
                let selectors = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
                if selectors && peer.ip_block.is_some() {
                    return Err(ctx.err(p, "", "may not specify both ipBlock and another peer"));
                }
                if !selectors && peer.ip_block.is_none() {
                    return Err(ctx.err(
                        p,
                        "",
                        "must specify a peer: podSelector, namespaceSelector or ipBlock",
                    ));
                }
                if let Some(selector) = &peer.pod_selector {
                    check_labels(
                        ctx,
                        &format!("{p}.podSelector.matchLabels"),
                        selector.match_labels.as_ref(),
                    )?;
                }
            }
        }
        if let Some(selector) = &spec.pod_selector {
            check_labels(
                ctx,
                "spec.podSelector.matchLabels",
                selector.match_labels.as_ref(),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse() {
        assert_eq!(parse_quantity("100m"), Some(0.1));
        assert_eq!(parse_quantity("1Ki"), Some(1024.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("1E"), Some(1e18));
        assert_eq!(parse_quantity("-2"), Some(-2.0));
        assert_eq!(parse_quantity(".5"), Some(0.5));
        for bad in ["", "m", "1..2", "1mm", "1e", "1e+", "1KB", "+", "1 ", "é"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }

    #[test]
    fn generate_name_is_a_prefix() {
        assert_eq!(mask_trailing_dash("web-"), "weba");
        assert_eq!(mask_trailing_dash("-"), "-");
        assert_eq!(mask_trailing_dash("web"), "web");
    }
}
