//! Running commands in containers, as `kubectl exec` does: argv (no shell) or an explicit
//! `sh -c`, stdout / stderr / exit code together, stdin from bytes or any [`AsyncRead`], a
//! timeout, and an interactive `exec -it` for terminals (feature `terminal`).
//!
//! The exit code comes from the status channel of the exec protocol: `0` on success, the
//! `ExitCode` cause of a `NonZeroExitCode` status otherwise.
//!
//! ```no_run
//! # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
//! use kubekit::exec::ExecOptions;
//!
//! let out = client.exec("web", ["cat", "/etc/hostname"], ExecOptions::new()).await?;
//! println!("{} (exit {})", out.stdout_str(), out.code);
//!
//! let out = client
//!     .exec_ok("web", ["sha256sum"], ExecOptions::new().stdin(b"hello".to_vec()))
//!     .await?;
//! # Ok(()) }
//! ```

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    pin::pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{FutureExt, SinkExt, Stream, StreamExt, stream::BoxStream};
use k8s_openapi::{api::core::v1::Pod, apimachinery::pkg::apis::meta::v1::Status};
use kube::api::{Api, AttachParams, TerminalSize};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::Semaphore,
};

/// Size of the internal pipes between the exec connection and the caller's streams.
const PIPE_SIZE: usize = 256 * 1024;

/// How many execs one [`Client`](crate::Client) (and its clones) starts at once in one pod,
/// unless [`Client::with_exec_starts_per_pod`](crate::Client::with_exec_starts_per_pod)
/// says otherwise.
///
/// Why there is a limit: containerd's runc shim (v2, as in containerd 1.6, which Debian 12
/// and Ubuntu ship and kubekit's test node runs) handles the exits of the processes of a pod
/// one at a time and waits up to a second for each when more than about 32 are pending
/// while execs are being started. Past about 30 execs starting at once in one pod, every
/// one of them then takes tens of seconds (50 `sh -c 'echo x'` at once: about 50 s, with
/// `kubectl exec` as with kubekit; the same 50 in waves of 8: under a second). Measured and
/// reproduced with containerd's own `ctr tasks exec`, without Kubernetes, in BENCHMARKS.md.
pub const DEFAULT_EXEC_STARTS_PER_POD: usize = 8;

/// An exec holds its pod's start slot until its command ends or for this long, whichever is
/// first: long-running commands (a shell, `tail -f`) never hold up the next ones for more
/// than this.
const START_WINDOW: Duration = Duration::from_secs(1);

/// Paces the starts of execs per pod (see [`DEFAULT_EXEC_STARTS_PER_POD`]); shared by a
/// client and its clones.
pub(crate) struct ExecPacer {
    limit: usize,
    pods: Arc<Mutex<PodSlots>>,
}

/// The start slots of each pod (namespace, name) with an exec starting or running.
type PodSlots = HashMap<(String, String), Arc<Semaphore>>;

impl ExecPacer {
    /// A pacer starting at most `limit` execs at once per pod; `0`: no limit.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            pods: Arc::default(),
        }
    }

    /// The limit this pacer applies (`0`: none).
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Waits for a start slot in `namespace/pod`. The slot is given back when the returned
    /// guard is dropped (the exec ended, failed or was cancelled) or [`START_WINDOW`] after
    /// it was taken, whichever is first.
    async fn start(&self, namespace: &str, pod: &str) -> Option<StartSlot> {
        if self.limit == 0 {
            return None;
        }
        let key = (namespace.to_string(), pod.to_string());
        let semaphore = {
            let mut pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
            pods.entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limit)))
                .clone()
        };
        // Never closed, so `acquire_owned` cannot fail.
        let permit = semaphore.clone().acquire_owned().await.ok()?;
        drop(semaphore);
        let (done, ended) = tokio::sync::oneshot::channel::<()>();
        let pods = self.pods.clone();
        let limit = self.limit;
        tokio::spawn(async move {
            tokio::select! {
                _ = ended => {}
                () = tokio::time::sleep(START_WINDOW) => {}
            }
            drop(permit);
            // Forget the pod once nobody holds or waits for one of its slots.
            let mut pods = pods.lock().unwrap_or_else(|e| e.into_inner());
            if pods
                .get(&key)
                .is_some_and(|s| Arc::strong_count(s) == 1 && s.available_permits() == limit)
            {
                pods.remove(&key);
            }
        });
        Some(StartSlot { _done: done })
    }

    #[cfg(test)]
    fn tracked_pods(&self) -> usize {
        self.pods.lock().map(|p| p.len()).unwrap_or_default()
    }
}

