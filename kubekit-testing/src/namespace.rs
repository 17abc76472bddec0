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

/// The ServiceAccount of [`TestNamespace::restricted_config`]'s credentials.
pub const RESTRICTED_ACCOUNT: &str = "kubekit-test";

/// The annotations that name the process a test namespace belongs to.
pub const OWNER_HOST_ANNOTATION: &str = "kubekit.dev/owner-host";
/// The owner's boot: `/proc/sys/kernel/random/boot_id` when it created the namespace.
pub const OWNER_BOOT_ANNOTATION: &str = "kubekit.dev/owner-boot";
/// The owner's process id.
pub const OWNER_PID_ANNOTATION: &str = "kubekit.dev/owner-pid";
/// The owner's start time (clock ticks after boot, `/proc/PID/stat`), so a reused pid is not
/// taken for the owner.
pub const OWNER_START_ANNOTATION: &str = "kubekit.dev/owner-start";

/// The process that created a test namespace, as its annotations record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) host: String,
    pub(crate) boot: String,
    pub(crate) pid: u32,
    pub(crate) start: u64,
}

impl Owner {
    pub(crate) fn this_process() -> Self {
        let pid = std::process::id();
        Self {
            host: hostname(),
            boot: boot_id(),
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    }

    pub(crate) fn annotations(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (OWNER_HOST_ANNOTATION.to_string(), self.host.clone()),
            (OWNER_BOOT_ANNOTATION.to_string(), self.boot.clone()),
            (OWNER_PID_ANNOTATION.to_string(), self.pid.to_string()),
            (OWNER_START_ANNOTATION.to_string(), self.start.to_string()),
        ])
    }

    /// The owner recorded on a namespace; `None` when the annotations are missing or not
    /// readable (a namespace of an older kubekit, or edited: not provably anyone's).
    pub(crate) fn of(meta: &ObjectMeta) -> Option<Self> {
        let a = meta.annotations.as_ref()?;
        Some(Self {
            host: a.get(OWNER_HOST_ANNOTATION)?.clone(),
            boot: a.get(OWNER_BOOT_ANNOTATION)?.clone(),
            pid: a.get(OWNER_PID_ANNOTATION)?.parse().ok()?,
            start: a.get(OWNER_START_ANNOTATION)?.parse().ok()?,
        })
    }

    /// Whether the owner has provably ended: on this host, either the machine booted since
    /// (another boot id) or no process with its pid and start time runs. An owner on another
    /// host cannot be checked from here and counts as alive.
    pub(crate) fn is_gone(&self) -> bool {
        if self.host != hostname() || self.boot.is_empty() {
            return false;
        }
        if self.boot != boot_id() {
            return true;
        }
        start_time(self.pid) != Some(self.start)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| b.trim().to_string())
        .unwrap_or_default()
}

/// A process's start time in clock ticks after boot (field 22 of `/proc/PID/stat`), or
/// `None` when no such process runs.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

