//! Deploying sets of objects on a real cluster: apply as an ApplySet (KEP-3659) and prune
//! exactly what left the set, interoperating with kubectl v1.37 both ways; diff; a failure in
//! the middle of an apply; apply_all / delete_objects; waiting for a whole set.

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kubekit::{
    Client, Error,
    client::{
        APPLYSET_GROUP_KINDS_ANNOTATION, APPLYSET_ID_LABEL, APPLYSET_PART_OF_LABEL,
        APPLYSET_TOOLING_ANNOTATION, ApplyOptions, ApplySet, Change, DeleteOptions,
    },
    manifest::{Object, from_yaml},
    testing::TestNamespace,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const READY: Duration = Duration::from_secs(90);

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, labels: {{app: web}}}}\n\
         data: {{value: {value:?}}}\n---\n"
    )
}

fn web(image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, labels: {{app: web}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{{name: web, image: {image}, imagePullPolicy: Never, ports: [{{containerPort: 80}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, labels: {{app: web}}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
---
"
    )
}

fn nginx() -> String {
    kubekit_testing::images()
        .expect("the node's images are built")
        .nginx
}

fn names<T: kube::ResourceExt>(objects: &[T]) -> BTreeSet<String> {
    objects.iter().map(|o| o.name_any()).collect()
}

async fn config_maps(client: &Client) -> Result<BTreeSet<String>, Error> {
    let all: Vec<ConfigMap> = client.list(kubekit::client::Labels::any()).await?;
    Ok(names(&all)
        .into_iter()
        .filter(|n| n != "kube-root-ca.crt")
        .collect())
}

#[kubekit::test]
async fn a_set_prunes_exactly_what_left_it(client: Client, ns: &TestNamespace) -> TestResult {
    let set = ApplySet::new("shop", ns.name());
    let six = from_yaml(&format!(
        "{}{}{}{}{}",
        config_map("a", "1"),
        config_map("b", "2"),
        config_map("c", "3"),
        config_map("d", "4"),
        web(&nginx())
    ))?;
    assert_eq!(six.len(), 6);
    // Look-alikes that are not members: same labels, applied outside the set; and a second
    // set in the same namespace.
    client.apply_manifest(&config_map("outsider", "x")).await?;
    let other = ApplySet::new("other", ns.name());
    client
        .apply_set(&other, &from_yaml(&config_map("theirs", "y"))?)
        .await?;

    let first = client.apply_set(&set, &six).await?;
    print!("{first}");
    assert_eq!(first.applied.objects.len(), 6);
    assert!(first.pruned.is_empty(), "{first}");
    let mut progress = Vec::new();
    client
        .wait_all_ready_with(&six, READY, |p| progress.push(p.clone()))
        .await?;
    let last = progress.last().expect("a wait reports at least its end");
    assert!(last.is_done() && last.total == 6, "{last}");
    assert!(last.not_ready.is_empty(), "{last}");
    assert!(
        progress
            .iter()
            .all(|p| p.total == 6 && p.ready + p.not_ready.len() == 6),
        "{progress:?}"
    );

    // The parent records the set as the specification says.
    let parent: Secret = client.get("shop").await?;
    let labels = parent.metadata.labels.clone().unwrap_or_default();
    let annotations = parent.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(labels.get(APPLYSET_ID_LABEL), Some(&set.id()));
    assert_eq!(
        annotations
            .get(APPLYSET_GROUP_KINDS_ANNOTATION)
            .map(String::as_str),
        Some("ConfigMap,Deployment.apps,Service")
    );
    assert_eq!(
        annotations
            .get(APPLYSET_TOOLING_ANNOTATION)
            .map(String::as_str),
        Some(set.tooling())
    );
    let member: ConfigMap = client.get("a").await?;
    assert_eq!(
        member
            .metadata
            .labels
            .unwrap_or_default()
            .get(APPLYSET_PART_OF_LABEL),
        Some(&set.id())
    );
    let pods_before: Vec<Pod> = client.list(("app", "web")).await?;
    assert_eq!(pods_before.len(), 2);

    // The program drops c and d.
    let four: Vec<Object> = six
        .iter()
        .filter(|o| !matches!(o.name(), Some("c" | "d")))
        .cloned()
        .collect();
    let second = client.apply_set(&set, &four).await?;
    print!("{second}");
    let pruned: BTreeSet<String> = second.pruned.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        pruned,
        BTreeSet::from(["configmap/c".to_string(), "configmap/d".to_string()])
    );
    assert_eq!(
        config_maps(&client).await?,
        BTreeSet::from(["a", "b", "outsider", "theirs"].map(String::from))
    );
    // The Deployment's pods (a controller's objects, without the set's label) are untouched.
    let pods_after: Vec<Pod> = client.list(("app", "web")).await?;
    let uids = |pods: &[Pod]| -> BTreeSet<String> {
        pods.iter().filter_map(|p| p.metadata.uid.clone()).collect()
    };
    assert_eq!(uids(&pods_before), uids(&pods_after));

    // A dry run says what would go and changes nothing.
    let three: Vec<Object> = four
        .iter()
        .filter(|o| o.kind() != "Service")
        .cloned()
        .collect();
    let plan = client
        .apply_set_with(&set, &three, ApplyOptions::dry_run())
        .await?;
    assert!(plan.dry_run);
    assert_eq!(
        plan.pruned
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>(),
        ["service/web"]
    );
    assert!(client.get_opt::<Service>("web").await?.is_some());
    assert_eq!(
        client
            .get::<Secret>("shop")
            .await?
            .metadata
            .annotations
            .unwrap_or_default()
            .get(APPLYSET_GROUP_KINDS_ANNOTATION)
            .map(String::as_str),
        Some("ConfigMap,Deployment.apps,Service"),
        "a dry run leaves the parent as it was"
    );

    // Re-applying the same set converges: nothing created, nothing pruned.
    let again = client.apply_set(&set, &four).await?;
    assert!(again.pruned.is_empty(), "{again}");
    assert_eq!(
        again
            .applied
            .count(kubekit::client::ApplyOutcome::Unchanged),
        4,
        "{again}"
    );
    Ok(())
}

#[kubekit::test]
async fn diff_shows_creations_changes_and_prunes(client: Client, ns: &TestNamespace) -> TestResult {
    let set = ApplySet::new("conf", ns.name());
    client
        .apply_set(
            &set,
            &from_yaml(&format!(
                "{}{}{}",
                config_map("same", "1"),
                config_map("changing", "old"),
                config_map("leaving", "bye")
            ))?,
        )
        .await?;
    let next = from_yaml(&format!(
        "{}{}{}",
        config_map("same", "1"),
        config_map("changing", "new"),
        config_map("arriving", "hi")
    ))?;
    let diff = client.diff_set(&set, &next).await?;
    let changes: Vec<(String, String)> = diff
        .entries
        .iter()
        .map(|e| {
            let change = match &e.change {
                Change::Changed(fields) => fields
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => format!("{other:?}"),
            };
            (e.object.name.clone(), change)
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("same".to_string(), "Unchanged".to_string()),
            (
                "changing".to_string(),
                r#"data.value: "old" -> "new""#.to_string()
            ),
            ("arriving".to_string(), "Created".to_string()),
            ("leaving".to_string(), "Pruned".to_string()),
        ]
    );
    let shown = diff
        .to_string()
        .replace(ns.name(), "<ns>")
        .replace(&set.id(), "<set-id>");
    insta::assert_snapshot!("diff_set", shown);
    // A diff writes nothing.
    assert_eq!(
        config_maps(&client).await?,
        BTreeSet::from(["same", "changing", "leaving"].map(String::from))
    );
    // Outside the set, the same object loses the set's label (server-side apply removes what
    // the field manager no longer sends): the diff says so, field by field.
    let plain = client.diff(&from_yaml(&config_map("same", "1"))?).await?;
    let Some(Change::Changed(fields)) = plain.find("ConfigMap", "same").map(|e| &e.change) else {
        panic!("expected a change: {plain:?}");
    };
    assert_eq!(
        fields.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "metadata.labels[\"{APPLYSET_PART_OF_LABEL}\"]: \"{}\" -> (absent)",
            set.id()
        )]
    );
    Ok(())
}

/// A failure in the middle of an apply: the server's admission refuses an object its dry run
/// let through (a quota that each object fits alone and not both together). The apply stops
/// with what it applied, nothing is pruned, and a re-run converges once the cause is fixed.
#[kubekit::test]
async fn a_failing_member_stops_the_set_without_pruning(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    let set = ApplySet::new("quota", ns.name());
    client
        .apply_set(
            &set,
            &from_yaml(&format!("{}{}", config_map("a", "1"), config_map("b", "2")))?,
        )
        .await?;
    // kube-root-ca.crt, a, b: one more ConfigMap fits, two do not.
    let quota = |n: u32| {
        format!(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: cms}}\n\
             spec: {{hard: {{count/configmaps: \"{n}\"}}}}\n"
        )
    };
    client.apply_manifest(&quota(4)).await?;
    client
        .wait_until(
            "cms",
            READY,
            |q: &k8s_openapi::api::core::v1::ResourceQuota| {
                q.status
                    .as_ref()
                    .and_then(|s| s.used.as_ref())
                    .is_some_and(|u| u.get("count/configmaps").is_some_and(|v| v.0 == "3"))
            },
        )
        .await?;

    let next = from_yaml(&format!(
        "{}{}{}",
        config_map("a", "1"),
        config_map("c", "3"),
        config_map("d", "4")
    ))?;
    let err = client
        .apply_set(&set, &next)
        .await
        .expect_err("the quota refuses the second new ConfigMap");
    eprintln!("{err}");
    let Error::Incomplete { applied, total, .. } = &err else {
        panic!("expected an incomplete apply, got {err:?}");
    };
    assert_eq!(*total, 3);
    assert!(err.to_string().contains("exceeded quota"), "{err}");
    let present = config_maps(&client).await?;
    assert!(
        present.contains("b"),
        "b was pruned after a failed apply: {present:?}"
    );
    assert_eq!(
        present.iter().filter(|n| *n == "c" || *n == "d").count(),
        1,
        "{present:?}"
    );
    assert_eq!(applied.objects.len(), 2, "{applied}");

    client.apply_manifest(&quota(10)).await?;
    client
        .wait_until(
            "cms",
            READY,
            |q: &k8s_openapi::api::core::v1::ResourceQuota| {
                q.status
                    .as_ref()
                    .and_then(|s| s.hard.as_ref())
                    .is_some_and(|h| h.get("count/configmaps").is_some_and(|v| v.0 == "10"))
            },
        )
        .await?;
    let report = client.apply_set(&set, &next).await?;
    assert_eq!(
        report
            .pruned
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>(),
        ["configmap/b"]
    );
    assert_eq!(
        config_maps(&client).await?,
        BTreeSet::from(["a", "c", "d"].map(String::from))
    );
    Ok(())
}

/// kubectl v1.37: `$KUBECTL`, else the one `scripts/setup.sh` installs in kubekit's cache.
fn kubectl() -> Result<PathBuf, String> {
    let path = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| kubekit_testing::assets::cache_dir().join("tools/kubectl"));
    let version = std::process::Command::new(&path)
        .args(["version", "--client"])
        .output()
        .map_err(|e| {
            format!(
                "kubectl at {}: {e} (scripts/setup.sh installs it; or set KUBECTL)",
                path.display()
            )
        })?;
    let text = String::from_utf8_lossy(&version.stdout).to_string();
    if !text.contains("v1.37.") {
        return Err(format!("{} is not kubectl v1.37: {text}", path.display()));
    }
    Ok(path)
}

/// `kubectl apply --server-side --prune --applyset=NAME` of `yaml` in the test's namespace:
/// its exit status and output.
fn kubectl_apply_set(
    ns: &TestNamespace,
    set: &str,
    yaml: &str,
) -> Result<(bool, String), Box<dyn std::error::Error>> {
    use std::io::Write;
    let kubeconfig = ns
        .cluster()
        .kubeconfig()
        .ok_or("the cluster has no kubeconfig file")?;
    let mut child = std::process::Command::new(kubectl()?)
        .env("KUBECTL_APPLYSET", "true")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["-n", ns.name(), "apply", "--server-side", "--prune"])
        .arg(format!("--applyset={set}"))
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("kubectl's stdin")?
        .write_all(yaml.as_bytes())?;
    let out = child.wait_with_output()?;
    Ok((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[kubekit::test]
async fn kubectl_and_kubekit_prune_each_others_sets(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    // kubectl makes a set; kubekit, sharing it as kubectl's, prunes from it.
    let (ok, out) = kubectl_apply_set(
        ns,
        "made-by-kubectl",
        &format!("{}{}", config_map("k1", "1"), config_map("k2", "2")),
    )?;
    assert!(ok, "kubectl: {out}");
    let shared = ApplySet::new("made-by-kubectl", ns.name()).with_tooling("kubectl/v1.37.1");
    let parent: Secret = client.get("made-by-kubectl").await?;
    assert_eq!(
        parent
            .metadata
            .labels
            .unwrap_or_default()
            .get(APPLYSET_ID_LABEL),
        Some(&shared.id()),
        "kubectl computes the same id"
    );
    // As kubekit's own tool, it refuses kubectl's set, as the specification asks.
    let refused = client
        .apply_set(
            &ApplySet::new("made-by-kubectl", ns.name()),
            &from_yaml(&config_map("k1", "1"))?,
        )
        .await
        .expect_err("a set of another tool");
    assert!(
        matches!(refused, Error::ApplySet { .. }) && refused.to_string().contains("kubectl"),
        "{refused}"
    );
    let report = client
        .apply_set(&shared, &from_yaml(&config_map("k1", "1"))?)
        .await?;
    assert_eq!(
        report
            .pruned
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>(),
        ["configmap/k2"]
    );

    // kubekit makes a set (as kubectl's tool); kubectl prunes from it.
    let for_kubectl = ApplySet::new("made-by-kubekit", ns.name()).with_tooling("kubectl/v1.37.1");
    client
        .apply_set(
            &for_kubectl,
            &from_yaml(&format!(
                "{}{}",
                config_map("m1", "1"),
                config_map("m2", "2")
            ))?,
        )
        .await?;
    let (ok, out) = kubectl_apply_set(ns, "made-by-kubekit", &config_map("m1", "1"))?;
    assert!(ok, "kubectl: {out}");
    assert!(out.contains("configmap/m2 pruned"), "{out}");
    assert_eq!(
        config_maps(&client).await?,
        BTreeSet::from(["k1", "m1"].map(String::from))
    );

    // A set kubekit manages as itself: kubectl refuses it (tooling kubekit).
    client
        .apply_set(
            &ApplySet::new("kubekits", ns.name()),
            &from_yaml(&config_map("n1", "1"))?,
        )
        .await?;
    let (ok, out) = kubectl_apply_set(ns, "kubekits", &config_map("n1", "1"))?;
    assert!(!ok && out.contains("kubekit"), "kubectl: {out}");
    Ok(())
}

#[kubekit::test]
async fn objects_from_a_file_are_applied_and_deleted_as_kubectl_does(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    // A second namespace, named after the test's (whose random suffix makes it unique).
    let suffix = ns.name().rsplit('-').next().unwrap_or_default();
    let extra = format!("kubekit-extra-{suffix}");
    let objects = from_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {extra}}}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: there, namespace: {extra}}}\n---\n{}",
        config_map("here", "1")
    ))?;
    let report = client.apply_all(&objects).await?;
    assert_eq!(report.objects[0].kind, "Namespace", "{report}");
    assert_eq!(report.count(kubekit::client::ApplyOutcome::Created), 3);
    let elsewhere = client.clone().in_namespace(&extra);
    assert!(elsewhere.get_opt::<ConfigMap>("there").await?.is_some());

    let deleted = client
        .delete_objects(&objects, DeleteOptions::wait(READY))
        .await?;
    // Reverse order: the Namespace last.
    assert_eq!(
        deleted.deleted.last().map(|o| o.kind.as_str()),
        Some("Namespace")
    );
    assert!(client.get_opt::<ConfigMap>("here").await?.is_none());
    assert!(
        client
            .get_opt::<k8s_openapi::api::core::v1::Namespace>(&extra)
            .await?
            .is_none()
    );
    // Deleting again: nothing there, not an error.
    let again = client
        .delete_objects(&objects, DeleteOptions::default())
        .await?;
    assert!(again.is_empty(), "{again}");
    Ok(())
}

