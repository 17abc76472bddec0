//! kubectl's tables: `kubectl get pods` (and `-o wide`) from a `&[Pod]`, with kubectl's STATUS,
//! READY, RESTARTS and AGE logic, and the column layout its printer uses.
//!
//! ```
//! use k8s_openapi::api::core::v1::Pod;
//!
//! let pods: Vec<Pod> = Vec::new();
//! assert_eq!(kubekit::table::pods(&pods), "No resources found\n");
//! ```

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{ContainerStatus, Pod},
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};

/// The columns of `kubectl get pods`.
pub const POD_COLUMNS: [&str; 5] = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
/// The columns `kubectl get pods -o wide` adds.
pub const POD_WIDE_COLUMNS: [&str; 4] = ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"];

/// `kubectl get pods`: NAME READY STATUS RESTARTS AGE, ages counted from now.
pub fn pods(pods: &[Pod]) -> String {
    pods_at(pods, false, Timestamp::now())
}

/// `kubectl get pods -o wide`: the columns of [`pods`] and IP NODE NOMINATED NODE READINESS
/// GATES.
pub fn pods_wide(pods: &[Pod]) -> String {
    pods_at(pods, true, Timestamp::now())
}

/// The table of [`pods`] (or [`pods_wide`] when `wide`), with ages counted from `now`.
///
/// ```
/// use k8s_openapi::{api::core::v1::Pod, jiff::Timestamp};
///
/// let pod: Pod = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web", "creationTimestamp": "2025-01-01T00:00:00Z"},
///     "spec": {"containers": [{"name": "web", "image": "nginx"}]},
///     "status": {"phase": "Pending"}
/// })).unwrap();
/// let now: Timestamp = "2025-01-01T00:03:10Z".parse().unwrap();
/// assert_eq!(
///     kubekit::table::pods_at(&[pod], false, now),
///     "NAME   READY   STATUS    RESTARTS   AGE\n\
///      web    0/1     Pending   0          3m10s\n"
/// );
/// ```
pub fn pods_at(pods: &[Pod], wide: bool, now: Timestamp) -> String {
    if pods.is_empty() {
        return "No resources found\n".to_string();
    }
    let mut headers: Vec<&str> = POD_COLUMNS.to_vec();
    if wide {
        headers.extend(POD_WIDE_COLUMNS);
    }
    let rows: Vec<Vec<String>> = pods
        .iter()
        .map(|pod| {
            let mut row = vec![
                pod.metadata.name.clone().unwrap_or_default(),
                pod_ready(pod),
                pod_status(pod),
                pod_restarts(pod, now),
                age(pod.metadata.creation_timestamp.as_ref(), now),
            ];
            if wide {
                let status = pod.status.as_ref();
                let spec = pod.spec.as_ref();
                row.push(or_none(status.and_then(|s| s.pod_ip.clone())));
                row.push(or_none(spec.and_then(|s| s.node_name.clone())));
                row.push(or_none(status.and_then(|s| s.nominated_node_name.clone())));
                row.push(readiness_gates(pod));
            }
            row
        })
        .collect();
    render(&headers, &rows)
}

fn or_none(value: Option<String>) -> String {
    value
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "<none>".to_string())
}

/// Lays out a table as kubectl's printer does: every column but the last padded to its widest
/// cell plus three spaces (at least six characters), one row a line.
///
/// ```
/// let table = kubekit::table::render(&["NAME", "AGE"], &[vec!["web", "5s"]]);
/// assert_eq!(table, "NAME   AGE\nweb    5s\n");
/// ```
pub fn render<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.as_ref().chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                let width = (widths[i] + 3).max(6);
                let pad = width.saturating_sub(cell.chars().count());
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(AsRef::as_ref).take(columns).collect());
    }
    out
}

