//! Secrets: credentials, keys and certificates for pods.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::validate::Validate;

/// The annotation a `kubernetes.io/service-account-token` Secret must have: the name of its
/// ServiceAccount.
pub const SERVICE_ACCOUNT_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";

/// The type of a Secret (`type`), which tells which keys it must have.
///
/// Kubernetes' built-in types, and [`Other`](SecretType::Other) for any other value (a type of
/// your own, e.g. `example.com/api-token`, on which the API server puts no rules).
///
/// ```
/// use kubekit::builders::SecretType;
///
/// assert_eq!(SecretType::Tls.as_str(), "kubernetes.io/tls");
/// assert_eq!(SecretType::from("kubernetes.io/basic-auth"), SecretType::BasicAuth);
/// assert_eq!(
///     SecretType::from("example.com/api-token"),
///     SecretType::Other("example.com/api-token".into())
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum SecretType {
    /// `Opaque`: any keys (Kubernetes' default).
    #[default]
    Opaque,
    /// `kubernetes.io/service-account-token`: needs the annotation
    /// [`kubernetes.io/service-account.name`](SERVICE_ACCOUNT_NAME_ANNOTATION); Kubernetes
    /// fills in the token.
    ServiceAccountToken,
    /// `kubernetes.io/dockercfg`: needs `.dockercfg`, a JSON object (the legacy
    /// `~/.dockercfg` format).
    DockerCfg,
    /// `kubernetes.io/dockerconfigjson`: needs `.dockerconfigjson`, a JSON object (the
    /// `~/.docker/config.json` format), for `imagePullSecrets`.
    DockerConfigJson,
    /// `kubernetes.io/basic-auth`: needs `username` or `password` (or both).
    BasicAuth,
    /// `kubernetes.io/ssh-auth`: needs a non-empty `ssh-privatekey`.
    SshAuth,
    /// `kubernetes.io/tls`: needs `tls.crt` and `tls.key`.
    Tls,
    /// `bootstrap.kubernetes.io/token`: a bootstrap token, for joining nodes.
    BootstrapToken,
    /// Any other type.
    Other(String),
}

impl SecretType {
    /// The value Kubernetes uses, e.g. `kubernetes.io/tls`.
    ///
    /// ```
    /// assert_eq!(kubekit::builders::SecretType::Opaque.as_str(), "Opaque");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            SecretType::Opaque => "Opaque",
            SecretType::ServiceAccountToken => "kubernetes.io/service-account-token",
            SecretType::DockerCfg => "kubernetes.io/dockercfg",
            SecretType::DockerConfigJson => "kubernetes.io/dockerconfigjson",
            SecretType::BasicAuth => "kubernetes.io/basic-auth",
            SecretType::SshAuth => "kubernetes.io/ssh-auth",
            SecretType::Tls => "kubernetes.io/tls",
            SecretType::BootstrapToken => "bootstrap.kubernetes.io/token",
            SecretType::Other(other) => other,
        }
    }
}

impl fmt::Display for SecretType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for SecretType {
    /// Reads a `type` value: a built-in type's variant, or [`Other`](SecretType::Other).
    fn from(s: &str) -> Self {
        match s {
            "Opaque" => SecretType::Opaque,
            "kubernetes.io/service-account-token" => SecretType::ServiceAccountToken,
            "kubernetes.io/dockercfg" => SecretType::DockerCfg,
            "kubernetes.io/dockerconfigjson" => SecretType::DockerConfigJson,
            "kubernetes.io/basic-auth" => SecretType::BasicAuth,
            "kubernetes.io/ssh-auth" => SecretType::SshAuth,
            "kubernetes.io/tls" => SecretType::Tls,
            "bootstrap.kubernetes.io/token" => SecretType::BootstrapToken,
            other => SecretType::Other(other.to_string()),
        }
    }
}

impl From<String> for SecretType {
    /// Reads a `type` value, as `From<&str>`.
    fn from(s: String) -> Self {
        SecretType::from(s.as_str())
    }
}

