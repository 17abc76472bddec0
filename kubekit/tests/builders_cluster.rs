//! The builders of a whole application's kinds against a real cluster: each built object is
//! applied with kubekit's client, read back holding every value it was built with (the server
//! only adds defaults), waited for by its kind's readiness rule and deleted. A Job completes
//! with its ConfigMap's and Secret's values in its pod's environment (and one that fails says
//! why); a CronJob fires; a StatefulSet's pods come up with their own bound claims and find
//! each other through the headless Service made for it; a DaemonSet runs on the node; a claim
//! binds when a pod mounts it.

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::{DaemonSet, StatefulSet},
    batch::v1::{CronJob, Job},
    core::v1::{ConfigMap, Container, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount},
};
use kubekit::{
    Client, Error,
    builders::{
        ContainerPort, PullPolicy, config_map, container, cron_job, daemon_set,
        headless_service_for, job, persistent_volume_claim, pod, pod_template, secret,
        service_account, stateful_set, volume_from,
    },
    client::{ApiObject, DeleteOptions},
    exec::ExecOptions,
    kinds::Kind,
    testing::{Component, TestNamespace},
};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const START: Duration = Duration::from_secs(90);

fn toolbox() -> String {
    kubekit_testing::images()
        .expect("the node's images are built")
        .toolbox
}

/// A container of the toolbox image (never pulled) running `script`.
fn sh(name: &str, script: &str) -> Result<Container, kubekit::builders::ValidationError> {
    container()
        .name(name)
        .image(toolbox())
        .pull_policy(PullPolicy::Never)
        .command(["sh", "-c", script])
        .build()
}

