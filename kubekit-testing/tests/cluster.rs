//! The shared cluster and per-test namespaces, against the real local control plane.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{Api, api::PostParams};
use kubekit_testing::{Cluster, TEST_LABEL, test_namespace};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A kube client of `cluster` (kubekit's own tests get kubekit's client from
/// `kubekit::testing`).
fn client(cluster: &Cluster) -> Result<kube::Client, kube::Error> {
    kube::Client::try_from(cluster.config().clone())
}

#[tokio::test]
async fn shared_cluster_serves_the_pinned_release() -> TestResult {
    let cluster = Cluster::shared().await?;
    let version = client(cluster)?.apiserver_version().await?;
    assert_eq!(
        version.git_version,
        kubekit_testing::assets::KUBERNETES_VERSION
    );
    // Asking again in the same process gives the same cluster.
    let again = Cluster::shared().await?;
    assert!(std::ptr::eq(cluster, again));
    Ok(())
}

#[tokio::test]
async fn namespace_is_ready_labelled_and_deleted_after_the_test() -> TestResult {
    let ns = test_namespace!().await?;
    let name = ns.name().to_string();
    // Long paths keep their readable end, cut at a word boundary.
    assert!(
        name.starts_with("is-ready-labelled-and-deleted-after-the-test-"),
        "{name}"
    );
    assert!(name.len() <= 63);

    let namespaces: Api<Namespace> = Api::all(client(ns.cluster())?);
    let got = namespaces.get(&name).await?;
    assert_eq!(
        got.metadata
            .labels
            .unwrap_or_default()
            .get(TEST_LABEL)
            .map(String::as_str),
        Some("true")
    );

    // Usable at once: a ConfigMap can be created in it.
    let cms: Api<ConfigMap> = Api::namespaced(client(ns.cluster())?, &name);
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("x".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm).await?;

    let client = client(ns.cluster())?;
    drop(ns);
    let namespaces: Api<Namespace> = Api::all(client);
    let after = namespaces.get_opt(&name).await?;
    // Deletion has begun (a namespace with content is Terminating before it is gone).
    assert!(
        after.is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
        "namespace {name} was not deleted"
    );
    Ok(())
}

#[tokio::test]
async fn namespace_of_a_failed_test_is_kept() -> TestResult {
    let cluster = Cluster::shared().await?;
    let client = client(cluster)?;
    // Run a "test" that panics while holding a namespace, on its own thread.
    let handle = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let ns = kubekit_testing::TestNamespace::create("cluster::a_failing_test")
                .await
                .expect("namespace");
            let name = ns.name().to_string();
            std::panic::panic_any(name);
        })
    });
    let payload = handle.join().expect_err("the thread panics");
    let name = payload
        .downcast_ref::<String>()
        .expect("namespace name")
        .clone();
    let namespaces: Api<Namespace> = Api::all(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kept = namespaces.get(&name).await?;
    assert!(
        kept.metadata.deletion_timestamp.is_none(),
        "namespace {name} of a failed test must be kept"
    );

    // Another run of the same test while the failed one's process still runs (here: this
    // process) keeps it: only a namespace whose process has ended is swept
    // (`tests/concurrent_runs.rs` shows both with real processes).
    let next = kubekit_testing::TestNamespace::create("cluster::a_failing_test").await?;
    let still = namespaces.get(&name).await?;
    assert!(still.metadata.deletion_timestamp.is_none());
    drop(next);
    namespaces.delete(&name, &Default::default()).await?;
    Ok(())
}

#[test]
fn namespace_names_are_dns_labels() {
    for path in [
        "a::b",
        "UPPER::Case_Name",
        "x".repeat(200).as_str(),
        "::",
        "t::名前",
    ] {
        let name = kubekit_testing::namespace_name(path);
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
        assert!(
            name.starts_with(|c: char| c.is_ascii_alphanumeric()) && !name.ends_with('-'),
            "{name}"
        );
    }
    assert_ne!(
        kubekit_testing::namespace_name("a::b"),
        kubekit_testing::namespace_name("a::b")
    );
}

#[tokio::test]
async fn a_failed_tests_hint_is_true_about_the_cluster() -> TestResult {
    let ns = kubekit_testing::test_namespace!().await?;
    let hint = ns.failure_hint();
    assert!(hint.contains(ns.name()), "{hint}");
    if ns.cluster().outlives_run() {
        assert!(hint.contains(&ns.inspect_command()), "{hint}");
    } else {
        // The cluster stops seconds after the run: no command that would fail by then, but
        // how to keep it.
        assert!(
            hint.contains("KUBEKIT_KEEP=1") && !hint.contains(&ns.inspect_command()),
            "{hint}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_restricted_config_acts_in_its_namespace_only() -> TestResult {
    let ns = test_namespace!().await?;
    let config = ns.restricted_config().await?;
    assert_eq!(config.default_namespace, ns.name());
    let debug = format!("{config:?}");
    let app = kube::Client::try_from(config)?;
    // In its namespace: it writes and reads.
    let maps: Api<ConfigMap> = Api::namespaced(app.clone(), ns.name());
    let map = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("app-state".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    maps.create(&PostParams::default(), &map).await?;
    maps.get("app-state").await?;
    // Elsewhere: refused, by RBAC.
    let forbidden = |r: Result<_, kube::Error>, what: &str| match r {
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(()),
        other => Err(format!("{what}: want 403, got {other:?}")),
    };
    forbidden(
        Api::<Namespace>::all(app.clone())
            .list(&Default::default())
            .await
            .map(drop),
        "listing namespaces",
    )?;
    forbidden(
        Api::<ConfigMap>::namespaced(app, "kube-system")
            .list(&Default::default())
            .await
            .map(drop),
        "reading kube-system",
    )?;
    // A second call reuses the account and its binding.
    ns.restricted_config().await?;
    assert!(!debug.contains("eyJ"), "a token in Debug output: {debug}");
    Ok(())
}
