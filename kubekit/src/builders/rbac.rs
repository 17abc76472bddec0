//! RBAC: Roles and ClusterRoles (what may be done), RoleBindings and ClusterRoleBindings
//! (who may do it), made from the Role and the ServiceAccounts themselves, and [`grant`] for
//! both at once.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::container::non_empty_map;
use super::pod::metadata_setters;
use super::validate::{Ctx, Validate};

/// The API group of RBAC's kinds, which a `roleRef` names.
pub const RBAC_API_GROUP: &str = "rbac.authorization.k8s.io";

/// The verbs the API server and kubectl know (`kubectl create role --verb`); a rule built
/// by kubekit may use only these, so a typo fails at build time.
pub const KNOWN_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "use",
    "bind",
    "escalate",
    "impersonate",
    "approve",
    "sign",
    "*",
];

/// A rule as given to a builder: verbs and kubectl-style resources (`pods`,
/// `deployments.apps`, `pods/log`) or non-resource URLs.
#[derive(Debug, Clone)]
enum RuleSpec {
    Resources {
        verbs: Vec<String>,
        resources: Vec<String>,
        names: Vec<String>,
    },
    Urls {
        verbs: Vec<String>,
        urls: Vec<String>,
    },
}

fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

/// Splits a kubectl-style resource into its API group and resource: `deployments.apps` is
/// `("apps", "deployments")`, `deployments.apps/scale` is `("apps", "deployments/scale")`,
/// `pods` is `("", "pods")`.
fn split_resource(resource: &str) -> (String, String) {
    let (base, sub) = match resource.split_once('/') {
        Some((base, sub)) => (base, Some(sub)),
        None => (resource, None),
    };
    let (name, group) = base.split_once('.').unwrap_or((base, ""));
    let name = match sub {
        Some(sub) => format!("{name}/{sub}"),
        None => name.to_string(),
    };
    (group.to_string(), name)
}

/// Turns the rules given to a builder into policy rules (one per API group, as kubectl
/// does) after `rules` (those given as `k8s-openapi` values), checking verbs, resources and
/// URLs.
fn to_policy_rules(
    ctx: Ctx<'_>,
    specs: Vec<RuleSpec>,
    mut rules: Vec<rbac::PolicyRule>,
) -> Result<Vec<rbac::PolicyRule>, ValidationError> {
    for spec in specs {
        let index = rules.len();
        let (RuleSpec::Resources { verbs, .. } | RuleSpec::Urls { verbs, .. }) = &spec;
        if verbs.is_empty() {
            return Err(ctx.err(format!("rules[{index}].verbs"), "", "must not be empty"));
        }
        for (j, verb) in verbs.iter().enumerate() {
            if !KNOWN_VERBS.contains(&verb.as_str()) {
                return Err(ctx.err(
                    format!("rules[{index}].verbs[{j}]"),
                    verb,
                    format!(
                        "is not a known verb: known verbs: {}",
                        KNOWN_VERBS.join(", ")
                    ),
                ));
            }
        }
        match spec {
            RuleSpec::Resources {
                verbs,
                resources,
                names,
            } => {
                if resources.is_empty() {
                    return Err(ctx.err(
                        format!("rules[{index}].resources"),
                        "",
                        "must not be empty",
                    ));
                }
                let mut groups: Vec<(String, Vec<String>)> = Vec::new();
                for (j, resource) in resources.iter().enumerate() {
                    let (group, name) = split_resource(resource);
                    if name.is_empty() || name.starts_with('/') || name.ends_with('/') {
                        return Err(ctx.err(
                            format!("rules[{index}].resources[{j}]"),
                            resource,
                            "is not a resource: e.g. pods, deployments.apps or pods/log",
                        ));
                    }
                    match groups.iter_mut().find(|(g, _)| *g == group) {
                        Some((_, names)) => names.push(name),
                        None => groups.push((group, vec![name])),
                    }
                }
                for (group, group_resources) in groups {
                    rules.push(rbac::PolicyRule {
                        api_groups: Some(vec![group]),
                        resources: Some(group_resources),
                        resource_names: super::container::non_empty(names.clone()),
                        verbs: verbs.clone(),
                        ..Default::default()
                    });
                }
            }
            RuleSpec::Urls { verbs, urls } => {
                if urls.is_empty() {
                    return Err(ctx.err(
                        format!("rules[{index}].nonResourceURLs"),
                        "",
                        "must not be empty",
                    ));
                }
                rules.push(rbac::PolicyRule {
                    non_resource_urls: Some(urls),
                    verbs,
                    ..Default::default()
                });
            }
        }
    }
    Ok(rules)
}

