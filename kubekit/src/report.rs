//! The report of a test's namespace when the test fails: what Kubernetes' e2e framework
//! calls a namespace dump — every object by kind, the pods that are not well with their
//! containers' states and last log lines, the Events, and the node's conditions.

use std::{fmt, fmt::Write as _, path::PathBuf, time::Duration};

use futures::StreamExt;
use k8s_openapi::{
    api::{
        apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
        batch::v1::{CronJob, Job},
        core::v1::{ConfigMap, Node, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount},
        networking::v1::Ingress,
    },
    jiff::Timestamp,
};

use crate::{
    Client,
    client::{ApiObject, Labels, events_table},
    kinds::Kind,
    logs::LogOptions,
};

/// How much a [`NamespaceReport`] holds.
///
/// ```
/// let options = kubekit::testing::ReportOptions::default();
/// assert_eq!(options.log_lines, 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportOptions {
    /// The last lines of each container's log (and of its previous run) to include.
    pub log_lines: i64,
    /// The report's size limit in bytes; what is beyond it is cut, with a note.
    pub max_bytes: usize,
}

impl Default for ReportOptions {
    /// 30 log lines, 512 KiB; `KUBEKIT_REPORT_LOG_LINES` and `KUBEKIT_REPORT_MAX_BYTES`
    /// change them.
    fn default() -> Self {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
        Self {
            log_lines: env("KUBEKIT_REPORT_LOG_LINES").unwrap_or(30),
            max_bytes: env("KUBEKIT_REPORT_MAX_BYTES")
                .map(|v: i64| usize::try_from(v).unwrap_or(0))
                .unwrap_or(512 * 1024),
        }
    }
}

/// What a namespace holds and how it stands, for a person reading why a test failed: built
/// by [`namespace_report`] (and by `#[kubekit::test]` when a test fails, written under
/// `target/kubekit-reports/`). Displayed as the full text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamespaceReport {
    /// The namespace.
    pub namespace: String,
    /// One line per pod that is not well (`pod/web: Pending; web: waiting: ErrImageNeverPull:
    /// ...`) and the count of Warning events; empty when all is well.
    pub summary: String,
    /// The whole report.
    pub text: String,
}

impl fmt::Display for NamespaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The report of `client`'s namespace. It never fails: what cannot be read is said in the
/// report.
///
/// ```no_run
/// # async fn demo() -> kubekit::Result<()> {
/// use kubekit::testing::{ReportOptions, TestNamespaceExt, namespace_report};
///
/// let ns = kubekit::testing::test_namespace!().await?;
/// let report = namespace_report(&ns.client()?, &ReportOptions::default()).await;
/// println!("{}", report.summary);
/// # Ok(()) }
/// ```
pub async fn namespace_report(client: &Client, options: &ReportOptions) -> NamespaceReport {
    let now = Timestamp::now();
    let ns = client.namespace().to_string();
    let mut text = format!("# kubekit report of namespace {ns} at {now}\n");
    let mut summary = String::new();

    let pods: Vec<Pod> = client.list(Labels::any()).await.unwrap_or_default();
    let mut troubled_pods: Vec<&Pod> = Vec::new();
    for pod in &pods {
        if troubled(pod) {
            troubled_pods.push(pod);
        }
    }
    let troubled = troubled_pods;
    for pod in &troubled {
        let _ = writeln!(summary, "{}", pod_line(pod));
    }
    let events = client.namespace_events().await;
    if let Ok(events) = &events {
        let warnings = events.iter().filter(|e| e.type_ == "Warning").count();
        if warnings > 0 {
            let _ = writeln!(summary, "{warnings} Warning event(s) in the namespace");
        }
    }
    for w in crate::client::waits::in_namespace(&ns) {
        use crate::client::waits::Outcome;
        match w.outcome {
            Outcome::InProgress => {
                let _ = writeln!(summary, "waiting for {} (in progress)", w.what);
            }
            Outcome::TimedOut => {
                let _ = writeln!(summary, "timed out waiting for {}", w.what);
            }
            _ => {}
        }
    }
    if !summary.is_empty() {
        let _ = write!(text, "\n## Summary\n{summary}");
    }

    text.push_str("\n## Objects\n");
    if pods.is_empty() {
        text.push_str("\nNo pods\n");
    } else {
        let _ = write!(text, "\npods:\n{}", crate::table::pods_wide(&pods));
    }
    section::<Deployment>(client, "deployments", &mut text).await;
    section::<ReplicaSet>(client, "replicasets", &mut text).await;
    section::<StatefulSet>(client, "statefulsets", &mut text).await;
    section::<DaemonSet>(client, "daemonsets", &mut text).await;
    section::<Job>(client, "jobs", &mut text).await;
    section::<CronJob>(client, "cronjobs", &mut text).await;
    section::<Service>(client, "services", &mut text).await;
    section::<Ingress>(client, "ingresses", &mut text).await;
    section::<PersistentVolumeClaim>(client, "persistentvolumeclaims", &mut text).await;
    section::<ConfigMap>(client, "configmaps", &mut text).await;
    section::<Secret>(client, "secrets", &mut text).await;
    section::<ServiceAccount>(client, "serviceaccounts", &mut text).await;

    if !troubled.is_empty() {
        text.push_str("\n## Pods that are not running and ready, or restarted\n");
        let mut pending = Vec::with_capacity(troubled.len());
        for pod in troubled.iter().copied() {
            pending.push(pod_details(client, pod, options));
        }
        let details: Vec<String> = futures::stream::iter(pending).buffered(8).collect().await;
        for detail in details {
            text.push_str(&detail);
        }
    }

    text.push_str("\n## Events (oldest first)\n");
    match events {
        Ok(events) => text.push_str(&events_table(&events, now)),
        Err(e) => {
            let _ = writeln!(text, "(could not list the events: {e})");
        }
    }

    text.push_str(&waits_section(&ns));

    text.push_str("\n## Node conditions\n");
    match kube::Api::<Node>::all(client.kube().clone())
        .list(&Default::default())
        .await
    {
        Ok(nodes) => {
            for node in nodes.items {
                let conditions = node
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| {
                        let mut s = format!("{}={}", c.type_, c.status);
                        if (c.status != "False" || c.type_ == "Ready")
                            && let Some(reason) = c.reason
                        {
                            s.push_str(&format!(" ({reason})"));
                        }
                        s
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    text,
                    "node/{}: {conditions}",
                    node.metadata.name.unwrap_or_default()
                );
            }
        }
        Err(e) => {
            let _ = writeln!(text, "(could not list the nodes: {e})");
        }
    }
    if text.len() > options.max_bytes {
        let mut cut = options.max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        let _ = write!(
            text,
            "\n... (cut at {} bytes: KUBEKIT_REPORT_MAX_BYTES raises the limit)\n",
            options.max_bytes
        );
    }
    NamespaceReport {
        namespace: ns,
        summary,
        text,
    }
}