/// READY: ready containers / containers (started sidecar init containers count too).
pub fn pod_ready(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let mut total = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let mut ready = status
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| {
            cs.iter()
                .filter(|c| c.ready && c.state.as_ref().is_some_and(|s| s.running.is_some()))
                .count()
        });
    let sidecars = restartable_init_containers(pod);
    for c in status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
    {
        if sidecars.contains_key(c.name.as_str()) && c.started == Some(true) {
            total += 1;
            if c.ready {
                ready += 1;
            }
        }
    }
    format!("{ready}/{total}")
}

/// Init containers with `restartPolicy: Always` (sidecars), by name.
fn restartable_init_containers(pod: &Pod) -> BTreeMap<&str, ()> {
    pod.spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| (c.name.as_str(), ()))
        .collect()
}

/// STATUS as kubectl computes it: the phase (or the Pod's reason), overridden by an init
/// container's progress or failure (`Init:0/1`, `Init:ErrImagePull`), then by a container's
/// waiting or terminated reason (`ContainerCreating`, `ErrImageNeverPull`,
/// `CrashLoopBackOff`, `Completed`), `SchedulingGated`, and `Terminating` once the Pod has a
/// deletionTimestamp and has not finished.
///
/// ```
/// let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "web"},
///     "status": {"phase": "Pending", "containerStatuses": [{
///         "name": "web", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
///         "state": {"waiting": {"reason": "ErrImageNeverPull"}}}]}
/// })).unwrap();
/// assert_eq!(kubekit::table::pod_status(&pod), "ErrImageNeverPull");
/// ```
pub fn pod_status(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
    let mut reason = phase.clone();
    if let Some(r) = status
        .and_then(|s| s.reason.clone())
        .filter(|r| !r.is_empty())
    {
        reason = r;
    }
    for c in status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        if c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated") {
            reason = "SchedulingGated".to_string();
        }
    }

    let sidecars = restartable_init_containers(pod);
    let init_count = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .map_or(0, Vec::len);
    let mut initializing = false;
    for (i, c) in status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if sidecars.contains_key(c.name.as_str()) {
            continue;
        }
        let state = c.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state.and_then(|s| s.waiting.as_ref());
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if let Some(t) = terminated {
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => match t.signal.filter(|s| *s != 0) {
                    Some(signal) => format!("Init:Signal:{signal}"),
                    None => format!("Init:ExitCode:{}", t.exit_code),
                },
            };
        } else if let Some(r) = waiting
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{init_count}");
        }
        initializing = true;
        break;
    }

    let initialized = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Initialized" && c.status == "True")
        });
    if !initializing || initialized {
        let mut has_running = false;
        let statuses: &[ContainerStatus] = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        for c in statuses.iter().rev() {
            let state = c.state.as_ref();
            let waiting = state.and_then(|s| s.waiting.as_ref());
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(r) = waiting
                .and_then(|w| w.reason.clone())
                .filter(|r| !r.is_empty())
            {
                reason = r;
            } else if let Some(t) = terminated {
                reason = match t.reason.clone().filter(|r| !r.is_empty()) {
                    Some(r) => r,
                    None => match t.signal.filter(|s| *s != 0) {
                        Some(signal) => format!("Signal:{signal}"),
                        None => format!("ExitCode:{}", t.exit_code),
                    },
                };
            } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            reason = if ready { "Running" } else { "NotReady" }.to_string();
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }
    reason
}

/// RESTARTS: the restart count, with how long ago the last restart was, e.g. `3 (2m ago)`.
pub fn pod_restarts(pod: &Pod, now: Timestamp) -> String {
    let status = pod.status.as_ref();
    let sidecars = restartable_init_containers(pod);
    let mut restarts = 0;
    let mut last: Option<Timestamp> = None;
    let mut count = |c: &ContainerStatus| {
        restarts += c.restart_count;
        if let Some(finished) = c
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.finished_at.as_ref())
        {
            last = Some(last.map_or(finished.0, |l| l.max(finished.0)));
        }
    };
    for c in status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| sidecars.contains_key(c.name.as_str()))
    {
        count(c);
    }
    for c in status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
    {
        count(c);
    }
    match last {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", age(Some(&Time(at)), now)),
        _ => restarts.to_string(),
    }
}