/// A pod's exec start slot; dropping it gives the slot back.
struct StartSlot {
    _done: tokio::sync::oneshot::Sender<()>,
}

/// What an exec ran: the pod, the container (when one was named) and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub pod: String,
    /// The container, when one was named (otherwise the pod's default container).
    pub container: Option<String>,
    /// The command, argv as sent.
    pub command: Vec<String>,
}

impl fmt::Display for ExecTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in pod {}/{}",
            self.command.join(" "),
            self.namespace,
            self.pod
        )?;
        if let Some(c) = &self.container {
            write!(f, " (container {c})")?;
        }
        Ok(())
    }
}

/// What went wrong in an exec call once it could start, the [`Exec`](crate::Error::Exec)
/// part of [`kubekit::Error`](crate::Error). Each names the pod, container and command.
///
/// A connection that cannot be opened is reported as the API server answered it, with the
/// pod: [`Error::NotFound`](crate::Error::NotFound) for a missing pod,
/// [`Error::Rejected`](crate::Error::Rejected) for a container that does not exist or a pod
/// that is not running, [`Error::Kube`](crate::Error::Kube) for a connection failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The program exists in the container but may not be executed (not executable, or a
    /// directory): the runtime's "permission denied".
    #[error("cannot exec {target}: `{program}` is not executable: {message}")]
    NotExecutable {
        /// What was run.
        target: Box<ExecTarget>,
        /// The program (`command[0]`).
        program: String,
        /// The runtime's message.
        message: String,
    },
    /// The command does not exist in the container.
    #[error("cannot exec {target}: command `{program}` not found: {message}")]
    CommandNotFound {
        /// What was run.
        target: Box<ExecTarget>,
        /// The program that was not found (`command[0]`).
        program: String,
        /// The runtime's message.
        message: String,
    },
    /// The command ran and exited with a non-zero code (from [`Client::exec_ok`](crate::Client::exec_ok)).
    #[error("{target} exited with code {code}: {stderr}")]
    Failed {
        /// What was run.
        target: Box<ExecTarget>,
        /// The exit code.
        code: i32,
        /// Its standard error, lossily decoded and trimmed.
        stderr: String,
    },
    /// The command did not finish within the timeout; its connection was closed.
    #[error("{target} did not finish within {timeout:?}")]
    Timeout {
        /// What was run.
        target: Box<ExecTarget>,
        /// The timeout.
        timeout: Duration,
    },
    /// The exec failed without an exit code (the status channel reported a failure).
    #[error("exec {target} failed: {message}")]
    Status {
        /// What was run.
        target: Box<ExecTarget>,
        /// The status message.
        message: String,
    },
    /// The connection ended without an exit status (connection lost, pod deleted).
    #[error("exec {target}: the connection ended without an exit status")]
    NoStatus {
        /// What was run.
        target: Box<ExecTarget>,
    },
    /// Reading the caller's stdin or writing the caller's stdout / stderr failed.
    #[error("exec {target}: local I/O failed: {source}")]
    Io {
        /// What was run.
        target: Box<ExecTarget>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The local terminal could not be put into raw mode or queried (only
    /// `Client::exec_interactive`, feature `terminal`).
    #[error("exec {target}: terminal setup failed: {source}")]
    Terminal {
        /// What was run.
        target: Box<ExecTarget>,
        /// The terminal error.
        #[source]
        source: std::io::Error,
    },
}

impl ExecError {
    /// What was run.
    pub fn target(&self) -> &ExecTarget {
        match self {
            ExecError::CommandNotFound { target, .. }
            | ExecError::NotExecutable { target, .. }
            | ExecError::Failed { target, .. }
            | ExecError::Timeout { target, .. }
            | ExecError::Status { target, .. }
            | ExecError::NoStatus { target }
            | ExecError::Io { target, .. }
            | ExecError::Terminal { target, .. } => target,
        }
    }

    /// The pod the command ran in.
    pub fn object(&self) -> crate::ObjectRef {
        let target = self.target();
        crate::ObjectRef::new("Pod", Some(&target.namespace), &target.pod)
    }

    /// The exit code, for [`ExecError::Failed`].
    pub fn code(&self) -> Option<i32> {
        match self {
            ExecError::Failed { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Output of a finished command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output, byte-exact (with a TTY: the terminal's output, stderr included).
    pub stdout: Vec<u8>,
    /// Standard error, byte-exact (empty with a TTY).
    pub stderr: Vec<u8>,
    /// The exit code (`0` on success; `137` for a process killed by `SIGKILL`).
    pub code: i32,
}

impl ExecOutput {
    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }

    /// Whether the command exited with code 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

enum Stdin {
    Bytes(Vec<u8>),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

/// Options of an exec: container, stdin, TTY and timeout.
///
/// ```
/// use std::time::Duration;
/// use kubekit::exec::ExecOptions;
///
/// let options = ExecOptions::new()
///     .container("web")
///     .stdin(b"input".to_vec())
///     .timeout(Duration::from_secs(30));
/// ```
#[derive(Default)]
pub struct ExecOptions {
    container: Option<String>,
    stdin: Option<Stdin>,
    timeout: Option<Duration>,
    tty: bool,
    terminal_size: Option<(u16, u16)>,
    resizes: Option<BoxStream<'static, (u16, u16)>>,
}

impl fmt::Debug for ExecOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecOptions")
            .field("container", &self.container)
            .field(
                "stdin",
                &match &self.stdin {
                    None => "none".to_string(),
                    Some(Stdin::Bytes(b)) => format!("{} bytes", b.len()),
                    Some(Stdin::Reader(_)) => "reader".to_string(),
                },
            )
            .field("timeout", &self.timeout)
            .field("tty", &self.tty)
            .field("terminal_size", &self.terminal_size)
            .finish_non_exhaustive()
    }
}

impl ExecOptions {
    /// No stdin, the pod's default container, no TTY, no timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs in container `name` (default: the pod's default container, as kubectl picks it:
    /// its `kubectl.kubernetes.io/default-container` annotation, else the first container).
    #[must_use]
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }

    /// Sends `bytes` as stdin, then closes it.
    #[must_use]
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(Stdin::Bytes(bytes.into()));
        self
    }

    /// Streams `reader` as stdin until its end, then closes it.
    #[must_use]
    pub fn stdin_reader(mut self, reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        self.stdin = Some(Stdin::Reader(Box::new(reader)));
        self
    }

    /// Fails with [`ExecError::Timeout`] (and closes the connection) when the command has
    /// not finished within `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Allocates a TTY in the container (`kubectl exec -t`): stderr is merged into stdout.
    #[must_use]
    pub fn tty(mut self, tty: bool) -> Self {
        self.tty = tty;
        self
    }

    /// With a TTY: the initial terminal size (columns, rows).
    ///
    /// It is sent before any input, but the container runtime applies it asynchronously
    /// (CRI has no acknowledgement), so a program started by input written at once may
    /// still see a 0x0 terminal, as it would under `kubectl exec -it` with typed-ahead input.
    #[must_use]
    pub fn terminal_size(mut self, width: u16, height: u16) -> Self {
        self.terminal_size = Some((width, height));
        self
    }

    /// With a TTY: terminal resizes (columns, rows) to forward while the command runs.
    #[must_use]
    pub fn resizes(mut self, sizes: impl Stream<Item = (u16, u16)> + Send + 'static) -> Self {
        self.resizes = Some(sizes.boxed());
        self
    }
}

/// The exit code in an exec status: `Ok(code)`, or `Err(message)` for a failure without one.
fn exit_code(status: &Status) -> Result<i32, String> {
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    let causes = status.details.as_ref().and_then(|d| d.causes.as_ref());
    for cause in causes.into_iter().flatten() {
        if cause.reason.as_deref() == Some("ExitCode")
            && let Some(code) = cause.message.as_deref().and_then(|m| m.trim().parse().ok())
        {
            return Ok(code);
        }
    }
    Err(status
        .message
        .clone()
        .unwrap_or_else(|| format!("{status:?}")))
}

fn is_not_found_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("executable file not found")
        || m.contains("no such file or directory")
        || m.contains("not found in $path")
}

/// Whether the runtime refused to execute an existing file (`permission denied`, or a
/// directory: `is a directory`).
fn is_not_executable_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("permission denied") || m.contains("is a directory")
}