/// Checks that every field of `built` is in `read` with the same value: what the server
/// returned differs only by what it added (defaults, status, metadata it owns, list entries
/// admission adds).
fn kept(built: &Value, read: &Value, path: &str) -> Result<(), String> {
    match (built, read) {
        (Value::Object(b), Value::Object(r)) => {
            for (key, value) in b {
                let Some(found) = r.get(key) else {
                    return Err(format!("{path}.{key} is missing from the object read back"));
                };
                kept(value, found, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        // Admission may add entries (the ServiceAccount token's volume and mount): each
        // built entry must be there, in order.
        (Value::Array(b), Value::Array(r)) => {
            let mut rest = r.iter();
            for (i, item) in b.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                if !rest.any(|candidate| kept(item, candidate, &item_path).is_ok()) {
                    return Err(format!("{item_path}: built {item}, not in {read}"));
                }
            }
            Ok(())
        }
        _ if built == read => Ok(()),
        _ => Err(format!("{path}: built {built}, read back {read}")),
    }
}

/// Applies `object`, reads it back and checks it holds every built value.
async fn apply_and_read<K: Kind + ApiObject>(client: &Client, object: &K) -> TestResult {
    let name = object.meta().name.clone().ok_or("unnamed")?;
    client.apply(object).await?;
    let read: K = client.get(&name).await?;
    kept(
        &serde_json::to_value(object)?,
        &serde_json::to_value(&read)?,
        <K as k8s_openapi::Resource>::KIND,
    )?;
    Ok(())
}

async fn gone<K: ApiObject>(client: &Client, name: &str) -> TestResult {
    client.delete::<K>(name, DeleteOptions::wait(START)).await?;
    assert!(
        client.get_opt::<K>(name).await?.is_none(),
        "{name} is still there"
    );
    Ok(())
}

#[kubekit::test]
async fn a_built_job_completes_with_its_config_and_secret(client: Client) -> TestResult {
    let settings = config_map()
        .name("settings")
        .data("GREETING", "hello")
        .build()?;
    let db = secret()
        .name("db")
        .string_data("password", "s3cr3t")
        .build()?;
    let runner = service_account().name("runner").build()?;
    let count = job()
        .name("count")
        .backoff_limit(0)
        .ttl_seconds_after_finished(600)
        .template(
            pod_template()
                .service_account_from(&runner)
                .termination_grace_period_seconds(0)
                .container(
                    container()
                        .name("main")
                        .image(toolbox())
                        .pull_policy(PullPolicy::Never)
                        .env_from(&settings)
                        .env_value_from("PASSWORD", &db, "password")
                        .command(["sh", "-c", "echo $GREETING $PASSWORD"])
                        .build()?,
                )
                .build(),
        )
        .build()?;
    apply_and_read(&client, &settings).await?;
    apply_and_read(&client, &db).await?;
    apply_and_read(&client, &runner).await?;
    apply_and_read(&client, &count).await?;

    let done: Job = client.wait_ready("count", START).await?;
    assert_eq!(done.status.and_then(|s| s.succeeded), Some(1));
    let pods: Vec<Pod> = client.list(("job-name", "count")).await?;
    assert_eq!(pods.len(), 1);
    let spec = pods[0].spec.as_ref().ok_or("no spec")?;
    assert_eq!(spec.service_account_name.as_deref(), Some("runner"));
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    let name = pods[0].metadata.name.as_deref().ok_or("no name")?;
    assert_eq!(
        client.logs(name, &Default::default()).await?,
        "hello s3cr3t\n"
    );

    gone::<Job>(&client, "count").await?;
    gone::<ServiceAccount>(&client, "runner").await?;
    gone::<Secret>(&client, "db").await?;
    gone::<ConfigMap>(&client, "settings").await?;
    Ok(())
}

#[kubekit::test]
async fn a_failing_built_job_says_why(client: Client) -> TestResult {
    let fail = job()
        .name("fail")
        .backoff_limit(0)
        .template(
            pod_template()
                .termination_grace_period_seconds(0)
                .container(sh("main", "exit 3")?)
                .build(),
        )
        .build()?;
    apply_and_read(&client, &fail).await?;
    let err = client
        .wait_ready::<Job>("fail", START)
        .await
        .expect_err("the Job fails");
    match &err {
        Error::Unreachable { state, .. } => {
            assert!(state.starts_with("BackoffLimitExceeded"), "{err}");
        }
        other => return Err(format!("expected Unreachable, got {other}").into()),
    }
    gone::<Job>(&client, "fail").await
}

#[kubekit::test]
async fn a_built_cron_job_fires(client: Client) -> TestResult {
    let tick = cron_job()
        .name("tick")
        .schedule("* * * * *")
        .time_zone("Etc/UTC")
        .successful_jobs_history_limit(1)
        .template(
            pod_template()
                .termination_grace_period_seconds(0)
                .container(sh("main", "echo tick")?)
                .build(),
        )
        .build()?;
    apply_and_read(&client, &tick).await?;
    // Ready once it exists; it fires at the next minute.
    client.wait_ready::<CronJob>("tick", START).await?;
    let fired = client
        .wait_until("tick", Duration::from_secs(100), |c: &CronJob| {
            c.status
                .as_ref()
                .is_some_and(|s| s.last_schedule_time.is_some())
        })
        .await?;
    let uid = fired.metadata.uid.ok_or("no uid")?;
    let jobs: Vec<Job> = client.list(()).await?;
    let owned: Vec<&Job> = jobs
        .iter()
        .filter(|j| {
            j.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        })
        .collect();
    let first = owned.first().ok_or("no Job owned by the CronJob")?;
    let name = first.metadata.name.clone().ok_or("no name")?;
    let done: Job = client.wait_ready(&name, START).await?;
    assert_eq!(
        done.spec
            .and_then(|s| s.template.spec)
            .and_then(|s| s.restart_policy)
            .as_deref(),
        Some("Never")
    );
    gone::<CronJob>(&client, "tick").await
}

#[kubekit::test]
async fn a_built_stateful_set_comes_up_with_bound_claims(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    ns.require(Component::Storage).await?;
    ns.require(Component::Dns).await?;
    let db = stateful_set()
        .name("db")
        .replicas(2)
        .template(
            pod_template()
                .label("app", "db")
                .termination_grace_period_seconds(0)
                .container(
                    container()
                        .name("main")
                        .image(toolbox())
                        .pull_policy(PullPolicy::Never)
                        .port(ContainerPort::named("peer", 7000))
                        .mount("data", "/data")
                        .command(["sh", "-c", "hostname > /data/owner && sleep 3600"])
                        .build()?,
                )
                .build(),
        )
        .volume_claim_template(
            persistent_volume_claim()
                .name("data")
                .storage("16Mi")
                .build()?,
        )
        .build()?;
    let peers = headless_service_for(&db).port(7000, "peer").build()?;
    apply_and_read(&client, &peers).await?;
    apply_and_read(&client, &db).await?;

    let set: StatefulSet = client.wait_ready("db", START).await?;
    assert_eq!(set.status.and_then(|s| s.ready_replicas), Some(2));
    for pod in ["db-0", "db-1"] {
        let claim: PersistentVolumeClaim = client.wait_ready(&format!("data-{pod}"), START).await?;
        assert_eq!(claim.status.and_then(|s| s.phase).as_deref(), Some("Bound"));
        let out = client
            .exec_sh(pod, "cat /data/owner", ExecOptions::new())
            .await?;
        assert_eq!(
            (out.code, out.stdout_str()),
            (0, format!("{pod}\n").as_str().into())
        );
    }
    // The headless Service gives each pod its DNS name: db-1 finds db-0 by it.
    let lookup = format!("nslookup db-0.db.{}.svc.cluster.local", client.namespace());
    let out = client.exec_sh("db-1", &lookup, ExecOptions::new()).await?;
    assert_eq!(out.code, 0, "{}{}", out.stdout_str(), out.stderr_str());

    gone::<StatefulSet>(&client, "db").await?;
    gone::<Service>(&client, "db").await?;
    // The claims outlive the StatefulSet (its retention policy's default) until deleted.
    for pod in ["db-0", "db-1"] {
        gone::<PersistentVolumeClaim>(&client, &format!("data-{pod}")).await?;
    }
    Ok(())
}

#[kubekit::test]
async fn a_built_daemon_set_runs_on_the_node(client: Client) -> TestResult {
    let agent = daemon_set()
        .name("agent")
        .template(
            pod_template()
                .label("app", "agent")
                .termination_grace_period_seconds(0)
                .container(sh("main", "sleep 3600")?)
                .build(),
        )
        .build()?;
    apply_and_read(&client, &agent).await?;
    let set: DaemonSet = client.wait_ready("agent", START).await?;
    let status = set.status.ok_or("no status")?;
    assert!(status.desired_number_scheduled >= 1);
    assert_eq!(status.number_ready, status.desired_number_scheduled);
    let pods: Vec<Pod> = client.list(("app", "agent")).await?;
    assert_eq!(pods.len() as i32, status.desired_number_scheduled);
    gone::<DaemonSet>(&client, "agent").await
}

#[kubekit::test]
async fn a_built_claim_binds_for_the_pod_that_mounts_it(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    ns.require(Component::Storage).await?;
    let uploads = persistent_volume_claim()
        .name("uploads")
        .storage("16Mi")
        .build()?;
    let writer = pod()
        .name("writer")
        .termination_grace_period_seconds(0)
        .container(
            container()
                .name("main")
                .image(toolbox())
                .pull_policy(PullPolicy::Never)
                .mount("data", "/data")
                .command(["sleep", "3600"])
                .build()?,
        )
        .volume(volume_from("data", &uploads))
        .build()?;
    apply_and_read(&client, &uploads).await?;
    apply_and_read(&client, &writer).await?;
    client.wait_pod_ready("writer", START).await?;
    let bound: PersistentVolumeClaim = client.wait_ready("uploads", START).await?;
    assert!(bound.spec.and_then(|s| s.volume_name).is_some());
    let out = client
        .exec_sh(
            "writer",
            "echo kept > /data/file && cat /data/file",
            ExecOptions::new(),
        )
        .await?;
    assert_eq!((out.code, out.stdout_str()), (0, "kept\n".into()));
    gone::<Pod>(&client, "writer").await?;
    gone::<PersistentVolumeClaim>(&client, "uploads").await
}
