//! One cluster per test run, shared by every test process (`cargo test` runs a process per
//! test file, `cargo nextest run` a process per test).
//!
//! The first process starts the cluster under an exclusive lock (`state.lock`) and records it
//! in `state.json`; later processes find it there. Every process using the cluster holds a
//! shared lock on `clients.lock` until it exits. A detached watchdog stops the cluster once no
//! process has held that lock for `KUBEKIT_IDLE_SECONDS` (default 10), so nothing is left
//! running after a run, also one where a test panicked or was killed. A cluster whose
//! processes died (a killed run, a reboot) is reaped and started afresh.

use std::{
    fs::{File, OpenOptions},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Mutex,
};

use tokio::sync::OnceCell;

use crate::{
    assets,
    error::{Error, IoContext, Result},
    k3s::{self, K3s, K3sState},
    local::{self, State},
};

/// Which cluster the tests run against, chosen with `KUBEKIT_PROVIDER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provider {
    /// Kubernetes components as local processes, started and stopped by kubekit-testing
    /// (`KUBEKIT_PROVIDER=local`, the default).
    Local,
    /// The existing cluster `KUBECONFIG` (or `~/.kube/config`) points at, left as it is
    /// (`KUBEKIT_PROVIDER=kubeconfig`).
    Kubeconfig,
    /// k3s in a Docker container, through testcontainers (`KUBEKIT_PROVIDER=k3s`); the
    /// image is chosen with `KUBEKIT_K3S_IMAGE` (see [`K3s::from_env`]).
    K3s,
}

impl Provider {
    /// The provider `KUBEKIT_PROVIDER` selects: `k3s`, `local` or `kubeconfig`. Unset, it is
    /// `k3s` where a Docker engine answers and `local` otherwise (and [`Cluster::shared`]
    /// falls back to `local` when the k3s image can be neither found nor pulled).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProvider`] for a value kubekit-testing does not know.
    pub fn from_env() -> Result<Self> {
        match std::env::var("KUBEKIT_PROVIDER")
            .unwrap_or_default()
            .as_str()
        {
            "" if k3s::docker_answers() => Ok(Self::K3s),
            "" | "local" => Ok(Self::Local),
            "kubeconfig" => Ok(Self::Kubeconfig),
            "k3s" => Ok(Self::K3s),
            other => Err(Error::UnknownProvider(other.into())),
        }
    }
}

/// A running cluster tests can use.
///
/// Get the run's shared one with [`Cluster::shared`]; give each test its own namespace with
/// [`test_namespace!`](crate::test_namespace).
#[derive(Debug)]
pub struct Cluster {
    provider: Provider,
    config: kube::Config,
    kubeconfig: Option<PathBuf>,
    run_id: String,
    node: bool,
    k3s: Option<K3sState>,
}

static SHARED: OnceCell<Cluster> = OnceCell::const_new();
/// The shared locks on `clients.lock` this process holds (one per shared cluster it uses),
/// released when it exits.
static CLIENT_LOCKS: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// The directory holding the shared local cluster's state.
pub fn state_dir() -> PathBuf {
    assets::cache_dir()
        .join("clusters")
        .join(format!("local-{}", assets::KUBERNETES_VERSION))
}

fn open_lock(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .io("opening", path)
}

impl Cluster {
    /// The test run's shared cluster: started by the first test that asks, reused by every
    /// later test in this and other test processes, stopped when the run is over.
    ///
    /// With the local provider the cluster includes a node (kubelet, containerd, CNI,
    /// kube-proxy) when the process runs as root; `KUBEKIT_NODE=0` starts the control plane
    /// only. `KUBEKIT_KEEP_CLUSTER=1` keeps the cluster running after the run (stop it with
    /// [`stop_local`]).
    ///
    /// # Errors
    ///
    /// When the binaries are missing and cannot be built, a component fails to start (the
    /// error holds its last log lines), or the kubeconfig cannot be read.
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit_testing::Result<()> {
    /// let cluster = kubekit_testing::Cluster::shared().await?;
    /// let client = cluster.client()?;
    /// let version = client.apiserver_version().await?;
    /// assert_eq!(version.major, "1");
    /// # Ok(()) }
    /// ```
    pub async fn shared() -> Result<&'static Cluster> {
        SHARED.get_or_try_init(Self::connect).await
    }

    /// The test run's shared k3s cluster of `image`, whatever `KUBEKIT_PROVIDER` says: started
    /// by the first caller in the run, reused by later ones in this and other processes,
    /// removed when the run is over. Several images may run side by side.
    ///
    /// # Errors
    ///
    /// [`Error::K3s`] when Docker is missing or not answering, the image cannot be pulled,
    /// or the container fails to start (with its last log lines).
    pub async fn shared_k3s(image: K3s) -> Result<&'static Cluster> {
        static K3S: tokio::sync::Mutex<Vec<(String, &'static Cluster)>> =
            tokio::sync::Mutex::const_new(Vec::new());
        let mut known = K3S.lock().await;
        if let Some((_, cluster)) = known.iter().find(|(r, _)| *r == image.reference()) {
            return Ok(cluster);
        }
        let cluster: &'static Cluster = Box::leak(Box::new(Self::connect_k3s(&image).await?));
        known.push((image.reference(), cluster));
        Ok(cluster)
    }

