//! Tests that explain their failures and tests of resilience (issue 16): objects read back
//! from the cluster as snapshots that hold across runs and providers, and faults on demand
//! with the cluster's reaction to each. The failure report itself is tested in
//! `macro_test.rs` (a deliberately failing `#[kubekit::test]`).

use std::time::Duration;

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod, discovery::v1::EndpointSlice};
use kubekit::{
    Client,
    client::Labels,
    testing::{TestNamespace, faults},
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(90);

fn images() -> kubekit_testing::Images {
    kubekit_testing::images().expect("the node's images are built")
}

/// Deployment `name` of `replicas` nginx pods whose readiness follows
/// [`faults::READY_FILE`], and its Service.
fn web(name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: web
        image: {image}
        imagePullPolicy: Never
        command: [sh, -c, 'touch {ready} && exec nginx -g \"daemon off;\"']
        ports: [{{name: http, containerPort: 80}}]
        readinessProbe:
          exec: {{command: [test, -f, {ready}]}}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: http}}]
",
        image = images().nginx,
        ready = faults::READY_FILE,
    )
}

async fn pods(client: &Client, app: &str) -> Result<Vec<Pod>, kubekit::Error> {
    client.list(("app", app)).await
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

#[kubekit::test]
async fn a_deployment_read_back_matches_its_snapshot(client: Client) -> TestResult {
    client.apply_manifest(&web("web", 2)).await?;
    client.wait_deployment_available("web", WAIT).await?;
    // Until the status has settled on the rolled-out state.
    let deployment: Deployment = client
        .wait_until("web", WAIT, |d: &Deployment| {
            d.status.as_ref().is_some_and(|s| {
                s.ready_replicas == Some(2)
                    && s.updated_replicas == Some(2)
                    && s.conditions.iter().flatten().any(|c| {
                        c.type_ == "Progressing"
                            && c.reason.as_deref() == Some("NewReplicaSetAvailable")
                    })
            })
        })
        .await?;
    kubekit::assert_object_snapshot!("deployment_read_back", deployment);
    let mut pods = pods(&client, "web").await?;
    pods.retain(|p| p.metadata.deletion_timestamp.is_none());
    kubekit::assert_objects_snapshot!("deployment_pods_read_back", pods);
    Ok(())
}

#[kubekit::test]
async fn a_killed_container_is_restarted(client: Client, ns: &TestNamespace) -> TestResult {
    client.apply_manifest(&web("web", 1)).await?;
    client.wait_deployment_available("web", WAIT).await?;
    let pod = name(&pods(&client, "web").await?[0]);
    let restarted = faults::kill_container(&client, ns.cluster(), &pod, "web", WAIT).await?;
    let status = &restarted
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .ok_or("container statuses")?[0];
    assert_eq!(status.restart_count, 1);
    let last = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .ok_or("a last state")?;
    // Killed by SIGKILL: 128 + 9.
    assert_eq!(last.exit_code, 137, "{last:?}");
    Ok(())
}

#[kubekit::test]
async fn a_deleted_pod_is_replaced_by_its_controller(client: Client) -> TestResult {
    client.apply_manifest(&web("web", 1)).await?;
    client.wait_deployment_available("web", WAIT).await?;
    let old = pods(&client, "web").await?.remove(0);
    let new = faults::delete_pod(&client, &name(&old), WAIT).await?;
    assert_ne!(name(&new), name(&old));
    assert!(client.get_opt::<Pod>(&name(&old)).await?.is_none());
    let owner = |p: &Pod| {
        p.metadata
            .owner_references
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.uid)
            .collect::<Vec<_>>()
    };
    assert_eq!(owner(&new), owner(&old));
    // A pod without a controller is refused: nothing would replace it.
    client
        .apply_manifest(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: lonely}}\nspec: {{containers: [{{name: main, \
             image: {}, imagePullPolicy: Never, command: [sleep, '3600']}}]}}\n",
            images().toolbox
        ))
        .await?;
    let err = faults::delete_pod(&client, "lonely", WAIT)
        .await
        .expect_err("no controller");
    assert!(err.to_string().contains("no controller"), "{err}");
    Ok(())
}

/// Whether the Service `web`'s endpoint for `pod` is ready.
async fn endpoint_ready(client: &Client, pod: &str) -> Result<Option<bool>, kubekit::Error> {
    let slices: Vec<EndpointSlice> = client
        .list(Labels::from(("kubernetes.io/service-name", "web")))
        .await?;
    Ok(slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .find(|e| {
            e.target_ref
                .as_ref()
                .is_some_and(|t| t.name.as_deref() == Some(pod))
        })
        .map(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false)))
}

async fn wait_endpoint(client: &Client, pod: &str, ready: bool) -> TestResult {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let now = endpoint_ready(client, pod).await?;
        if now == Some(ready) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("endpoint of {pod}: want ready={ready}, have {now:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[kubekit::test]
async fn an_unready_pod_leaves_its_service_and_comes_back(client: Client) -> TestResult {
    client.apply_manifest(&web("web", 1)).await?;
    client.wait_deployment_available("web", WAIT).await?;
    let pod = name(&pods(&client, "web").await?[0]);
    wait_endpoint(&client, &pod, true).await?;

    let unready = faults::set_ready(&client, &pod, "web", false, WAIT).await?;
    assert!(
        kubekit::table::pod_ready(&unready) == "0/1",
        "{}",
        kubekit::table::pod_ready(&unready)
    );
    wait_endpoint(&client, &pod, false).await?;

    faults::set_ready(&client, &pod, "web", true, WAIT).await?;
    wait_endpoint(&client, &pod, true).await
}
