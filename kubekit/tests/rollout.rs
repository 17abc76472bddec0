//! Deployment rollouts on the real local cluster (control plane with the deployment,
//! replicaset and garbage collector controllers, and a node that runs the pods): rolling
//! updates, failures and undo, history, revisionHistoryLimit, scaling, pause / resume /
//! restart, and a Deployment's own pods.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Pod},
};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
    runtime::{WatchStreamExt, watcher},
};
use kubekit::testing::TestNamespaceExt;
use kubekit::{
    Client, Error, ObjectRef,
    builders::{PullPolicy, container, deployment, pod, pod_template},
    rollout::{RolloutError, RolloutStatus, Update},
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Ready, available, updated and total replicas.
type Counts = (i32, i32, i32, i32);

const WAIT: Duration = Duration::from_secs(90);

/// Deployment `name` with `replicas` nginx pods (container `web`), rolling update with
/// maxSurge 1 / maxUnavailable 0, pods that stop at once.
fn web(name: &str, replicas: i32, image: &str) -> Result<Deployment, Box<dyn std::error::Error>> {
    Ok(deployment()
        .name(name)
        .replicas(replicas)
        .template(
            pod_template()
                .label("app", name)
                .container(
                    container()
                        .name("web")
                        .image(image)
                        .pull_policy(PullPolicy::Never)
                        .build()?,
                )
                .termination_grace_period_seconds(0)
                .build(),
        )
        .rolling_update(1, 0)
        .build()?)
}

async fn setup() -> Result<
    (
        kubekit_testing::TestNamespace,
        Client,
        kubekit_testing::Images,
    ),
    Box<dyn std::error::Error>,
> {
    let ns = kubekit_testing::test_namespace!().await?;
    let images = kubekit_testing::images()?;
    let client = ns.client()?;
    Ok((ns, client, images))
}

fn image_of(pod: &Pod) -> Option<String> {
    pod.spec.as_ref()?.containers.first()?.image.clone()
}

fn env_of(d: &Deployment, name: &str) -> Option<String> {
    d.spec.as_ref()?.template.spec.as_ref()?.containers[0]
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == name)?
        .value
        .clone()
}

fn live(pods: Vec<Pod>) -> Vec<Pod> {
    pods.into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn rolling_update_keeps_the_desired_count_ready_and_ends_on_the_new_image() -> TestResult {
    let (_ns, client, images) = setup().await?;
    client.apply(&web("web", 3, &images.nginx)?).await?;
    let web = client.rollout("web");
    let first = web.wait(WAIT).await?;
    assert!(first.is_complete(), "{first}");
    assert_eq!((first.available, first.ready, first.total), (3, 3, 3));

    // An independent watch of the Deployment's status while the rollout runs.
    // (ready, available, updated, total) of each status the watch delivers.
    let seen: Arc<Mutex<Vec<Counts>>> = Arc::default();
    let monitor = {
        let seen = seen.clone();
        let api: Api<Deployment> = Api::namespaced(client.kube().clone(), client.namespace());
        tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default().fields("metadata.name=web"))
                .applied_objects()
                .boxed();
            while let Some(Ok(d)) = events.next().await {
                let s = RolloutStatus::of(&d);
                if let Ok(mut seen) = seen.lock() {
                    seen.push((s.ready, s.available, s.updated, s.total));
                }
            }
        })
    };

    let toolbox = images.toolbox.clone();
    web.update(
        Update::new()
            .image("web", &images.toolbox)
            .template(|t| {
                if let Some(c) = t.spec.as_mut().and_then(|s| s.containers.first_mut()) {
                    c.command = Some(vec!["sleep".into(), "3600".into()]);
                }
            })
            .change_cause("nginx -> toolbox"),
    )
    .await?;
    let mut progress: Vec<String> = Vec::new();
    let done = web
        .wait_with(WAIT, |status| progress.push(status.to_string()))
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    monitor.abort();

    assert!(done.is_complete());
    assert_eq!(
        progress.last().map(String::as_str),
        Some("deployment \"web\" successfully rolled out")
    );
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("Waiting for deployment")),
        "no progress reported: {progress:?}"
    );
    let seen = seen.lock().map_err(|e| e.to_string())?.clone();
    assert!(
        seen.iter()
            .any(|&(_, _, updated, total)| total > 3 || updated < 3),
        "the watch saw no rollout: {seen:?}"
    );
    for &(ready, available, _, _) in &seen {
        assert!(
            ready >= 3 && available >= 3,
            "ready/available dropped below 3 during the rollout: {seen:?}"
        );
    }

    let pods = live(web.pods().await?);
    assert_eq!(pods.len(), 3, "{pods:?}");
    for pod in &pods {
        assert_eq!(image_of(pod).as_deref(), Some(toolbox.as_str()));
    }
    let history = web.history().await?;
    assert_eq!(history.numbers(), [1, 2]);
    assert_eq!(
        history.current().and_then(|r| r.change_cause.as_deref()),
        Some("nginx -> toolbox")
    );
    Ok(())
}