/// Adds `rule`, `rule_for_names` and `policy_rule` to a Role or ClusterRole builder.
macro_rules! rule_setters {
    ($builder:ident, $state:path) => {
        impl<S: $state> $builder<S> {
            /// Allows `verbs` (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
            /// ... or `*`) on `resources`, named as kubectl names them: `pods`,
            /// `deployments.apps` (a resource of API group `apps`), `pods/log` (a
            /// subresource), `*`. One rule per API group is written, as
            /// `kubectl create role` does.
            pub fn rule(
                mut self,
                verbs: impl IntoIterator<Item = impl Into<String>>,
                resources: impl IntoIterator<Item = impl Into<String>>,
            ) -> Self {
                self.rule_specs.push(RuleSpec::Resources {
                    verbs: strings(verbs),
                    resources: strings(resources),
                    names: Vec::new(),
                });
                self
            }

            /// Like [`rule`](Self::rule), for the objects named `names` only
            /// (`resourceNames`).
            pub fn rule_for_names(
                mut self,
                verbs: impl IntoIterator<Item = impl Into<String>>,
                resources: impl IntoIterator<Item = impl Into<String>>,
                names: impl IntoIterator<Item = impl Into<String>>,
            ) -> Self {
                self.rule_specs.push(RuleSpec::Resources {
                    verbs: strings(verbs),
                    resources: strings(resources),
                    names: strings(names),
                });
                self
            }

            /// Adds any `k8s-openapi` policy rule as it is (checked with the object).
            pub fn policy_rule(mut self, rule: k8s_openapi::api::rbac::v1::PolicyRule) -> Self {
                self.policy_rules.push(rule);
                self
            }
        }
    };
}

/// Builds a [`Role`](k8s_openapi::api::rbac::v1::Role): what may be done in one namespace.
///
/// `name` is required. Add rules with [`rule`](RoleBuilder::rule) (verbs on kubectl-style
/// resources: `pods`, `deployments.apps`, `pods/log`); `build()` checks every verb against
/// [`KNOWN_VERBS`] and the rules as the API server does. Bind it with
/// [`role_binding_for(&role)`](crate::builders::role_binding_for), or make both for a
/// ServiceAccount with [`grant`].
///
/// ```
/// use kubekit::builders::role;
///
/// let reader = role()
///     .name("pod-reader")
///     .namespace("shop")
///     .rule(["get", "list", "watch"], ["pods", "pods/log", "deployments.apps"])
///     .build()?;
/// let rules = reader.rules.expect("rules");
/// assert_eq!(rules.len(), 2); // one for the core group, one for `apps`
/// assert_eq!(rules[1].api_groups.as_deref(), Some(&["apps".to_string()][..]));
///
/// let err = role().name("r").rule(["gets"], ["pods"]).build().unwrap_err();
/// assert_eq!(err.field, "rules[0].verbs[0]");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn role(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] rule_specs: Vec<RuleSpec>,
    #[builder(field)] policy_rules: Vec<rbac::PolicyRule>,
    /// The Role's name (any name that is a valid path segment, e.g. `pod-reader`).
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
) -> Result<rbac::Role, ValidationError> {
    let ctx = Ctx {
        kind: "Role",
        name: &name,
    };
    let rules = to_policy_rules(ctx, rule_specs, policy_rules)?;
    let role = rbac::Role {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        rules: super::container::non_empty(rules),
        ..Default::default()
    };
    role.validate()?;
    Ok(role)
}

metadata_setters!(RoleBuilder, role_builder::State, "Role");
rule_setters!(RoleBuilder, role_builder::State);

/// Builds a [`ClusterRole`](k8s_openapi::api::rbac::v1::ClusterRole): what may be done in
/// every namespace, on cluster-wide resources (`nodes`, `namespaces`) and on non-resource
/// URLs (`/healthz`).
///
/// `name` is required; rules as for [`role`], plus
/// [`non_resource_rule`](ClusterRoleBuilder::non_resource_rule).
///
/// ```
/// use kubekit::builders::cluster_role;
///
/// let watcher = cluster_role()
///     .name("node-watcher")
///     .rule(["get", "list", "watch"], ["nodes"])
///     .non_resource_rule(["get"], ["/healthz", "/metrics"])
///     .build()?;
/// assert_eq!(watcher.rules.map(|r| r.len()), Some(2));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn cluster_role(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] rule_specs: Vec<RuleSpec>,
    #[builder(field)] policy_rules: Vec<rbac::PolicyRule>,
    /// The ClusterRole's name (any name that is a valid path segment, e.g. `node-watcher`).
    name: String,
) -> Result<rbac::ClusterRole, ValidationError> {
    let ctx = Ctx {
        kind: "ClusterRole",
        name: &name,
    };
    let rules = to_policy_rules(ctx, rule_specs, policy_rules)?;
    let role = rbac::ClusterRole {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        rules: super::container::non_empty(rules),
        ..Default::default()
    };
    role.validate()?;
    Ok(role)
}

