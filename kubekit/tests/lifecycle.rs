//! The client calls against the real local control plane: apply / get / list / delete round
//! trips, controllers at work, `delete all`, bad input, discovery and waits.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use k8s_openapi::api::{
    apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    batch::v1::{CronJob, Job},
    core::v1::{ConfigMap, Namespace, Pod, Service},
};
use kubekit::client::{
    ApiObject, ApiResourceInfo, ApplyOptions, ApplyOutcome, Client, DeleteOptions, Error, Labels,
    Propagation, table,
};
use kubekit::testing::TestNamespaceExt;
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const IMAGE: &str = "registry.k8s.io/pause:3.10";
const LONG: Duration = Duration::from_secs(60);

/// Polls `$cond` (an expression that may `.await` and `?`) until it is true, for at most 30 s.
macro_rules! eventually {
    ($what:expr, $cond:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if $cond {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {}", $what).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid object")
}

fn pod(name: &str, app: &str) -> Pod {
    from_json(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": IMAGE}]}
    }))
}

/// A Pod no node can take, Pending whether or not the cluster has nodes.
fn pending_pod(name: &str, app: &str) -> Pod {
    let mut pod = pod(name, app);
    if let Some(spec) = pod.spec.as_mut() {
        spec.node_selector =
            Some([("kubekit.dev/no-such-node".to_string(), "true".to_string())].into());
    }
    pod
}

/// A Pod template whose Pods no node takes: they exist and stay Pending, so the owners'
/// status settles whether or not the cluster has a node.
fn pod_template(app: &str) -> serde_json::Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": IMAGE}],
                 "nodeSelector": {"kubekit.dev/no-such-node": "true"}}
    })
}

fn deployment(name: &str, app: &str) -> Deployment {
    from_json(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
                 "template": pod_template(app)}
    }))
}

fn replica_set(name: &str, app: &str) -> ReplicaSet {
    from_json(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
                 "template": pod_template(app)}
    }))
}

fn service(name: &str, app: &str) -> Service {
    from_json(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}
    }))
}

fn config_map(name: &str, value: &str) -> ConfigMap {
    from_json(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"key": value}
    }))
}

/// A name of at most 63 characters unique to this test namespace.
fn unique(ns: &kubekit_testing::TestNamespace, prefix: &str) -> String {
    let name = ns.name();
    format!("{prefix}-{}", &name[name.len().saturating_sub(9)..])
}

/// Waits until the object's resourceVersion has stayed the same for half a second (the
/// controllers are done writing its status), and returns it.
async fn settled<K: ApiObject>(
    client: &Client,
    name: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = client.get::<K>(name).await?.meta().resource_version.clone();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = client.get::<K>(name).await?.meta().resource_version.clone();
        if now == last {
            return Ok(now.unwrap_or_default());
        }
        if Instant::now() > deadline {
            return Err(format!("{name} keeps changing").into());
        }
        last = now;
    }
}

/// apply -> get -> re-apply unchanged -> change -> configured -> delete -> gone.
async fn round_trip<K: ApiObject>(client: &Client, object: K) -> TestResult {
    let name = object.meta().name.clone().expect("named");
    let kind = K::kind(&Default::default()).to_string();

    let started = Instant::now();
    let created = client.apply(&object).await?;
    assert_eq!(created.outcome, ApplyOutcome::Created, "{kind} {name}");
    let got: K = client.get(&name).await?;
    assert_eq!(got.meta().uid, created.object.meta().uid);
    let apply_get = started.elapsed();

    let rv = settled::<K>(client, &name).await?;
    let again = client.apply(&object).await?;
    assert_eq!(again.outcome, ApplyOutcome::Unchanged, "{kind} {name}");
    assert_eq!(
        again.object.meta().resource_version.as_deref(),
        Some(rv.as_str())
    );

    let mut changed = object.clone();
    changed
        .meta_mut()
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert("kubekit.dev/changed".into(), "yes".into());
    let configured = client.apply(&changed).await?;
    assert_eq!(
        configured.outcome,
        ApplyOutcome::Configured,
        "{kind} {name}"
    );
    assert_ne!(
        configured.object.meta().resource_version.as_deref(),
        Some(rv.as_str())
    );
    assert_eq!(
        client.apply(&changed).await?.outcome,
        ApplyOutcome::Unchanged,
        "{kind} {name} re-applied after the change"
    );

    let started = Instant::now();
    client.delete::<K>(&name, DeleteOptions::wait(LONG)).await?;
    let delete = started.elapsed();
    assert!(
        client.get_opt::<K>(&name).await?.is_none(),
        "{kind} {name} is gone"
    );
    let err = client.get::<K>(&name).await.expect_err("gone");
    assert!(err.is_not_found(), "{err}");
    eprintln!("{kind}: apply+get {apply_get:?}, delete (waited) {delete:?}");
    Ok(())
}