#[kubekit::test]
async fn waiting_for_a_set_names_what_is_not_ready(client: Client) -> TestResult {
    let objects = from_yaml(&format!(
        "{}{}",
        config_map("settings", "1"),
        web("kubekit.local/no-such-image:1")
    ))?;
    client.apply_all(&objects).await?;
    let mut progress = Vec::new();
    let err = client
        .wait_all_ready_with(&objects, Duration::from_secs(3), |p| {
            progress.push(p.clone())
        })
        .await
        .expect_err("the image does not exist");
    // Progress named the Deployment, and only it, as not ready, with why.
    let total = objects.len();
    assert!(!progress.is_empty());
    for p in &progress {
        assert_eq!((p.ready, p.total), (total - 1, total), "{p}");
        assert!(!p.is_done());
        let [(object, why)] = p.not_ready.as_slice() else {
            panic!("{p}");
        };
        assert_eq!(
            (object.kind.as_str(), object.name.as_str()),
            ("Deployment", "web")
        );
        assert!(!why.is_empty(), "{p}");
        let line = p.to_string();
        assert!(
            line.starts_with(&format!("{} of {total} ready after ", total - 1)),
            "{line}"
        );
        assert!(
            line.contains("waiting for Deployment ") && line.contains("web: "),
            "{line}"
        );
    }
    let text = err.to_string();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        text.contains("Deployment") && text.contains("web") && !text.contains("ConfigMap"),
        "{text}"
    );
    Ok(())
}

