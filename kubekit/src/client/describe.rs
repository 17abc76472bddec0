//! What `kubectl describe` shows: an object's summary, its conditions, its pods (for a
//! workload) or containers (for a Pod), and its Events.

use std::fmt;

use k8s_openapi::{
    api::core::v1::{Event, Pod},
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{DynamicObject, ListParams},
};
use serde_json::Value;

use super::{Client, Error, ObjectRef, Result};

/// One Event, as `kubectl describe` and `kubectl events` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventInfo {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// The reason, e.g. `ErrImageNeverPull`, `BackOff`, `Scheduled`.
    pub reason: String,
    /// The object it is about, `kind/name` (`pod/web`).
    pub object: String,
    /// What happened.
    pub message: String,
    /// How many times it happened.
    pub count: i32,
    /// When it happened last (or first, or was recorded), if the Event says.
    pub last: Option<Timestamp>,
    /// Who reported it (`kubelet`, `deployment-controller`).
    pub source: String,
}

impl EventInfo {
    fn from_event(event: &Event) -> Self {
        let last = event
            .last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| event.event_time.as_ref().map(|t| t.0))
            .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
            .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0));
        let source = event
            .reporting_component
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| event.source.as_ref().and_then(|s| s.component.clone()))
            .unwrap_or_default();
        Self {
            type_: event.type_.clone().unwrap_or_default(),
            reason: event.reason.clone().unwrap_or_default(),
            object: format!(
                "{}/{}",
                event
                    .involved_object
                    .kind
                    .as_deref()
                    .unwrap_or_default()
                    .to_lowercase(),
                event.involved_object.name.as_deref().unwrap_or_default()
            ),
            message: event.message.clone().unwrap_or_default().trim().to_string(),
            count: event.count.unwrap_or(1).max(1),
            last,
            source,
        }
    }
}

