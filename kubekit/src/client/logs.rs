//! Container logs, as `kubectl logs` reads them: tail, since, timestamps, previous, one
//! container or all, and follows that survive dropped connections.
//!
//! A follow ([`LogFollow`]) is a [`Stream`] of lines. It follows one pod, or every pod of a
//! label selector or a Deployment (picking up pods that appear later), each line then
//! prefixed as `kubectl logs --prefix` does: `[pod/NAME/CONTAINER] line`.
//!
//! Follows always read with timestamps and keep a [`LogCursor`]: the last timestamp seen
//! per container and how many lines carried it. When a connection ends while the
//! container still runs, the follow reconnects with `sinceTime` and drops the lines it
//! already delivered, so no line is lost or repeated; a follow can also be started again
//! from a saved cursor ([`LogOptions::after`]).
//!
//! ```no_run
//! # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
//! use futures::TryStreamExt;
//! use kubekit::logs::LogOptions;
//!
//! let last_10 = client.logs("web", &LogOptions::new().tail(10)).await?;
//! let mut lines = client.follow_logs_selector("app=web", &LogOptions::new()).await?;
//! while let Some(line) = lines.try_next().await? {
//!     println!("{line}"); // [pod/web-7d9c-x2/web] GET / 200
//! }
//! # Ok(()) }
//! ```

use std::{
    collections::{BTreeMap, HashSet},
    fmt,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use futures::{AsyncBufReadExt, Stream, StreamExt, channel::mpsc};
use k8s_openapi::{
    api::{apps::v1::Deployment, batch::v1::Job, core::v1::Pod},
    jiff::Timestamp,
};
use kube::{
    api::{Api, ListParams, LogParams},
    runtime::{WatchStreamExt, watcher},
};

/// What went wrong in a log call for a reason of its own, the [`Logs`](crate::Error::Logs)
/// part of [`kubekit::Error`](crate::Error). A pod, container or Deployment the server does
/// not have is reported as the server answered, with the object:
/// [`Error::NotFound`](crate::Error::NotFound), or [`Error::Rejected`](crate::Error::Rejected)
/// for a container the pod does not have or one that has not started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogsError {
    /// The Deployment has no usable label selector.
    #[error("deployment {namespace}/{name} has no label selector")]
    NoSelector {
        /// Namespace of the Deployment.
        namespace: String,
        /// The Deployment.
        name: String,
    },
    /// The pod has no container of that name (or no containers at all).
    #[error("pod {namespace}/{pod} has no container {container:?}")]
    NoContainer {
        /// Namespace of the pod.
        namespace: String,
        /// The pod.
        pod: String,
        /// The container asked for (empty when the pod has none).
        container: String,
    },
    /// The Job has no selector yet (the API server sets one when it takes the Job).
    #[error("job {namespace}/{name} has no selector")]
    NoJobSelector {
        /// Namespace of the Job.
        namespace: String,
        /// The Job.
        name: String,
    },
}

impl LogsError {
    /// The object the error is about: the Deployment, the pod or the Job.
    pub fn object(&self) -> crate::ObjectRef {
        match self {
            LogsError::NoSelector { namespace, name } => {
                crate::ObjectRef::new("Deployment", Some(namespace), name)
            }
            LogsError::NoContainer { namespace, pod, .. } => {
                crate::ObjectRef::new("Pod", Some(namespace), pod)
            }
            LogsError::NoJobSelector { namespace, name } => {
                crate::ObjectRef::new("Job", Some(namespace), name)
            }
        }
    }
}

/// Where a follow stands: per pod and container, the last timestamp delivered and how many
/// delivered lines carried exactly that timestamp. Pass it to [`LogOptions::after`] to
/// resume a follow without losing or repeating lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCursor {
    positions: BTreeMap<(String, String), Position>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    last: Timestamp,
    count_at_last: u32,
}

impl Position {
    /// Whether a line stamped `ts` is new after this position, counting lines stamped with
    /// the last timestamp in `seen_at_last`.
    fn advance(pos: &mut Option<Position>, ts: Timestamp, skip_at_last: &mut u32) -> bool {
        match pos {
            None => {
                *pos = Some(Position {
                    last: ts,
                    count_at_last: 1,
                });
                true
            }
            Some(p) if ts > p.last => {
                *p = Position {
                    last: ts,
                    count_at_last: 1,
                };
                *skip_at_last = 0;
                true
            }
            Some(p) if ts == p.last => {
                if *skip_at_last > 0 {
                    *skip_at_last -= 1;
                    false
                } else {
                    p.count_at_last += 1;
                    true
                }
            }
            Some(_) => false,
        }
    }
}

