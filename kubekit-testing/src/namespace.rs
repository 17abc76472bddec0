//! A namespace per test: named from the test's path, labelled as kubekit's, ready at once,
//! deleted when the test passes and kept (with the command to inspect it) when it fails.

use std::{
    collections::BTreeMap,
    hash::{BuildHasher, Hasher},
    time::Duration,
};

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::{
    Api,
    api::{DeleteParams, ListParams, ObjectMeta, PostParams},
    runtime::wait::await_condition,
};

use crate::{
    cluster::Cluster,
    error::{Error, Result},
    report::warning,
};

/// The label every test namespace carries.
pub const TEST_LABEL: &str = "kubekit.dev/test";
/// The label holding a hash of the test's path, used to sweep a previous run's namespace.
pub const TEST_PATH_LABEL: &str = "kubekit.dev/test-path";

/// A short random lowercase alphanumeric string.
pub(crate) fn random_suffix() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    base36(h.finish(), 5)
}

fn base36(mut n: u64, len: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| {
            let d = DIGITS[(n % 36) as usize] as char;
            n /= 36;
            d
        })
        .collect()
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// The namespace name for a test path: a valid DNS-1123 label (at most 63 characters) made
/// of the path's readable tail, a hash of the whole path and a random suffix.
///
/// ```
/// let name = kubekit_testing::namespace_name("lifecycle::pod_round_trip");
/// assert!(name.starts_with("lifecycle-pod-round-trip-"));
/// assert!(name.len() <= 63);
/// ```
pub fn namespace_name(test_path: &str) -> String {
    let mut slug = String::new();
    for c in test_path.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let suffix = format!("{}{}", base36(fnv1a(test_path), 4), random_suffix());
    // 63 = slug + '-' + 9 characters of suffix; keep the slug's end (the test's own name).
    let max = 63 - 1 - suffix.len();
    if slug.len() > max {
        // Cut at a word boundary so the name does not start with half a word.
        let tail = &slug[slug.len() - max..];
        slug = match tail.find('-') {
            Some(i) if i + 1 < tail.len() => tail[i + 1..].to_string(),
            _ => tail.to_string(),
        };
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("t-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    }
}

/// A namespace of its own for one test; see [`test_namespace!`](crate::test_namespace).
///
/// Dropped after the test passed, it deletes the namespace (and everything in it). Dropped
/// while the test panics, it keeps the namespace and prints how to inspect it.
///
/// A client is made from the cluster's configuration
/// (`kube::Client::try_from(ns.cluster().config().clone())`; kubekit's `kubekit::testing`
/// adds a `client()` returning kubekit's client).
pub struct TestNamespace {
    name: String,
    cluster: &'static Cluster,
}

impl std::fmt::Debug for TestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNamespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TestNamespace {
    /// Creates the namespace for the test at `test_path` on the shared cluster and waits
    /// until it is ready to use (its `default` ServiceAccount exists). Namespaces of earlier
    /// runs of the same test are swept.
    ///
    /// # Errors
    ///
    /// When the cluster cannot be started or reached, or the namespace is not ready in 30 s.
    pub async fn create(test_path: &str) -> Result<Self> {
        Self::create_in(Cluster::shared().await?, test_path).await
    }

    /// As [`TestNamespace::create`], on `cluster` (e.g. one of
    /// [`Cluster::shared_k3s`](crate::Cluster::shared_k3s)).
    ///
    /// # Errors
    ///
    /// When the cluster cannot be reached, or the namespace is not ready in 30 s.
    pub async fn create_in(cluster: &'static Cluster, test_path: &str) -> Result<Self> {
        let client = cluster.client()?;
        let name = namespace_name(test_path);
        let path_hash = base36(fnv1a(test_path), 8);
        let api: Api<Namespace> = Api::all(client.clone());

        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([
                    (TEST_LABEL.to_string(), "true".to_string()),
                    (TEST_PATH_LABEL.to_string(), path_hash.clone()),
                ])),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &ns).await?;

        // Sweep what earlier runs of this test left (kept after a failure).
        let selector = format!("{TEST_PATH_LABEL}={path_hash}");
        for old in api
            .list_metadata(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            if let Some(old_name) = old.metadata.name.filter(|n| *n != name)
                && old.metadata.deletion_timestamp.is_none()
            {
                let _ = api.delete(&old_name, &DeleteParams::background()).await;
            }
        }

        let accounts: Api<ServiceAccount> = Api::namespaced(client, &name);
        let timeout = Duration::from_secs(30);
        let has_default = |sa: Option<&ServiceAccount>| sa.is_some();
        match tokio::time::timeout(timeout, await_condition(accounts, "default", has_default)).await
        {
            Ok(watched) => {
                watched?;
            }
            Err(_) => {
                return Err(Error::Timeout {
                    what: format!("the default ServiceAccount of namespace {name}"),
                    after: timeout,
                });
            }
        }
        Ok(Self { name, cluster })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cluster the namespace lives in.
    pub fn cluster(&self) -> &'static Cluster {
        self.cluster
    }

    /// [`Cluster::require`] on the namespace's cluster: fails at once, naming the switch, when
    /// the cluster does not run `component`.
    ///
    /// # Errors
    ///
    /// As [`Cluster::require`].
    pub async fn require(&self, component: crate::Component) -> Result<()> {
        self.cluster.require(component).await
    }

    /// The `kubectl` command that lists what the namespace holds.
    pub fn inspect_command(&self) -> String {
        match self.cluster.kubeconfig() {
            Some(kc) => format!(
                "kubectl --kubeconfig {} get all -n {}",
                kc.display(),
                self.name
            ),
            None => format!("kubectl get all -n {}", self.name),
        }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            warning!(
                "the test failed; its namespace {} is kept. Inspect it with\n    {}\n\
                 (start the run with KUBEKIT_KEEP_CLUSTER=1 to keep the cluster running too)",
                self.name,
                self.inspect_command()
            );
            return;
        }
        // The test's runtime may be a current-thread one that is blocked here, so delete from
        // a thread with a runtime and client of its own.
        let config = self.cluster.config().clone();
        let name = std::mem::take(&mut self.name);
        let deleted = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let client = kube::Client::try_from(config).ok()?;
                Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(_))) {
            warning!("could not delete a test namespace; the next run sweeps it");
        }
    }
}

/// Creates a [`TestNamespace`] named after the calling test.
///
/// Expands to a future; the name comes from the crate and the test's thread name (the test's
/// path under `cargo test` and `cargo nextest run`).
///
/// ```no_run
/// # async fn demo() -> kubekit_testing::Result<()> {
/// let ns = kubekit_testing::test_namespace!().await?;
/// println!("testing in {} on {:?}", ns.name(), ns.cluster().kubeconfig());
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! test_namespace {
    () => {
        $crate::TestNamespace::create(&::std::format!(
            "{}::{}",
            ::std::env!("CARGO_CRATE_NAME"),
            ::std::thread::current().name().unwrap_or("main")
        ))
    };
}