/// kubectl's table of events (`LAST SEEN TYPE REASON OBJECT MESSAGE`), ages from `now`.
///
/// ```
/// use kubekit::client::events_table;
/// assert_eq!(events_table(&[], kubekit::k8s_openapi::jiff::Timestamp::now()), "No events\n");
/// ```
pub fn events_table(events: &[EventInfo], now: Timestamp) -> String {
    if events.is_empty() {
        return "No events\n".to_string();
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let seen = e
                .last
                .map(|t| crate::table::human_duration((now - t).get_seconds().max(0)))
                .unwrap_or_else(|| "<unknown>".into());
            let seen = if e.count > 1 {
                format!("{seen} (x{})", e.count)
            } else {
                seen
            };
            vec![
                seen,
                e.type_.clone(),
                e.reason.clone(),
                e.object.clone(),
                e.message.replace('\n', " "),
            ]
        })
        .collect();
    crate::table::render(&["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], &rows)
}

/// What [`Client::describe`] found: kubectl describe's sections, displayed as kubectl
/// shows them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Description {
    /// The object.
    pub object: ObjectRef,
    /// The object as the server has it.
    pub live: Value,
    /// Its `status.conditions`: type, status, reason, message.
    pub conditions: Vec<[String; 4]>,
    /// For a workload (an object with a label selector), its pods.
    pub pods: Vec<Pod>,
    /// Its Events, oldest first.
    pub events: Vec<EventInfo>,
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = &self.live["metadata"];
        writeln!(f, "Name:         {}", self.object.name)?;
        if let Some(ns) = &self.object.namespace {
            writeln!(f, "Namespace:    {ns}")?;
        }
        writeln!(f, "Kind:         {}", self.object.kind)?;
        let labels = meta["labels"]
            .as_object()
            .map(|l| {
                l.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "<none>".into());
        writeln!(f, "Labels:       {labels}")?;
        if let Some(created) = meta["creationTimestamp"].as_str() {
            writeln!(f, "Created:      {created}")?;
        }
        if let Some(containers) = self.live["status"]["containerStatuses"].as_array() {
            writeln!(
                f,
                "Phase:        {}",
                self.live["status"]["phase"].as_str().unwrap_or_default()
            )?;
            writeln!(f, "Containers:")?;
            for c in containers {
                writeln!(
                    f,
                    "  {}: {}; ready {}, restarts {}",
                    c["name"].as_str().unwrap_or_default(),
                    container_state(&c["state"]),
                    c["ready"],
                    c["restartCount"]
                )?;
                if c["lastState"].as_object().is_some_and(|s| !s.is_empty()) {
                    writeln!(f, "    last state: {}", container_state(&c["lastState"]))?;
                }
            }
        }
        if !self.conditions.is_empty() {
            writeln!(f, "Conditions:")?;
            let rows: Vec<Vec<String>> = self.conditions.iter().map(|c| c.to_vec()).collect();
            for line in
                crate::table::render(&["Type", "Status", "Reason", "Message"], &rows).lines()
            {
                writeln!(f, "  {line}")?;
            }
        }
        if !self.pods.is_empty() {
            writeln!(f, "Pods:")?;
            for line in crate::table::pods(&self.pods).lines() {
                writeln!(f, "  {line}")?;
            }
        }
        writeln!(f, "Events:")?;
        for line in events_table(&self.events, Timestamp::now()).lines() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// A container state (`{"waiting": {"reason": ..}}`) as one line: `waiting: ErrImageNeverPull:
/// Container image ...`, `terminated: Error (exit 1)`, `running since ...`.
pub(crate) fn container_state(state: &Value) -> String {
    if let Some(w) = state.get("waiting") {
        let mut s = format!("waiting: {}", w["reason"].as_str().unwrap_or("(no reason)"));
        if let Some(m) = w["message"].as_str() {
            s.push_str(": ");
            s.push_str(m.trim());
        }
        return s;
    }
    if let Some(t) = state.get("terminated") {
        let mut s = format!(
            "terminated: {} (exit {})",
            t["reason"].as_str().unwrap_or("(no reason)"),
            t["exitCode"]
        );
        if let Some(m) = t["message"].as_str() {
            s.push_str(": ");
            s.push_str(m.trim());
        }
        return s;
    }
    if let Some(r) = state.get("running") {
        return format!("running since {}", r["startedAt"].as_str().unwrap_or("?"));
    }
    "unknown".into()
}

impl Client {
    /// The Events about `object`, oldest first (the Events section of `kubectl describe`).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use kubekit::client::ObjectRef;
    ///
    /// let web = ObjectRef::new("Pod", Some(client.namespace()), "web");
    /// for event in client.events(&web).await? {
    ///     println!("{} {}: {}", event.type_, event.reason, event.message);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] / [`Error::Kube`] when the Events cannot be listed.
    pub async fn events(&self, object: &ObjectRef) -> Result<Vec<EventInfo>> {
        let ns = object.namespace.as_deref().unwrap_or(&self.namespace);
        let api: Api<Event> = Api::namespaced(self.inner.clone(), ns);
        let params = ListParams::default().fields(&format!(
            "involvedObject.kind={},involvedObject.name={}",
            object.kind, object.name
        ));
        let list = api
            .list(&params)
            .await
            .map_err(|e| Error::from_kube(e, object.clone()))?;
        Ok(sorted(
            list.items.iter().map(EventInfo::from_event).collect(),
        ))
    }

    /// Every Event of the client's namespace, oldest first (`kubectl events`).
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// let events = client.namespace_events().await?;
    /// print!("{}", kubekit::client::events_table(&events, kubekit::k8s_openapi::jiff::Timestamp::now()));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] / [`Error::Kube`] when the Events cannot be listed.
    pub async fn namespace_events(&self) -> Result<Vec<EventInfo>> {
        let api: Api<Event> = Api::namespaced(self.inner.clone(), &self.namespace);
        let list = api.list(&ListParams::default()).await.map_err(|e| {
            Error::from_kube(e, ObjectRef::new("Event", Some(&self.namespace), "(all)"))
        })?;
        Ok(sorted(
            list.items.iter().map(EventInfo::from_event).collect(),
        ))
    }

    /// What `kubectl describe KIND NAME` shows for `object`: its summary, conditions, its
    /// containers (a Pod) or its pods (a workload with a label selector), and its Events.
    ///
    /// ```no_run
    /// # async fn demo(client: kubekit::client::Client) -> kubekit::Result<()> {
    /// use kubekit::client::ObjectRef;
    ///
    /// let web = ObjectRef::new("Deployment", Some(client.namespace()), "web");
    /// print!("{}", client.describe(&web).await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such object; [`Error::BadObject`] for a kind the
    /// cluster does not serve.
    pub async fn describe(&self, object: &ObjectRef) -> Result<Description> {
        let resources = self.api_resources().await?;
        let Some(info) = resources
            .iter()
            .filter(|r| r.kind == object.kind)
            // Prefer the core and built-in groups when a kind name is served twice.
            .min_by_key(|r| r.group().contains('.'))
        else {
            return Err(Error::BadObject {
                object: Box::new(object.clone()),
                message: format!("the cluster serves no kind {:?}", object.kind),
            });
        };
        let (resource, _) = info.api_resource();
        let ns = object.namespace.as_deref().unwrap_or(&self.namespace);
        let api: Api<DynamicObject> = if info.namespaced {
            Api::namespaced_with(self.inner.clone(), ns, &resource)
        } else {
            Api::all_with(self.inner.clone(), &resource)
        };
        let object = ObjectRef::new(&object.kind, info.namespaced.then_some(ns), &object.name);
        let live = api
            .get(&object.name)
            .await
            .map_err(|e| Error::from_kube(e, object.clone()))?;
        let live = serde_json::to_value(live).unwrap_or(Value::Null);
        let conditions = live["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                ["type", "status", "reason", "message"]
                    .map(|k| c[k].as_str().unwrap_or_default().replace('\n', " "))
            })
            .collect();
        let pods = match live["spec"]["selector"]["matchLabels"].as_object() {
            Some(labels) if info.namespaced && object.kind != "Service" => {
                let selector = labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",");
                let pods: Api<Pod> = Api::namespaced(self.inner.clone(), ns);
                pods.list(&ListParams::default().labels(&selector))
                    .await
                    .map_err(|e| Error::from_kube(e, object.clone()))?
                    .items
            }
            _ => Vec::new(),
        };
        let events = self.events(&object).await?;
        Ok(Description {
            object,
            live,
            conditions,
            pods,
            events,
        })
    }
}