/// Builds a [`Secret`](k8s_openapi::api::core::v1::Secret).
///
/// `name` (a DNS-1123 subdomain) is required: a Secret without one does not compile. Add
/// values with [`string_data`](SecretBuilder::string_data) (text) and
/// [`data`](SecretBuilder::data) (bytes); both are written to `data`, base64-encoded (see
/// [below](#why-data-not-stringdata) for why not `stringData`). The type is `Opaque` unless set with
/// [`type_`](SecretBuilder::type_) or one of the shortcuts that also set its keys:
/// [`tls`](SecretBuilder::tls), [`basic_auth`](SecretBuilder::basic_auth),
/// [`docker_config_json`](SecretBuilder::docker_config_json),
/// [`ssh_auth`](SecretBuilder::ssh_auth) and
/// [`service_account_token`](SecretBuilder::service_account_token).
///
/// `build()` checks what the API server would: the name, every key (a valid config key:
/// `[-._a-zA-Z0-9]+`, at most 253 characters, not `.`, `..` or starting with `..`), at most
/// 1 MiB of values in total, the keys the type requires, labels and annotations. Errors name
/// keys, never values.
///
/// A Secret is ready as soon as it exists: there is no status to wait for.
///
/// # Why `data`, not `stringData`
///
/// The builder writes every value, text or binary, to `data`, as
/// `kubectl create secret generic --from-literal` does:
///
/// - `stringData` is write-only: the API server merges it into `data` and never returns it, so
///   an object built with `stringData` never equals the one read back (diffs and round trips
///   always differ);
/// - under server-side apply, the applied `stringData` fields stay in the applier's
///   `managedFields` although they are never in the object, and removing a key from
///   `stringData` does not remove it from `data`;
/// - `data` keeps text and binary values in one map with one set of keys.
///
/// Base64 is an encoding, not encryption: anyone who can read the Secret can read its values.
///
/// # Values stay out of errors, not out of `Debug`
///
/// kubekit never puts a Secret's values in an error message: a [`ValidationError`] about a
/// Secret names the key and the rule, and `<secret contents redacted>` stands for a value (as
/// the API server writes it). But k8s-openapi's own `Debug` of
/// [`Secret`](k8s_openapi::api::core::v1::Secret) prints `data` (as bytes) and `stringData`, so
/// do not log a Secret with `{:?}`.
///
/// # Example
///
/// ```
/// use kubekit::builders::{secret, SecretType};
///
/// let db = secret()
///     .name("db")
///     .namespace("shop")
///     .string_data("username", "shop")
///     .string_data("password", "s3cr3t!")
///     .data("ca.der", vec![0x30, 0x82])
///     .type_(SecretType::Opaque)
///     .build()?;
/// let data = db.data.as_ref().expect("data");
/// assert_eq!(data["password"].0, b"s3cr3t!");
/// assert!(db.string_data.is_none());
///
/// let web_tls = secret().name("web-tls").tls("-----BEGIN CERTIFICATE-----...", "...").build()?;
/// assert_eq!(web_tls.type_.as_deref(), Some("kubernetes.io/tls"));
///
/// // The rules of the type are checked; the error names the key, not the value.
/// let err = secret()
///     .name("web-tls")
///     .type_(SecretType::Tls)
///     .string_data("tls.crt", "-----BEGIN CERTIFICATE-----...")
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "Secret \"web-tls\": data[tls.key] \"\" is required for a Secret of type kubernetes.io/tls"
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn secret(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] data: BTreeMap<String, ByteString>,
    /// The Secret's name, a DNS-1123 subdomain.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The Secret's type (`type`); left out (Kubernetes then uses `Opaque`) when not set.
    #[builder(into)]
    type_: Option<SecretType>,
    /// When `true`, the data can never be changed (only the Secret deleted); kubelets then
    /// stop watching it.
    immutable: Option<bool>,
) -> Result<core::Secret, ValidationError> {
    let secret = core::Secret {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        data: non_empty_map(data),
        type_: type_.map(|t| t.as_str().to_string()),
        immutable,
        ..Default::default()
    };
    secret.validate()?;
    Ok(secret)
}

metadata_setters!(SecretBuilder, secret_builder::State, "Secret");