impl LogCursor {
    /// The last timestamp delivered for `container` of `pod`.
    pub fn last(&self, pod: &str, container: &str) -> Option<Timestamp> {
        self.positions
            .get(&(pod.to_string(), container.to_string()))
            .map(|p| p.last)
    }

    /// Whether nothing was delivered yet.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    fn get(&self, pod: &str, container: &str) -> Option<Position> {
        self.positions
            .get(&(pod.to_string(), container.to_string()))
            .copied()
    }

    fn record(&mut self, line: &LogLine) {
        let mut skip = 0;
        // The common case, a container already seen, allocates nothing.
        if let Some((_, last)) = self
            .positions
            .iter_mut()
            .find(|((pod, container), _)| *pod == line.pod && *container == line.container)
        {
            let mut pos = Some(*last);
            Position::advance(&mut pos, line.timestamp, &mut skip);
            if let Some(pos) = pos {
                *last = pos;
            }
            return;
        }
        let mut pos = None;
        Position::advance(&mut pos, line.timestamp, &mut skip);
        if let Some(pos) = pos {
            self.positions
                .insert((line.pod.clone(), line.container.clone()), pos);
        }
    }
}

/// Options of log reads and follows.
///
/// ```
/// use std::time::Duration;
/// use kubekit::logs::LogOptions;
///
/// let options = LogOptions::new()
///     .container("web")
///     .tail(100)
///     .since(Duration::from_secs(600))
///     .timestamps(true);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    container: Option<String>,
    all_containers: bool,
    tail: Option<i64>,
    since: Option<Duration>,
    since_time: Option<Timestamp>,
    timestamps: bool,
    previous: bool,
    limit_bytes: Option<i64>,
    prefix: Option<bool>,
    after: Option<LogCursor>,
    reconnect_after_bytes: Option<i64>,
}

impl LogOptions {
    /// Everything from the pod's default container, no timestamps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads container `name` (default: the pod's `kubectl.kubernetes.io/default-container`,
    /// else its first container).
    #[must_use]
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }

    /// Reads all containers of the pod (init containers first when reading, not following).
    #[must_use]
    pub fn all_containers(mut self, all: bool) -> Self {
        self.all_containers = all;
        self
    }

    /// Only the last `lines` lines (per container) — for a follow, where it starts.
    #[must_use]
    pub fn tail(mut self, lines: i64) -> Self {
        self.tail = Some(lines);
        self
    }

    /// Only lines of the last `duration` (whole seconds).
    #[must_use]
    pub fn since(mut self, duration: Duration) -> Self {
        self.since = Some(duration);
        self.since_time = None;
        self
    }

    /// Only lines from `time` on (the API has a one-second resolution).
    #[must_use]
    pub fn since_time(mut self, time: Timestamp) -> Self {
        self.since_time = Some(time);
        self.since = None;
        self
    }

    /// Starts each line with its RFC 3339 timestamp, as the kubelet recorded it.
    #[must_use]
    pub fn timestamps(mut self, timestamps: bool) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// Reads the previous (terminated) instance of the container. Not for follows.
    #[must_use]
    pub fn previous(mut self, previous: bool) -> Self {
        self.previous = previous;
        self
    }

    /// Reads at most about `bytes` bytes (per container). Not for follows.
    #[must_use]
    pub fn limit_bytes(mut self, bytes: i64) -> Self {
        self.limit_bytes = Some(bytes);
        self
    }

    /// Prefixes each line with `[pod/NAME/CONTAINER] ` (default: on for selector and
    /// Deployment follows and for [`all_containers`](Self::all_containers), off otherwise).
    #[must_use]
    pub fn prefix(mut self, prefix: bool) -> Self {
        self.prefix = Some(prefix);
        self
    }

    /// Follows: resumes after `cursor` (from [`LogFollow::cursor`]) for the containers it
    /// knows, without repeating or losing lines; others start as the options say.
    #[must_use]
    pub fn after(mut self, cursor: LogCursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// Follows: ends each request to the API server after about `bytes` bytes and resumes
    /// from the cursor (bounds how long one connection lives; exercises resumption). Should
    /// exceed what a container writes in one second (the resolution of `sinceTime`); a
    /// connection that brings nothing new is followed by one without the limit.
    #[must_use]
    pub fn reconnect_after_bytes(mut self, bytes: i64) -> Self {
        self.reconnect_after_bytes = Some(bytes);
        self
    }

    fn params(&self, container: &str) -> LogParams {
        LogParams {
            container: Some(container.to_string()),
            follow: false,
            limit_bytes: self.limit_bytes,
            pretty: false,
            previous: self.previous,
            since_seconds: self.since.map(|d| d.as_secs().max(1) as i64),
            since_time: self.since_time,
            tail_lines: self.tail,
            timestamps: self.timestamps,
        }
    }
}