/// `## Waits`: the waits of this process on objects of `namespace` (running, and the last
/// finished ones), oldest first: what, how it ended (or that it has not), after how long,
/// and the state it last observed.
fn waits_section(namespace: &str) -> String {
    use crate::client::waits::{Outcome, in_namespace};
    let waits = in_namespace(namespace);
    let mut text = String::from("\n## Waits (oldest first)\n");
    if waits.is_empty() {
        text.push_str("No waits on this namespace's objects in this process\n");
        return text;
    }
    for w in waits {
        let secs = w.duration().as_secs_f64();
        let outcome = match &w.outcome {
            Outcome::InProgress => format!("IN PROGRESS for {secs:.1} s"),
            Outcome::Met => format!("met after {secs:.1} s"),
            Outcome::TimedOut => format!("TIMED OUT after {secs:.1} s"),
            Outcome::Failed(why) => format!("FAILED after {secs:.1} s: {why}"),
            Outcome::Abandoned => format!("abandoned after {secs:.1} s (dropped before it ended)"),
        };
        let _ = writeln!(text, "- {}: {outcome}", w.what);
        if !w.last_state.is_empty() {
            let _ = writeln!(text, "  last seen: {}", w.last_state);
        }
    }
    text
}

/// A kind's table, when the namespace has objects of it.
async fn section<K: Kind + ApiObject>(client: &Client, title: &str, text: &mut String) {
    match client.list::<K>(Labels::any()).await {
        Ok(objects) if objects.is_empty() => {}
        Ok(objects) => {
            let _ = write!(text, "\n{title}:\n{}", crate::kinds::table(&objects));
        }
        Err(e) => {
            let _ = writeln!(text, "\n{title}: (could not list: {e})");
        }
    }
}

/// Whether a pod deserves a closer look: not running and ready (and not completed), or it
/// restarted.
fn troubled(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return true;
    };
    let restarted = status
        .container_statuses
        .iter()
        .flatten()
        .any(|c| c.restart_count > 0);
    let phase = status.phase.as_deref().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    restarted || phase == "Failed" || (phase != "Succeeded" && !ready)
}

/// `pod/web: Pending; web: waiting: ErrImageNeverPull: ...`
fn pod_line(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let mut line = format!(
        "pod/{}: {}",
        pod.metadata.name.as_deref().unwrap_or_default(),
        crate::table::pod_status(pod)
    );
    for c in status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
    {
        let state = serde_json::to_value(&c.state).unwrap_or_default();
        let _ = write!(
            line,
            "; {}: {}",
            c.name,
            crate::client::describe::container_state(&state)
        );
        if c.restart_count > 0 {
            let _ = write!(line, " ({} restarts)", c.restart_count);
        }
    }
    line
}