#[tokio::test]
async fn missing_image_fails_with_the_reason_and_undo_brings_the_old_version_back() -> TestResult {
    let (_ns, client, images) = setup().await?;
    let mut d = web("web", 2, &images.nginx)?;
    if let Some(spec) = d.spec.as_mut() {
        spec.progress_deadline_seconds = Some(10);
    }
    client.apply(&d).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;

    web.set_image("web", "kubekit.local/missing:1").await?;
    // Fails at once: the new pod waits with ErrImageNeverPull, which never resolves.
    let started = Instant::now();
    let err = web
        .wait(WAIT)
        .await
        .err()
        .ok_or("the rollout did not fail")?;
    let Error::Rollout(RolloutError::Failed {
        deployment,
        reason,
        pods,
    }) = &err
    else {
        return Err(format!("expected Failed, got {err}").into());
    };
    assert_eq!(
        **deployment,
        ObjectRef::new("Deployment", Some(client.namespace()), "web")
    );
    assert_eq!(err.object().as_ref(), Some(&**deployment));
    assert!(reason.contains("ErrImageNeverPull"), "{err}");
    assert!(
        pods.iter()
            .any(|p| p.reason == "ErrImageNeverPull" && p.container.as_deref() == Some("web")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    println!("fail fast: {err}");

    // Without fail-fast reasons the controller's progress deadline (10 s) ends it.
    let err = web
        .clone()
        .fail_fast(Vec::<String>::new())
        .wait(WAIT)
        .await
        .err()
        .ok_or("the rollout did not fail")?;
    match &err {
        Error::Rollout(RolloutError::Failed { reason, pods, .. }) => {
            assert!(reason.starts_with("ProgressDeadlineExceeded"), "{err}");
            assert!(
                pods.iter().any(|p| p.reason == "ErrImageNeverPull"),
                "{err}"
            );
        }
        other => return Err(format!("expected Failed, got {other}").into()),
    }
    println!("deadline: {err}");
    // The old pods kept serving (maxUnavailable 0).
    assert_eq!(web.status().await?.available, 2);

    let undone = web.undo().await?;
    assert_eq!((undone.from, undone.to, undone.changed), (Some(2), 1, true));
    let status = web.wait(WAIT).await?;
    assert_eq!((status.available, status.updated, status.total), (2, 2, 2));
    let pods = live(web.pods().await?);
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter()
            .all(|p| image_of(p).as_deref() == Some(images.nginx.as_str()))
    );
    Ok(())
}

#[tokio::test]
async fn history_lists_revisions_in_order_and_undo_goes_to_a_given_one() -> TestResult {
    let (_ns, client, images) = setup().await?;
    let mut d = web("web", 1, &images.nginx)?;
    d.metadata.annotations = Some(
        [(
            kubekit::rollout::CHANGE_CAUSE_ANNOTATION.to_string(),
            "v1".to_string(),
        )]
        .into(),
    );
    client.apply(&d).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;
    for v in ["2", "3"] {
        web.update(
            Update::new()
                .env("web", "VERSION", v)
                .change_cause(format!("v{v}")),
        )
        .await?;
        web.wait(WAIT).await?;
    }
    let history = web.history().await?;
    println!("{history}");
    assert_eq!(history.numbers(), [1, 2, 3]);
    let causes: Vec<Option<&str>> = history
        .revisions
        .iter()
        .map(|r| r.change_cause.as_deref())
        .collect();
    assert_eq!(causes, [Some("v1"), Some("v2"), Some("v3")]);
    assert_eq!(history.current().map(|r| r.number), Some(3));
    assert_eq!(history.previous().map(|r| r.number), Some(2));
    assert!(
        history
            .revisions
            .iter()
            .all(|r| r.image("web") == Some(images.nginx.as_str()))
    );
    let table = history.table();
    assert!(table.starts_with("REVISION"), "{table}");
    assert!(table.contains("v3 (current)"), "{table}");

    // Back to revision 1: it becomes revision 4, with its change cause.
    let undone = web.undo_to(1).await?;
    assert_eq!((undone.from, undone.to, undone.changed), (Some(3), 1, true));
    web.wait(WAIT).await?;
    assert_eq!(env_of(&web.get().await?, "VERSION"), None);
    let history = web.history().await?;
    assert_eq!(history.numbers(), [2, 3, 4]);
    assert_eq!(
        history.current().and_then(|r| r.change_cause.as_deref()),
        Some("v1")
    );

    // A revision that is not there is named, with the ones that are.
    let err = web
        .undo_to(1)
        .await
        .err()
        .ok_or("undo to 1 again succeeded")?;
    assert!(
        matches!(&err, Error::Rollout(RolloutError::NoSuchRevision { revision: 1, available, .. }) if available == &[2, 3, 4]),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("no revision 1 (its revisions: 2, 3, 4)"),
        "{err}"
    );

    // Undo with no number goes to the previous revision (3).
    web.undo().await?;
    web.wait(WAIT).await?;
    assert_eq!(env_of(&web.get().await?, "VERSION").as_deref(), Some("3"));
    assert_eq!(web.history().await?.numbers(), [2, 4, 5]);
    Ok(())
}

#[tokio::test]
async fn revision_history_limit_keeps_that_many_old_replica_sets() -> TestResult {
    let (_ns, client, images) = setup().await?;
    let mut d = web("web", 1, &images.nginx)?;
    if let Some(spec) = d.spec.as_mut() {
        spec.revision_history_limit = Some(3);
    }
    client.apply(&d).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;
    for v in 1..=5 {
        web.update(Update::new().env("web", "VERSION", v.to_string()))
            .await?;
        web.wait(WAIT).await?;
    }
    // The controller removes the oldest ReplicaSets after the rollout completes.
    let deadline = Instant::now() + Duration::from_secs(30);
    let numbers = loop {
        let numbers = web.history().await?.numbers();
        if numbers.len() == 4 || Instant::now() > deadline {
            break numbers;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        numbers,
        [3, 4, 5, 6],
        "three old revisions and the current one"
    );
    assert_eq!(web.replica_sets().await?.len(), 4);
    Ok(())
}

#[tokio::test]
async fn scale_down_waits_until_the_surplus_pods_are_gone() -> TestResult {
    let (_ns, client, images) = setup().await?;
    // `sleep` as the container's first process ignores SIGTERM: a stopped pod stays
    // Terminating for its whole grace period (3 s), as slow-stopping servers do.
    let slow = deployment()
        .name("slow")
        .replicas(3)
        .template(
            pod_template()
                .label("app", "slow")
                .container(
                    container()
                        .name("main")
                        .image(&images.toolbox)
                        .pull_policy(PullPolicy::Never)
                        .command(["sleep", "3600"])
                        .build()?,
                )
                .termination_grace_period_seconds(3)
                .build(),
        )
        .build()?;
    client.apply(&slow).await?;
    let rollout = client.rollout("slow");
    rollout.wait(WAIT).await?;
    rollout.scale_and_wait(1, WAIT).await?;
    // What the doc promises: exactly one pod, and no others left (none Terminating).
    let pods = rollout.pods().await?;
    let terminating: Vec<_> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert!(terminating.is_empty(), "still terminating: {terminating:?}");
    assert_eq!(pods.len(), 1);
    Ok(())
}

#[tokio::test]
async fn scale_waits_until_the_new_count_is_ready() -> TestResult {
    let (_ns, client, images) = setup().await?;
    client.apply(&web("web", 3, &images.nginx)?).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;
    for n in [5, 1] {
        let started = Instant::now();
        let status = web.scale_and_wait(n, WAIT).await?;
        println!("scaled to {n} in {:?}", started.elapsed());
        assert_eq!(
            (
                status.desired,
                status.total,
                status.updated,
                status.available
            ),
            (n, n, n, n)
        );
        let pods = live(web.pods().await?);
        assert_eq!(pods.len(), n as usize);
        assert!(pods.iter().all(is_ready), "{pods:?}");
    }
    Ok(())
}

#[tokio::test]
async fn pods_of_a_deployment_are_found_by_owner_not_by_label() -> TestResult {
    let (_ns, client, images) = setup().await?;
    client.apply(&web("web", 2, &images.nginx)?).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;

    // A pod with the same labels that another controller owns: the ReplicaSet does not adopt
    // it, and it is not the Deployment's.
    let owner = client
        .apply(&ConfigMap {
            metadata: ObjectMeta {
                name: Some("owner".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .await?
        .object;
    let mut stray = pod()
        .name("stray")
        .label("app", "web")
        .container(
            container()
                .name("web")
                .image(&images.nginx)
                .pull_policy(PullPolicy::Never)
                .build()?,
        )
        .termination_grace_period_seconds(0)
        .build()?;
    stray.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "owner".into(),
            uid: owner.metadata.uid.clone().ok_or("no uid")?,
            controller: Some(true),
            ..Default::default()
        },
    ]);
    Api::<Pod>::namespaced(client.kube().clone(), client.namespace())
        .create(&PostParams::default(), &stray)
        .await?;

    let by_label: Vec<Pod> = client.list("app=web").await?;
    assert_eq!(by_label.len(), 3);
    let pods = web.pods().await?;
    let names: Vec<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"stray"), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("web-")), "{names:?}");
    Ok(())
}

