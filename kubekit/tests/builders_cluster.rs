//! The builders of a whole application's kinds against a real cluster: each built object is
//! applied with kubekit's client, read back holding every value it was built with (the server
//! only adds defaults), waited for by its kind's readiness rule and deleted. A Job completes
//! with its ConfigMap's and Secret's values in its pod's environment (and one that fails says
//! why); a CronJob fires; a StatefulSet's pods come up with their own bound claims and find
//! each other through the headless Service made for it; a DaemonSet runs on the node; a claim
//! binds when a pod mounts it; a grant lets its ServiceAccount do what it grants and no more;
//! an Ingress routes to the Service it was made from; an autoscaler, a budget and a network
//! policy made for a Deployment are taken as built (the budget counting its pods).

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::{DaemonSet, Deployment, StatefulSet},
    autoscaling::v2::HorizontalPodAutoscaler,
    batch::v1::{CronJob, Job},
    core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount},
    networking::v1::{Ingress, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
    rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding},
};
use kubekit::{
    Client, Error,
    builders::{
        ContainerPort, PullPolicy, backend, cluster_role, cluster_role_binding_for, config_map,
        container, cron_job, daemon_set, deployment, grant, headless_service_for,
        horizontal_pod_autoscaler_for, ingress, job, network_policy_for, persistent_volume_claim,
        pod, pod_disruption_budget_for, pod_template, secret, service_account, service_for,
        stateful_set, volume_from,
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
fn sh(
    name: &str,
    script: &str,
) -> Result<kubekit::builders::BuiltContainer, kubekit::builders::ValidationError> {
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
    // Its pod's logs, reached from the Job.
    assert_eq!(
        client.job_logs("count", &Default::default()).await?,
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
                .container(sh("main", "echo giving up; exit 3")?)
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
    // Why it failed, from its pod's logs.
    assert_eq!(
        client.job_logs("fail", &Default::default()).await?,
        "giving up\n"
    );
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

/// An nginx Deployment `name` (port `http`) whose page says `name`, and its Service.
fn site(name: &str) -> Result<(Deployment, Service), kubekit::builders::ValidationError> {
    let images = kubekit_testing::images().expect("the node's images are built");
    let page = format!("echo {name} > /var/www/html/index.html && exec nginx -g 'daemon off;'");
    let site = deployment()
        .name(name)
        .template(
            pod_template()
                .label("app", name)
                .termination_grace_period_seconds(0)
                .container(
                    container()
                        .name("web")
                        .image(images.nginx)
                        .pull_policy(PullPolicy::Never)
                        .port(ContainerPort::http(80))
                        .command(["sh", "-c", page.as_str()])
                        .build()?,
                )
                .build(),
        )
        .build()?;
    let service = service_for(&site).name(name).port(80, "http").build()?;
    Ok((site, service))
}

/// A pod with curl (the nginx image's) running as `account`, when given.
fn visitor(account: Option<&ServiceAccount>) -> Result<Pod, kubekit::builders::ValidationError> {
    let images = kubekit_testing::images().expect("the node's images are built");
    let main = container()
        .name("main")
        .image(images.nginx)
        .pull_policy(PullPolicy::Never)
        .build()?;
    match account {
        Some(account) => pod()
            .name("visitor")
            .termination_grace_period_seconds(0)
            .service_account_from(account)
            .container(main)
            .build(),
        None => pod()
            .name("visitor")
            .termination_grace_period_seconds(0)
            .container(main)
            .build(),
    }
}

#[kubekit::test]
async fn a_grant_lets_its_service_account_do_what_it_grants(
    client: Client,
    ns: &TestNamespace,
) -> TestResult {
    ns.require(Component::Dns).await?;
    let lister = service_account().name("lister").build()?;
    let (role, binding) = grant("lister-lists-config", &lister, ["list"], ["configmaps"])?;
    let pod = visitor(Some(&lister))?;
    apply_and_read(&client, &lister).await?;
    apply_and_read(&client, &role).await?;
    apply_and_read(&client, &binding).await?;
    apply_and_read(&client, &pod).await?;
    client.wait_pod_ready("visitor", START).await?;

    // What an in-cluster client does: the mounted CA and token, the namespace file.
    let call = |resource: &str| {
        format!(
            "sa=/var/run/secrets/kubernetes.io/serviceaccount; \
             curl -sS --max-time 10 --cacert $sa/ca.crt \
             -H \"Authorization: Bearer $(cat $sa/token)\" -o /dev/null -w '%{{http_code}}' \
             https://kubernetes.default.svc/api/v1/namespaces/$(cat $sa/namespace)/{resource}"
        )
    };
    // RBAC decisions are cached for a moment after a binding appears: retry briefly.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = client
            .exec_sh("visitor", &call("configmaps"), ExecOptions::new())
            .await?;
        if out.stdout_str() == "200" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "listing configmaps: {}{}",
            out.stdout_str(),
            out.stderr_str()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let out = client
        .exec_sh("visitor", &call("secrets"), ExecOptions::new())
        .await?;
    assert_eq!(out.stdout_str(), "403", "secrets were not granted");

    // A ClusterRole and its ClusterRoleBinding, made from the same account (cluster-wide
    // objects: named after this test's namespace so that runs do not collide).
    let unique = format!("kubekit-test-{}", client.namespace());
    let account = service_account()
        .name("lister")
        .namespace(client.namespace())
        .build()?;
    let nodes = cluster_role()
        .name(unique.as_str())
        .rule(["get", "list"], ["nodes"])
        .build()?;
    let everywhere = cluster_role_binding_for(&nodes).subject(&account).build()?;
    apply_and_read(&client, &nodes).await?;
    apply_and_read(&client, &everywhere).await?;
    gone::<ClusterRoleBinding>(&client, &unique).await?;
    gone::<ClusterRole>(&client, &unique).await?;

    gone::<Pod>(&client, "visitor").await?;
    gone::<RoleBinding>(&client, "lister-lists-config").await?;
    gone::<Role>(&client, "lister-lists-config").await?;
    gone::<ServiceAccount>(&client, "lister").await
}

#[kubekit::test]
async fn a_built_ingress_routes_to_its_service(client: Client, ns: &TestNamespace) -> TestResult {
    ns.require(Component::Ingress).await?;
    let (web, web_service) = site("web")?;
    let shop = ingress()
        .name("shop")
        .class_name("traefik")
        .host_route("shop.test", "/", backend(&web_service, "http")?)
        .build()?;
    apply_and_read(&client, &web).await?;
    apply_and_read(&client, &web_service).await?;
    apply_and_read(&client, &shop).await?;
    apply_and_read(&client, &visitor(None)?).await?;
    client.wait_ready::<Deployment>("web", START).await?;
    client.wait_pod_ready("visitor", START).await?;
    let routed = client
        .wait_until("shop", START, |i: &Ingress| {
            i.status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref()?.ingress.as_ref())
                .is_some_and(|list| list.iter().any(|a| a.ip.is_some()))
        })
        .await?;
    let address = routed
        .status
        .and_then(|s| s.load_balancer?.ingress?.into_iter().find_map(|a| a.ip))
        .ok_or("no address")?;
    let script = format!(
        "curl -sS --max-time 5 --resolve shop.test:80:{address} -w ' %{{http_code}}' \
         http://shop.test/"
    );
    // Routes apply a moment after the status is written: retry briefly.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = client
            .exec_sh("visitor", &script, ExecOptions::new())
            .await?;
        // The page (`web`), then the status code.
        if out.stdout_str().split_whitespace().eq(["web", "200"]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "through the Ingress: {}{}",
            out.stdout_str(),
            out.stderr_str()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    gone::<Ingress>(&client, "shop").await?;
    gone::<Service>(&client, "web").await?;
    gone::<Deployment>(&client, "web").await
}

#[kubekit::test]
async fn built_autoscaler_budget_and_policy_are_taken(client: Client) -> TestResult {
    let api = deployment()
        .name("api")
        .replicas(2)
        .template(
            pod_template()
                .label("app", "api")
                .termination_grace_period_seconds(0)
                .container(
                    container()
                        .name("main")
                        .image(toolbox())
                        .pull_policy(PullPolicy::Never)
                        .port(ContainerPort::http(8080))
                        .request("cpu", "10m")
                        .command(["sleep", "3600"])
                        .build()?,
                )
                .build(),
        )
        .build()?;
    let hpa = horizontal_pod_autoscaler_for(&api)
        .min_replicas(2)
        .max_replicas(4)
        .cpu_utilization(80)
        .build()?;
    let pdb = pod_disruption_budget_for(&api).min_available(1).build()?;
    let policy = network_policy_for(&api)
        .allow_from(&api, ["http"])
        .allow_dns()
        .build()?;
    apply_and_read(&client, &api).await?;
    apply_and_read(&client, &hpa).await?;
    apply_and_read(&client, &pdb).await?;
    apply_and_read(&client, &policy).await?;
    client.wait_ready::<Deployment>("api", START).await?;
    client
        .wait_ready::<HorizontalPodAutoscaler>("api", START)
        .await?;
    client.wait_ready::<NetworkPolicy>("api", START).await?;
    // The budget selects exactly the Deployment's pods: both healthy, one may go.
    let budget = client
        .wait_until("api", START, |p: &PodDisruptionBudget| {
            p.status.as_ref().is_some_and(|s| s.current_healthy == 2)
        })
        .await?;
    let status = budget.status.ok_or("no status")?;
    assert_eq!((status.expected_pods, status.disruptions_allowed), (2, 1));
    gone::<NetworkPolicy>(&client, "api").await?;
    gone::<PodDisruptionBudget>(&client, "api").await?;
    gone::<HorizontalPodAutoscaler>(&client, "api").await?;
    gone::<Deployment>(&client, "api").await
}