/// `in_namespace` rebinds the kube client `kube()` hands out too: a ConfigMap created through
/// `Api::default_namespaced(client.kube())` is where `client.get` looks, and not in the
/// namespace the client started in.
#[tokio::test]
async fn in_namespace_and_kube_agree() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let other = kubekit_testing::TestNamespace::create(&format!("{}::other", ns.name())).await?;
    let client = ns.client()?;
    let moved = client.clone().in_namespace(other.name());
    assert_eq!(moved.kube().default_namespace(), other.name());
    assert_eq!(client.kube().default_namespace(), ns.name());

    let api: kube::Api<ConfigMap> = kube::Api::default_namespaced(moved.kube().clone());
    api.create(&Default::default(), &config_map("through-kube", "1"))
        .await?;
    let found = moved.get::<ConfigMap>("through-kube").await?;
    assert_eq!(found.metadata.namespace.as_deref(), Some(other.name()));
    let err = client
        .get::<ConfigMap>("through-kube")
        .await
        .expect_err("not in the first namespace");
    assert!(err.is_not_found(), "{err}");

    // Back to the first namespace: the original kube client again, and calls still work.
    let back = moved.in_namespace(ns.name());
    assert_eq!(back.kube().default_namespace(), ns.name());
    assert!(back.get_opt::<ConfigMap>("through-kube").await?.is_none());
    Ok(())
}

/// ConfigMap, added as a kind kubekit knows (builder, validation, readiness, table) in one
/// module: built, applied, read back equal, ready, listed as kubectl lists it, deleted.
#[tokio::test]
async fn config_map_built_round_trip_ready_and_table() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let cm = kubekit::builders::config_map()
        .name("settings")
        .data("mode", "fast")
        .binary_data("blob", [0u8, 159, 146, 150])
        .build()?;
    let applied = client.apply(&cm).await?;
    assert_eq!(applied.object.data, cm.data);
    assert_eq!(applied.object.binary_data, cm.binary_data);
    let ready: ConfigMap = client.wait_ready("settings", LONG).await?;
    let table = kubekit::kinds::table(&[ready]);
    assert!(
        table.starts_with("NAME       DATA   AGE\nsettings   2      "),
        "{table}"
    );
    round_trip(&client, {
        let mut other = cm.clone();
        other.metadata.name = Some("settings-2".into());
        other
    })
    .await
}

/// Secret, the same way; a TLS Secret without its key is refused before anything is sent,
/// naming the key and not the value.
#[tokio::test]
async fn secret_built_round_trip_validation_and_table() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let secret = kubekit::builders::secret()
        .name("db")
        .string_data("password", "hunter2")
        .build()?;
    let applied = client.apply(&secret).await?;
    let data = applied.object.data.as_ref().ok_or("no data")?;
    assert_eq!(data["password"].0, b"hunter2");
    client
        .wait_ready::<k8s_openapi::api::core::v1::Secret>("db", LONG)
        .await?;
    let listed: Vec<k8s_openapi::api::core::v1::Secret> =
        client.list(kubekit::client::Labels::any()).await?;
    let db: Vec<_> = listed
        .into_iter()
        .filter(|s| s.metadata.name.as_deref() == Some("db"))
        .collect();
    let table = kubekit::kinds::table(&db);
    assert!(table.contains("db     Opaque   1"), "{table}");
    assert!(!table.contains("hunter2"), "{table}");

    let err = client
        .apply_manifest(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: web-tls}\ntype: kubernetes.io/tls\n\
             stringData: {tls.crt: s3cr3t-cert}\n",
        )
        .await
        .expect_err("a TLS Secret without tls.key");
    let text = err.to_string();
    assert!(text.contains("tls.key"), "{text}");
    assert!(!text.contains("s3cr3t-cert"), "{text}");
    assert!(
        client
            .get_opt::<k8s_openapi::api::core::v1::Secret>("web-tls")
            .await?
            .is_none()
    );
    round_trip(&client, {
        let mut other = secret.clone();
        other.metadata.name = Some("db-2".into());
        other
    })
    .await
}