#[tokio::test]
async fn pause_holds_changes_resume_rolls_them_out_and_restart_replaces_pods() -> TestResult {
    let (_ns, client, images) = setup().await?;
    client.apply(&web("web", 2, &images.nginx)?).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;
    let before: Vec<String> = live(web.pods().await?)
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();

    web.pause().await?;
    web.update(Update::new().env("web", "MODE", "paused"))
        .await?;
    let err = web
        .wait(WAIT)
        .await
        .err()
        .ok_or("a paused rollout finished")?;
    assert!(
        matches!(err, Error::Rollout(RolloutError::Paused { .. })),
        "{err}"
    );
    assert_eq!(
        web.history().await?.numbers(),
        [1],
        "no rollout while paused"
    );
    let err = web
        .restart()
        .await
        .err()
        .ok_or("restart of a paused deployment")?;
    assert!(
        matches!(err, Error::Rollout(RolloutError::Paused { .. })),
        "{err}"
    );

    web.resume().await?;
    web.wait(WAIT).await?;
    assert_eq!(web.history().await?.numbers(), [1, 2]);

    web.restart().await?;
    web.wait(WAIT).await?;
    assert_eq!(web.history().await?.numbers(), [1, 2, 3]);
    let after: Vec<String> = live(web.pods().await?)
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|n| !before.contains(n)),
        "{before:?} {after:?}"
    );

    // Naming a container that does not exist changes nothing.
    let err = web
        .set_image("db", "x")
        .await
        .err()
        .ok_or("set_image of a missing container")?;
    assert!(
        err.to_string()
            .ends_with("has no container \"db\" (its containers: web)"),
        "{err}"
    );
    Ok(())
}

