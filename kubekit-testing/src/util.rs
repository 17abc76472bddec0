//! Process and file helpers every provider uses: files and directories only their owner can
//! read, state files, child processes, signals and commands.

use std::{
    fs::{DirBuilder, File, OpenOptions},
    io::Write as _,
    net::TcpListener,
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use rustix::process::{Pid, Signal};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, IoContext, Result};

/// The mode of directories holding a cluster's keys: the owner's only.
const PRIVATE_DIR: u32 = 0o700;
/// The mode of a private key or a kubeconfig: read and written by the owner only.
const PRIVATE_FILE: u32 = 0o600;

/// Creates `path` (and missing parents) with mode 0700, as kind and kubeadm keep their
/// keys. A directory made by an older kubekit with a wider mode is narrowed.
pub(crate) fn private_dir(path: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(path)
        .io("creating", path)?;
    let meta = std::fs::metadata(path).io("reading", path)?;
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_DIR))
            .io("restricting the mode of", path)?;
    }
    Ok(())
}

/// Writes `contents` to `path` readable by the owner only: into a new file created with mode
/// 0600 (no moment where another user could open it), then renamed over `path`.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(&partial)
        .io("creating", &partial)?;
    file.write_all(contents).io("writing", &partial)?;
    file.sync_all().io("writing", &partial)?;
    std::fs::rename(&partial, path).io("writing", path)
}

/// Writes a file that holds nothing secret, creating its directory.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).io("creating", parent)?;
    }
    std::fs::write(path, contents).io("writing", path)
}

/// Opens (creating it, mode 0600) a lock file.
pub(crate) fn open_lock(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(PRIVATE_FILE)
        .open(path)
        .io("opening", path)
}

/// Takes an exclusive lock on `path` without blocking the async runtime (another process
/// may hold it for as long as a cluster takes to start).
pub(crate) async fn lock_exclusive(path: PathBuf) -> Result<File> {
    blocking(move || {
        let file = open_lock(&path)?;
        file.lock().io("locking", &path)?;
        Ok(file)
    })
    .await
}

/// Takes a shared lock on `path` without blocking the async runtime.
pub(crate) async fn lock_shared(path: PathBuf) -> Result<File> {
    blocking(move || {
        let file = open_lock(&path)?;
        file.lock_shared().io("locking", &path)?;
        Ok(file)
    })
    .await
}

/// Runs blocking work (file locks, processes, teardowns) on Tokio's blocking threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Io {
            action: "running a blocking task for",
            path: PathBuf::from("kubekit-testing"),
            source: std::io::Error::other(e.to_string()),
        })?
}

/// Reads a JSON state file; `None` when there is none.
pub(crate) fn read_json<S: DeserializeOwned>(path: &Path) -> Result<Option<S>> {
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

/// Writes a JSON state file, readable by the owner only.
pub(crate) fn write_json<S: Serialize>(path: &Path, value: &S) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| Error::State {
        path: path.into(),
        source,
    })?;
    write_private(path, &json)
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").io("binding a free port on", "127.0.0.1")?;
    Ok(l.local_addr()
        .io("reading the address of", "127.0.0.1")?
        .port())
}

/// The last `n` lines of a text.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a log file.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    last_lines(&std::fs::read_to_string(path).unwrap_or_default(), n)
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

/// Runs `program` with `args` (no shell); an error with its stderr when it fails.
pub(crate) async fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .io("running", program)?;
    checked(program, args, out)
}

/// As [`run`], for code that is not async (teardowns).
pub(crate) fn run_blocking(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .io("running", program)?;
    checked(program, args, out)
}

fn checked(program: &str, args: &[&str], out: std::process::Output) -> Result<String> {
    if !out.status.success() {
        return Err(Error::Component {
            component: program.into(),
            reason: format!("`{program} {}` failed ({})", args.join(" "), out.status),
            log: PathBuf::from(program),
            tail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One process of a cluster, as recorded in its state file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Process {
    pub name: String,
    pub pid: u32,
    pub exe: PathBuf,
    pub log: PathBuf,
}

impl Process {
    /// Whether `pid` still runs the recorded program (a reused PID is not ours).
    pub fn runs(&self) -> bool {
        std::fs::read(format!("/proc/{}/cmdline", self.pid))
            .map(|c| c.split(|b| *b == 0).next() == Some(self.exe.as_os_str().as_encoded_bytes()))
            .unwrap_or(false)
    }
}

/// A component started by kubekit-testing, still a child of this process.
pub(crate) struct Started {
    pub process: Process,
    pub child: Child,
}

impl Started {
    /// An error with the component's last log lines when it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(self.failed(format!("it exited ({status})")));
        }
        Ok(())
    }

    /// An error about this component, with its last log lines.
    pub fn failed(&self, reason: String) -> Error {
        Error::Component {
            component: self.process.name.clone(),
            reason,
            log: self.process.log.clone(),
            tail: tail(&self.process.log, 25),
        }
    }
}

/// Starts `exe` with `args` in its own process group (so it outlives the test process that
/// started it and a terminal's signals do not reach it), logging to `<dir>/logs/<name>.log`.
pub(crate) fn spawn(dir: &Path, name: &str, exe: &Path, args: &[String]) -> Result<Started> {
    spawn_env(dir, name, exe, args, &[])
}

/// [`spawn`] with changes to the inherited environment: `(name, Some(value))` sets a
/// variable, `(name, None)` removes it.
pub(crate) fn spawn_env(
    dir: &Path,
    name: &str,
    exe: &Path,
    args: &[String],
    env: &[(&str, Option<&std::ffi::OsStr>)],
) -> Result<Started> {
    let log = dir.join("logs").join(format!("{name}.log"));
    let out = File::create(&log).io("creating", &log)?;
    let err = out.try_clone().io("opening", &log)?;
    let mut command = Command::new(exe);
    for (key, value) in env {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    let child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .io("starting", exe)?;
    Ok(Started {
        process: Process {
            name: name.into(),
            pid: child.id(),
            exe: exe.into(),
            log,
        },
        child,
    })
}

/// Runs `work` while checking every 100 ms that the `started` components still run; an
/// error with the log of one that exited, or `Ok(None)` after `timeout`.
pub(crate) async fn while_alive<T>(
    started: &mut [Started],
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<Option<T>> {
    let mut work = std::pin::pin!(work);
    let deadline = tokio::time::sleep(timeout);
    let mut deadline = std::pin::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            done = &mut work => return done.map(Some),
            () = &mut deadline => return Ok(None),
            _ = tick.tick() => {
                for s in started.iter_mut() {
                    s.check_alive()?;
                }
            }
        }
    }
}

/// Sends `signal` to `pid`, ignoring a process that is gone.
pub(crate) fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Stops `processes` (those still running their recorded program): SIGTERM, up to `grace`
/// to exit, then SIGKILL.
pub(crate) fn stop_processes(processes: &[Process], grace: Duration) {
    let ours: Vec<&Process> = processes.iter().filter(|p| p.runs()).collect();
    for p in &ours {
        signal(p.pid, Signal::TERM);
    }
    let deadline = Instant::now() + grace;
    while ours.iter().any(|p| p.runs()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in ours.iter().filter(|p| p.runs()) {
        signal(p.pid, Signal::KILL);
    }
}

/// Removes a file or directory tree, ignoring one that is not there.
pub(crate) fn remove(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).io("removing", path),
        _ => Ok(()),
    }
}
