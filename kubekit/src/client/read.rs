//! get, get_opt and list.

use std::collections::BTreeMap;

use kube::api::ListParams;

use super::{ApiObject, Client, Error, Result};

/// A label selector for [`Client::list`]: the kubectl `-l` syntax as a string
/// (`"app=web,tier!=db"`, `"env in (a,b)"`), or key/value pairs that must all match.
///
/// ```
/// use kubekit::client::Labels;
///
/// assert_eq!(Labels::from("app=web").as_str(), "app=web");
/// assert_eq!(Labels::from([("app", "web"), ("tier", "front")]).as_str(), "app=web,tier=front");
/// assert_eq!(Labels::any().as_str(), "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(String);

impl Labels {
    /// Matches every object.
    #[must_use]
    pub fn any() -> Self {
        Self::default()
    }

    /// The selector in kubectl's syntax (empty for [`any`](Self::any)).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self::from(kube::core::Selector::from_iter(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string())),
        ))
    }
}

/// kube-core's selector, as kubectl's syntax.
impl From<kube::core::Selector> for Labels {
    fn from(selector: kube::core::Selector) -> Self {
        Self(selector.to_string())
    }
}

/// An object's label selector (a Deployment's `spec.selector`, ...).
///
/// ```
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
/// use kubekit::client::Labels;
///
/// let selector = LabelSelector {
///     match_labels: Some([("app".to_string(), "web".to_string())].into()),
///     ..Default::default()
/// };
/// assert_eq!(Labels::try_from(&selector)?.as_str(), "app=web");
/// # Ok::<(), kube::core::ParseExpressionError>(())
/// ```
impl TryFrom<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector> for Labels {
    type Error = kube::core::ParseExpressionError;

    fn try_from(
        selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    ) -> std::result::Result<Self, Self::Error> {
        kube::core::Selector::try_from(selector.clone()).map(Self::from)
    }
}

impl From<&str> for Labels {
    fn from(s: &str) -> Self {
        Self(s.trim().to_string())
    }
}

impl From<String> for Labels {
    fn from(s: String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<&String> for Labels {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<()> for Labels {
    fn from((): ()) -> Self {
        Self::any()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<(K, V)> for Labels {
    fn from(pair: (K, V)) -> Self {
        Self::from_pairs([pair])
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for Labels {
    fn from(pairs: [(K, V); N]) -> Self {
        Self::from_pairs(pairs)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<&[(K, V)]> for Labels {
    fn from(pairs: &[(K, V)]) -> Self {
        Self::from_pairs(pairs.iter().map(|(k, v)| (k, v)))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> From<Vec<(K, V)>> for Labels {
    fn from(pairs: Vec<(K, V)>) -> Self {
        Self::from_pairs(pairs)
    }
}

impl From<&BTreeMap<String, String>> for Labels {
    fn from(map: &BTreeMap<String, String>) -> Self {
        Self::from_pairs(map)
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self::from_pairs(&map)
    }
}

impl Client {
    /// The object `name` of kind `K` (in the client's namespace for namespaced kinds), like
    /// `kubectl get pod web -o yaml`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use k8s_openapi::api::core::v1::Pod;
    ///
    /// let pod: Pod = client.get("web2").await?;
    /// println!("{}", kubekit::manifest::to_yaml(&pod).expect("renders"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] naming the object when it does not exist; [`Error::Kube`] and
    /// [`Error::Rejected`] for other failures.
    pub async fn get<K: ApiObject>(&self, name: &str) -> Result<K> {
        self.get_opt(name).await?.ok_or_else(|| Error::NotFound {
            object: Box::new(self.object_ref::<K>(None, name)),
        })
    }

    /// The object `name` of kind `K`, or `None` when it does not exist.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use k8s_openapi::api::apps::v1::Deployment;
    ///
    /// if client.get_opt::<Deployment>("web").await?.is_none() {
    ///     println!("no deployment web yet");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] and [`Error::Rejected`] when the server cannot be asked or refuses.
    pub async fn get_opt<K: ApiObject>(&self, name: &str) -> Result<Option<K>> {
        self.api::<K>(None)
            .get_opt(name)
            .await
            .map_err(|e| Error::from_kube(e, self.object_ref::<K>(None, name)))
    }

    /// The objects of kind `K` in the client's namespace (all of them for cluster-scoped
    /// kinds) whose labels match `selector`, like `kubectl get pods -l app=web`.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use k8s_openapi::api::core::v1::Pod;
    /// use kubekit::client::Labels;
    ///
    /// let all: Vec<Pod> = client.list(Labels::any()).await?;
    /// let web: Vec<Pod> = client.list("app=web,tier!=db").await?;
    /// let typed: Vec<Pod> = client.list([("app", "web")]).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] for an invalid selector; [`Error::Kube`] when the server cannot be
    /// asked.
    pub async fn list<K: ApiObject>(&self, selector: impl Into<Labels>) -> Result<Vec<K>> {
        let selector = selector.into();
        let mut params = ListParams::default();
        if !selector.as_str().is_empty() {
            params = params.labels(selector.as_str());
        }
        let object = self.object_ref::<K>(None, &format!("(list {})", selector.as_str()));
        self.api::<K>(None)
            .list(&params)
            .await
            .map(|list| list.items)
            .map_err(|e| Error::from_kube(e, object))
    }
}