    async fn connect_k3s(image: &K3s) -> Result<Cluster> {
        let dir = k3s::state_dir(image);
        let state: K3sState = shared_in(
            &dir,
            async |state: &K3sState| k3s::alive(state).await,
            async |run_id: String| k3s::start(image, &dir, &run_id).await,
        )
        .await?;
        let config = local::config_from(&state.kubeconfig).await?;
        Ok(Cluster {
            provider: Provider::K3s,
            config,
            kubeconfig: Some(state.kubeconfig.clone()),
            run_id: state.run_id.clone(),
            node: true,
            k3s: Some(state),
        })
    }

    async fn connect() -> Result<Cluster> {
        match Provider::from_env()? {
            Provider::Kubeconfig => {
                let config = kube::Config::infer().await.map_err(|e| {
                    Error::MissingBinaries(format!(
                        "KUBEKIT_PROVIDER=kubeconfig but no usable kubeconfig: {e}"
                    ))
                })?;
                Ok(Cluster {
                    provider: Provider::Kubeconfig,
                    config,
                    kubeconfig: std::env::var_os("KUBECONFIG").map(PathBuf::from),
                    run_id: crate::namespace::random_suffix(),
                    node: true,
                    k3s: None,
                })
            }
            Provider::K3s => {
                let image = K3s::from_env()?;
                let chosen = std::env::var("KUBEKIT_PROVIDER").is_ok_and(|p| p == "k3s");
                if !chosen && let Err(e) = k3s::image_available(&image).await {
                    eprintln!(
                        "kubekit-testing: a Docker engine answers, but {e}\n\
                         kubekit-testing: using the local cluster (KUBEKIT_PROVIDER chooses)"
                    );
                    return Self::connect_local().await;
                }
                Self::connect_k3s(&image).await
            }
            Provider::Local => Self::connect_local().await,
        }
    }

    async fn connect_local() -> Result<Cluster> {
        let dir = state_dir();
        let state: State = shared_in(
            &dir,
            async |state: &State| alive(state),
            async |run_id: String| start_local(&dir, run_id).await,
        )
        .await?;
        let config = local::config_from(&state.kubeconfig).await?;
        Ok(Cluster {
            provider: Provider::Local,
            config,
            kubeconfig: Some(state.kubeconfig),
            run_id: state.run_id,
            node: state.node,
            k3s: None,
        })
    }

    /// Loads an image archive (`docker save` / OCI format) onto this cluster's node: into
    /// the local node's containerd, or with `ctr images import` inside the k3s container.
    ///
    /// # Errors
    ///
    /// When the file does not exist, the provider has no node kubekit-testing manages
    /// (`kubeconfig`), or the import fails.
    pub async fn load_image(&self, archive: &Path) -> Result<()> {
        match (&self.provider, &self.k3s) {
            (Provider::K3s, Some(state)) => {
                k3s::import(&state.container_id, &state.import_dir, archive).await
            }
            (Provider::Local, _) => crate::node::load_image(archive),
            _ => Err(Error::Node(
                "the kubeconfig provider's cluster is not managed by kubekit-testing; load \
                 images with its own tools"
                    .into(),
            )),
        }
    }

    /// A new client for this cluster, bound to the calling async runtime.
    ///
    /// # Errors
    ///
    /// When the client's TLS configuration cannot be built.
    pub fn client(&self) -> Result<kube::Client> {
        Ok(kube::Client::try_from(self.config.clone())?)
    }

    /// The client configuration of this cluster.
    pub fn config(&self) -> &kube::Config {
        &self.config
    }

    /// The kubeconfig file of this cluster, for `kubectl --kubeconfig` (none when the
    /// provider uses the default kubeconfig).
    pub fn kubeconfig(&self) -> Option<&Path> {
        self.kubeconfig.as_deref()
    }

    /// The provider this cluster comes from.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Whether the cluster has a node that runs pods.
    pub fn has_node(&self) -> bool {
        self.node
    }

    /// An identifier of this cluster's lifetime (a new one each time it is started).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}

fn read_state<S: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<S>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::State {
                path: path.into(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).io("reading", path),
    }
}

fn alive(state: &State) -> bool {
    state.processes.iter().all(|p| {
        std::fs::read(format!("/proc/{}/cmdline", p.pid))
            .map(|c| c.split(|b| *b == 0).next() == Some(p.exe.as_os_str().as_encoded_bytes()))
            .unwrap_or(false)
    })
}