/// A Pod that ends is reported by `wait_ready` at once (it will not become ready), with
/// its state, not after the timeout.
#[tokio::test]
async fn wait_ready_reports_a_pod_that_ended() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let images = kubekit_testing::images()?;
    let client = ns.client()?;
    let pod: Pod = from_json(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "ends"},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "main", "image": images.toolbox, "imagePullPolicy": "Never",
            // Never ready (the probe fails), then ends: Ready is never true on the way.
            "command": ["sh", "-c", "sleep 2; exit 3"],
            "readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1}
        }]}
    }));
    client.apply(&pod).await?;
    let started = Instant::now();
    let err = client
        .wait_ready::<Pod>("ends", Duration::from_secs(120))
        .await
        .expect_err("an ended Pod is not ready");
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("Failed"), "{err}");
    eprintln!("ended pod reported after {:?}: {err}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn namespace_round_trip() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let name = unique(&ns, "kk-ns");
    let namespace: Namespace = from_json(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {"team": "a"}}
    }));
    round_trip(&client, namespace).await
}

#[tokio::test]
async fn pod_round_trip() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    round_trip(&client, pending_pod("web", "web")).await?;

    // The walkthrough's round trip, timed: apply, get, delete.
    let started = Instant::now();
    client.apply(&pod("web2", "web2")).await?;
    let _: Pod = client.get("web2").await?;
    client
        .delete::<Pod>("web2", DeleteOptions::default().grace_period(0))
        .await?;
    eprintln!("pod apply+get+delete round trip: {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn deployment_round_trip() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    round_trip(&client, deployment("web", "web")).await
}

#[tokio::test]
async fn replica_set_round_trip() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    round_trip(&client, replica_set("web", "web")).await
}

#[tokio::test]
async fn service_round_trip() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    round_trip(&client, service("web", "web")).await
}

#[tokio::test]
async fn get_and_list_with_selectors_and_tables() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    client.apply(&pending_pod("web", "web")).await?;
    client.apply(&pending_pod("db", "db")).await?;

    let all: Vec<Pod> = client.list(Labels::any()).await?;
    assert_eq!(all.len(), 2);
    let web: Vec<Pod> = client.list("app=web").await?;
    assert_eq!(web.len(), 1);
    let typed: Vec<Pod> = client.list([("app", "db")]).await?;
    assert_eq!(typed[0].metadata.name.as_deref(), Some("db"));
    let not_web: Vec<Pod> = client.list("app!=web").await?;
    assert_eq!(not_web.len(), 1);
    let none: Vec<Pod> = client.list(("app", "nothing")).await?;
    assert!(none.is_empty());

    assert!(client.get_opt::<Pod>("missing").await?.is_none());
    let err = client.get::<Pod>("missing").await.expect_err("missing");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("Pod {}/missing not found", ns.name())
    );

    let table = table::pods(&all);
    let mut lines = table.lines();
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .map(Iterator::collect::<Vec<_>>),
        Some(vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
    );
    let db = lines.next().expect("a row");
    assert!(
        db.starts_with("db ") && db.contains("0/1") && db.contains("Pending"),
        "{table}"
    );
    let wide = table::pods_wide(&all);
    let header: Vec<&str> = wide
        .lines()
        .next()
        .unwrap_or_default()
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ],
        "{wide}"
    );

    // `kubectl get pod web -o yaml`
    let yaml = kubekit::manifest::to_yaml(&client.get::<Pod>("web").await?)?;
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"),
        "{yaml}"
    );
    assert!(yaml.contains("status:\n"), "{yaml}");
    Ok(())
}

/// Pods owned by a ReplicaSet of Deployment `app` (label app=`app`).
async fn owned_pods(client: &Client, app: &str) -> Result<Vec<Pod>, Error> {
    let pods: Vec<Pod> = client.list(("app", app)).await?;
    Ok(pods
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|r| r.kind == "ReplicaSet"))
        })
        .collect())
}