impl<S: secret_builder::State> SecretBuilder<S> {
    /// Adds a value as bytes (written to `data`): anything that converts into bytes, e.g. a
    /// `Vec<u8>`, `&[u8]`, `[u8; N]`, `&str` or `String`. A key set twice keeps the last value.
    ///
    /// ```
    /// let s = kubekit::builders::secret().name("s").data("key.der", vec![0x30, 0x82]).build()?;
    /// assert_eq!(s.data.map(|d| d["key.der"].0.clone()), Some(vec![0x30, 0x82]));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn data(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.data.insert(key.into(), ByteString(value.into()));
        self
    }

    /// Adds values as bytes: anything that iterates over `(key, bytes)` pairs.
    ///
    /// ```
    /// let s = kubekit::builders::secret()
    ///     .name("s")
    ///     .data_entries([("a", vec![1u8]), ("b", vec![2u8])])
    ///     .build()?;
    /// assert_eq!(s.data.map(|d| d.len()), Some(2));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn data_entries(
        mut self,
        entries: impl IntoIterator<Item = (impl Into<String>, impl Into<Vec<u8>>)>,
    ) -> Self {
        for (key, value) in entries {
            self = self.data(key, value);
        }
        self
    }

    /// Adds a text value. It is written to `data` (UTF-8, base64-encoded), not `stringData`:
    /// see [`secret()`](secret()#why-data-not-stringdata).
    ///
    /// ```
    /// let s = kubekit::builders::secret().name("s").string_data("password", "hunter2").build()?;
    /// assert_eq!(s.data.map(|d| d["password"].0.clone()), Some(b"hunter2".to_vec()));
    /// assert_eq!(s.string_data, None);
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn string_data(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data(key, value.into().into_bytes())
    }

    /// Adds text values: anything that iterates over `(key, value)` pairs.
    ///
    /// ```
    /// let s = kubekit::builders::secret()
    ///     .name("s")
    ///     .string_data_entries([("user", "shop"), ("password", "hunter2")])
    ///     .build()?;
    /// assert_eq!(s.data.map(|d| d.len()), Some(2));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn string_data_entries(
        mut self,
        entries: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        for (key, value) in entries {
            self = self.string_data(key, value);
        }
        self
    }

    /// A `kubernetes.io/tls` Secret: the PEM certificate (chain) as `tls.crt` and its private
    /// key as `tls.key`.
    ///
    /// ```
    /// let cert = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
    /// let key = "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n";
    /// let s = kubekit::builders::secret().name("web-tls").tls(cert, key).build()?;
    /// assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
    /// assert_eq!(s.data.map(|d| d.keys().cloned().collect::<Vec<_>>()), Some(vec![
    ///     "tls.crt".to_string(),
    ///     "tls.key".to_string(),
    /// ]));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn tls(
        self,
        cert: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> SecretBuilder<secret_builder::SetType<S>>
    where
        S::Type: secret_builder::IsUnset,
    {
        self.data("tls.crt", cert)
            .data("tls.key", key)
            .type_(SecretType::Tls)
    }

    /// A `kubernetes.io/basic-auth` Secret: `username` and `password`.
    ///
    /// ```
    /// let s = kubekit::builders::secret().name("git").basic_auth("bot", "hunter2").build()?;
    /// assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn basic_auth(
        self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> SecretBuilder<secret_builder::SetType<S>>
    where
        S::Type: secret_builder::IsUnset,
    {
        self.string_data("username", username)
            .string_data("password", password)
            .type_(SecretType::BasicAuth)
    }

    /// A `kubernetes.io/dockerconfigjson` Secret for `imagePullSecrets`: `json` is the content
    /// of a `~/.docker/config.json` (a JSON object, checked by `build()`), stored as
    /// `.dockerconfigjson`.
    ///
    /// ```
    /// let json = r#"{"auths":{"registry.example.com":{"auth":"Ym90Omh1bnRlcjI="}}}"#;
    /// let s = kubekit::builders::secret().name("pull").docker_config_json(json).build()?;
    /// assert_eq!(s.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    ///
    /// let err = kubekit::builders::secret().name("pull").docker_config_json("{").build().unwrap_err();
    /// assert_eq!(err.field, "data[.dockerconfigjson]");
    /// assert_eq!(err.value, "<secret contents redacted>");
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn docker_config_json(
        self,
        json: impl Into<Vec<u8>>,
    ) -> SecretBuilder<secret_builder::SetType<S>>
    where
        S::Type: secret_builder::IsUnset,
    {
        self.data(".dockerconfigjson", json)
            .type_(SecretType::DockerConfigJson)
    }

    /// A `kubernetes.io/ssh-auth` Secret: the private key as `ssh-privatekey`.
    ///
    /// ```
    /// let key = "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n";
    /// let s = kubekit::builders::secret().name("deploy-key").ssh_auth(key).build()?;
    /// assert_eq!(s.type_.as_deref(), Some("kubernetes.io/ssh-auth"));
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn ssh_auth(
        self,
        private_key: impl Into<Vec<u8>>,
    ) -> SecretBuilder<secret_builder::SetType<S>>
    where
        S::Type: secret_builder::IsUnset,
    {
        self.data("ssh-privatekey", private_key)
            .type_(SecretType::SshAuth)
    }

    /// A `kubernetes.io/service-account-token` Secret for the ServiceAccount
    /// `service_account` (the annotation
    /// [`kubernetes.io/service-account.name`](SERVICE_ACCOUNT_NAME_ANNOTATION)); Kubernetes
    /// fills in `token`, `ca.crt` and `namespace`.
    ///
    /// ```
    /// let s = kubekit::builders::secret().name("ci-token").service_account_token("ci").build()?;
    /// assert_eq!(
    ///     s.metadata.annotations.map(|a| a["kubernetes.io/service-account.name"].clone()),
    ///     Some("ci".to_string())
    /// );
    /// # Ok::<(), kubekit::builders::ValidationError>(())
    /// ```
    pub fn service_account_token(
        self,
        service_account: impl Into<String>,
    ) -> SecretBuilder<secret_builder::SetType<S>>
    where
        S::Type: secret_builder::IsUnset,
    {
        self.annotation(SERVICE_ACCOUNT_NAME_ANNOTATION, service_account)
            .type_(SecretType::ServiceAccountToken)
    }
}