/// A CustomResourceDefinition (cluster-scoped, named after the test's namespace so runs do not
/// collide) whose `Widget` kind is namespaced, with a schema.
fn widget_crd(group: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {{type: integer}}
---
"
    )
}

fn widget(group: &str, name: &str, size: &str) -> String {
    format!(
        "apiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: {name}}}\nspec: {{size: {size}}}\n---\n"
    )
}

/// A set holding a CRD, two of its custom resources and a ConfigMap applies in one call (the
/// CRD first, established, then the resources); dropping one resource prunes it. A resource
/// of a version the CRD does not serve, and one the CRD's schema refuses, are errors naming
/// the object: the first before anything is written, the second once the CRD exists, before
/// any other object of the set is written.
#[kubekit::test]
async fn a_set_with_a_crd_and_its_resources_applies_and_prunes(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    let group = format!("{}.kubekit.test", ns.name());
    let crd_yaml = widget_crd(&group);
    let result = crd_set(&client, ns, &group, &crd_yaml).await;
    // The CRD is cluster-scoped: removed whatever happened, with its resources.
    let crd = from_yaml(&crd_yaml)?;
    client
        .delete_objects(&crd, DeleteOptions::default())
        .await?;
    result
}

async fn crd_set(client: &Client, ns: &TestNamespace, group: &str, crd: &str) -> TestResult {
    let set = ApplySet::new("widgets", ns.name());
    // Refused before anything is written: v2 is not a version of the CRD.
    let wrong_version = from_yaml(&format!(
        "{crd}{}{}",
        widget(group, "small", "1").replace("/v1\n", "/v2\n"),
        config_map("settings", "1")
    ))?;
    let refused = client
        .apply_set(&set, &wrong_version)
        .await
        .expect_err("a version the CRD does not serve");
    assert!(
        refused.to_string().contains("does not serve version v2")
            && refused.to_string().contains("Widget"),
        "{refused}"
    );
    assert!(config_maps(client).await?.is_empty(), "nothing written");

    // Refused by the CRD's schema once it exists: the CRD is applied, nothing else.
    let bad_size = from_yaml(&format!(
        "{crd}{}{}",
        widget(group, "small", "big"),
        config_map("settings", "1")
    ))?;
    let refused = client
        .apply_set(&set, &bad_size)
        .await
        .expect_err("a size that is not an integer");
    let Error::Incomplete {
        applied, source, ..
    } = &refused
    else {
        panic!("not an incomplete apply: {refused}");
    };
    assert_eq!(applied.objects.len(), 1, "{refused}");
    assert_eq!(applied.objects[0].kind, "CustomResourceDefinition");
    assert!(
        source.to_string().contains("small") && source.to_string().contains(".spec.size"),
        "{source}"
    );
    assert!(
        config_maps(client).await?.is_empty(),
        "nothing else written"
    );

    let all = from_yaml(&format!(
        "{crd}{}{}{}",
        widget(group, "small", "1"),
        widget(group, "large", "9"),
        config_map("settings", "1")
    ))?;
    let report = client.apply_set(&set, &all).await?;
    assert_eq!(report.applied.objects.len(), 4, "{report}");
    for name in ["small", "large"] {
        assert!(report.applied.find("Widget", name).is_some(), "{report}");
    }
    let widgets = client
        .api_resources()
        .await?
        .into_iter()
        .find(|r| r.group() == group)
        .ok_or("the Widget kind is served")?;
    assert_eq!(widgets.kind, "Widget");
    let live = |name: &'static str| {
        let client = client.clone();
        let group = group.to_string();
        async move {
            let resource = kube::discovery::ApiResource {
                group: group.clone(),
                version: "v1".into(),
                api_version: format!("{group}/v1"),
                kind: "Widget".into(),
                plural: "widgets".into(),
            };
            let api: kube::Api<kube::api::DynamicObject> =
                kube::Api::namespaced_with(client.kube().clone(), client.namespace(), &resource);
            api.get_opt(name).await
        }
    };
    assert!(live("small").await?.is_some() && live("large").await?.is_some());

    // Drop one resource: exactly it is pruned.
    let fewer = from_yaml(&format!(
        "{crd}{}{}",
        widget(group, "small", "1"),
        config_map("settings", "1")
    ))?;
    let report = client.apply_set(&set, &fewer).await?;
    let pruned: Vec<String> = report.pruned.iter().map(|p| p.to_string()).collect();
    assert_eq!(pruned, [format!("widget.{group}/large")], "{report}");
    assert!(live("small").await?.is_some() && live("large").await?.is_none());
    assert_eq!(
        config_maps(client).await?,
        BTreeSet::from(["settings".to_string()])
    );
    Ok(())
}