async fn owned_replica_sets(client: &Client, app: &str) -> Result<Vec<ReplicaSet>, Error> {
    let sets: Vec<ReplicaSet> = client.list(("app", app)).await?;
    Ok(sets
        .into_iter()
        .filter(|r| r.metadata.deletion_timestamp.is_none())
        .collect())
}

#[tokio::test]
async fn deployment_controllers_replace_what_is_deleted() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    client.apply(&deployment("web", "web")).await?;

    eventually!(
        "a ReplicaSet of the Deployment",
        owned_replica_sets(&client, "web").await?.len() == 1
    );
    eventually!(
        "a Pod of the ReplicaSet",
        owned_pods(&client, "web").await?.len() == 1
    );

    // A deleted managed Pod is replaced by the ReplicaSet.
    let first = owned_pods(&client, "web").await?.remove(0);
    let first_name = first.metadata.name.clone().expect("named");
    client
        .delete::<Pod>(&first_name, DeleteOptions::wait(LONG))
        .await?;
    eventually!("a replacement Pod", {
        let pods = owned_pods(&client, "web").await?;
        pods.len() == 1 && pods[0].metadata.name.as_deref() != Some(first_name.as_str())
    });

    // A deleted ReplicaSet is replaced by the Deployment.
    let rs = owned_replica_sets(&client, "web").await?.remove(0);
    let rs_name = rs.metadata.name.clone().expect("named");
    client
        .delete::<ReplicaSet>(&rs_name, DeleteOptions::wait(LONG))
        .await?;
    eventually!("a replacement ReplicaSet", {
        let sets = owned_replica_sets(&client, "web").await?;
        sets.len() == 1 && sets[0].metadata.uid != rs.metadata.uid
    });
    eventually!(
        "a Pod of the new ReplicaSet",
        owned_pods(&client, "web").await?.len() == 1
    );
    Ok(())
}

#[tokio::test]
async fn deleting_a_deployment_in_foreground_removes_its_replica_sets_and_pods() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    client.apply(&deployment("fg", "fg")).await?;
    eventually!(
        "the Pod of the Deployment",
        owned_pods(&client, "fg").await?.len() == 1
    );

    client
        .delete::<Deployment>(
            "fg",
            DeleteOptions::wait(LONG).propagation(Propagation::Foreground),
        )
        .await?;
    // Foreground: the Deployment is gone only after its dependents.
    let sets: Vec<ReplicaSet> = client.list(("app", "fg")).await?;
    let pods: Vec<Pod> = client.list(("app", "fg")).await?;
    assert!(sets.is_empty(), "{sets:?}");
    assert!(pods.is_empty(), "{pods:?}");
    Ok(())
}

#[tokio::test]
async fn deleting_a_deployment_in_background_removes_its_replica_sets_and_pods() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    client.apply(&deployment("bg", "bg")).await?;
    eventually!(
        "the Pod of the Deployment",
        owned_pods(&client, "bg").await?.len() == 1
    );

    client
        .delete::<Deployment>("bg", DeleteOptions::default())
        .await?;
    assert!(client.get_opt::<Deployment>("bg").await?.is_none());
    // Background: the garbage collector follows.
    eventually!("the ReplicaSet and Pod to be collected", {
        let sets: Vec<ReplicaSet> = client.list(("app", "bg")).await?;
        let pods: Vec<Pod> = client.list(("app", "bg")).await?;
        sets.is_empty() && pods.is_empty()
    });
    Ok(())
}

#[tokio::test]
async fn deleting_a_deployment_with_orphan_leaves_its_replica_sets_and_pods() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    client.apply(&deployment("orphan", "orphan")).await?;
    eventually!(
        "the Pod of the Deployment",
        owned_pods(&client, "orphan").await?.len() == 1
    );

    client
        .delete::<Deployment>(
            "orphan",
            DeleteOptions::wait(LONG).propagation(Propagation::Orphan),
        )
        .await?;
    assert!(client.get_opt::<Deployment>("orphan").await?.is_none());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sets: Vec<ReplicaSet> = client.list(("app", "orphan")).await?;
    assert_eq!(sets.len(), 1, "the ReplicaSet stays");
    assert!(
        sets[0]
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(Vec::is_empty),
        "and has no owner any more"
    );
    assert_eq!(
        owned_pods(&client, "orphan").await?.len(),
        1,
        "its Pod stays"
    );
    Ok(())
}