/// Oldest first; Events without a time first.
fn sorted(mut events: Vec<EventInfo>) -> Vec<EventInfo> {
    events.sort_by_key(|e| e.last);
    events
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn container_states_read_as_one_line() {
        assert_eq!(
            container_state(&json!({"waiting": {"reason": "ErrImageNeverPull",
                "message": "Container image \"x\" is not present with pull policy of Never"}})),
            "waiting: ErrImageNeverPull: Container image \"x\" is not present with pull policy of Never"
        );
        assert_eq!(
            container_state(&json!({"terminated": {"reason": "Error", "exitCode": 3}})),
            "terminated: Error (exit 3)"
        );
        assert_eq!(container_state(&json!({})), "unknown");
    }

    #[test]
    fn events_print_as_kubectl_does() {
        let now = Timestamp::now();
        let event = EventInfo {
            type_: "Warning".into(),
            reason: "BackOff".into(),
            object: "pod/web".into(),
            message: "Back-off restarting failed container".into(),
            count: 3,
            last: Some(now - std::time::Duration::from_secs(65)),
            source: "kubelet".into(),
        };
        let table = events_table(&[event], now);
        assert!(table.starts_with("LAST SEEN"), "{table}");
        assert!(
            table.contains("65s (x3)") || table.contains("1m5s (x3)"),
            "{table}"
        );
        assert!(table.contains("Warning   BackOff   pod/web"), "{table}");
    }
}
