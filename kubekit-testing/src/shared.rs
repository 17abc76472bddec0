//! One cluster per test run, shared by every test process (`cargo test` runs a process per
//! test file, `cargo nextest run` a process per test), for any [`Provider`].
//!
//! The first process starts the cluster under an exclusive lock (`state.lock`) and records it
//! in `state.json`; later processes find it there. Every process using the cluster holds a
//! shared lock on `clients.lock` until it exits. A detached watchdog (`kubekit-cluster
//! watchdog DIR IDLE`, see [`run_watchdog`]) stops the cluster once no process has held that
//! lock for `KUBEKIT_IDLE_SECONDS` (default 10), so nothing is left running after a run, also
//! one where a test panicked or was killed. A cluster whose processes died (a killed run, a
//! reboot) is reaped and started afresh.

use std::{
    fs::{File, TryLockError},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Mutex, PoisonError},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, IoContext, Result},
    providers::{K3s, Local, Provider, ProviderKind, local::LocalState},
    report::{progress, warning},
    util,
};

/// What `state.json` holds: the provider and the running cluster's state.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record<S> {
    pub provider: ProviderKind,
    pub run_id: String,
    pub state: S,
}

#[derive(Deserialize)]
struct Head {
    provider: ProviderKind,
}

/// The shared locks on `clients.lock` this process holds (one per shared cluster it uses),
/// released when it exits.
static CLIENT_LOCKS: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// The name of the program whose `watchdog` subcommand stops the shared cluster.
pub const WATCHDOG_PROGRAM: &str = "kubekit-cluster";

/// Whether the run asks to keep its cluster after it ends: `KUBEKIT_KEEP=1` (or its older
/// name `KUBEKIT_KEEP=1`).
pub(crate) fn keep_cluster() -> bool {
    ["KUBEKIT_KEEP", "KUBEKIT_KEEP_CLUSTER"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| v == "1" || v == "true"))
}

/// Finds the cluster of `provider` recorded in `dir` or starts one, and registers this
/// process as its client. A recorded cluster that is not alive is stopped first.
pub(crate) async fn shared_in<P: Provider>(provider: &P, dir: &Path) -> Result<Record<P::State>> {
    if let Some(clusters) = dir.parent() {
        util::private_dir(clusters)?;
    }
    util::private_dir(dir)?;
    // Without a watchdog the cluster would run on after the tests: find it before starting.
    let watchdog = if keep_cluster() {
        None
    } else {
        Some(cluster_program(
            "to stop the cluster after the run",
            &format!(
                "set KUBEKIT_KEEP=1 and stop the cluster yourself (`{WATCHDOG_PROGRAM} stop`)"
            ),
        )?)
    };
    let state_lock = util::lock_exclusive(dir.join("state.lock")).await?;
    let state_path = dir.join("state.json");
    let recorded = match util::read_json::<Record<P::State>>(&state_path) {
        Ok(recorded) => recorded,
        Err(e) => {
            warning!("{e}; starting a new cluster");
            util::remove(&state_path)?;
            None
        }
    };
    let record = match recorded {
        Some(record) if provider.alive(&record.state).await => record,
        stale => {
            if let Some(stale) = stale {
                warning!("reaping a stale cluster in {}", dir.display());
                provider.stop(&stale.state).await?;
                util::remove(&state_path)?;
            }
            let run_id = crate::namespace::random_suffix();
            let state = provider.start(dir, &run_id).await?;
            let record = Record {
                provider: provider.kind(),
                run_id,
                state,
            };
            util::write_json(&state_path, &record)?;
            record
        }
    };
    match watchdog {
        Some(program) => ensure_watchdog(dir, &program).await?,
        // A watchdog an earlier run started would stop the cluster this run keeps.
        None => stop_watchdog(dir)?,
    }

    // Registered as a client until this process exits; the watchdog waits for all of them.
    let clients = util::lock_shared(dir.join("clients.lock")).await?;
    CLIENT_LOCKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(clients);
    drop(state_lock);
    Ok(record)
}

/// The `kubekit-cluster` program: `KUBEKIT_CLUSTER_BIN`, this program itself, the one in the
/// Cargo target directory this program was built in (beside `deps/` and `examples/`, or in
/// the directory's `debug/` profile, where `scripts/setup.sh` builds it, for release
/// benches), or the one on `PATH`.
/// `purpose` and `alternative` complete the error when there is none.
pub(crate) fn cluster_program(purpose: &str, alternative: &str) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("KUBEKIT_CLUSTER_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::Watchdog(format!(
                "KUBEKIT_CLUSTER_BIN={} is not a file",
                path.display()
            )))
        };
    }
    let exe = std::env::current_exe().ok();
    if let Some(exe) = &exe
        && exe.file_name().is_some_and(|n| n == WATCHDOG_PROGRAM)
    {
        return Ok(exe.clone());
    }
    let beside = exe
        .iter()
        .flat_map(|e| e.ancestors().skip(1).take(3))
        .flat_map(|d| [d.to_path_buf(), d.join("debug")]);
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    beside
        .chain(on_path)
        .map(|d| d.join(WATCHDOG_PROGRAM))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::Watchdog(format!(
                "no {WATCHDOG_PROGRAM} program {purpose}: build it with \
                 `cargo build -p kubekit-examples --bin {WATCHDOG_PROGRAM}` (scripts/setup.sh \
                 does), or set KUBEKIT_CLUSTER_BIN to it; or {alternative}"
            ))
        })
}