/// The time from an update to "rollout complete" as seen by `Rollout::wait` and by
/// `kubectl rollout status`, on the same Deployment, alternating. Each round also records,
/// from an independent watch, when the Deployment's status first became complete, so the
/// detection lag (tool returned − status complete) is separated from the rollout itself.
///
/// `cargo test -p kubekit --test rollout -- --ignored --nocapture bench_`; kubectl from
/// `$KUBECTL`, else `kubectl` on the PATH.
#[tokio::test]
#[ignore = "benchmark; run with --ignored --nocapture"]
async fn bench_wait_against_kubectl_rollout_status() -> TestResult {
    const ROUNDS: usize = 10;
    let (ns, client, images) = setup().await?;
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let kubeconfig = ns
        .cluster()
        .kubeconfig()
        .ok_or("the cluster has no kubeconfig file")?
        .to_path_buf();
    client.apply(&web("web", 3, &images.nginx)?).await?;
    let web = client.rollout("web");
    web.wait(WAIT).await?;

    let kubectl_status = || {
        let mut cmd = tokio::process::Command::new(&kubectl);
        cmd.arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "-n",
                client.namespace(),
                "rollout",
                "status",
                "deployment/web",
            ])
            .args(["--timeout=120s"]);
        cmd
    };

    // Already complete: the fixed cost of asking.
    let mut idle: Vec<(bool, Duration)> = Vec::new();
    for round in 0..ROUNDS {
        let kubekit = round % 2 == 0;
        let t0 = Instant::now();
        if kubekit {
            web.wait(WAIT).await?;
        } else {
            let out = kubectl_status().output().await?;
            assert!(out.status.success(), "{out:?}");
        }
        idle.push((kubekit, t0.elapsed()));
    }

    let mut rows: Vec<(bool, Duration, Duration)> = Vec::new();
    for round in 0..ROUNDS {
        let kubekit = round % 2 == 0;
        // An independent watch records when the status first is complete for the update.
        let completed: Arc<Mutex<Vec<(Instant, RolloutStatus)>>> = Arc::default();
        let monitor = {
            let completed = completed.clone();
            let api: Api<Deployment> = Api::namespaced(client.kube().clone(), client.namespace());
            tokio::spawn(async move {
                let mut events =
                    watcher(api, watcher::Config::default().fields("metadata.name=web"))
                        .applied_objects()
                        .boxed();
                while let Some(Ok(d)) = events.next().await {
                    let at = Instant::now();
                    if let Ok(mut c) = completed.lock() {
                        c.push((at, RolloutStatus::of(&d)));
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t0 = Instant::now();
        let written = web
            .update(Update::new().env("web", "ROUND", round.to_string()))
            .await?;
        let generation = written.metadata.generation.unwrap_or(0);
        if kubekit {
            web.wait(WAIT).await?;
        } else {
            let out = kubectl_status().output().await?;
            assert!(out.status.success(), "{out:?}");
        }
        let done = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        monitor.abort();
        let complete_at = completed
            .lock()
            .map_err(|e| e.to_string())?
            .iter()
            .find(|(_, s)| s.generation >= generation && s.is_complete())
            .map(|(at, _)| *at)
            .ok_or("the watch never saw the rollout complete")?;
        rows.push((
            kubekit,
            done - t0,
            done.saturating_duration_since(complete_at),
        ));
    }

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    println!("round  tool     update->done ms  lag after complete ms");
    for (i, (kubekit, total, lag)) in rows.iter().enumerate() {
        let tool = if *kubekit { "kubekit" } else { "kubectl" };
        println!(
            "{i:>5}  {tool:<7}  {:>15.0}  {:>21.1}",
            ms(*total),
            ms(*lag)
        );
    }
    for (kubekit, tool) in [(true, "kubekit wait"), (false, "kubectl rollout status")] {
        let pick = |f: fn(&(bool, Duration, Duration)) -> Duration| {
            median(
                rows.iter()
                    .filter(|r| r.0 == kubekit)
                    .map(|r| ms(f(r)))
                    .collect(),
            )
        };
        let idle_ms = median(
            idle.iter()
                .filter(|r| r.0 == kubekit)
                .map(|r| ms(r.1))
                .collect(),
        );
        println!(
            "{tool}: median update->complete {:.0} ms, median lag after complete {:.1} ms, \
             median on an already complete deployment {:.1} ms",
            pick(|r| r.1),
            pick(|r| r.2),
            idle_ms
        );
    }
    Ok(())
}