/// The ApplySet parent as a ConfigMap, on a real cluster: members applied and labelled, the
/// parent written as the specification says, what leaves the set pruned, and kubectl
/// (`--applyset=configmaps/NAME`) pruning from the same set.
#[kubekit::test]
async fn a_config_map_parent_applies_prunes_and_works_with_kubectl(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    use kubekit::client::ParentKind;
    let set = ApplySet::new("cm-parent", ns.name())
        .with_parent_kind(ParentKind::ConfigMap)
        .with_tooling("kubectl/v1.37.1");
    client
        .apply_set(
            &set,
            &from_yaml(&format!(
                "{}{}{}",
                config_map("a", "1"),
                config_map("b", "2"),
                config_map("c", "3")
            ))?,
        )
        .await?;
    let parent: ConfigMap = client.get("cm-parent").await?;
    let labels = parent.metadata.labels.clone().unwrap_or_default();
    let annotations = parent.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(labels.get(APPLYSET_ID_LABEL), Some(&set.id()));
    assert_eq!(
        annotations
            .get(APPLYSET_GROUP_KINDS_ANNOTATION)
            .map(String::as_str),
        Some("ConfigMap")
    );
    assert_eq!(
        annotations
            .get(APPLYSET_TOOLING_ANNOTATION)
            .map(String::as_str),
        Some("kubectl/v1.37.1")
    );
    assert!(parent.data.is_none(), "the parent holds no data");
    let a: ConfigMap = client.get("a").await?;
    assert_eq!(
        a.metadata
            .labels
            .unwrap_or_default()
            .get(APPLYSET_PART_OF_LABEL),
        Some(&set.id())
    );
    assert!(
        client.get_opt::<Secret>("cm-parent").await?.is_none(),
        "no Secret parent"
    );

    let report = client
        .apply_set(
            &set,
            &from_yaml(&format!("{}{}", config_map("a", "1"), config_map("b", "2")))?,
        )
        .await?;
    let pruned: Vec<String> = report.pruned.iter().map(|p| p.to_string()).collect();
    assert_eq!(pruned, ["configmap/c"]);
    assert_eq!(
        config_maps(&client).await?,
        BTreeSet::from(["a", "b", "cm-parent"].map(String::from))
    );

    // kubectl prunes from the set kubekit keeps on a ConfigMap.
    let (ok, out) = kubectl_apply_set(ns, "configmaps/cm-parent", &config_map("a", "1"))?;
    assert!(ok, "kubectl: {out}");
    assert!(out.contains("configmap/b pruned"), "{out}");
    assert_eq!(
        config_maps(&client).await?,
        BTreeSet::from(["a", "cm-parent"].map(String::from))
    );
    Ok(())
}