metadata_setters!(
    ClusterRoleBuilder,
    cluster_role_builder::State,
    "ClusterRole"
);
rule_setters!(ClusterRoleBuilder, cluster_role_builder::State);

impl<S: cluster_role_builder::State> ClusterRoleBuilder<S> {
    /// Allows `verbs` on non-resource URLs such as `/healthz` or `/metrics` (a `*` at the end
    /// matches a prefix).
    pub fn non_resource_rule(
        mut self,
        verbs: impl IntoIterator<Item = impl Into<String>>,
        urls: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.rule_specs.push(RuleSpec::Urls {
            verbs: strings(verbs),
            urls: strings(urls),
        });
        self
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for k8s_openapi::api::rbac::v1::Role {}
    impl Sealed for k8s_openapi::api::rbac::v1::ClusterRole {}
}

/// A Role or a ClusterRole, which a RoleBinding can refer to ([`role_binding_for`]).
///
/// ```
/// use kubekit::builders::{cluster_role, RoleRefTarget};
/// let view = cluster_role().name("viewer").rule(["get"], ["pods"]).build()?;
/// assert_eq!(view.kind(), "ClusterRole");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub trait RoleRefTarget: sealed::Sealed {
    /// `Role` or `ClusterRole`.
    fn kind(&self) -> &'static str;
    /// Its metadata (name, and a Role's namespace).
    fn metadata(&self) -> &ObjectMeta;
}

impl RoleRefTarget for rbac::Role {
    fn kind(&self) -> &'static str {
        "Role"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl RoleRefTarget for rbac::ClusterRole {
    fn kind(&self) -> &'static str {
        "ClusterRole"
    }
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
}

fn role_ref<T: RoleRefTarget>(role: &T) -> rbac::RoleRef {
    rbac::RoleRef {
        api_group: RBAC_API_GROUP.into(),
        kind: role.kind().into(),
        name: role.metadata().name.clone().unwrap_or_default(),
    }
}

fn subject_of(account: &core::ServiceAccount) -> rbac::Subject {
    rbac::Subject {
        kind: "ServiceAccount".into(),
        name: account.metadata.name.clone().unwrap_or_default(),
        namespace: account.metadata.namespace.clone(),
        ..Default::default()
    }
}

/// Builds a [`RoleBinding`](k8s_openapi::api::rbac::v1::RoleBinding) of a built Role (or
/// ClusterRole, granted in one namespace) to ServiceAccounts.
///
/// The `roleRef` is made from the role, and a Role's namespace is the binding's (a Role can
/// only be bound in its own namespace), so they cannot disagree; the subjects are made from
/// the ServiceAccounts ([`subject`](RoleBindingForBuilder::subject), at least one), each in
/// its own namespace (the binding's when it has none). The name is the role's unless set.
///
/// ```
/// use kubekit::builders::{role, role_binding_for, service_account};
///
/// let worker = service_account().name("worker").namespace("shop").build()?;
/// let reader = role()
///     .name("pod-reader")
///     .namespace("shop")
///     .rule(["get", "list"], ["pods"])
///     .build()?;
/// let binding = role_binding_for(&reader).subject(&worker).build()?;
/// assert_eq!(binding.metadata.namespace.as_deref(), Some("shop"));
/// assert_eq!(binding.role_ref.name, "pod-reader");
/// assert_eq!(binding.subjects.map(|s| s[0].name.clone()).as_deref(), Some("worker"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn role_binding_for<T: RoleRefTarget>(
    #[builder(start_fn)] role: &T,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] subjects: Vec<rbac::Subject>,
    /// The binding's name; the role's when not set.
    name: Option<String>,
    /// The namespace to grant a ClusterRole in; a Role's binding is always in the Role's
    /// namespace (setting another one is an error).
    namespace: Option<String>,
) -> Result<rbac::RoleBinding, ValidationError> {
    let role_name = role.metadata().name.clone().unwrap_or_default();
    let name = name.unwrap_or_else(|| role_name.clone());
    let ctx = Ctx {
        kind: "RoleBinding",
        name: &name,
    };
    let namespace = match (role.kind(), &role.metadata().namespace, namespace) {
        ("Role", Some(role_ns), Some(ns)) if *role_ns != ns => {
            return Err(ctx.err(
                "metadata.namespace",
                ns,
                format!(
                    "does not match the namespace \"{role_ns}\" of Role \"{role_name}\": a Role \
                     can only be bound in its own namespace"
                ),
            ));
        }
        ("Role", Some(role_ns), _) => Some(role_ns.clone()),
        (_, _, ns) => ns,
    };
    if subjects.is_empty() {
        return Err(ctx.err(
            "subjects",
            "",
            "must not be empty: add the ServiceAccounts to bind with `subject`",
        ));
    }
    let binding = rbac::RoleBinding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        role_ref: role_ref(role),
        subjects: Some(subjects),
        ..Default::default()
    };
    binding.validate()?;
    Ok(binding)
}

