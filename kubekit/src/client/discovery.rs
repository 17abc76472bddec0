//! `kubectl api-resources`, and resolving an apiVersion and kind to the API serving it.

use std::collections::{BTreeSet, HashMap};

use kube::{
    core::{GroupVersionKind, discovery::v2::APIGroupDiscoveryList},
    discovery::{ApiCapabilities, ApiResource, Scope},
};

use super::{Client, Error, Result, table};

/// One kind the cluster serves, as a row of `kubectl api-resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiResourceInfo {
    /// The resource's plural name, e.g. `deployments`.
    pub name: String,
    /// Its short names, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// The apiVersion it is served at (the group's preferred version), e.g. `apps/v1`.
    pub api_version: String,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
    /// The kind, e.g. `Deployment`.
    pub kind: String,
    /// The verbs it supports, e.g. `create`, `get`, `list`, `watch`.
    pub verbs: Vec<String>,
    /// The categories it belongs to, e.g. `all`.
    pub categories: Vec<String>,
}

impl ApiResourceInfo {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// The resource as kube's dynamic API addresses it, and its scope.
    pub(crate) fn api_resource(&self) -> (kube::discovery::ApiResource, kube::discovery::Scope) {
        let (group, version) = self
            .api_version
            .rsplit_once('/')
            .unwrap_or(("", self.api_version.as_str()));
        let resource = kube::discovery::ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            plural: self.name.clone(),
        };
        let scope = if self.namespaced {
            kube::discovery::Scope::Namespaced
        } else {
            kube::discovery::Scope::Cluster
        };
        (resource, scope)
    }

    /// The `kubectl api-resources` table: NAME SHORTNAMES APIVERSION NAMESPACED KIND.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use kubekit::client::ApiResourceInfo;
    ///
    /// let resources = client.api_resources().await?;
    /// print!("{}", ApiResourceInfo::table(&resources));
    /// // NAME          SHORTNAMES   APIVERSION   NAMESPACED   KIND
    /// // bindings                   v1           true         Binding
    /// // ...
    /// # Ok(()) }
    /// ```
    pub fn table(resources: &[ApiResourceInfo]) -> String {
        let rows: Vec<Vec<String>> = resources
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.short_names.join(","),
                    r.api_version.clone(),
                    r.namespaced.to_string(),
                    r.kind.clone(),
                ]
            })
            .collect();
        table::render(
            &["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            &rows,
        )
    }
}

impl Client {
    /// The kinds the cluster serves, like `kubectl api-resources`: every resource (not
    /// subresources) of each group's preferred version, plus those only served by another
    /// version, sorted by group (core first) and name.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// let resources = client.api_resources().await?;
    /// let pods = resources.iter().find(|r| r.name == "pods").expect("served");
    /// assert!(pods.namespaced && pods.short_names == ["po"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] when discovery fails.
    pub async fn api_resources(&self) -> Result<Vec<ApiResourceInfo>> {
        let core = self.inner.list_core_api_versions_aggregated().await?;
        let groups = self.inner.list_api_groups_aggregated().await?;
        let mut resources = Vec::new();
        for list in [core, groups] {
            collect(list, &mut resources);
        }
        resources.sort_by(|a, b| (a.group(), &a.name).cmp(&(b.group(), &b.name)));
        Ok(resources)
    }

    /// The API resource and scope serving `api_version` + `kind`, or `None` when the cluster
    /// does not serve it.
    pub(crate) async fn resolve_kind(
        &self,
        api_version: &str,
        kind: &str,
        cache: &mut HashMap<(String, String), Option<(ApiResource, ApiCapabilities)>>,
    ) -> Result<Option<(ApiResource, Scope)>> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = cache.get(&key) {
            return Ok(found.clone().map(|(ar, caps)| (ar, caps.scope)));
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = match kube::discovery::pinned_kind(&self.inner, &gvk).await {
            Ok(found) => Some(found),
            Err(kube::Error::Api(status)) if status.code == 404 => None,
            Err(kube::Error::Discovery(_)) => None,
            Err(e) => return Err(Error::Kube(e)),
        };
        cache.insert(key, found.clone());
        Ok(found.map(|(ar, caps)| (ar, caps.scope)))
    }
}

fn collect(list: APIGroupDiscoveryList, out: &mut Vec<ApiResourceInfo>) {
    for group in list.items {
        let group_name = group
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        // Versions come in order of preference: the first that serves a resource wins.
        for version in group.versions {
            let Some(v) = version.version else { continue };
            let api_version = if group_name.is_empty() {
                v.clone()
            } else {
                format!("{group_name}/{v}")
            };
            for r in version.resources {
                let Some(name) = r.resource else { continue };
                if name.contains('/') || !seen.insert(name.clone()) {
                    continue;
                }
                out.push(ApiResourceInfo {
                    name,
                    short_names: r.short_names,
                    api_version: api_version.clone(),
                    namespaced: r.scope.as_deref() == Some("Namespaced"),
                    kind: r.response_kind.and_then(|k| k.kind).unwrap_or_default(),
                    verbs: r.verbs,
                    categories: r.categories,
                });
            }
        }
    }
}