/// A troubled pod's phase, conditions, containers and their logs.
async fn pod_details(client: &Client, pod: &Pod, options: &ReportOptions) -> String {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut out = format!("\n### pod/{name}\n");
    let status = pod.status.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "phase: {}",
        status.phase.as_deref().unwrap_or("(none)")
    );
    for c in status.conditions.iter().flatten() {
        if c.status != "True" {
            let _ = writeln!(
                out,
                "condition {}={}: {} {}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default()
            );
        }
    }
    let statuses: Vec<_> = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .collect();
    for c in statuses {
        let state = serde_json::to_value(&c.state).unwrap_or_default();
        let _ = writeln!(
            out,
            "container {}: {}; ready {}, restarts {}",
            c.name,
            crate::client::describe::container_state(&state),
            c.ready,
            c.restart_count
        );
        if let Some(last) = &c.last_state
            && (last.terminated.is_some() || last.waiting.is_some())
        {
            let last = serde_json::to_value(last).unwrap_or_default();
            let _ = writeln!(
                out,
                "  last state: {}",
                crate::client::describe::container_state(&last)
            );
        }
        let started = c.state.as_ref().is_some_and(|s| s.waiting.is_none()) || c.restart_count > 0;
        if started {
            let logs = LogOptions::new().container(&c.name).tail(options.log_lines);
            append_logs(client, &name, &logs, "logs", options.log_lines, &mut out).await;
        }
        if c.restart_count > 0 {
            let logs = LogOptions::new()
                .container(&c.name)
                .tail(options.log_lines)
                .previous(true);
            append_logs(
                client,
                &name,
                &logs,
                "logs of the previous run",
                options.log_lines,
                &mut out,
            )
            .await;
        }
    }
    out
}

async fn append_logs(
    client: &Client,
    pod: &str,
    options: &LogOptions,
    what: &str,
    tail: i64,
    out: &mut String,
) {
    match tokio::time::timeout(Duration::from_secs(5), client.logs(pod, options)).await {
        Ok(Ok(text)) if text.trim().is_empty() => {
            let _ = writeln!(out, "  {what}: (empty)");
        }
        Ok(Ok(text)) => {
            let _ = writeln!(out, "  {what} (last {tail} lines):");
            for line in text.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
        Ok(Err(e)) => {
            let _ = writeln!(out, "  {what}: (could not read: {e})");
        }
        Err(_) => {
            let _ = writeln!(out, "  {what}: (no answer within 5 s)");
        }
    }
}

/// Where the report of the test `test_path` (`module::test`) is written: under the Cargo
/// target directory (`CARGO_TARGET_DIR`, or the one the test binary lives in),
/// `kubekit-reports/<module__test>/report.txt`.
///
/// ```
/// let path = kubekit::testing::report_path("tests_mod::it_fails");
/// assert!(path.ends_with("kubekit-reports/tests_mod__it_fails/report.txt"));
/// ```
pub fn report_path(test_path: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            exe.ancestors()
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .map(PathBuf::from)
        })
        .unwrap_or_else(std::env::temp_dir);
    let dir: String = test_path
        .replace("::", "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    target.join("kubekit-reports").join(dir).join("report.txt")
}

/// The error lines (klog's `E` and `F` lines) the cluster's components logged since `since`,
/// for a cluster whose components log to files here (the local provider), at most
/// `max_lines` of each component; empty when there are none.
///
/// ```no_run
/// # async fn demo() -> kubekit::Result<()> {
/// let cluster = kubekit::testing::Cluster::shared().await?;
/// let since = kubekit::k8s_openapi::jiff::Timestamp::now();
/// // ... the test ...
/// print!("{}", kubekit::testing::component_errors(cluster, since, 20));
/// # Ok(()) }
/// ```
pub fn component_errors(
    cluster: &crate::testing::Cluster,
    since: Timestamp,
    max_lines: usize,
) -> String {
    // klog writes `E1204 13:39:21.515420 ...` in the machine's time zone (UTC here and in
    // containers); same-year lines compare as text.
    let from = since
        .to_zoned(k8s_openapi::jiff::tz::TimeZone::system())
        .strftime("%m%d %H:%M:%S")
        .to_string();
    let mut out = String::new();
    for (name, path) in cluster.component_logs() {
        let Ok(text) = std::fs::read(path) else {
            continue;
        };
        // The tail is enough: the test's time is at the end.
        let tail = &text[text.len().saturating_sub(4 << 20)..];
        let tail = String::from_utf8_lossy(tail);
        let lines: Vec<&str> = tail
            .lines()
            .filter(|l| {
                let b = l.as_bytes();
                b.len() > 20
                    && (b[0] == b'E' || b[0] == b'F')
                    && b[1..5].iter().all(u8::is_ascii_digit)
                    && l.get(1..14).is_some_and(|t| t >= from.as_str())
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{name} ({}):", path.display());
        for line in &lines[lines.len().saturating_sub(max_lines)..] {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}