/// What `kubectl get all` would count in the client's namespace, plus ConfigMaps (which
/// `delete all` leaves alone), by kind.
async fn inventory(client: &Client) -> Result<BTreeMap<&'static str, usize>, Error> {
    let mut counts = BTreeMap::new();
    counts.insert("Pod", client.list::<Pod>(()).await?.len());
    counts.insert("Service", client.list::<Service>(()).await?.len());
    counts.insert("Deployment", client.list::<Deployment>(()).await?.len());
    counts.insert("ReplicaSet", client.list::<ReplicaSet>(()).await?.len());
    counts.insert("StatefulSet", client.list::<StatefulSet>(()).await?.len());
    counts.insert("DaemonSet", client.list::<DaemonSet>(()).await?.len());
    counts.insert("Job", client.list::<Job>(()).await?.len());
    counts.insert("CronJob", client.list::<CronJob>(()).await?.len());
    let config_maps: Vec<ConfigMap> = client.list(()).await?;
    counts.insert(
        "ConfigMap",
        config_maps
            .iter()
            .filter(|c| c.metadata.name.as_deref() != Some("kube-root-ca.crt"))
            .count(),
    );
    Ok(counts)
}

const EVERYTHING: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: lonely}
spec: {containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: web
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: "registry.k8s.io/pause:3.10"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
"#;

#[tokio::test]
async fn delete_all_empties_the_namespace_and_nothing_else() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let thread = std::thread::current().name().unwrap_or("main").to_string();
    let other =
        kubekit_testing::TestNamespace::create(&format!("lifecycle::{thread}::other")).await?;
    let client = ns.client()?;
    let other_client = other.client()?;

    let report = client.apply_manifest(EVERYTHING).await?;
    assert_eq!(report.count(ApplyOutcome::Created), 8, "{report}");
    other_client.apply_manifest(EVERYTHING).await?;
    eventually!("the Deployments' Pods", {
        owned_pods(&client, "web").await?.len() == 2
            && owned_pods(&other_client, "web").await?.len() == 2
    });
    let before_other = inventory(&other_client).await?;

    let started = Instant::now();
    let deleted = client.delete_all_with(DeleteOptions::wait(LONG)).await?;
    eprintln!(
        "delete all (waited) took {:?}:\n{deleted}",
        started.elapsed()
    );
    let text = deleted.to_string();
    for line in [
        "deployment.apps \"web\" deleted",
        "statefulset.apps \"db\" deleted",
        "daemonset.apps \"agent\" deleted",
        "cronjob.batch \"nightly\" deleted",
        "job.batch \"once\" deleted",
        "pod \"lonely\" deleted",
        "service \"web\" deleted",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }

    let after = inventory(&client).await?;
    for (kind, count) in &after {
        let expected = usize::from(*kind == "ConfigMap");
        assert_eq!(*count, expected, "{kind} after delete all: {after:?}");
    }
    // Nothing came back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inventory(&client).await?, after);
    // The other namespace is untouched.
    assert_eq!(inventory(&other_client).await?, before_other);
    assert!(client.delete_all().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn manifest_apply_reports_each_object_and_is_idempotent() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let extra = unique(&ns, "kk-m");
    let yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {extra}}}\ndata: {{a: b}}\n\
         ---\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: web2\nspec:\n  containers:\n    - name: web\n      image: nginx:1.28\n      ports:\n        - containerPort: 80\n\
         ---\n\
         apiVersion: v1\nkind: Namespace\nmetadata: {{name: {extra}}}\n"
    );
    let dry = client
        .apply_manifest_with(&yaml, ApplyOptions::dry_run())
        .await?;
    assert_eq!(dry.count(ApplyOutcome::Created), 3, "{dry}");
    assert!(
        client.get_opt::<Namespace>(&extra).await?.is_none(),
        "dry run stores nothing"
    );

    let report = client.apply_manifest(&yaml).await?;
    // Namespaces first, then document order.
    let order: Vec<(&str, usize)> = report
        .objects
        .iter()
        .map(|o| (o.kind.as_str(), o.document))
        .collect();
    assert_eq!(order, [("Namespace", 3), ("ConfigMap", 1), ("Pod", 2)]);
    assert_eq!(
        report.to_string(),
        format!("namespace/{extra} created\nconfigmap/settings created\npod/web2 created\n")
    );
    let cm = report.find("ConfigMap", "settings").expect("reported");
    assert_eq!(cm.namespace.as_deref(), Some(extra.as_str()));
    let pod = report.find("Pod", "web2").expect("reported");
    assert_eq!(pod.namespace.as_deref(), Some(ns.name()));

    let again = client.apply_manifest(&yaml).await?;
    assert_eq!(again.count(ApplyOutcome::Unchanged), 3, "{again}");

    let changed = yaml.replace("{a: b}", "{a: c}");
    let third = client.apply_manifest(&changed).await?;
    assert_eq!(
        third.find("ConfigMap", "settings").map(|o| o.outcome),
        Some(ApplyOutcome::Configured)
    );
    assert_eq!(third.count(ApplyOutcome::Unchanged), 2, "{third}");

    client
        .delete::<Namespace>(&extra, DeleteOptions::default())
        .await?;
    Ok(())
}