/// The pid of the watchdog of `dir`, when one runs.
fn running_watchdog(dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(dir.join("watchdog.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    (cmdline.contains("\0watchdog\0") && cmdline.contains(&*dir.to_string_lossy())).then_some(pid)
}

/// Stops the watchdog of `dir`, if one runs, so the cluster outlives the run.
fn stop_watchdog(dir: &Path) -> Result<()> {
    if let Some(pid) = running_watchdog(dir) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        progress!("KUBEKIT_KEEP: stopped the watchdog (pid {pid}) that would stop the cluster");
    }
    util::remove(&dir.join("watchdog.pid"))
}

/// Starts the watchdog of `dir` unless one runs already.
async fn ensure_watchdog(dir: &Path, program: &Path) -> Result<()> {
    let pid_file = dir.join("watchdog.pid");
    if running_watchdog(dir).is_some() {
        return Ok(());
    }
    util::remove(&pid_file)?;
    let idle = std::env::var("KUBEKIT_IDLE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(10);
    Command::new(program)
        .arg("watchdog")
        .arg(dir)
        .arg(idle.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .io("starting the watchdog", program)?;
    // Wait until it has recorded itself, so a second process does not start another one.
    for _ in 0..200 {
        if pid_file.exists() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(Error::Watchdog(format!(
        "`{} watchdog` did not start (no {} after 2 s)",
        program.display(),
        pid_file.display()
    )))
}

/// Whether no process holds `clients.lock`.
fn unused(path: &Path) -> Result<bool> {
    let file = util::open_lock(path)?;
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e).io("locking", path),
    }
}

/// The watchdog of the shared cluster recorded in `dir` (`kubekit-cluster watchdog DIR IDLE`):
/// stops the cluster once no test process has used it for `idle`, then exits. It also exits
/// when the cluster is gone (stopped by [`stop_local`]).
///
/// # Errors
///
/// When a lock file cannot be used or the cluster cannot be stopped.
pub async fn run_watchdog(dir: &Path, idle: Duration) -> Result<()> {
    let pid_file = dir.join("watchdog.pid");
    util::write_private(&pid_file, std::process::id().to_string().as_bytes())?;
    let clients = dir.join("clients.lock");
    let mut idle_for = Duration::ZERO;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !dir.join("state.json").exists() {
            return util::remove(&pid_file);
        }
        idle_for = if unused(&clients)? {
            idle_for + Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        if idle_for >= idle {
            let state_lock = util::lock_exclusive(dir.join("state.lock")).await?;
            if unused(&clients)? {
                let stopped = stop_recorded(dir).await;
                util::remove(&pid_file)?;
                drop(state_lock);
                return stopped;
            }
            idle_for = Duration::ZERO;
        }
    }
}

/// Stops the cluster recorded in `dir`, whichever provider started it, and removes the
/// record.
async fn stop_recorded(dir: &Path) -> Result<()> {
    let path = dir.join("state.json");
    let Some(head) = util::read_json::<Head>(&path)? else {
        return Ok(());
    };
    match head.provider {
        ProviderKind::Local => stop_with(&Local::control_plane(), &path).await,
        ProviderKind::K3s => stop_with(&K3s::new(), &path).await,
        ProviderKind::Kubeconfig => util::remove(&path),
    }
}

async fn stop_with<P: Provider>(provider: &P, path: &Path) -> Result<()> {
    if let Some(record) = util::read_json::<Record<P::State>>(path)? {
        provider.stop(&record.state).await?;
    }
    util::remove(path)
}

/// The directory holding the shared local cluster's state.
pub fn state_dir() -> PathBuf {
    Local::shared_dir()
}

/// Stops the shared local cluster now (e.g. one kept with `KUBEKIT_KEEP=1`;
/// `kubekit-cluster stop` calls it). Blocking.
///
/// # Errors
///
/// When the state file cannot be read or the cluster's files cannot be removed.
pub fn stop_local() -> Result<()> {
    let dir = state_dir();
    if !dir.is_dir() {
        return Ok(());
    }
    let state_lock = util::open_lock(&dir.join("state.lock"))?;
    state_lock.lock().io("locking", dir.join("state.lock"))?;
    let path = dir.join("state.json");
    if let Some(record) = util::read_json::<Record<LocalState>>(&path)? {
        crate::providers::local::teardown(&record.state)?;
    }
    util::remove(&path)
}