/// One line of a follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The pod.
    pub pod: String,
    /// The container.
    pub container: String,
    /// When the kubelet recorded it.
    pub timestamp: Timestamp,
    /// The line, without its newline.
    pub text: String,
}

impl fmt::Display for LogLine {
    /// The line's text alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl LogLine {
    /// The line as `kubectl logs --prefix` prints it: `[pod/NAME/CONTAINER] text` (for lines
    /// from [`LogFollow::next_line`], which carry the pod and container as fields).
    ///
    /// ```
    /// # use kubekit::logs::LogLine;
    /// # fn show(line: &LogLine) {
    /// println!("{}", line.prefixed()); // [pod/web-7d4b9/web] GET / 200
    /// # }
    /// ```
    pub fn prefixed(&self) -> Prefixed<'_> {
        Prefixed(self)
    }
}

/// A [`LogLine`] with kubectl's `[pod/NAME/CONTAINER] ` prefix, from [`LogLine::prefixed`].
#[derive(Debug, Clone, Copy)]
pub struct Prefixed<'a>(&'a LogLine);

impl fmt::Display for Prefixed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[pod/{}/{}] {}",
            self.0.pod, self.0.container, self.0.text
        )
    }
}

/// Aborts a task when dropped.
struct TaskGuard(tokio::task::AbortHandle);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_guarded<F>(future: F) -> TaskGuard
where
    F: Future<Output = ()> + Send + 'static,
{
    TaskGuard(tokio::spawn(future).abort_handle())
}

/// A follow of one or more containers' logs: a [`Stream`] of lines (formatted per the
/// options: prefix, timestamps). Dropping it stops the follow.
///
/// Ends when every followed container has terminated (for a pod follow); a selector or
/// Deployment follow runs until dropped.
pub struct LogFollow {
    rx: mpsc::Receiver<Batch>,
    /// Lines of the last batch not handed out yet.
    pending: std::collections::VecDeque<LogLine>,
    cursor: LogCursor,
    prefix: bool,
    timestamps: bool,
    _tasks: Vec<TaskGuard>,
}

impl fmt::Debug for LogFollow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogFollow")
            .field("cursor", &self.cursor)
            .field("prefix", &self.prefix)
            .field("timestamps", &self.timestamps)
            .finish_non_exhaustive()
    }
}

impl LogFollow {
    /// Where the follow stands: what it has delivered so far.
    pub fn cursor(&self) -> LogCursor {
        self.cursor.clone()
    }

    /// The next line with its pod, container and timestamp (instead of formatted text).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) / [`Error::Rejected`](crate::Error::Rejected) when a container's logs cannot be read.
    pub async fn next_line(&mut self) -> Option<crate::Result<LogLine>> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                self.cursor.record(&line);
                return Some(Ok(line));
            }
            match self.rx.next().await? {
                Ok(batch) => self.pending.extend(batch),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn format(&self, line: &LogLine) -> String {
        use std::fmt::Write as _;
        if !self.prefix && !self.timestamps {
            return line.text.clone();
        }
        let mut out = String::with_capacity(line.text.len() + 64);
        if self.prefix {
            let _ = write!(out, "[pod/{}/{}] ", line.pod, line.container);
        }
        if self.timestamps {
            let _ = write!(out, "{} ", line.timestamp);
        }
        out.push_str(&line.text);
        out
    }
}