impl TestNamespace {
    /// Creates the namespace for the test at `test_path` on the shared cluster and waits
    /// until it is ready to use (its `default` ServiceAccount exists). Namespaces that earlier
    /// runs of the same test left are swept when their process has provably ended (the
    /// namespace records its owner's host, boot, pid and start time): a concurrent run of the
    /// same test keeps its namespace.
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
                annotations: Some(Owner::this_process().annotations()),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &ns).await?;

        // Sweep what earlier runs of this test left (kept after a failure) — only namespaces
        // whose owning process is provably gone: another run of the same test may be using its
        // namespace right now (two `cargo test`s, two CI jobs on one machine).
        let selector = format!("{TEST_PATH_LABEL}={path_hash}");
        for old in api
            .list_metadata(&ListParams::default().labels(&selector))
            .await?
            .items
        {
            let abandoned = Owner::of(&old.metadata).is_some_and(|o| o.is_gone());
            if let Some(old_name) = old.metadata.name.filter(|n| *n != name)
                && old.metadata.deletion_timestamp.is_none()
                && abandoned
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

    /// Deletes the namespace now (in the background, as dropping the guard does) and says
    /// whether the API server accepted it. Once it has, dropping the guard does nothing;
    /// when it has not, the guard still tries once more when dropped. `#[kubekit::test]`
    /// calls it when a test passes, so that a namespace that cannot be deleted gets a report.
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit_testing::Result<()> {
    /// let mut ns = kubekit_testing::test_namespace!().await?;
    /// // ... the test ...
    /// ns.delete().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Kube`] with the API server's answer when it refuses the deletion.
    pub async fn delete(&mut self) -> Result<()> {
        if self.name.is_empty() {
            return Ok(());
        }
        let client = kube::Client::try_from(self.cluster.config().clone())?;
        Api::<Namespace>::all(client)
            .delete(&self.name, &DeleteParams::background())
            .await?;
        self.name.clear();
        Ok(())
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

    /// What to tell the user when the test fails: the namespace is kept, and how to look at it
    /// — the command when the cluster outlives the run, else how to keep it (it stops seconds
    /// after the run, so a command would fail).
    pub fn failure_hint(&self) -> String {
        if self.cluster.outlives_run() {
            let stop = if self.cluster.provider() == crate::ProviderKind::Kubeconfig {
                String::new()
            } else {
                "\n(the cluster is kept: stop it with `kubekit-cluster stop` when done)".into()
            };
            format!(
                "the test failed; its namespace {} is kept. Inspect it with\n    {}{stop}",
                self.name,
                self.inspect_command()
            )
        } else {
            format!(
                "the test failed; its namespace {} is kept, but the run's cluster stops seconds \
                 after the run ends. To inspect it, run the test again with KUBEKIT_KEEP=1: the \
                 cluster and the failed test's namespace stay, and this message gives the \
                 kubectl command",
                self.name
            )
        }
    }

    /// A client configuration with the rights an application has in this namespace, and no
    /// others: ServiceAccount [`RESTRICTED_ACCOUNT`] of the namespace, bound here (a
    /// RoleBinding) to Kubernetes' built-in `edit` ClusterRole, with a token from the
    /// TokenRequest API valid for an hour. The cluster and its address are the test's; the
    /// default namespace is this one. Tests of least-privilege code run with it as that code
    /// runs in a cluster: reading and writing in its namespace, refused (403) elsewhere and
    /// on cluster-scoped objects. (The token is never in `Debug` output: kube keeps it secret.)
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let ns = kubekit_testing::test_namespace!().await?;
    /// let app = kube::Client::try_from(ns.restricted_config().await?)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// When the ServiceAccount, its RoleBinding or its token cannot be made.
    pub async fn restricted_config(&self) -> Result<kube::Config> {
        use k8s_openapi::api::{
            authentication::v1::{TokenRequest, TokenRequestSpec},
            rbac::v1::{RoleBinding, RoleRef, Subject},
        };
        let client = self.cluster.client()?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &self.name);
        let meta = ObjectMeta {
            name: Some(RESTRICTED_ACCOUNT.into()),
            ..Default::default()
        };
        let account = ServiceAccount {
            metadata: meta.clone(),
            ..Default::default()
        };
        let binding = RoleBinding {
            metadata: meta,
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "edit".into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: RESTRICTED_ACCOUNT.into(),
                namespace: Some(self.name.clone()),
                ..Default::default()
            }]),
        };
        let bindings: Api<RoleBinding> = Api::namespaced(client, &self.name);
        for made in [
            accounts
                .create(&PostParams::default(), &account)
                .await
                .map(drop),
            bindings
                .create(&PostParams::default(), &binding)
                .await
                .map(drop),
        ] {
            match made {
                Ok(()) => {}
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![],
                expiration_seconds: Some(3600),
                ..Default::default()
            },
            ..Default::default()
        };
        let token = accounts
            .create_token_request(RESTRICTED_ACCOUNT, &PostParams::default(), &request)
            .await?
            .status
            .map(|s| s.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Setting(format!(
                    "the API server issued no token for ServiceAccount {}/{RESTRICTED_ACCOUNT}",
                    self.name
                ))
            })?;
        let mut config = self.cluster.config().clone();
        config.auth_info = kube::config::AuthInfo {
            token: Some(secrecy::SecretString::from(token)),
            ..Default::default()
        };
        config.default_namespace = self.name.clone();
        Ok(config)
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
        if self.name.is_empty() {
            // Deleted already, by `delete`.
            return;
        }
        if std::thread::panicking() {
            warning!("{}", self.failure_hint());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_is_gone_only_when_provably_ended() {
        let me = Owner::this_process();
        assert!(me.start > 0, "no start time read for this process");
        assert!(!me.is_gone(), "this process counts as gone");
        let meta = ObjectMeta {
            annotations: Some(me.annotations()),
            ..Default::default()
        };
        assert_eq!(Owner::of(&meta).as_ref(), Some(&me));

        // A process that has exited: its pid no longer runs (or runs as another process,
        // with another start time).
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("running `true`");
        let pid = child.id();
        let start = start_time(pid).unwrap_or(0);
        child.wait().expect("waiting for `true`");
        let ended = Owner {
            pid,
            start,
            ..me.clone()
        };
        assert!(ended.is_gone(), "an exited process counts as alive");
        // The same pid with another start time is another process.
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert!(reused.is_gone());
        // Another boot of this machine: every process of it has ended.
        let rebooted = Owner {
            boot: "another-boot".into(),
            ..me.clone()
        };
        assert!(rebooted.is_gone());
        // Another host cannot be checked from here.
        let elsewhere = Owner {
            host: "another-host".into(),
            pid,
            start,
            ..me.clone()
        };
        assert!(!elsewhere.is_gone());
        // No annotations (an older kubekit's namespace): nobody's provably.
        assert_eq!(Owner::of(&ObjectMeta::default()), None);
    }
}