/// Copies `reader` to `writer`, flushing after each chunk (interactive output).
async fn pump<R, W>(mut reader: R, writer: &mut W) -> std::io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            writer.flush().await?;
            return Ok(total);
        }
        writer.write_all(&buf[..n]).await?;
        writer.flush().await?;
        total += n as u64;
    }
}

impl crate::Client {
    fn exec_target(&self, pod: &str, container: Option<&str>, command: Vec<String>) -> ExecTarget {
        ExecTarget {
            namespace: self.namespace().to_string(),
            pod: pod.to_string(),
            container: container.map(str::to_string),
            command,
        }
    }

    /// Runs `command` (argv, no shell) in pod `pod` and collects stdout, stderr and the exit
    /// code. A non-zero exit code is not an error here; see [`Client::exec_ok`](crate::Client::exec_ok).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::exec::ExecOptions;
    ///
    /// let out = client.exec("web", ["ls", "/nope"], ExecOptions::new()).await?;
    /// assert_ne!(out.code, 0);
    /// eprintln!("{}", out.stderr_str());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) / [`Error::Rejected`](crate::Error::Rejected)
    /// when the connection cannot be opened (pod or container not found, ...), [`ExecError::CommandNotFound`] when the program does not exist,
    /// [`ExecError::Timeout`] past the options' timeout, [`ExecError::NoStatus`] when the
    /// connection ends without an exit status.
    pub async fn exec<I, S>(
        &self,
        pod: &str,
        command: I,
        options: ExecOptions,
    ) -> crate::Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let code = self
            .exec_to(pod, command, options, &mut stdout, &mut stderr)
            .await?;
        Ok(ExecOutput {
            stdout,
            stderr,
            code,
        })
    }

    /// Like [`Client::exec`](crate::Client::exec), but a non-zero exit code is an error
    /// carrying the code and stderr.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::exec::ExecOptions;
    ///
    /// let out = client.exec_ok("web", ["nginx", "-t"], ExecOptions::new()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ExecError::Failed`] with the code and stderr when the command exits non-zero; the
    /// errors of [`Client::exec`](crate::Client::exec) otherwise.
    pub async fn exec_ok<I, S>(
        &self,
        pod: &str,
        command: I,
        options: ExecOptions,
    ) -> crate::Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let command: Vec<String> = command.into_iter().map(Into::into).collect();
        let container = options.container.clone();
        let out = self.exec(pod, command.clone(), options).await?;
        if out.code == 0 {
            Ok(out)
        } else {
            Err(ExecError::Failed {
                target: Box::new(self.exec_target(pod, container.as_deref(), command)),
                code: out.code,
                stderr: out.stderr_str().trim().to_string(),
            }
            .into())
        }
    }

    /// Runs `script` with `sh -c` in pod `pod` (the container needs a `sh`).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::exec::ExecOptions;
    ///
    /// let out = client.exec_sh("web", "echo $HOSTNAME; exit 3", ExecOptions::new()).await?;
    /// assert_eq!(out.code, 3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::exec`](crate::Client::exec).
    pub async fn exec_sh(
        &self,
        pod: &str,
        script: &str,
        options: ExecOptions,
    ) -> crate::Result<ExecOutput> {
        self.exec(pod, ["sh", "-c", script], options).await
    }

    /// Runs `command` in pod `pod`, streaming its stdout and stderr into the given writers
    /// as they arrive (nothing is buffered in memory); returns the exit code. With
    /// [`ExecOptions::tty`] stderr is merged into stdout by the container's terminal.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::exec::ExecOptions;
    ///
    /// let mut file = tokio::fs::File::create("dump.tar").await.expect("file");
    /// let code = client
    ///     .exec_to("db", ["tar", "c", "/data"], ExecOptions::new(), &mut file, &mut tokio::io::stderr())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::exec`](crate::Client::exec), and [`ExecError::Io`] when a writer fails.
    pub async fn exec_to<I, S, O, E>(
        &self,
        pod: &str,
        command: I,
        options: ExecOptions,
        stdout: &mut O,
        stderr: &mut E,
    ) -> crate::Result<i32>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        O: AsyncWrite + Unpin + Send + ?Sized,
        E: AsyncWrite + Unpin + Send + ?Sized,
    {
        let command: Vec<String> = command.into_iter().map(Into::into).collect();
        let target = self.exec_target(pod, options.container.as_deref(), command);
        let timeout = options.timeout;
        let run = self.run_exec(&target, options, stdout, stderr);
        match timeout {
            Some(t) => match tokio::time::timeout(t, run).await {
                Ok(r) => r,
                Err(_) => Err(ExecError::Timeout {
                    target: Box::new(target),
                    timeout: t,
                }
                .into()),
            },
            None => run.await,
        }
    }

    #[tracing::instrument(
        name = "exec",
        level = "debug",
        skip_all,
        fields(namespace = %target.namespace, pod = %target.pod, container = target.container.as_deref(), command = ?target.command),
        ret(level = "debug"),
        err(level = "debug", Display)
    )]
    async fn run_exec<O, E>(
        &self,
        target: &ExecTarget,
        options: ExecOptions,
        stdout: &mut O,
        stderr: &mut E,
    ) -> crate::Result<i32>
    where
        O: AsyncWrite + Unpin + Send + ?Sized,
        E: AsyncWrite + Unpin + Send + ?Sized,
    {
        let ExecOptions {
            container,
            stdin,
            tty,
            terminal_size,
            resizes,
            ..
        } = options;
        let mut params = AttachParams::default()
            .stdin(stdin.is_some())
            .stdout(true)
            .stderr(!tty)
            .tty(tty)
            .max_stdin_buf_size(PIPE_SIZE)
            .max_stdout_buf_size(PIPE_SIZE)
            .max_stderr_buf_size(PIPE_SIZE);
        if let Some(c) = &container {
            params = params.container(c.clone());
        }
        // Held until the command ends (or for the start window): see
        // DEFAULT_EXEC_STARTS_PER_POD.
        let _slot = self
            .exec_pacer()
            .start(&target.namespace, &target.pod)
            .await;
        let api: Api<Pod> = Api::namespaced(self.kube().clone(), self.namespace());
        let pod_ref = crate::ObjectRef::new("Pod", Some(&target.namespace), &target.pod);
        let start_error = |source| crate::Error::from_kube(source, pod_ref.clone());
        let mut process = match api.exec(&target.pod, target.command.clone(), &params).await {
            Ok(process) => process,
            // The API server wants a container for a pod with several; like kubectl, use
            // the pod's default one (its `kubectl.kubernetes.io/default-container`, else the
            // first). Asked only then, so the common case costs no extra round trip.
            Err(kube::Error::Api(status))
                if container.is_none()
                    && status.code == 400
                    && status
                        .message
                        .contains("a container name must be specified") =>
            {
                let pod = api.get(&target.pod).await.map_err(start_error)?;
                let Some(default) = crate::logs::default_container(&pod) else {
                    return Err(start_error(kube::Error::Api(status)));
                };
                tracing::debug!(container = %default, "no container named: the pod's default");
                params = params.container(default);
                api.exec(&target.pod, target.command.clone(), &params)
                    .await
                    .map_err(start_error)?
            }
            Err(source) => return Err(start_error(source)),
        };
        let status = process.take_status();
        let out = process.stdout();
        let err = process.stderr();
        let input = process.stdin();
        let size_tx = process.terminal_size();

        let io_error = |source| ExecError::Io {
            target: Box::new(target.clone()),
            source,
        };

        // Caller -> pod: stdin and terminal resizes. Never holds up the end of the command.
        let feed = async move {
            let resize = async {
                if let Some(mut tx) = size_tx {
                    if let Some((width, height)) = terminal_size {
                        let _ = tx.send(TerminalSize { width, height }).await;
                    }
                    if let Some(mut sizes) = resizes {
                        while let Some((width, height)) = sizes.next().await {
                            if tx.send(TerminalSize { width, height }).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            };
            let input = async {
                let Some(mut w) = input else {
                    return Ok(());
                };
                let result = match stdin {
                    Some(Stdin::Bytes(bytes)) => w.write_all(&bytes).await.map(|_| 0),
                    Some(Stdin::Reader(mut r)) => {
                        // Errors writing to the pod mean the command stopped reading: ignore
                        // them; errors reading the caller's stream are reported.
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = r.read(&mut buf).await?;
                            if n == 0 || w.write_all(&buf[..n]).await.is_err() {
                                break Ok(0);
                            }
                        }
                    }
                    None => Ok(0),
                };
                let _ = w.shutdown().await;
                result.map(|_| ()).or_else(|e: std::io::Error| {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
            };
            let (r, ()) = futures::join!(input, resize);
            r
        };

        // Pod -> caller: stdout, stderr, then the status.
        let drain = async {
            let o = async {
                match out {
                    Some(r) => pump(r, stdout).await.map(|_| ()),
                    None => Ok(()),
                }
            };
            let e = async {
                match err {
                    Some(r) => pump(r, stderr).await.map(|_| ()),
                    None => Ok(()),
                }
            };
            let (o, e) = futures::join!(o, e);
            o.map_err(io_error)?;
            e.map_err(io_error)?;
            Ok::<_, ExecError>(match status {
                Some(s) => s.await,
                None => None,
            })
        };

        let mut drain = pin!(drain);
        let mut feed = pin!(feed.fuse());
        let status = tokio::select! {
            r = &mut drain => r?,
            r = &mut feed => {
                r.map_err(io_error)?;
                drain.await?
            }
        };
        drop(process);
        let Some(status) = status else {
            return Err(ExecError::NoStatus {
                target: Box::new(target.clone()),
            }
            .into());
        };
        exit_code(&status).map_err(|message| {
            let program = target.command.first().cloned().unwrap_or_default();
            if is_not_executable_message(&message) {
                ExecError::NotExecutable {
                    target: Box::new(target.clone()),
                    program,
                    message,
                }
                .into()
            } else if is_not_found_message(&message) {
                ExecError::CommandNotFound {
                    target: Box::new(target.clone()),
                    program,
                    message,
                }
                .into()
            } else {
                ExecError::Status {
                    target: Box::new(target.clone()),
                    message,
                }
                .into()
            }
        })
    }

    /// Runs `command` attached to this process's terminal, as `kubectl exec -it` does: when
    /// stdin and stdout are terminals, a TTY is allocated in the container, the local
    /// terminal is put in raw mode (restored afterwards) and resizes (`SIGWINCH`) are
    /// forwarded; otherwise stdin, stdout and stderr are forwarded as plain streams.
    /// Returns the exit code. Needs feature `terminal` (crossterm).
    ///
    /// Reading this process's stdin uses a blocking thread that may outlive the call (a
    /// tokio limitation); end the program with `std::process::exit` or a runtime
    /// `shutdown_timeout` if the runtime must stop right away.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::exec::ExecOptions;
    ///
    /// let code = client.exec_interactive("web", ["/bin/bash"], ExecOptions::new()).await?;
    /// std::process::exit(code);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::exec_to`](crate::Client::exec_to), and [`ExecError::Terminal`] when the
    /// terminal cannot be set up.
    #[cfg(feature = "terminal")]
    #[cfg_attr(docsrs, doc(cfg(feature = "terminal")))]
    pub async fn exec_interactive<I, S>(
        &self,
        pod: &str,
        command: I,
        options: ExecOptions,
    ) -> crate::Result<i32>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let command: Vec<String> = command.into_iter().map(Into::into).collect();
        let mut options = options;
        if options.stdin.is_none() {
            options.stdin = Some(Stdin::Reader(Box::new(tokio::io::stdin())));
        }
        use std::io::IsTerminal as _;
        let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        let _raw = if terminal {
            let terminal_error = |source| ExecError::Terminal {
                target: Box::new(self.exec_target(
                    pod,
                    options.container.as_deref(),
                    command.clone(),
                )),
                source,
            };
            options.tty = true;
            let (w, h) = crossterm::terminal::size().map_err(terminal_error)?;
            options.terminal_size = Some((w, h));
            if options.resizes.is_none() {
                options.resizes = window_changes();
            }
            crossterm::terminal::enable_raw_mode().map_err(terminal_error)?;
            Some(RawModeGuard)
        } else {
            None
        };
        let mut stdout = tokio::io::stdout();
        let mut stderr = tokio::io::stderr();
        self.exec_to(pod, command, options, &mut stdout, &mut stderr)
            .await
    }
}

/// Restores the terminal's mode when dropped.
#[cfg(feature = "terminal")]
struct RawModeGuard;

#[cfg(feature = "terminal")]
impl Drop for RawModeGuard {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// The terminal's new sizes on each `SIGWINCH`.
#[cfg(all(feature = "terminal", unix))]
fn window_changes() -> Option<BoxStream<'static, (u16, u16)>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut signals = signal(SignalKind::window_change()).ok()?;
    let (mut tx, rx) = futures::channel::mpsc::channel(4);
    tokio::spawn(async move {
        while signals.recv().await.is_some() {
            if let Ok(size) = crossterm::terminal::size()
                && tx.send(size).await.is_err()
            {
                break;
            }
        }
    });
    Some(rx.boxed())
}

#[cfg(all(feature = "terminal", not(unix)))]
fn window_changes() -> Option<BoxStream<'static, (u16, u16)>> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    /// Whether a future is still pending after the runtime ran everything it could.
    async fn pending<F: std::future::Future + Unpin>(f: &mut F) -> bool {
        tokio::task::yield_now().await;
        futures::poll!(f).is_pending()
    }

    #[tokio::test(start_paused = true)]
    async fn exec_starts_are_paced_per_pod() {
        let pacer = ExecPacer::new(2);
        let a = pacer.start("ns", "web").await;
        let b = pacer.start("ns", "web").await;
        assert!(a.is_some() && b.is_some());
        // Another pod, or the same name in another namespace, has slots of its own.
        let other = pacer.start("ns", "db").await;
        let elsewhere = pacer.start("other", "web").await;
        assert!(other.is_some() && elsewhere.is_some());

        // The third start in ns/web waits until an exec there ends ...
        let mut third = Box::pin(pacer.start("ns", "web"));
        assert!(pending(&mut third).await);
        drop(a);
        tokio::task::yield_now().await;
        let third = third.await;
        assert!(third.is_some());

        // ... or until the start window of one has passed (a long-running command).
        let mut fourth = Box::pin(pacer.start("ns", "web"));
        assert!(pending(&mut fourth).await);
        tokio::time::advance(START_WINDOW / 2).await;
        assert!(pending(&mut fourth).await);
        tokio::time::advance(START_WINDOW).await;
        assert!(fourth.await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pod_is_forgotten_when_its_execs_are_done() {
        let pacer = ExecPacer::new(4);
        let slots = [pacer.start("ns", "a").await, pacer.start("ns", "b").await];
        assert_eq!(pacer.tracked_pods(), 2);
        drop(slots);
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pacer.tracked_pods(), 0);
    }

    #[tokio::test]
    async fn no_limit_takes_no_slot() {
        let pacer = ExecPacer::new(0);
        for _ in 0..100 {
            assert!(pacer.start("ns", "web").await.is_none());
        }
        assert_eq!(pacer.tracked_pods(), 0);
    }

    #[test]
    fn exit_codes_from_status() {
        let ok = Status {
            status: Some("Success".into()),
            ..Default::default()
        };
        assert_eq!(exit_code(&ok), Ok(0));
        let failed = Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            message: Some("command terminated with non-zero exit code".into()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some("137".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(exit_code(&failed), Ok(137));
        let internal = Status {
            status: Some("Failure".into()),
            message: Some("exec: \"nope\": executable file not found in $PATH".into()),
            ..Default::default()
        };
        assert!(exit_code(&internal).is_err_and(|m| is_not_found_message(&m)));
    }
}