impl Stream for LogFollow {
    type Item = crate::Result<String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                self.cursor.record(&line);
                return Poll::Ready(Some(Ok(self.format(&line))));
            }
            match self.rx.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(batch))) => self.pending.extend(batch),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The container `kubectl logs` reads by default.
pub(crate) fn default_container(pod: &Pod) -> Option<String> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container").cloned())
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .map(|c| c.name.clone())
        })
}

fn container_names(pod: &Pod, init: bool) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let inits = spec.init_containers.iter().flatten().filter(|_| init);
    inits
        .chain(spec.containers.iter())
        .map(|c| c.name.clone())
        .collect()
}

/// Splits `TIMESTAMP text` as the kubelet writes it with `timestamps=true`.
fn split_timestamp(line: &str) -> Option<(Timestamp, &str)> {
    let (ts, text) = line.split_once(' ').unwrap_or((line, ""));
    ts.parse::<Timestamp>().ok().map(|t| (t, text))
}

/// Where a container follow starts.
#[derive(Clone, Debug)]
enum Start {
    /// As the options say (tail / since).
    Options,
    /// From the container's first line.
    Beginning,
    /// After a cursor position.
    After(Position),
}

struct Follower {
    api: Api<Pod>,
    namespace: String,
    pod: String,
    uid: Option<String>,
    container: String,
    options: LogOptions,
    tx: mpsc::Sender<Batch>,
}

