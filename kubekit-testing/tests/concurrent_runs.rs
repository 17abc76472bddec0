//! Two runs of one test at the same time (two `cargo test` processes, two CI jobs on one
//! machine) keep each other's namespaces; what a finished run left is swept; a namespace of a
//! process on another host is not (issue 18). Each run is a real process of this test binary.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, PostParams},
};
use kubekit_testing::{Cluster, TestNamespace};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The test path every child run uses: they are runs of one test.
const PATH: &str = "concurrent_runs::one_test";

/// A run of the test: creates its namespace and a ConfigMap in it, says so, holds the
/// namespace for `KUBEKIT_CHILD_HOLD` seconds, then checks both are intact. With
/// `KUBEKIT_CHILD_FAIL=1` it fails right away instead, leaving its namespace (as a failed
/// test does).
#[tokio::test]
#[ignore = "a child of two_runs_of_one_test_keep_their_namespaces"]
async fn child_run() -> TestResult {
    let ns = TestNamespace::create(PATH).await?;
    let client = kube::Client::try_from(ns.cluster().config().clone())?;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let map = ConfigMap {
        metadata: ObjectMeta {
            name: Some("mine".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    maps.create(&PostParams::default(), &map).await?;
    println!("CHILD-NAMESPACE {}", ns.name());
    if std::env::var("KUBEKIT_CHILD_FAIL").is_ok_and(|v| v == "1") {
        panic!("this run fails on purpose and leaves its namespace");
    }
    let hold: u64 = std::env::var("KUBEKIT_CHILD_HOLD")?.parse()?;
    tokio::time::sleep(Duration::from_secs(hold)).await;
    let namespaces: Api<Namespace> = Api::all(client);
    let mine = namespaces.get(ns.name()).await?;
    assert!(
        mine.metadata.deletion_timestamp.is_none(),
        "namespace {} is being deleted while its test runs",
        ns.name()
    );
    maps.get("mine").await?;
    Ok(())
}

/// Starts a child run; returns it with the namespace it announced (read from its output).
fn start_child(env: &[(&str, &str)]) -> Result<(Child, String), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", "child_run", "--ignored", "--nocapture"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let namespace = loop {
        let line = lines
            .next()
            .ok_or("the child ended without announcing its namespace")??;
        if let Some(name) = line.strip_prefix("CHILD-NAMESPACE ") {
            break name.to_string();
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((child, namespace))
}

#[test]
fn two_runs_of_one_test_keep_their_namespaces() -> TestResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The cluster first, so the children do not race to start it.
    let namespaces: Api<Namespace> = rt.block_on(async {
        let cluster = Cluster::shared().await?;
        let client = kube::Client::try_from(cluster.config().clone())?;
        Ok::<_, Box<dyn std::error::Error>>(Api::all(client))
    })?;

    // An earlier run that failed: its process has ended, its namespace is left.
    let (mut failed, left) = start_child(&[("KUBEKIT_CHILD_FAIL", "1")])?;
    assert!(!failed.wait()?.success(), "the failing run passed");
    // A namespace of the same test owned by a process on another host.
    let elsewhere = format!("{left}-elsewhere");
    rt.block_on(async {
        let left_ns = namespaces.get(&left).await?;
        assert!(left_ns.metadata.deletion_timestamp.is_none());
        let mut annotations = left_ns.metadata.annotations.clone().unwrap_or_default();
        annotations.insert(
            kubekit_testing::OWNER_HOST_ANNOTATION.into(),
            "another-host".into(),
        );
        let other = Namespace {
            metadata: ObjectMeta {
                name: Some(elsewhere.clone()),
                labels: left_ns.metadata.labels.clone(),
                annotations: Some(annotations),
                ..Default::default()
            },
            ..Default::default()
        };
        namespaces.create(&PostParams::default(), &other).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;

    // Two runs at once: the second starts (and sweeps) while the first holds its namespace.
    let (mut first, first_ns) = start_child(&[("KUBEKIT_CHILD_HOLD", "8")])?;
    let (mut second, second_ns) = start_child(&[("KUBEKIT_CHILD_HOLD", "1")])?;
    assert_ne!(first_ns, second_ns);
    let second_ok = second.wait()?.success();
    let first_ok = first.wait()?.success();
    assert!(second_ok, "the second run failed");
    assert!(
        first_ok,
        "the first run failed: the second run's sweep took its namespace {first_ns}"
    );

    rt.block_on(async {
        let left_now = namespaces.get_opt(&left).await?;
        assert!(
            left_now.is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
            "the namespace {left} of the run that ended was not swept"
        );
        let other = namespaces.get(&elsewhere).await?;
        assert!(
            other.metadata.deletion_timestamp.is_none(),
            "the namespace {elsewhere} of a process on another host was swept"
        );
        namespaces
            .delete(&elsewhere, &DeleteParams::background())
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