async fn nothing_in(client: &Client) -> TestResult {
    let inv = inventory(client).await?;
    assert!(
        inv.values().all(|n| *n == 0),
        "nothing may be created: {inv:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_manifest_that_does_not_parse_sends_nothing() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\
                apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: nginx\n      imagePullPolcy: Never\n";
    let err = client.apply_manifest(yaml).await.expect_err("a typo");
    let Error::Manifest(manifest) = &err else {
        panic!("expected a manifest error, got {err:?}");
    };
    assert_eq!(manifest.document(), Some(2));
    assert!(err.to_string().contains("imagePullPolcy"), "{err}");

    let err = client
        .apply_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
        .await
        .expect_err("bad YAML");
    assert!(matches!(err, Error::Manifest(_)), "{err:?}");
    nothing_in(&client).await
}

#[tokio::test]
async fn an_invalid_second_document_of_three_creates_nothing() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;

    // Caught by kubekit's own validation before anything is sent.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n\
                apiVersion: v1\nkind: Pod\nmetadata: {name: second}\n\
                spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 0}]}]}\n---\n\
                apiVersion: v1\nkind: Service\nmetadata: {name: third}\nspec: {ports: [{port: 80}]}\n";
    let err = client.apply_manifest(yaml).await.expect_err("port 0");
    let Error::Document { document, source } = &err else {
        panic!("expected a document error, got {err:?}");
    };
    assert_eq!(*document, 2);
    assert!(matches!(**source, Error::Validation(_)), "{err:?}");
    assert!(err.to_string().contains("containerPort"), "{err}");
    nothing_in(&client).await?;

    // Caught by the server's dry run (a rule kubekit does not check itself: ResourceQuota
    // is not among the kinds it validates).
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n\
                apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: second}\n\
                spec: {hard: {pods: \"-1\"}}\n---\n\
                apiVersion: v1\nkind: Service\nmetadata: {name: third}\nspec: {ports: [{port: 80}]}\n";
    let err = client.apply_manifest(yaml).await.expect_err("bad name");
    let Error::Document { document, source } = &err else {
        panic!("expected a document error, got {err:?}");
    };
    assert_eq!(*document, 2);
    let Error::Invalid { object, causes, .. } = &**source else {
        panic!("expected the server's 422, got {source:?}");
    };
    assert_eq!(object.name, "second");
    assert!(
        causes.iter().any(|c| c.field.contains("spec.hard")),
        "{causes:?}"
    );
    eprintln!("{err}");
    nothing_in(&client).await
}

#[tokio::test]
async fn an_unknown_kind_is_refused_and_changes_nothing() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    for (api_version, kind) in [
        ("example.com/v1", "Widget"),
        ("apps/v1", "Deploymnt"),
        ("v9", "Pod"),
    ] {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: first}}\n---\n\
             apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: w}}\nspec: {{size: 1}}\n"
        );
        let err = match client.apply_manifest(&yaml).await {
            Ok(report) => return Err(format!("applied {report}").into()),
            Err(err) => err,
        };
        match &err {
            Error::UnknownKind {
                document,
                api_version: a,
                kind: k,
            } => {
                assert_eq!((*document, a.as_str(), k.as_str()), (2, api_version, kind));
                assert!(err.to_string().contains(kind), "{err}");
            }
            // kubekit's manifest reader knows `Pod` is served by `v1` only.
            Error::Manifest(m) if kind == "Pod" => assert_eq!(m.document(), Some(2)),
            other => return Err(format!("unexpected {other:?}").into()),
        }
        nothing_in(&client).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_conflicting_apply_names_the_manager_and_field_and_force_takes_over() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let other = client.clone().with_field_manager("other-team");

    other.apply(&config_map("shared", "theirs")).await?;
    let err = client
        .apply(&config_map("shared", "ours"))
        .await
        .expect_err("a conflict");
    let Error::Conflict {
        object,
        fields,
        manager,
    } = &err
    else {
        panic!("expected a conflict, got {err:?}");
    };
    assert_eq!(object.name, "shared");
    assert_eq!(manager, "\"other-team\"");
    assert_eq!(fields, &[".data.key".to_string()]);
    assert!(
        err.to_string().contains("other-team") && err.to_string().contains(".data.key"),
        "{err}"
    );
    let kept: ConfigMap = client.get("shared").await?;
    assert_eq!(
        kept.data.and_then(|d| d.get("key").cloned()).as_deref(),
        Some("theirs")
    );

    let forced = client
        .apply_with(&config_map("shared", "ours"), ApplyOptions::force())
        .await?;
    assert_eq!(forced.outcome, ApplyOutcome::Configured);
    let data = forced.object.data.unwrap_or_default();
    assert_eq!(data.get("key").map(String::as_str), Some("ours"));
    // Same value from both managers is no conflict.
    assert_eq!(
        client.apply(&config_map("shared", "ours")).await?.outcome,
        ApplyOutcome::Unchanged
    );
    Ok(())
}