impl Follower {
    #[tracing::instrument(
        name = "log_follow",
        level = "debug",
        skip_all,
        fields(namespace = %self.namespace, pod = %self.pod, container = %self.container)
    )]
    async fn run(self, start: Start) {
        let mut pos = match &start {
            Start::After(p) => Some(*p),
            _ => None,
        };
        let mut skip = pos.map(|p| p.count_at_last).unwrap_or(0);
        let mut first = true;
        // A limited connection that brought nothing new (more than the limit was written
        // within one second of `sinceTime`): the next one goes without the limit.
        let mut stalled = false;
        let mut tx = self.tx.clone();
        // Why the last connection ended, when it broke rather than ended.
        let mut broke: Option<String> = None;
        loop {
            let mut lp = LogParams {
                container: Some(self.container.clone()),
                follow: true,
                timestamps: true,
                limit_bytes: if stalled {
                    None
                } else {
                    self.options.reconnect_after_bytes
                },
                ..LogParams::default()
            };
            match (&pos, &start) {
                (Some(p), _) => {
                    // sinceTime has a one-second resolution: start at the second of the
                    // last line and drop what was already delivered.
                    lp.since_time = Timestamp::from_second(p.last.as_second()).ok();
                    skip = p.count_at_last;
                }
                (None, Start::Options) if first => {
                    lp.tail_lines = self.options.tail;
                    lp.since_seconds = self.options.since.map(|d| d.as_secs().max(1) as i64);
                    lp.since_time = self.options.since_time;
                }
                _ => {}
            }
            if !first {
                let since = lp.since_time.map(tracing::field::display);
                match broke.take() {
                    Some(error) => {
                        tracing::warn!(%error, since, "log follow resumes after a break")
                    }
                    None => tracing::debug!(since, "log follow resumes"),
                }
            }
            let stream = self.api.log_stream(&self.pod, &lp).await;
            let mut delivered = false;
            let mut progressed = false;
            match stream {
                Ok(reader) => {
                    first = false;
                    let mut reader = Box::pin(reader);
                    // Bytes of a line not complete yet. A cut line at the end (limit reached,
                    // connection lost) is dropped and read again by the next connection.
                    let mut partial = Vec::new();
                    loop {
                        // Every complete line buffered so far goes out as one batch: one
                        // channel message per read, not per line.
                        let chunk = match reader.fill_buf().await {
                            Ok([]) => break,
                            Err(error) => {
                                broke = Some(error.to_string());
                                break;
                            }
                            Ok(chunk) => chunk,
                        };
                        let taken = chunk.len();
                        let mut batch = Vec::new();
                        let mut rest: &[u8] = chunk;
                        if !partial.is_empty() {
                            match rest.iter().position(|&b| b == b'\n') {
                                Some(end) => {
                                    partial.extend_from_slice(&rest[..end]);
                                    rest = &rest[end + 1..];
                                    let whole = std::mem::take(&mut partial);
                                    self.take_line(
                                        &whole,
                                        &mut pos,
                                        &mut skip,
                                        &mut batch,
                                        &mut delivered,
                                    );
                                }
                                None => {
                                    partial.extend_from_slice(rest);
                                    rest = &[];
                                }
                            }
                        }
                        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                            self.take_line(
                                &rest[..end],
                                &mut pos,
                                &mut skip,
                                &mut batch,
                                &mut delivered,
                            );
                            rest = &rest[end + 1..];
                        }
                        partial.extend_from_slice(rest);
                        futures::io::AsyncBufRead::consume(reader.as_mut(), taken);
                        if !batch.is_empty() {
                            progressed = true;
                            if futures::SinkExt::send(&mut tx, Ok(batch)).await.is_err() {
                                return;
                            }
                        }
                    }
                    stalled = !progressed;
                }
                Err(source) => {
                    let gone = matches!(&source, kube::Error::Api(s) if s.code == 404);
                    if first && gone {
                        let _ = futures::SinkExt::send(
                            &mut tx,
                            Err(crate::Error::from_kube(
                                source,
                                crate::ObjectRef::new("Pod", Some(&self.namespace), &self.pod),
                            )),
                        )
                        .await;
                        return;
                    }
                    broke = Some(source.to_string());
                }
            }
            // The stream ended: go on while the container may still write.
            match self.state().await {
                State::Gone => {
                    tracing::debug!("pod gone: log follow ends");
                    return;
                }
                State::Finished => {
                    tracing::debug!("container finished: log follow ends");
                    // Catch up on lines written just before the end.
                    if pos.is_some() || matches!(start, Start::Beginning) {
                        self.catch_up(&mut pos, &mut tx).await;
                    }
                    return;
                }
                State::Running if delivered => {}
                State::Running => tokio::time::sleep(Duration::from_millis(200)).await,
                State::Waiting => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    /// Adds line `raw` (without its newline, with the kubelet's timestamp) to `batch` unless
    /// the cursor says it was delivered already.
    fn take_line(
        &self,
        raw: &[u8],
        pos: &mut Option<Position>,
        skip: &mut u32,
        batch: &mut Vec<LogLine>,
        delivered: &mut bool,
    ) {
        let raw = String::from_utf8_lossy(raw);
        let Some((ts, text)) = split_timestamp(&raw) else {
            return;
        };
        *delivered = true;
        if Position::advance(pos, ts, skip) {
            batch.push(LogLine {
                pod: self.pod.clone(),
                container: self.container.clone(),
                timestamp: ts,
                text: text.to_string(),
            });
        }
    }

    /// A last non-follow read from the cursor, for lines a dropped stream missed.
    async fn catch_up(&self, pos: &mut Option<Position>, tx: &mut mpsc::Sender<Batch>) {
        let lp = LogParams {
            container: Some(self.container.clone()),
            timestamps: true,
            since_time: pos.and_then(|p| Timestamp::from_second(p.last.as_second()).ok()),
            ..LogParams::default()
        };
        let Ok(text) = self.api.logs(&self.pod, &lp).await else {
            return;
        };
        let mut skip = pos.map(|p| p.count_at_last).unwrap_or(0);
        let mut batch = Vec::new();
        let mut delivered = false;
        for raw in text.lines() {
            self.take_line(raw.as_bytes(), pos, &mut skip, &mut batch, &mut delivered);
        }
        if !batch.is_empty() {
            let _ = futures::SinkExt::send(tx, Ok(batch)).await;
        }
    }

    async fn state(&self) -> State {
        let pod = match self.api.get_opt(&self.pod).await {
            Ok(Some(pod)) => pod,
            Ok(None) => return State::Gone,
            Err(_) => return State::Waiting,
        };
        if self.uid.is_some() && pod.metadata.uid != self.uid {
            return State::Gone;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        if matches!(phase.as_deref(), Some("Succeeded" | "Failed")) {
            return State::Finished;
        }
        let restart_never =
            pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("Never");
        let status = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == self.container));
        let state = status.and_then(|s| s.state.as_ref());
        match state {
            Some(s) if s.running.is_some() => State::Running,
            Some(s) if s.terminated.is_some() && restart_never => State::Finished,
            Some(s) if s.terminated.is_some() && pod.metadata.deletion_timestamp.is_some() => {
                State::Finished
            }
            _ => State::Waiting,
        }
    }
}

