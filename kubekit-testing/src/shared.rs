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
    sync::OnceLock,
};

use tokio::sync::OnceCell;

use crate::{
    assets,
    error::{Error, IoContext, Result},
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
}

impl Provider {
    /// The provider `KUBEKIT_PROVIDER` selects.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProvider`] for a value kubekit-testing does not know.
    pub fn from_env() -> Result<Self> {
        match std::env::var("KUBEKIT_PROVIDER")
            .unwrap_or_default()
            .as_str()
        {
            "" | "local" => Ok(Self::Local),
            "kubeconfig" => Ok(Self::Kubeconfig),
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
}

static SHARED: OnceCell<Cluster> = OnceCell::const_new();
static CLIENT_LOCK: OnceLock<File> = OnceLock::new();

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
                })
            }
            Provider::Local => {
                let state = shared_local().await?;
                let config = local::config_from(&state.kubeconfig).await?;
                Ok(Cluster {
                    provider: Provider::Local,
                    config,
                    kubeconfig: Some(state.kubeconfig),
                    run_id: state.run_id,
                    node: state.node,
                })
            }
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

fn read_state(path: &Path) -> Result<Option<State>> {
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

/// Finds or starts the shared local cluster and registers this process as its client.
async fn shared_local() -> Result<State> {
    let dir = state_dir();
    std::fs::create_dir_all(&dir).io("creating", &dir)?;
    let state_lock = open_lock(&dir.join("state.lock"))?;
    state_lock.lock().io("locking", dir.join("state.lock"))?;
    let state_path = dir.join("state.json");

    let state = match read_state(&state_path)? {
        Some(state) if alive(&state) => state,
        stale => {
            if let Some(stale) = stale {
                eprintln!(
                    "kubekit-testing: reaping a stale cluster in {}",
                    stale.dir.display()
                );
                local::run_teardown(&stale.dir)?;
            }
            let with_node = crate::node::wanted();
            let mut needed = assets::CONTROL_PLANE_BINARIES.to_vec();
            if with_node {
                needed.extend_from_slice(assets::NODE_BINARIES);
            }
            let bins = assets::binaries(&needed)?;
            let run_id = crate::namespace::random_suffix();
            let cluster_dir = dir.join("cluster");
            let (mut state, mut started) =
                local::start_control_plane(&cluster_dir, &bins, &run_id).await?;
            if with_node && let Err(e) = crate::node::start(&mut state, &mut started, &bins).await {
                let _ = local::run_teardown(&cluster_dir);
                return Err(e);
            }
            let json = serde_json::to_vec_pretty(&state).map_err(|source| Error::State {
                path: state_path.clone(),
                source,
            })?;
            std::fs::write(&state_path, json).io("writing", &state_path)?;
            state
        }
    };
    ensure_watchdog(&dir)?;

    // Registered as a client until this process exits; the watchdog waits for all of them.
    let clients = open_lock(&dir.join("clients.lock"))?;
    clients
        .lock_shared()
        .io("locking", dir.join("clients.lock"))?;
    let _ = CLIENT_LOCK.set(clients);
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
      rm -f "$dir/watchdog.pid"
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