#[tokio::test]
async fn api_resources_lists_the_served_kinds() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let started = Instant::now();
    let resources = client.api_resources().await?;
    eprintln!(
        "api_resources: {} kinds in {:?}",
        resources.len(),
        started.elapsed()
    );
    let find = |name: &str| {
        resources
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} is served"))
    };
    let pods = find("pods");
    assert_eq!(
        (
            pods.api_version.as_str(),
            pods.kind.as_str(),
            pods.namespaced
        ),
        ("v1", "Pod", true)
    );
    assert_eq!(pods.short_names, ["po"]);
    assert!(pods.verbs.iter().any(|v| v == "list"));
    let deployments = find("deployments");
    assert_eq!(
        (
            deployments.api_version.as_str(),
            deployments.kind.as_str(),
            deployments.namespaced
        ),
        ("apps/v1", "Deployment", true)
    );
    assert_eq!(deployments.short_names, ["deploy"]);
    let services = find("services");
    assert_eq!(
        (services.kind.as_str(), services.namespaced),
        ("Service", true)
    );
    assert_eq!(services.short_names, ["svc"]);
    let namespaces = find("namespaces");
    assert!(!namespaces.namespaced);
    assert!(
        resources.iter().all(|r| !r.name.contains('/')),
        "no subresources"
    );
    // Core group first, like kubectl.
    assert_eq!(resources[0].group(), "");

    let table = ApiResourceInfo::table(&resources);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    );
    let pods_row = table
        .lines()
        .find(|l| l.starts_with("pods "))
        .expect("a pods row");
    assert_eq!(
        pods_row.split_whitespace().collect::<Vec<_>>(),
        ["pods", "po", "v1", "true", "Pod"]
    );
    Ok(())
}