enum State {
    Gone,
    Finished,
    Running,
    Waiting,
}

fn container_started(pod: &Pod, container: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == container))
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
}

/// Batches of lines in flight between the followers and a [`LogFollow`].
const CHANNEL: usize = 64;

/// What a follower sends: the lines of one read, or an error.
type Batch = crate::Result<Vec<LogLine>>;

impl crate::Client {
    fn pods_api(&self) -> Api<Pod> {
        Api::namespaced(self.kube().clone(), self.namespace())
    }

    fn read_error(&self, pod: &str, source: kube::Error) -> crate::Error {
        crate::Error::from_kube(
            source,
            crate::ObjectRef::new("Pod", Some(self.namespace()), pod),
        )
    }

    /// Reads the logs of pod `pod` (one container, or all with
    /// [`LogOptions::all_containers`], each line then prefixed `[pod/NAME/CONTAINER] `).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use kubekit::logs::LogOptions;
    ///
    /// let crashed = client.logs("web", &LogOptions::new().previous(true).tail(50)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) / [`Error::Rejected`](crate::Error::Rejected) naming the pod and container when the pod, the container or
    /// (with `previous`) its previous instance does not exist.
    pub async fn logs(&self, pod: &str, options: &LogOptions) -> crate::Result<String> {
        let api = self.pods_api();
        let object = api.get(pod).await.map_err(|e| self.read_error(pod, e))?;
        let containers = if options.all_containers {
            container_names(&object, true)
        } else {
            let name = options
                .container
                .clone()
                .or_else(|| default_container(&object))
                .ok_or_else(|| LogsError::NoContainer {
                    namespace: self.namespace().to_string(),
                    pod: pod.to_string(),
                    container: String::new(),
                })?;
            vec![name]
        };
        let prefix = options.prefix.unwrap_or(options.all_containers);
        let mut out = String::new();
        for container in containers {
            let text = api
                .logs(pod, &options.params(&container))
                .await
                .map_err(|e| self.read_error(pod, e))?;
            if prefix {
                for line in text.lines() {
                    out.push_str(&format!("[pod/{pod}/{container}] {line}\n"));
                }
            } else {
                out.push_str(&text);
            }
        }
        Ok(out)
    }

    /// Follows the logs of pod `pod` (its default container, the one named, or all with
    /// [`LogOptions::all_containers`]) until its containers end or the follow is dropped.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use futures::TryStreamExt;
    /// use kubekit::logs::LogOptions;
    ///
    /// let mut follow = client.follow_logs("web", &LogOptions::new().tail(0)).await?;
    /// while let Some(line) = follow.try_next().await? {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) / [`Error::Rejected`](crate::Error::Rejected) when the pod does not exist; [`LogsError::NoContainer`] when it
    /// has no such container. Later read errors come through the stream.
    pub async fn follow_logs(&self, pod: &str, options: &LogOptions) -> crate::Result<LogFollow> {
        let api = self.pods_api();
        let object = api.get(pod).await.map_err(|e| self.read_error(pod, e))?;
        let all = container_names(&object, false);
        let containers = if options.all_containers {
            all
        } else {
            let name = options
                .container
                .clone()
                .or_else(|| default_container(&object))
                .unwrap_or_default();
            if !all.contains(&name) {
                return Err(LogsError::NoContainer {
                    namespace: self.namespace().to_string(),
                    pod: pod.to_string(),
                    container: name,
                }
                .into());
            }
            vec![name]
        };
        let (tx, rx) = mpsc::channel(CHANNEL);
        let tasks = containers
            .into_iter()
            .map(|container| {
                let start = options
                    .after
                    .as_ref()
                    .and_then(|c| c.get(pod, &container))
                    .map_or(Start::Options, Start::After);
                let follower = Follower {
                    api: api.clone(),
                    namespace: self.namespace().to_string(),
                    pod: pod.to_string(),
                    uid: object.metadata.uid.clone(),
                    container,
                    options: options.clone(),
                    tx: tx.clone(),
                };
                spawn_guarded(follower.run(start))
            })
            .collect();
        Ok(LogFollow {
            rx,
            pending: std::collections::VecDeque::new(),
            cursor: options.after.clone().unwrap_or_default(),
            prefix: options.prefix.unwrap_or(options.all_containers),
            timestamps: options.timestamps,
            _tasks: tasks,
        })
    }