impl<'a, T: RoleRefTarget, S: role_binding_for_builder::State> RoleBindingForBuilder<'a, T, S> {
    metadata_setters!(@methods "RoleBinding");

    /// Binds the role to a built ServiceAccount (its name and namespace come from it).
    pub fn subject(mut self, account: &core::ServiceAccount) -> Self {
        self.subjects.push(subject_of(account));
        self
    }
}

/// Builds a [`ClusterRoleBinding`](k8s_openapi::api::rbac::v1::ClusterRoleBinding) of a built
/// ClusterRole to ServiceAccounts, in every namespace.
///
/// The `roleRef` is made from the ClusterRole, the subjects from the ServiceAccounts (at least
/// one), which must have a namespace (a cluster-wide binding has none to default to). The name
/// is the ClusterRole's unless set.
///
/// ```
/// use kubekit::builders::{cluster_role, cluster_role_binding_for, service_account};
///
/// let agent = service_account().name("agent").namespace("monitoring").build()?;
/// let watcher = cluster_role().name("node-watcher").rule(["list", "watch"], ["nodes"]).build()?;
/// let binding = cluster_role_binding_for(&watcher).subject(&agent).build()?;
/// assert_eq!(binding.role_ref.kind, "ClusterRole");
///
/// let nowhere = service_account().name("agent").build()?;
/// let err = cluster_role_binding_for(&watcher).subject(&nowhere).build().unwrap_err();
/// assert_eq!(err.field, "subjects[0].namespace");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn cluster_role_binding_for(
    #[builder(start_fn)] role: &rbac::ClusterRole,
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    #[builder(field)] subjects: Vec<rbac::Subject>,
    /// The binding's name; the ClusterRole's when not set.
    name: Option<String>,
) -> Result<rbac::ClusterRoleBinding, ValidationError> {
    let name = name.unwrap_or_else(|| role.metadata.name.clone().unwrap_or_default());
    let ctx = Ctx {
        kind: "ClusterRoleBinding",
        name: &name,
    };
    if subjects.is_empty() {
        return Err(ctx.err(
            "subjects",
            "",
            "must not be empty: add the ServiceAccounts to bind with `subject`",
        ));
    }
    let binding = rbac::ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        role_ref: role_ref(role),
        subjects: Some(subjects),
        ..Default::default()
    };
    binding.validate()?;
    Ok(binding)
}

impl<'a, S: cluster_role_binding_for_builder::State> ClusterRoleBindingForBuilder<'a, S> {
    metadata_setters!(@methods "ClusterRoleBinding");

    /// Binds the ClusterRole to a built ServiceAccount, which must have a namespace.
    pub fn subject(mut self, account: &core::ServiceAccount) -> Self {
        self.subjects.push(subject_of(account));
        self
    }
}

/// A Role allowing `verbs` on `resources` and the RoleBinding that gives it to `account`,
/// both named `name`, in the account's namespace: what a workload running as `account` needs
/// to call the API.
///
/// Resources are named as for [`role`]'s [`rule`](RoleBuilder::rule): `pods`,
/// `deployments.apps`, `pods/log`.
///
/// # Errors
///
/// The first rule the Role or the RoleBinding breaks (an unknown verb, an invalid name).
///
/// ```
/// use kubekit::builders::{grant, service_account};
///
/// let worker = service_account().name("worker").namespace("shop").build()?;
/// let (role, binding) = grant("worker-reads-config", &worker, ["get", "watch"], ["configmaps"])?;
/// assert_eq!(role.metadata.namespace.as_deref(), Some("shop"));
/// assert_eq!(binding.role_ref.name, "worker-reads-config");
/// assert_eq!(binding.subjects.map(|s| s[0].name.clone()).as_deref(), Some("worker"));
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
pub fn grant(
    name: impl Into<String>,
    account: &core::ServiceAccount,
    verbs: impl IntoIterator<Item = impl Into<String>>,
    resources: impl IntoIterator<Item = impl Into<String>>,
) -> Result<(rbac::Role, rbac::RoleBinding), ValidationError> {
    let name = name.into();
    let builder = role().name(name.clone()).rule(verbs, resources);
    let role = match &account.metadata.namespace {
        Some(namespace) => builder.namespace(namespace.clone()).build()?,
        None => builder.build()?,
    };
    let binding = role_binding_for(&role)
        .name(name)
        .subject(account)
        .build()?;
    Ok((role, binding))
}