#[tokio::test]
async fn waiting_for_a_pod_that_cannot_run_times_out_with_its_state() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    // No node matches, whether or not the cluster has one: the Pod stays Pending.
    client.apply(&pending_pod("stuck", "stuck")).await?;

    let started = Instant::now();
    let err = client
        .wait_pod_running("stuck", Duration::from_secs(2))
        .await
        .expect_err("it cannot run");
    let elapsed = started.elapsed();
    let Error::Timeout { what, state, .. } = &err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert!(what.contains(&format!("Pod {}/stuck", ns.name())), "{what}");
    assert!(state.contains("Pending"), "{state}");
    assert!(err.to_string().contains("Pending"), "{err}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    eprintln!("{err}");

    let err = client
        .wait_pod_ready("stuck", Duration::from_millis(500))
        .await
        .expect_err("not ready");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");

    // The generic wait sees the scheduler's verdict.
    let pod: Pod = client
        .wait_until("stuck", Duration::from_secs(20), |p: &Pod| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "PodScheduled" && c.status == "False")
                })
        })
        .await?;
    assert_eq!(table::pod_status(&pod), "Pending");

    // A Deployment without schedulable Pods never becomes available.
    let mut d = deployment("stuck", "stuck-d");
    if let Some(spec) = d.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        spec.node_selector =
            Some([("kubekit.dev/no-such-node".to_string(), "true".to_string())].into());
    }
    client.apply(&d).await?;
    // Once its Pod exists, the timeout tells that Pod's state too.
    client
        .wait_until("stuck", LONG, |d: &Deployment| {
            d.status.as_ref().and_then(|s| s.replicas) == Some(1)
        })
        .await?;
    let err = client
        .wait_deployment_available("stuck", Duration::from_secs(2))
        .await
        .expect_err("unavailable");
    let text = err.to_string();
    assert!(text.contains("Deployment"), "{text}");
    assert!(text.contains("unavailableReplicas=1"), "{text}");
    assert!(text.contains("; pods: stuck-"), "{text}");
    assert!(text.contains(": phase Pending"), "{text}");
    eprintln!("{err}");

    // Deleted meanwhile: the wait for deletion ends.
    client
        .delete::<Pod>("stuck", DeleteOptions::default())
        .await?;
    client
        .wait_deleted::<Pod>("stuck", Duration::from_secs(30))
        .await?;
    Ok(())
}

#[tokio::test]
async fn pods_on_a_node_run_or_say_why_not() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let client = ns.client()?;
    let nodes: Vec<k8s_openapi::api::core::v1::Node> = client.list(()).await?;
    if nodes.is_empty() {
        eprintln!("no node in this cluster: nothing can run, skipping");
        return Ok(());
    }
    let node_pod = |name: &str, image: &str| -> Pod {
        from_json(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "main", "image": image, "imagePullPolicy": "Never"}],
                     "terminationGracePeriodSeconds": 1}
        }))
    };

    let started = Instant::now();
    client
        .apply(&node_pod("web", "kubekit.local/pause:kubekit-1"))
        .await?;
    let running = client.wait_pod_running("web", LONG).await?;
    let ready = client.wait_pod_ready("web", LONG).await?;
    eprintln!("pod apply -> running {:?}", started.elapsed());
    assert_eq!(table::pod_status(&running), "Running");
    assert_eq!(table::pod_ready(&ready), "1/1");
    let wide = table::pods_wide(std::slice::from_ref(&ready));
    let row = wide.lines().nth(1).unwrap_or_default();
    let node = ready
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .expect("scheduled");
    let ip = ready
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .expect("an IP");
    assert!(
        row.contains(&node) && row.contains(&ip) && row.contains("Running"),
        "{wide}"
    );

    // The walkthrough's ErrImageNeverPull: the timeout says why.
    let image = "kubekit.local/not-there:1";
    client.apply(&node_pod("never", image)).await?;
    let waiting: Pod = client
        .wait_until("never", LONG, |p: &Pod| {
            table::pod_status(p) == "ErrImageNeverPull"
        })
        .await?;
    assert_eq!(table::pod_ready(&waiting), "0/1");
    let err = client
        .wait_pod_running("never", Duration::from_secs(1))
        .await
        .expect_err("it cannot run");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "ErrImageNeverPull: Container image \"{image}\" is not present with pull policy of Never"
        )),
        "{text}"
    );
    assert!(text.contains("phase Pending"), "{text}");
    eprintln!("{text}");

    // A Deployment of runnable Pods becomes available.
    let mut d = deployment("avail", "avail");
    if let Some(spec) = d.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        spec.containers[0].image = Some("kubekit.local/pause:kubekit-1".into());
        spec.containers[0].image_pull_policy = Some("Never".into());
        spec.node_selector = None;
    }
    let started = Instant::now();
    client.apply(&d).await?;
    client.wait_deployment_available("avail", LONG).await?;
    eprintln!("deployment apply -> available {:?}", started.elapsed());

    let started = Instant::now();
    client
        .delete::<Pod>("web", DeleteOptions::wait(LONG))
        .await?;
    eprintln!("running pod delete (waited) {:?}", started.elapsed());
    Ok(())
}