fn readiness_gates(pod: &Pod) -> String {
    let gates = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_deref())
        .unwrap_or_default();
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let met = gates
        .iter()
        .filter(|g| {
            conditions
                .iter()
                .any(|c| c.type_ == g.condition_type && c.status == "True")
        })
        .count();
    format!("{met}/{}", gates.len())
}

/// AGE: the time since `since` as kubectl prints it (`<unknown>` without a timestamp).
///
/// ```
/// use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
///
/// let created = Time("2025-01-01T00:00:00Z".parse().unwrap());
/// let now: Timestamp = "2025-01-03T00:00:05Z".parse().unwrap();
/// assert_eq!(kubekit::table::age(Some(&created), now), "2d");
/// ```
pub fn age(since: Option<&Time>, now: Timestamp) -> String {
    match since {
        None => "<unknown>".to_string(),
        Some(t) => {
            let millis = now.as_millisecond() - t.0.as_millisecond();
            human_duration(millis / 1000)
        }
    }
}

/// kubectl's short, rounded durations (Kubernetes' `duration.HumanDuration`): `5s`, `119s`,
/// `3m10s`, `12m`, `4h5m`, `10h`, `2d`, `3d4h`, `1y20d`; negative beyond a second of clock
/// skew is `<invalid>`.
///
/// ```
/// use kubekit::table::human_duration;
///
/// assert_eq!(human_duration(5), "5s");
/// assert_eq!(human_duration(190), "3m10s");
/// assert_eq!(human_duration(2 * 86400), "2d");
/// ```
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("a Pod")
    }

    fn container_status(
        name: &str,
        ready: bool,
        restarts: i32,
        state: serde_json::Value,
    ) -> serde_json::Value {
        json!({"name": name, "image": "x", "imageID": "", "ready": ready,
               "restartCount": restarts, "state": state})
    }

    #[test]
    fn human_durations_match_kubectl() {
        for (seconds, text) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (190, "3m10s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (750 * 86400, "2y20d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds}s");
        }
    }

    #[test]
    fn age_without_timestamp_is_unknown() {
        assert_eq!(age(None, Timestamp::now()), "<unknown>");
    }

    #[test]
    fn status_is_the_phase_without_container_states() {
        let p = pod(json!({"metadata": {"name": "a"}, "status": {"phase": "Pending"}}));
        assert_eq!(pod_status(&p), "Pending");
        let p = pod(json!({"metadata": {"name": "a"}}));
        assert_eq!(pod_status(&p), "");
    }

    #[test]
    fn status_takes_container_waiting_reasons() {
        for reason in ["ContainerCreating", "ErrImageNeverPull", "CrashLoopBackOff"] {
            let p = pod(
                json!({"metadata": {"name": "a"}, "status": {"phase": "Pending",
                "containerStatuses": [container_status("a", false, 0,
                    json!({"waiting": {"reason": reason}}))]}}),
            );
            assert_eq!(pod_status(&p), reason);
        }
    }

    #[test]
    fn status_of_terminated_containers() {
        let p = pod(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Succeeded",
            "containerStatuses": [container_status("a", false, 0,
                json!({"terminated": {"exitCode": 0, "reason": "Completed"}}))]}}),
        );
        assert_eq!(pod_status(&p), "Completed");
        let p = pod(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Failed",
            "containerStatuses": [container_status("a", false, 0,
                json!({"terminated": {"exitCode": 3}}))]}}),
        );
        assert_eq!(pod_status(&p), "ExitCode:3");
        let p = pod(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Failed",
            "containerStatuses": [container_status("a", false, 0,
                json!({"terminated": {"exitCode": 137, "signal": 9}}))]}}),
        );
        assert_eq!(pod_status(&p), "Signal:9");
    }

    #[test]
    fn status_running_and_completed_with_a_running_container() {
        let running = container_status("a", true, 0, json!({"running": {}}));
        let done = container_status(
            "b",
            false,
            0,
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
        );
        let p = pod(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Running",
            "containerStatuses": [running.clone()]}}),
        );
        assert_eq!(pod_status(&p), "Running");
        let p = pod(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [running, done]}}),
        );
        assert_eq!(pod_status(&p), "NotReady");
    }

    #[test]
    fn status_terminating_when_deletion_timestamp_set() {
        let p = pod(
            json!({"metadata": {"name": "a", "deletionTimestamp": "2025-01-01T00:00:00Z"},
            "status": {"phase": "Running"}}),
        );
        assert_eq!(pod_status(&p), "Terminating");
        let p = pod(
            json!({"metadata": {"name": "a", "deletionTimestamp": "2025-01-01T00:00:00Z"},
            "status": {"phase": "Succeeded"}}),
        );
        assert_eq!(pod_status(&p), "Succeeded");
    }

    #[test]
    fn status_of_init_containers() {
        let spec = json!({"containers": [{"name": "a"}],
            "initContainers": [{"name": "i1"}, {"name": "i2"}]});
        let p = pod(
            json!({"metadata": {"name": "a"}, "spec": spec.clone(), "status": {"phase": "Pending",
            "initContainerStatuses": [
                container_status("i1", false, 0, json!({"terminated": {"exitCode": 0}})),
                container_status("i2", false, 0, json!({"running": {}}))]}}),
        );
        assert_eq!(pod_status(&p), "Init:1/2");
        let p = pod(
            json!({"metadata": {"name": "a"}, "spec": spec.clone(), "status": {"phase": "Pending",
            "initContainerStatuses": [
                container_status("i1", false, 0, json!({"waiting": {"reason": "ErrImagePull"}}))]}}),
        );
        assert_eq!(pod_status(&p), "Init:ErrImagePull");
        let p = pod(
            json!({"metadata": {"name": "a"}, "spec": spec, "status": {"phase": "Pending",
            "initContainerStatuses": [
                container_status("i1", false, 0, json!({"terminated": {"exitCode": 2}}))]}}),
        );
        assert_eq!(pod_status(&p), "Init:ExitCode:2");
    }

    #[test]
    fn status_scheduling_gated() {
        let p = pod(
            json!({"metadata": {"name": "a"}, "status": {"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}}),
        );
        assert_eq!(pod_status(&p), "SchedulingGated");
    }

    #[test]
    fn ready_and_restarts() {
        let now: Timestamp = "2025-01-01T00:10:00Z".parse().expect("time");
        let p = pod(json!({"metadata": {"name": "a"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                container_status("a", true, 0, json!({"running": {}})),
                {"name": "b", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2025-01-01T00:08:00Z"}}}]}}));
        assert_eq!(pod_ready(&p), "1/2");
        assert_eq!(pod_restarts(&p, now), "3 (2m ago)");
        assert_eq!(pod_status(&p), "CrashLoopBackOff");
    }

    #[test]
    fn wide_table_columns() {
        let now: Timestamp = "2025-01-01T00:00:05Z".parse().expect("time");
        let p = pod(
            json!({"metadata": {"name": "web2", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}], "nodeName": "node-1"},
            "status": {"phase": "Running", "podIP": "10.0.0.7", "containerStatuses": [
                container_status("a", true, 0, json!({"running": {}}))]}}),
        );
        let table = pods_at(&[p], true, now);
        assert_eq!(
            table,
            "NAME   READY   STATUS    RESTARTS   AGE   IP         NODE     NOMINATED NODE   READINESS GATES\n\
             web2   1/1     Running   0          5s    10.0.0.7   node-1   <none>           <none>\n"
        );
    }
}