/// Starts the local cluster (a control plane and, as root, a node) for the shared state in
/// `dir`.
async fn start_local(dir: &Path, run_id: String) -> Result<State> {
    let with_node = crate::node::wanted();
    let mut needed = assets::CONTROL_PLANE_BINARIES.to_vec();
    if with_node {
        needed.extend_from_slice(assets::NODE_BINARIES);
    }
    let bins = assets::binaries(&needed)?;
    let cluster_dir = dir.join("cluster");
    let (mut state, mut started) = local::start_control_plane(&cluster_dir, &bins, &run_id).await?;
    if with_node && let Err(e) = crate::node::start(&mut state, &mut started, &bins).await {
        let _ = local::run_teardown(&cluster_dir);
        return Err(e);
    }
    Ok(state)
}

/// Finds the shared cluster recorded in `dir` or starts one with `start`, and registers this
/// process as its client. A recorded cluster that is not `alive` is torn down first (its
/// `cluster/teardown.sh`).
async fn shared_in<S>(
    dir: &Path,
    alive: impl AsyncFn(&S) -> bool,
    start: impl AsyncFnOnce(String) -> Result<S>,
) -> Result<S>
where
    S: serde::Serialize + serde::de::DeserializeOwned,
{
    std::fs::create_dir_all(dir).io("creating", dir)?;
    let state_lock = open_lock(&dir.join("state.lock"))?;
    state_lock.lock().io("locking", dir.join("state.lock"))?;
    let state_path = dir.join("state.json");

    let recorded = read_state::<S>(&state_path)?;
    let state = match recorded {
        Some(state) if alive(&state).await => state,
        stale => {
            if stale.is_some() {
                eprintln!(
                    "kubekit-testing: reaping a stale cluster in {}",
                    dir.display()
                );
                local::run_teardown(&dir.join("cluster"))?;
                let _ = std::fs::remove_file(&state_path);
            }
            let state = start(crate::namespace::random_suffix()).await?;
            let json = serde_json::to_vec_pretty(&state).map_err(|source| Error::State {
                path: state_path.clone(),
                source,
            })?;
            std::fs::write(&state_path, json).io("writing", &state_path)?;
            state
        }
    };
    ensure_watchdog(dir)?;

    // Registered as a client until this process exits; the watchdog waits for all of them.
    let clients = open_lock(&dir.join("clients.lock"))?;
    clients
        .lock_shared()
        .io("locking", dir.join("clients.lock"))?;
    CLIENT_LOCKS
        .lock()
        .map_err(|_| Error::Node("a client lock holder panicked".into()))?
        .push(clients);
    drop(state_lock);
    Ok(state)
}

const WATCHDOG: &str = r#"#!/usr/bin/env bash
# kubekit-testing's watchdog: stops the shared cluster once no test process has used it for
# IDLE seconds. Generated by kubekit-testing.
set -u
dir=$1 idle=$2 idle_for=0
echo $$ > "$dir/watchdog.pid"
while sleep 1; do
  [[ -f $dir/state.json ]] || exit 0
  if flock -n -x "$dir/clients.lock" true; then idle_for=$((idle_for + 1)); else idle_for=0; fi
  if (( idle_for >= idle )); then
    exec 9>"$dir/state.lock"
    flock -x 9
    if flock -n -x "$dir/clients.lock" true; then
      bash "$dir/cluster/teardown.sh"
      rm -f "$dir/state.json" "$dir/watchdog.pid"
      exit 0
    fi
    exec 9>&-
    idle_for=0
  fi
done
"#;

/// Starts the watchdog unless one runs already or the user asked to keep the cluster.
fn ensure_watchdog(dir: &Path) -> Result<()> {
    if std::env::var("KUBEKIT_KEEP_CLUSTER").is_ok_and(|v| v == "1" || v == "true") {
        return Ok(());
    }
    let pid_file = dir.join("watchdog.pid");
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("watchdog.sh") {
            return Ok(());
        }
    }
    let script = dir.join("watchdog.sh");
    std::fs::write(&script, WATCHDOG).io("writing", &script)?;
    let idle = std::env::var("KUBEKIT_IDLE_SECONDS").unwrap_or_else(|_| "10".into());
    let _ = std::fs::remove_file(&pid_file);
    Command::new("bash")
        .arg(&script)
        .arg(dir)
        .arg(idle)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .io("starting", &script)?;
    // Wait until it has recorded itself, so a second process does not start another one.
    for _ in 0..100 {
        if pid_file.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

/// Stops the shared local cluster now (e.g. one kept with `KUBEKIT_KEEP_CLUSTER=1`).
///
/// # Errors
///
/// When the teardown script cannot be run.
pub fn stop_local() -> Result<()> {
    let dir = state_dir();
    let state_lock = open_lock(&dir.join("state.lock"))?;
    state_lock.lock().io("locking", dir.join("state.lock"))?;
    local::run_teardown(&dir.join("cluster"))?;
    let _ = std::fs::remove_file(dir.join("state.json"));
    Ok(())
}