    /// Follows the logs of every pod matching label `selector` (e.g. `app=web`), including
    /// pods that appear later, each line prefixed `[pod/NAME/CONTAINER] ` (unless
    /// [`LogOptions::prefix`] is `false`; [`LogFollow::next_line`] gives the pod and container
    /// as fields). All containers
    /// are followed unless [`LogOptions::container`] names one. Pods present at the start
    /// begin as the options say (tail / since); pods appearing later from their first line.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use futures::TryStreamExt;
    /// use kubekit::logs::LogOptions;
    ///
    /// let mut follow = client.follow_logs_selector("app=web", &LogOptions::new().tail(10)).await?;
    /// while let Some(line) = follow.try_next().await? {
    ///     println!("{line}"); // [pod/web-7d4b9/web] GET / 200
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) / [`Error::Rejected`](crate::Error::Rejected) when the pods cannot be listed.
    pub async fn follow_logs_selector(
        &self,
        selector: &str,
        options: &LogOptions,
    ) -> crate::Result<LogFollow> {
        let api = self.pods_api();
        // Fail early on a bad selector or missing access.
        api.list(&ListParams::default().labels(selector).limit(1))
            .await
            .map_err(|e| self.read_error(&format!("-l {selector}"), e))?;
        let (tx, rx) = mpsc::channel(CHANNEL);
        let namespace = self.namespace().to_string();
        let options_for_task = options.clone();
        let selector = selector.to_string();
        let manager = async move {
            let options = options_for_task;
            let mut children = Vec::new();
            let mut started: HashSet<(String, String)> = HashSet::new();
            let mut initial: HashSet<String> = HashSet::new();
            let mut init_done = false;
            let events = watcher(api.clone(), watcher::Config::default().labels(&selector))
                .default_backoff();
            let mut events = Box::pin(events);
            while let Some(event) = events.next().await {
                let pod = match event {
                    Ok(watcher::Event::InitApply(pod)) => {
                        if !init_done && let Some(n) = &pod.metadata.name {
                            initial.insert(n.clone());
                        }
                        pod
                    }
                    Ok(watcher::Event::Apply(pod)) => pod,
                    Ok(watcher::Event::InitDone) => {
                        init_done = true;
                        continue;
                    }
                    _ => continue,
                };
                let (Some(name), Some(uid)) = (pod.metadata.name.clone(), pod.metadata.uid.clone())
                else {
                    continue;
                };
                for container in container_names(&pod, false) {
                    if options.container.as_ref().is_some_and(|c| *c != container)
                        || !container_started(&pod, &container)
                        || !started.insert((uid.clone(), container.clone()))
                    {
                        continue;
                    }
                    let start = match options
                        .after
                        .as_ref()
                        .and_then(|c| c.get(&name, &container))
                    {
                        Some(p) => Start::After(p),
                        None if initial.contains(&name) => Start::Options,
                        None => Start::Beginning,
                    };
                    let follower = Follower {
                        api: api.clone(),
                        namespace: namespace.clone(),
                        pod: name.clone(),
                        uid: Some(uid.clone()),
                        container,
                        options: options.clone(),
                        tx: tx.clone(),
                    };
                    children.push(spawn_guarded(follower.run(start)));
                }
            }
        };
        Ok(LogFollow {
            rx,
            pending: std::collections::VecDeque::new(),
            cursor: options.after.clone().unwrap_or_default(),
            prefix: options.prefix.unwrap_or(true),
            timestamps: options.timestamps,
            _tasks: vec![spawn_guarded(manager)],
        })
    }

    /// Reads the logs of the pods of Job `name` (found by the Job's own selector), oldest pod
    /// first: what a finished Job printed, or why its attempts failed. With more than one pod
    /// (retries, parallel pods), each line is prefixed `[pod/NAME/CONTAINER] `.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use std::time::Duration;
    /// use k8s_openapi::api::batch::v1::Job;
    /// use kubekit::logs::LogOptions;
    ///
    /// let outcome = client.wait_ready::<Job>("migrate", Duration::from_secs(300)).await;
    /// print!("{}", client.job_logs("migrate", &LogOptions::new()).await?);
    /// outcome?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when the Job cannot be read,
    /// [`LogsError::NoJobSelector`] when it has no selector yet; a pod's errors as for
    /// [`logs`](Self::logs).
    pub async fn job_logs(&self, name: &str, options: &LogOptions) -> crate::Result<String> {
        let api: Api<Job> = Api::namespaced(self.kube().clone(), self.namespace());
        let job = api.get(name).await.map_err(|source| {
            crate::Error::from_kube(
                source,
                crate::ObjectRef::new("Job", Some(self.namespace()), name),
            )
        })?;
        let selector = job
            .spec
            .and_then(|s| s.selector)
            .and_then(|s| crate::selector::string(&s))
            .ok_or_else(|| LogsError::NoJobSelector {
                namespace: self.namespace().to_string(),
                name: name.to_string(),
            })?;
        let mut pods = self
            .pods_api()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.read_error(name, e))?
            .items;
        pods.sort_by(|a, b| {
            let key = |p: &Pod| {
                (
                    p.metadata.creation_timestamp.as_ref().map(|t| t.0),
                    p.metadata.name.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        let mut options = options.clone();
        if pods.len() > 1 && options.prefix.is_none() {
            options.prefix = Some(true);
        }
        let mut out = String::new();
        for pod in &pods {
            let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
            out.push_str(&self.logs(pod_name, &options).await?);
        }
        Ok(out)
    }

    /// Follows the logs of all pods of Deployment `name` (its label selector), as
    /// [`Client::follow_logs_selector`](crate::Client::follow_logs_selector) does.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::Client) -> kubekit::Result<()> {
    /// use futures::TryStreamExt;
    /// use kubekit::logs::LogOptions;
    ///
    /// let mut follow = client.follow_logs_deployment("web", &LogOptions::new()).await?;
    /// while let Some(line) = follow.try_next().await? {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when the Deployment cannot be read,
    /// [`LogsError::NoSelector`] when it has no selector.
    pub async fn follow_logs_deployment(
        &self,
        name: &str,
        options: &LogOptions,
    ) -> crate::Result<LogFollow> {
        let api: Api<Deployment> = Api::namespaced(self.kube().clone(), self.namespace());
        let deployment = api.get(name).await.map_err(|source| {
            crate::Error::from_kube(
                source,
                crate::ObjectRef::new("Deployment", Some(self.namespace()), name),
            )
        })?;
        let selector = deployment
            .spec
            .and_then(|s| crate::selector::string(&s.selector))
            .ok_or_else(|| LogsError::NoSelector {
                namespace: self.namespace().to_string(),
                name: name.to_string(),
            })?;
        self.follow_logs_selector(&selector, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn a_prefixed_line_reads_as_kubectl_prints_it() {
        let line = LogLine {
            pod: "web-7d4b9".into(),
            container: "web".into(),
            timestamp: ts("2026-12-04T10:00:00Z"),
            text: "GET / 200".into(),
        };
        assert_eq!(line.to_string(), "GET / 200");
        assert_eq!(line.prefixed().to_string(), "[pod/web-7d4b9/web] GET / 200");
    }

    #[test]
    fn positions_drop_what_was_delivered() {
        let a = ts("2025-01-01T00:00:01.5Z");
        let b = ts("2025-01-01T00:00:02Z");
        let mut pos = Some(Position {
            last: a,
            count_at_last: 2,
        });
        let mut skip = 2;
        assert!(!Position::advance(
            &mut pos,
            ts("2025-01-01T00:00:01Z"),
            &mut skip
        ));
        assert!(!Position::advance(&mut pos, a, &mut skip));
        assert!(!Position::advance(&mut pos, a, &mut skip));
        assert!(Position::advance(&mut pos, a, &mut skip));
        assert_eq!(pos.map(|p| p.count_at_last), Some(3));
        assert!(Position::advance(&mut pos, b, &mut skip));
        assert_eq!(
            pos,
            Some(Position {
                last: b,
                count_at_last: 1
            })
        );
    }

    #[test]
    fn kubelet_lines_split() {
        let (t, text) =
            split_timestamp("2025-01-01T00:00:01.123456789Z hello world").expect("line");
        assert_eq!(text, "hello world");
        assert_eq!(t, ts("2025-01-01T00:00:01.123456789Z"));
        assert_eq!(
            split_timestamp("2025-01-01T00:00:01Z").map(|x| x.1),
            Some("")
        );
    }
}
