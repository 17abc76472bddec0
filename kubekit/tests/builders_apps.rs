//! Tests of the builders for a whole application's kinds: Job, CronJob, StatefulSet (with its
//! headless Service and volume claim templates), DaemonSet, PersistentVolumeClaim,
//! ServiceAccount, and the references made from built objects (env and volumes from
//! ConfigMaps, Secrets and claims, `serviceAccountName`). Rendered YAML (snapshots), round
//! trips through `kubekit::manifest`, validation errors with their paths and consistency
//! errors. Compile-time requirements are in `ui.rs`; the real cluster in `builders_cluster.rs`.

use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kubekit::builders::validate::Validate;
use kubekit::builders::{
    AccessMode, BuiltContainer, BuiltPodTemplate, ConcurrencyPolicy, ContainerPort, IntOrPercent,
    PathType, PodManagementPolicy, RestartPolicy, UpdateStrategy, ValidationError, VolumeMode,
    backend, cluster_role, cluster_role_binding_for, config_map, container, cron_job, daemon_set,
    deployment, empty_dir, expose, grant, headless_service_for, horizontal_pod_autoscaler_for,
    ingress, job, network_policy_for, persistent_volume_claim, pod_disruption_budget_for,
    pod_template, restricted_security_context, role, role_binding_for, secret, service,
    service_account, service_for, stateful_set, volume_from,
};
use kubekit::kinds::{Kind as _, Readiness};
use kubekit::manifest;

type Result<T = (), E = ValidationError> = std::result::Result<T, E>;
type AnyResult = std::result::Result<(), Box<dyn std::error::Error>>;

#[track_caller]
fn assert_err<T: std::fmt::Debug>(r: Result<T>, field: &str, value: &str) -> ValidationError {
    let err = r.expect_err("expected a validation error");
    assert_eq!(err.field, field, "{err}");
    assert_eq!(err.value, value, "{err}");
    err
}

fn busybox(name: &str, script: &str) -> Result<BuiltContainer> {
    container()
        .name(name)
        .image("busybox:1.37")
        .command(["sh", "-c", script])
        .build()
}

fn template_of(c: impl Into<BuiltContainer>) -> BuiltPodTemplate {
    pod_template().container(c).build()
}

fn migrate() -> Result<Job> {
    job()
        .name("migrate")
        .namespace("shop")
        .label("app", "shop")
        .template(template_of(busybox("migrate", "echo migrated")?))
        .completions(1)
        .parallelism(1)
        .backoff_limit(2)
        .active_deadline_seconds(600)
        .ttl_seconds_after_finished(3600)
        .build()
}

fn nightly() -> Result<CronJob> {
    cron_job()
        .name("backup")
        .namespace("shop")
        .schedule("30 2 * * *")
        .time_zone("Europe/Paris")
        .concurrency_policy(ConcurrencyPolicy::Forbid)
        .starting_deadline_seconds(300)
        .successful_jobs_history_limit(3)
        .failed_jobs_history_limit(1)
        .template(
            pod_template()
                .container(busybox("backup", "echo backed up")?)
                .restart_policy(RestartPolicy::OnFailure)
                .build(),
        )
        .backoff_limit(1)
        .build()
}

fn data_claim() -> Result<PersistentVolumeClaim> {
    persistent_volume_claim()
        .name("data")
        .storage("1Gi")
        .storage_class("local-path")
        .build()
}

fn db() -> Result<StatefulSet> {
    stateful_set()
        .name("db")
        .namespace("shop")
        .replicas(2)
        .pod_management_policy(PodManagementPolicy::Parallel)
        .template(
            pod_template()
                .label("app", "db")
                .container(
                    container()
                        .name("postgres")
                        .image("postgres:17")
                        .port(ContainerPort::named("postgres", 5432))
                        .mount("data", "/var/lib/postgresql/data")
                        .build()?,
                )
                .build(),
        )
        .volume_claim_template(data_claim()?)
        .build()
}

fn agent() -> Result<DaemonSet> {
    daemon_set()
        .name("log-agent")
        .namespace("shop")
        .template(
            pod_template()
                .label("app", "log-agent")
                .container(busybox("agent", "sleep 3600")?)
                .build(),
        )
        .update_strategy(UpdateStrategy::rolling_update(IntOrPercent::percent(25)))
        .min_ready_seconds(5)
        .build()
}

// ------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------

#[test]
fn snapshot_job() -> AnyResult {
    insta::assert_snapshot!("job", manifest::to_yaml(&migrate()?)?);
    Ok(())
}

#[test]
fn snapshot_cron_job() -> AnyResult {
    insta::assert_snapshot!("cron_job", manifest::to_yaml(&nightly()?)?);
    Ok(())
}

#[test]
fn snapshot_stateful_set_and_its_headless_service() -> AnyResult {
    let set = db()?;
    let service = headless_service_for(&set)
        .port(5432, "postgres")
        .label("app", "db")
        .build()?;
    insta::assert_snapshot!(
        "stateful_set",
        manifest::to_yaml_all(&[manifest::Object::from(service), manifest::Object::from(set)])?
    );
    Ok(())
}

#[test]
fn snapshot_daemon_set() -> AnyResult {
    insta::assert_snapshot!("daemon_set", manifest::to_yaml(&agent()?)?);
    Ok(())
}

#[test]
fn snapshot_persistent_volume_claim() -> AnyResult {
    let claim = persistent_volume_claim()
        .name("uploads")
        .namespace("shop")
        .storage("10Gi")
        .storage_limit("20Gi")
        .access_mode(AccessMode::ReadWriteOnce)
        .access_mode(AccessMode::ReadOnlyMany)
        .access_mode(AccessMode::ReadWriteOnce)
        .volume_mode(VolumeMode::Filesystem)
        .build()?;
    insta::assert_snapshot!("persistent_volume_claim", manifest::to_yaml(&claim)?);
    Ok(())
}

/// The pod of a web app that takes everything from built objects.
#[test]
fn snapshot_pod_template_with_references() -> AnyResult {
    let settings = config_map()
        .name("web-config")
        .data("MODE", "fast")
        .data("nginx.conf", "worker_processes 1;\n")
        .build()?;
    let db = secret()
        .name("db")
        .string_data("username", "shop")
        .string_data("password", "s3cr3t")
        .build()?;
    let uploads = persistent_volume_claim()
        .name("uploads")
        .storage("1Gi")
        .build()?;
    let account = service_account().name("web").build()?;
    let template = pod_template()
        .label("app", "web")
        .service_account_from(&account)
        .init_container(busybox(
            "wait-for-db",
            "until nc -z db 5432; do sleep 1; done",
        )?)
        .container(
            container()
                .name("web")
                .image("nginx:1.28")
                .env_from(&settings)
                .env_value_from("DB_USER", &db, "username")
                .env_value_from("DB_PASSWORD", &db, "password")
                .env_value_from("NGINX_MODE", &settings, "MODE")
                .mount_read_only("config", "/etc/nginx/conf.d")
                .mount("uploads", "/srv/uploads")
                .security_context(restricted_security_context())
                .build()?,
        )
        .volume(volume_from("config", &settings))
        .volume(volume_from("uploads", &uploads))
        .volume(volume_from("db", &db))
        .build();
    insta::assert_snapshot!(
        "pod_template_with_references",
        serde_saphyr::to_string(&*template)?
    );
    Ok(())
}

#[test]
fn built_objects_round_trip_through_yaml() -> AnyResult {
    let set = db()?;
    let objects = vec![
        manifest::Object::from(migrate()?),
        manifest::Object::from(nightly()?),
        manifest::Object::from(headless_service_for(&set).build()?),
        manifest::Object::from(set),
        manifest::Object::from(agent()?),
        manifest::Object::from(data_claim()?),
        manifest::Object::from(
            service_account()
                .name("web")
                .automount_token(false)
                .build()?,
        ),
    ];
    let yaml = manifest::to_yaml_all(&objects)?;
    let read = manifest::from_yaml(&yaml)?;
    assert_eq!(read, objects);
    for object in &read {
        object.validate()?;
    }
    Ok(())
}

/// Walks a JSON value and fails on any empty object, array or string.
#[track_caller]
fn assert_nothing_empty(value: &serde_json::Value, path: &str) {
    match value {
        serde_json::Value::Object(map) => {
            assert!(!map.is_empty(), "empty object at {path}");
            for (k, v) in map {
                assert_nothing_empty(v, &format!("{path}.{k}"));
            }
        }
        serde_json::Value::Array(items) => {
            assert!(!items.is_empty(), "empty array at {path}");
            for (i, v) in items.iter().enumerate() {
                assert_nothing_empty(v, &format!("{path}[{i}]"));
            }
        }
        serde_json::Value::String(s) => assert!(!s.is_empty(), "empty string at {path}"),
        _ => {}
    }
}

#[test]
fn minimal_objects_hold_only_what_was_set() -> AnyResult {
    let c = busybox("main", "true")?;
    let j = job().name("j").template(template_of(c.clone())).build()?;
    assert_eq!(
        serde_json::to_value(&j)?,
        serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"template": {"spec": {
                "containers": [{"name": "main", "image": "busybox:1.37", "command": ["sh", "-c", "true"]}],
                "restartPolicy": "Never"
            }}}
        })
    );
    let claim = persistent_volume_claim().name("c").storage("1Gi").build()?;
    assert_eq!(
        serde_json::to_value(&claim)?,
        serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        })
    );
    let sa = service_account().name("sa").build()?;
    assert_eq!(
        serde_json::to_value(&sa)?,
        serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}})
    );
    let set = stateful_set()
        .name("s")
        .template(template_of(c.clone()))
        .build()?;
    let cron = cron_job()
        .name("c")
        .schedule("@hourly")
        .template(template_of(c.clone()))
        .build()?;
    let ds = daemon_set().name("d").template(template_of(c)).build()?;
    for value in [
        serde_json::to_value(&j)?,
        serde_json::to_value(&set)?,
        serde_json::to_value(headless_service_for(&set).build()?)?,
        serde_json::to_value(&cron)?,
        serde_json::to_value(&ds)?,
    ] {
        assert_nothing_empty(&value, "");
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Jobs and CronJobs
// ------------------------------------------------------------------------------------------

#[test]
fn a_job_template_restarts_never_unless_on_failure() -> Result {
    let restart = |j: &Job| {
        j.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.restart_policy.clone())
    };
    let j = migrate()?;
    assert_eq!(restart(&j).as_deref(), Some("Never"));
    let j = job()
        .name("j")
        .template(
            pod_template()
                .container(busybox("m", "true")?)
                .restart_policy(RestartPolicy::OnFailure)
                .build(),
        )
        .build()?;
    assert_eq!(restart(&j).as_deref(), Some("OnFailure"));
    Ok(())
}

#[test]
fn a_job_refuses_restart_always() -> Result {
    let err = assert_err(
        job()
            .name("j")
            .template(
                pod_template()
                    .container(busybox("m", "true")?)
                    .restart_policy(RestartPolicy::Always)
                    .build(),
            )
            .build(),
        "spec.template.spec.restartPolicy",
        "Always",
    );
    assert_eq!(
        err.to_string(),
        "Job \"j\": spec.template.spec.restartPolicy \"Always\" is not supported in the pod \
         template of a Job: supported values: \"OnFailure\", \"Never\" (a Job's pods run to \
         completion)"
    );
    let err = assert_err(
        cron_job()
            .name("c")
            .schedule("@daily")
            .template(
                pod_template()
                    .container(busybox("m", "true")?)
                    .restart_policy(RestartPolicy::Always)
                    .build(),
            )
            .build(),
        "spec.jobTemplate.spec.template.spec.restartPolicy",
        "Always",
    );
    assert_eq!(err.kind, "CronJob");
    // A Job from YAML that leaves it unset is refused as the API server refuses it.
    let mut j = migrate()?;
    if let Some(spec) = j.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        spec.restart_policy = None;
    }
    assert_err(
        Validate::validate(&j),
        "spec.template.spec.restartPolicy",
        "",
    );
    Ok(())
}

#[test]
fn job_counts_are_checked() -> Result {
    let t = || -> Result<BuiltPodTemplate> { Ok(template_of(busybox("m", "true")?)) };
    assert_err(
        job().name("j").template(t()?).completions(-1).build(),
        "spec.completions",
        "-1",
    );
    assert_err(
        job().name("j").template(t()?).parallelism(-2).build(),
        "spec.parallelism",
        "-2",
    );
    assert_err(
        job().name("j").template(t()?).backoff_limit(-1).build(),
        "spec.backoffLimit",
        "-1",
    );
    assert_err(
        job()
            .name("j")
            .template(t()?)
            .active_deadline_seconds(0)
            .build(),
        "spec.activeDeadlineSeconds",
        "0",
    );
    assert_err(
        job()
            .name("j")
            .template(t()?)
            .ttl_seconds_after_finished(-5)
            .build(),
        "spec.ttlSecondsAfterFinished",
        "-5",
    );
    assert_err(job().name("J").template(t()?).build(), "metadata.name", "J");
    // The template is checked as a pod: a mount of no volume.
    assert_err(
        job()
            .name("j")
            .template(template_of(
                container()
                    .name("m")
                    .image("busybox")
                    .mount("work", "/work")
                    .build()?,
            ))
            .build(),
        "spec.template.spec.containers[0].volumeMounts[0].name",
        "work",
    );
    Ok(())
}

#[test]
fn cron_schedules_are_checked() -> Result {
    let t = || -> Result<BuiltPodTemplate> { Ok(template_of(busybox("m", "true")?)) };
    for good in [
        "* * * * *",
        "*/15 * * * *",
        "0 0 1 1 *",
        "5,35 8-18/2 ? JAN-jun mon-FRI",
        "59 23 31 12 6",
        "0 0 * * SUN",
        "@hourly",
        "@yearly",
        "@every 90s",
    ] {
        cron_job()
            .name("c")
            .schedule(good)
            .template(t()?)
            .build()
            .map_err(|e| ValidationError::new("test", good, e.field, e.value, e.rule))?;
    }
    let cases = [
        ("", "is required"),
        (
            "* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
        ),
        ("* * * * * *", "found 6"),
        ("60 * * * *", "60 in the minute field is out of range 0-59"),
        ("* 24 * * *", "24 in the hour field is out of range 0-23"),
        (
            "* * 0 * *",
            "0 in the day of month field is out of range 1-31",
        ),
        ("* * * 13 *", "13 in the month field is out of range 1-12"),
        (
            "* * * * 7",
            "7 in the day of week field is out of range 0-6",
        ),
        (
            "*/0 * * * *",
            "step \"0\" in the minute field must be a positive number",
        ),
        (
            "10-5 * * * *",
            "range 10-5 in the minute field ends before it starts",
        ),
        (
            "* * * FOO *",
            "\"FOO\" in the month field is not a number or a name",
        ),
        ("@fortnightly", "unknown macro"),
        ("@every soon", "\"soon\" is not a duration"),
        ("CRON_TZ=UTC 0 3 * * *", "use the timeZone field instead"),
    ];
    for (schedule, rule) in cases {
        let err = assert_err(
            cron_job()
                .name("c")
                .schedule(schedule)
                .template(t()?)
                .build(),
            "spec.schedule",
            schedule,
        );
        assert!(err.rule.contains(rule), "{schedule:?}: {err}");
    }
    Ok(())
}

#[test]
fn cron_job_fields_are_checked() -> Result {
    let t = || -> Result<BuiltPodTemplate> { Ok(template_of(busybox("m", "true")?)) };
    let base = || cron_job().name("c").schedule("@daily");
    assert_err(
        base().template(t()?).time_zone("Local").build(),
        "spec.timeZone",
        "Local",
    );
    assert_err(
        base().template(t()?).time_zone("Europe/ Paris").build(),
        "spec.timeZone",
        "Europe/ Paris",
    );
    assert_err(
        base()
            .template(t()?)
            .successful_jobs_history_limit(-1)
            .build(),
        "spec.successfulJobsHistoryLimit",
        "-1",
    );
    assert_err(
        base().template(t()?).failed_jobs_history_limit(-1).build(),
        "spec.failedJobsHistoryLimit",
        "-1",
    );
    assert_err(
        base().template(t()?).starting_deadline_seconds(-1).build(),
        "spec.startingDeadlineSeconds",
        "-1",
    );
    assert_err(
        base().template(t()?).backoff_limit(-1).build(),
        "spec.jobTemplate.spec.backoffLimit",
        "-1",
    );
    let long = "a".repeat(53);
    let err = assert_err(
        cron_job()
            .name(long.as_str())
            .schedule("@daily")
            .template(t()?)
            .build(),
        "metadata.name",
        &long,
    );
    assert!(err.rule.contains("52 characters"), "{err}");
    cron_job()
        .name("a".repeat(52))
        .schedule("@daily")
        .template(t()?)
        .build()?;
    Ok(())
}

#[test]
fn job_readiness_and_row() -> AnyResult {
    let mut j = migrate()?;
    assert_eq!(
        j.readiness(),
        Readiness::NotReady("0 active, 0 succeeded, 0 failed".into())
    );
    j.status = Some(serde_json::from_value(serde_json::json!({
        "failed": 3,
        "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit"}]
    }))?);
    assert_eq!(
        j.readiness(),
        Readiness::Failed(
            "BackoffLimitExceeded: Job has reached the specified backoff limit".into()
        )
    );
    let now: k8s_openapi::jiff::Timestamp = "2026-01-01T00:00:00Z".parse()?;
    assert_eq!(j.row(now), ["migrate", "Failed", "0/1", "<unknown>"]);
    Ok(())
}

/// A CronJob is ready once scheduled (it exists, not suspended), runs or not; a suspended
/// one is failed (a wait for it would never end), and ready again once resumed.
#[test]
fn cron_job_readiness() -> AnyResult {
    let mut c = nightly()?;
    assert_eq!(c.readiness(), Readiness::Ready);
    c.status = Some(serde_json::from_value(serde_json::json!({
        "active": [{"kind": "Job", "name": "backup-1"}],
        "lastScheduleTime": "2026-01-01T02:30:00Z"
    }))?);
    assert_eq!(c.readiness(), Readiness::Ready);
    c.spec.as_mut().ok_or("spec")?.suspend = Some(true);
    assert_eq!(
        c.readiness(),
        Readiness::Failed(
            "suspended (spec.suspend: true): no Job is scheduled until it is resumed".into()
        )
    );
    c.spec.as_mut().ok_or("spec")?.suspend = Some(false);
    assert_eq!(c.readiness(), Readiness::Ready);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// StatefulSets, their Services and claims
// ------------------------------------------------------------------------------------------

#[test]
fn the_headless_service_follows_the_stateful_set() -> Result {
    let set = db()?;
    let service = headless_service_for(&set).port(5432, "postgres").build()?;
    let set_spec = set.spec.as_ref().expect("spec");
    let spec = service.spec.as_ref().expect("spec");
    assert_eq!(service.metadata.name, set_spec.service_name);
    assert_eq!(service.metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(spec.selector, set_spec.selector.match_labels);
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));

    // Renaming the Service is renaming it in the StatefulSet: they move together.
    let renamed = stateful_set()
        .name("db")
        .service_name("db-peers")
        .template(set_spec.template.clone())
        .volume_claim_template(data_claim()?)
        .build()?;
    let service = headless_service_for(&renamed)
        .publish_not_ready_addresses(true)
        .build()?;
    assert_eq!(service.metadata.name.as_deref(), Some("db-peers"));
    assert_eq!(
        service.spec.as_ref().and_then(|s| s.ports.as_ref()),
        None,
        "a headless Service needs no port"
    );

    // A named target port must be one of the pods' ports.
    let err = assert_err(
        headless_service_for(&set).port(80, "http").build(),
        "spec.ports[0].targetPort",
        "http",
    );
    assert_eq!(
        err.to_string(),
        "Service \"db\": spec.ports[0].targetPort \"http\" does not name a container port of \
         StatefulSet \"db\" (its named ports are: postgres)"
    );
    // service_for works for a StatefulSet too (a ClusterIP Service for clients).
    let clients = service_for(&set)
        .name("db-rw")
        .port(5432, "postgres")
        .build()?;
    assert_eq!(clients.metadata.namespace.as_deref(), Some("shop"));

    // A StatefulSet from elsewhere with no serviceName has no headless Service to derive.
    let mut bare = set.clone();
    if let Some(spec) = bare.spec.as_mut() {
        spec.service_name = None;
    }
    let err = assert_err(headless_service_for(&bare).build(), "metadata.name", "");
    assert!(err.rule.contains("has no spec.serviceName"), "{err}");
    Ok(())
}

#[test]
fn claim_templates_are_checked() -> Result {
    let template = || -> Result<BuiltPodTemplate> {
        Ok(template_of(
            container()
                .name("db")
                .image("postgres:17")
                .mount("data", "/data")
                .build()?,
        ))
    };
    // The container mounts the claim template by its name: no pod volume needed.
    let set = stateful_set()
        .name("db")
        .template(template()?)
        .volume_claim_template(data_claim()?)
        .build()?;
    assert_eq!(
        set.spec
            .and_then(|s| s.volume_claim_templates)
            .map(|c| c.len()),
        Some(1)
    );
    // Without it the mount names nothing.
    assert_err(
        stateful_set().name("db").template(template()?).build(),
        "spec.template.spec.containers[0].volumeMounts[0].name",
        "data",
    );
    // Twice the same claim.
    assert_err(
        stateful_set()
            .name("db")
            .template(template()?)
            .volume_claim_template(data_claim()?)
            .volume_claim_template(data_claim()?)
            .build(),
        "spec.volumeClaimTemplates[1].metadata.name",
        "data",
    );
    // A claim and a pod volume of the same name.
    assert_err(
        stateful_set()
            .name("db")
            .template(
                pod_template()
                    .container(busybox("db", "true")?)
                    .volume(empty_dir("data"))
                    .build(),
            )
            .volume_claim_template(data_claim()?)
            .build(),
        "spec.volumeClaimTemplates[0].metadata.name",
        "data",
    );
    // A claim in another namespace than the StatefulSet.
    let err = assert_err(
        stateful_set()
            .name("db")
            .namespace("shop")
            .template(template()?)
            .volume_claim_template(
                persistent_volume_claim()
                    .name("data")
                    .namespace("other")
                    .storage("1Gi")
                    .build()?,
            )
            .build(),
        "spec.volumeClaimTemplates[0].metadata.namespace",
        "other",
    );
    assert!(err.rule.contains("\"shop\""), "{err}");
    // A claim in the same namespace is fine; the namespace is left out of the template.
    let set = stateful_set()
        .name("db")
        .namespace("shop")
        .template(template()?)
        .volume_claim_template(
            persistent_volume_claim()
                .name("data")
                .namespace("shop")
                .storage("1Gi")
                .build()?,
        )
        .build()?;
    let claims = set
        .spec
        .and_then(|s| s.volume_claim_templates)
        .unwrap_or_default();
    assert_eq!(claims[0].metadata.namespace, None);
    // A template edited after building is checked by validate, with the path.
    let mut set = db()?;
    if let Some(claim) = set
        .spec
        .as_mut()
        .and_then(|s| s.volume_claim_templates.as_mut())
        .and_then(|c| c.first_mut())
        && let Some(spec) = claim.spec.as_mut()
    {
        spec.access_modes = None;
    }
    assert_err(
        Validate::validate(&set),
        "spec.volumeClaimTemplates[0].spec.accessModes",
        "",
    );
    Ok(())
}

#[test]
fn stateful_set_and_daemon_set_pods_restart_always() -> Result {
    let t = || -> Result<BuiltPodTemplate> {
        Ok(pod_template()
            .container(busybox("m", "true")?)
            .restart_policy(RestartPolicy::Never)
            .build())
    };
    let err = assert_err(
        stateful_set().name("s").template(t()?).build(),
        "spec.template.spec.restartPolicy",
        "Never",
    );
    assert!(err.rule.contains("pod template of a StatefulSet"), "{err}");
    let err = assert_err(
        daemon_set().name("d").template(t()?).build(),
        "spec.template.spec.restartPolicy",
        "Never",
    );
    assert!(err.rule.contains("pod template of a DaemonSet"), "{err}");
    Ok(())
}

#[test]
fn daemon_set_strategy_is_checked() -> Result {
    let t = || -> Result<BuiltPodTemplate> { Ok(template_of(busybox("m", "true")?)) };
    assert_err(
        daemon_set()
            .name("d")
            .template(t()?)
            .update_strategy(UpdateStrategy::rolling_update(0))
            .build(),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "0",
    );
    // With a surge, none unavailable is fine.
    daemon_set()
        .name("d")
        .template(t()?)
        .update_strategy(UpdateStrategy::RollingUpdate {
            max_unavailable: Some(0.into()),
            max_surge: Some(1.into()),
        })
        .build()?;
    let ds = daemon_set()
        .name("d")
        .template(t()?)
        .update_strategy(UpdateStrategy::OnDelete)
        .build()?;
    assert_eq!(
        ds.spec
            .and_then(|s| s.update_strategy)
            .and_then(|s| s.type_)
            .as_deref(),
        Some("OnDelete")
    );
    assert_err(
        daemon_set()
            .name("d")
            .template(t()?)
            .min_ready_seconds(-1)
            .build(),
        "spec.minReadySeconds",
        "-1",
    );
    Ok(())
}

#[test]
fn claims_are_checked() -> Result {
    let err = assert_err(
        persistent_volume_claim().name("c").storage("1GB").build(),
        "spec.resources.requests.storage",
        "1GB",
    );
    assert!(
        err.rule.starts_with("is not a valid resource quantity"),
        "{err}"
    );
    assert_err(
        persistent_volume_claim().name("c").storage("0").build(),
        "spec.resources.requests.storage",
        "0",
    );
    assert_err(
        persistent_volume_claim()
            .name("c")
            .storage("1Gi")
            .storage_limit("lots")
            .build(),
        "spec.resources.limits.storage",
        "lots",
    );
    assert_err(
        persistent_volume_claim()
            .name("c")
            .storage("1Gi")
            .access_mode(AccessMode::ReadWriteOncePod)
            .access_mode(AccessMode::ReadOnlyMany)
            .build(),
        "spec.accessModes",
        "ReadWriteOncePod,ReadOnlyMany",
    );
    assert_err(
        persistent_volume_claim()
            .name("c")
            .storage("1Gi")
            .storage_class("Fast_SSD")
            .build(),
        "spec.storageClassName",
        "Fast_SSD",
    );
    let mut from_yaml = persistent_volume_claim().name("c").storage("1Gi").build()?;
    if let Some(spec) = from_yaml.spec.as_mut() {
        spec.access_modes = Some(vec!["RWO".into()]);
    }
    assert_err(Validate::validate(&from_yaml), "spec.accessModes[0]", "RWO");
    if let Some(spec) = from_yaml.spec.as_mut() {
        spec.access_modes = Some(vec!["ReadWriteOnce".into()]);
        spec.resources = None;
    }
    assert_err(
        Validate::validate(&from_yaml),
        "spec.resources.requests.storage",
        "",
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// References made from built objects
// ------------------------------------------------------------------------------------------

#[test]
fn env_keys_must_exist() -> Result {
    let settings = config_map()
        .name("settings")
        .data("MODE", "fast")
        .binary_data("logo", [1u8])
        .build()?;
    let empty = secret().name("empty").build()?;
    let err = assert_err(
        container()
            .name("web")
            .image("nginx")
            .env("A", "1")
            .env_value_from("MODE", &settings, "mode")
            .build(),
        "env[1].valueFrom.configMapKeyRef.key",
        "mode",
    );
    assert_eq!(
        err.to_string(),
        "Container \"web\": env[1].valueFrom.configMapKeyRef.key \"mode\" is not a key of \
         ConfigMap \"settings\" (its keys are: MODE, logo)"
    );
    let err = assert_err(
        container()
            .name("web")
            .image("nginx")
            .env_value_from("TOKEN", &empty, "token")
            .build(),
        "env[0].valueFrom.secretKeyRef.key",
        "token",
    );
    assert!(err.rule.ends_with("(it has no keys)"), "{err}");
    // A binary key is a key too.
    let c = container()
        .name("web")
        .image("nginx")
        .env_value_from("LOGO", &settings, "logo")
        .build()?;
    let var = &c.into_inner().env.expect("env")[0];
    let selector = var
        .value_from
        .as_ref()
        .and_then(|v| v.config_map_key_ref.as_ref())
        .expect("a configMapKeyRef");
    assert_eq!(
        (selector.name.as_str(), selector.key.as_str()),
        ("settings", "logo")
    );
    Ok(())
}

#[test]
fn env_from_and_volumes_name_their_objects() -> Result {
    let settings = config_map().name("settings").data("MODE", "fast").build()?;
    let db = secret().name("db").string_data("password", "x").build()?;
    let c = container()
        .name("web")
        .image("nginx")
        .env_from(&settings)
        .env_from(&db)
        .build()?;
    let from = c.into_inner().env_from.expect("envFrom");
    assert_eq!(
        from[0].config_map_ref.as_ref().map(|r| r.name.as_str()),
        Some("settings")
    );
    assert_eq!(
        from[1].secret_ref.as_ref().map(|r| r.name.as_str()),
        Some("db")
    );
    let claim = data_claim()?;
    let v = volume_from("data", &claim);
    assert_eq!(
        v.into_inner()
            .persistent_volume_claim
            .map(|c| c.claim_name)
            .as_deref(),
        Some("data")
    );
    Ok(())
}

#[test]
fn service_accounts_are_checked() -> Result {
    assert_err(
        service_account().name("Web").build(),
        "metadata.name",
        "Web",
    );
    let pull = secret().name("registry").docker_config_json("{}").build()?;
    let sa = service_account()
        .name("web")
        .image_pull_secret(&pull)
        .build()?;
    assert_eq!(
        sa.image_pull_secrets.map(|s| s[0].name.clone()).as_deref(),
        Some("registry")
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Real-world shapes: what kubectl and the Kubernetes docs write, read and rendered unchanged
// ------------------------------------------------------------------------------------------

/// `kubectl create job pi --image=perl:5.34 -- perl -Mbignum=bpi -wle 'print bpi(2000)'`
/// (`--dry-run=client -o yaml`, without its empty `status` and `resources`) and the docs'
/// shapes of the other kinds.
const REAL_WORLD: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    metadata: {}
    spec:
      containers:
      - command:
        - perl
        - -Mbignum=bpi
        - -wle
        - print bpi(2000)
        image: perl:5.34
        name: pi
      restartPolicy: Never
  backoffLimit: 4
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox:1.28
            imagePullPolicy: IfNotPresent
            command:
            - /bin/sh
            - -c
            - date; echo Hello from the Kubernetes cluster
          restartPolicy: OnFailure
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx
  serviceName: "nginx"
  replicas: 3
  minReadySeconds: 10
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      storageClassName: "my-storage-class"
      resources:
        requests:
          storage: 1Gi
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  namespace: kube-system
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v5.0.1
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: myclaim
spec:
  accessModes:
    - ReadWriteOnce
  volumeMode: Filesystem
  resources:
    requests:
      storage: 8Gi
  storageClassName: slow
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: build-robot
automountServiceAccountToken: false
"#;

#[test]
fn real_world_manifests_round_trip_unchanged() -> AnyResult {
    let objects = manifest::from_yaml(REAL_WORLD)?;
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Job",
            "CronJob",
            "Service",
            "StatefulSet",
            "DaemonSet",
            "PersistentVolumeClaim",
            "ServiceAccount"
        ]
    );
    for object in &objects {
        object.validate()?;
        assert!(
            !matches!(object, manifest::Object::Other(_)),
            "{} read untyped",
            object.kind()
        );
    }
    // Rendered and read again: the same objects, and the same values as the text held.
    let rendered = manifest::to_yaml_all(&objects)?;
    assert_eq!(manifest::from_yaml(&rendered)?, objects);
    let documents: Vec<serde_json::Value> = REAL_WORLD
        .split("\n---\n")
        .map(serde_saphyr::from_str)
        .collect::<std::result::Result<_, _>>()?;
    assert_eq!(documents.len(), objects.len());
    for (object, written) in objects.iter().zip(documents) {
        let mut rendered = object.to_value()?;
        // The one addition: k8s-openapi writes `apiVersion` and `kind` in each volume claim
        // template (a `PersistentVolumeClaim` value), as the API server returns them too.
        // Every value the text held is unchanged.
        if let Some(claims) = rendered
            .pointer_mut("/spec/volumeClaimTemplates")
            .and_then(|c| c.as_array_mut())
        {
            for claim in claims {
                let map = claim.as_object_mut().ok_or("a claim is an object")?;
                assert_eq!(map.shift_remove("apiVersion"), Some("v1".into()));
                assert_eq!(
                    map.shift_remove("kind"),
                    Some("PersistentVolumeClaim".into())
                );
            }
        }
        assert_eq!(rendered, written, "{}", object.kind());
    }
    Ok(())
}

#[test]
fn real_world_mistakes_are_found_with_their_paths() -> AnyResult {
    let broken = REAL_WORLD
        .replace("restartPolicy: OnFailure", "restartPolicy: Always")
        .replace("schedule: \"* * * * *\"", "schedule: \"* * * * * *\"");
    let objects = manifest::from_yaml(&broken)?;
    let cron = CronJob::try_from(objects[1].clone()).map_err(|_| "not a CronJob")?;
    let err = Validate::validate(&cron).expect_err("a six-field schedule");
    assert_eq!(err.field, "spec.schedule");
    let mut cron = cron;
    if let Some(spec) = cron.spec.as_mut() {
        spec.schedule = "* * * * *".into();
    }
    let err = Validate::validate(&cron).expect_err("restartPolicy Always");
    assert_eq!(
        err.field,
        "spec.jobTemplate.spec.template.spec.restartPolicy"
    );
    let set = StatefulSet::try_from(objects[3].clone()).map_err(|_| "not a StatefulSet")?;
    let mut set = set;
    if let Some(claims) = set
        .spec
        .as_mut()
        .and_then(|s| s.volume_claim_templates.as_mut())
    {
        claims[0].metadata.name = Some("data".into());
    }
    let err = Validate::validate(&set).expect_err("the mount names the old claim");
    assert_eq!(
        (err.field.as_str(), err.value.as_str()),
        (
            "spec.template.spec.containers[0].volumeMounts[0].name",
            "www"
        )
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// RBAC
// ------------------------------------------------------------------------------------------

#[test]
fn snapshot_grant() -> AnyResult {
    let worker = service_account().name("worker").namespace("shop").build()?;
    let (role, binding) = grant(
        "worker-reads-config",
        &worker,
        ["get", "list", "watch"],
        [
            "configmaps",
            "secrets",
            "deployments.apps",
            "deployments.apps/scale",
        ],
    )?;
    insta::assert_snapshot!(
        "grant",
        manifest::to_yaml_all(&[
            manifest::Object::from(worker),
            manifest::Object::from(role),
            manifest::Object::from(binding)
        ])?
    );
    Ok(())
}

#[test]
fn bindings_follow_their_role_and_accounts() -> Result {
    let web = service_account().name("web").namespace("shop").build()?;
    let ci = service_account().name("ci").namespace("build").build()?;
    let reader = role()
        .name("pod-reader")
        .namespace("shop")
        .rule(["get", "list"], ["pods"])
        .build()?;
    let binding = role_binding_for(&reader)
        .name("readers")
        .subject(&web)
        .subject(&ci)
        .build()?;
    assert_eq!(binding.metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(
        (
            binding.role_ref.api_group.as_str(),
            binding.role_ref.kind.as_str(),
            binding.role_ref.name.as_str()
        ),
        ("rbac.authorization.k8s.io", "Role", "pod-reader")
    );
    let subjects = binding.subjects.unwrap_or_default();
    assert_eq!(subjects.len(), 2);
    assert_eq!(subjects[1].namespace.as_deref(), Some("build"));
    assert_eq!(subjects[1].kind, "ServiceAccount");

    // A Role is bound in its own namespace only.
    let err = assert_err(
        role_binding_for(&reader)
            .namespace("other")
            .subject(&web)
            .build(),
        "metadata.namespace",
        "other",
    );
    assert!(err.rule.contains("own namespace"), "{err}");
    // A binding needs subjects.
    assert_err(role_binding_for(&reader).build(), "subjects", "");

    // A ClusterRole can be granted in one namespace, or everywhere.
    let watcher = cluster_role()
        .name("node-watcher")
        .rule(["list", "watch"], ["nodes"])
        .build()?;
    let here = role_binding_for(&watcher)
        .namespace("shop")
        .subject(&web)
        .build()?;
    assert_eq!(here.role_ref.kind, "ClusterRole");
    assert_eq!(here.metadata.namespace.as_deref(), Some("shop"));
    let everywhere = cluster_role_binding_for(&watcher).subject(&ci).build()?;
    assert_eq!(everywhere.metadata.name.as_deref(), Some("node-watcher"));
    // ... but a ServiceAccount without a namespace cannot be bound cluster-wide.
    let nowhere = service_account().name("x").build()?;
    assert_err(
        cluster_role_binding_for(&watcher).subject(&nowhere).build(),
        "subjects[0].namespace",
        "",
    );
    Ok(())
}

#[test]
fn rules_are_checked() -> Result {
    let err = assert_err(
        role().name("r").rule(["get", "lst"], ["pods"]).build(),
        "rules[0].verbs[1]",
        "lst",
    );
    assert!(err.rule.starts_with("is not a known verb"), "{err}");
    assert_err(
        role()
            .name("r")
            .rule(Vec::<String>::new(), ["pods"])
            .build(),
        "rules[0].verbs",
        "",
    );
    assert_err(
        role()
            .name("r")
            .rule(["get"], ["pods"])
            .rule(["get"], Vec::<String>::new())
            .build(),
        "rules[1].resources",
        "",
    );
    assert_err(
        role().name("r").rule(["get"], ["pods/"]).build(),
        "rules[0].resources[0]",
        "pods/",
    );
    assert_err(role().name("a/b").build(), "metadata.name", "a/b");
    role().name("system:pod-reader").build()?;
    // Non-resource URLs belong in ClusterRoles: a Role from YAML with one is refused.
    let mut r = role().name("r").rule(["get"], ["pods"]).build()?;
    if let Some(rules) = r.rules.as_mut() {
        rules[0].non_resource_urls = Some(vec!["/healthz".into()]);
        rules[0].resources = None;
    }
    assert_err(
        Validate::validate(&r),
        "rules[0].nonResourceURLs",
        "/healthz",
    );
    // A resource rule without apiGroups.
    if let Some(rules) = r.rules.as_mut() {
        rules[0].non_resource_urls = None;
        rules[0].resources = Some(vec!["pods".into()]);
        rules[0].api_groups = None;
    }
    assert_err(Validate::validate(&r), "rules[0].apiGroups", "");
    let cr = cluster_role()
        .name("health")
        .non_resource_rule(["get"], ["/healthz"])
        .build()?;
    assert_eq!(
        cr.rules.and_then(|r| r[0].non_resource_urls.clone()),
        Some(vec!["/healthz".to_string()])
    );
    // kubectl's resource syntax: one rule per API group, subresources kept.
    let r = role()
        .name("r")
        .rule(
            ["get"],
            ["pods", "deployments.apps/scale", "pods/log", "jobs.batch"],
        )
        .build()?;
    let groups: Vec<(Vec<String>, Vec<String>)> = r
        .rules
        .unwrap_or_default()
        .into_iter()
        .map(|rule| {
            (
                rule.api_groups.unwrap_or_default(),
                rule.resources.unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                vec!["".to_string()],
                vec!["pods".to_string(), "pods/log".to_string()]
            ),
            (
                vec!["apps".to_string()],
                vec!["deployments/scale".to_string()]
            ),
            (vec!["batch".to_string()], vec!["jobs".to_string()]),
        ]
    );
    Ok(())
}

#[test]
fn rbac_kinds_have_kubectl_tables() -> Result {
    let worker = service_account().name("worker").build()?;
    let (role, binding) = grant("reads", &worker, ["get"], ["pods"])?;
    let now: k8s_openapi::jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
    assert_eq!(
        kubekit::kinds::table_at(&[binding], now),
        "NAME    ROLE         AGE\nreads   Role/reads   <unknown>\n"
    );
    assert_eq!(
        kubekit::kinds::table_at(&[role], now),
        "NAME    CREATED AT\nreads   <unknown>\n"
    );
    Ok(())
}

/// What `kubectl create role|rolebinding|clusterrole|clusterrolebinding --dry-run=client -o yaml`
/// writes (without `creationTimestamp: null`).
const KUBECTL_RBAC: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: pod-reader
rules:
- apiGroups:
  - ""
  resources:
  - pods
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - apps
  resources:
  - deployments/scale
  verbs:
  - get
  - list
  - watch
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: read-pods
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: pod-reader
subjects:
- kind: ServiceAccount
  name: worker
  namespace: shop
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: jane
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: health
rules:
- nonResourceURLs:
  - /healthz
  verbs:
  - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: health
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: health
subjects:
- kind: ServiceAccount
  name: worker
  namespace: shop
"#;

#[test]
fn kubectl_rbac_manifests_round_trip_and_match_the_builders() -> AnyResult {
    let objects = manifest::from_yaml(KUBECTL_RBAC)?;
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind()).collect();
    assert_eq!(
        kinds,
        ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    );
    for object in &objects {
        object.validate()?;
    }
    assert_eq!(manifest::to_yaml_all(&objects)?, KUBECTL_RBAC);

    // The builders write the same objects as kubectl.
    let worker = service_account().name("worker").namespace("shop").build()?;
    let reader = role()
        .name("pod-reader")
        .rule(["get", "list", "watch"], ["pods", "deployments.apps/scale"])
        .build()?;
    let mut binding = role_binding_for(&reader)
        .name("read-pods")
        .subject(&worker)
        .build()?;
    // (kubekit binds ServiceAccounts; a user subject is added as a k8s-openapi value.)
    if let Some(subjects) = binding.subjects.as_mut() {
        subjects.push(serde_json::from_value(serde_json::json!(
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}
        ))?);
    }
    let health = cluster_role()
        .name("health")
        .non_resource_rule(["get"], ["/healthz"])
        .build()?;
    let health_binding = cluster_role_binding_for(&health).subject(&worker).build()?;
    let built = vec![
        manifest::Object::from(reader),
        manifest::Object::from(binding),
        manifest::Object::from(health),
        manifest::Object::from(health_binding),
    ];
    assert_eq!(built, objects);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Ingress, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy
// ------------------------------------------------------------------------------------------

fn web() -> Result<k8s_openapi::api::apps::v1::Deployment> {
    deployment()
        .name("web")
        .namespace("shop")
        .replicas(2)
        .template(
            pod_template()
                .label("app", "web")
                .container(
                    container()
                        .name("web")
                        .image("nginx:1.28")
                        .port(ContainerPort::http(80))
                        .request("cpu", "100m")
                        .build()?,
                )
                .build(),
        )
        .build()
}

#[test]
fn snapshot_web_tier() -> AnyResult {
    let web = web()?;
    let web_service = service_for(&web).name("web").port(80, "http").build()?;
    let cert = secret()
        .name("shop-tls")
        .namespace("shop")
        .tls("cert", "key")
        .build()?;
    let entry = ingress()
        .name("shop")
        .class_name("traefik")
        .host_route("shop.example.com", "/", backend(&web_service, "http")?)
        .route_with(
            Some("shop.example.com".into()),
            PathType::Exact,
            "/healthz",
            backend(&web_service, 80)?,
        )
        .route("/", backend(&web_service, "http")?)
        .tls(&cert, ["shop.example.com"])
        .build()?;
    let hpa = horizontal_pod_autoscaler_for(&web)
        .min_replicas(2)
        .max_replicas(6)
        .cpu_utilization(70)
        .scale_down_stabilization_seconds(60)
        .build()?;
    let pdb = pod_disruption_budget_for(&web).min_available(1).build()?;
    let db = db()?;
    let only_web = network_policy_for(&db)
        .name("db-from-web")
        .allow_from(&web, ["postgres"])
        .build()?;
    let web_out = network_policy_for(&web)
        .name("web-egress")
        .allow_all_from(&web)
        .allow_to(&db, ["postgres"])
        .allow_dns()
        .build()?;
    insta::assert_snapshot!(
        "web_tier",
        manifest::to_yaml_all(&[
            manifest::Object::from(entry),
            manifest::Object::from(hpa),
            manifest::Object::from(pdb),
            manifest::Object::from(only_web),
            manifest::Object::from(web_out),
        ])?
    );
    Ok(())
}

#[test]
fn ingress_backends_are_checked() -> Result {
    let web = web()?;
    let web_service = service_for(&web).name("web").port(80, "http").build()?;
    let err = assert_err(backend(&web_service, "https"), "spec.ports", "https");
    assert_eq!(
        err.to_string(),
        "Service \"web\": spec.ports \"https\" has no such port (its ports are: http/80)"
    );
    assert_err(backend(&web_service, 8080), "spec.ports", "8080");
    // A port given by number is written by name when it has one.
    let by_number: k8s_openapi::api::networking::v1::IngressBackend =
        backend(&web_service, 80)?.into();
    let port = by_number.service.and_then(|s| s.port).expect("a port");
    assert_eq!((port.name.as_deref(), port.number), (Some("http"), None));

    // Another namespace's Service.
    let other = service()
        .name("other")
        .namespace("elsewhere")
        .selector([("app", "x")])
        .port(80, 80)
        .build()?;
    let err = assert_err(
        ingress()
            .name("shop")
            .route("/", backend(&web_service, "http")?)
            .route("/other", backend(&other, 80)?)
            .build(),
        "spec.rules[0].http.paths[1].backend.service.name",
        "other",
    );
    assert!(err.rule.contains("\"elsewhere\""), "{err}");
    // The Ingress takes its Services' namespace.
    let i = ingress()
        .name("shop")
        .route("/", backend(&web_service, "http")?)
        .build()?;
    assert_eq!(i.metadata.namespace.as_deref(), Some("shop"));
    // Nothing routed.
    assert_err(ingress().name("shop").build(), "spec.rules", "");
    // TLS from a Secret that is not a TLS Secret.
    let opaque = secret()
        .name("creds")
        .namespace("shop")
        .string_data("a", "b")
        .build()?;
    let err = assert_err(
        ingress()
            .name("shop")
            .route("/", backend(&web_service, "http")?)
            .tls(&opaque, ["shop.example.com"])
            .build(),
        "spec.tls[0].secretName",
        "creds",
    );
    assert!(err.rule.contains("not kubernetes.io/tls"), "{err}");
    // Hosts and paths.
    assert_err(
        ingress()
            .name("shop")
            .host_route("10.0.0.1", "/", backend(&web_service, "http")?)
            .build(),
        "spec.rules[0].host",
        "10.0.0.1",
    );
    assert_err(
        ingress()
            .name("shop")
            .route("api", backend(&web_service, "http")?)
            .build(),
        "spec.rules[0].http.paths[0].path",
        "api",
    );
    Ok(())
}

#[test]
fn autoscalers_budgets_and_policies_are_checked() -> Result {
    let web = web()?;
    // max below min.
    assert_err(
        horizontal_pod_autoscaler_for(&web)
            .min_replicas(3)
            .max_replicas(2)
            .build(),
        "spec.maxReplicas",
        "2",
    );
    assert_err(
        horizontal_pod_autoscaler_for(&web)
            .min_replicas(0)
            .max_replicas(2)
            .build(),
        "spec.minReplicas",
        "0",
    );
    assert_err(
        horizontal_pod_autoscaler_for(&web)
            .max_replicas(2)
            .cpu_utilization(0)
            .build(),
        "spec.metrics[0].resource.target.averageUtilization",
        "0",
    );
    // A StatefulSet without requests cannot scale on utilization.
    let db = db()?;
    let err = assert_err(
        horizontal_pod_autoscaler_for(&db)
            .max_replicas(3)
            .cpu_utilization(50)
            .build(),
        "spec.metrics[0].resource.name",
        "cpu",
    );
    assert!(
        err.rule
            .contains("container \"postgres\" of StatefulSet \"db\""),
        "{err}"
    );
    let hpa = horizontal_pod_autoscaler_for(&db).max_replicas(3).build()?;
    let target = hpa.spec.map(|s| s.scale_target_ref).expect("a target");
    assert_eq!(
        (
            target.api_version.as_deref(),
            target.kind.as_str(),
            target.name.as_str()
        ),
        (Some("apps/v1"), "StatefulSet", "db")
    );

    // Budgets: exactly one bound, percentages up to 100%.
    assert_err(
        pod_disruption_budget_for(&web)
            .min_available(1)
            .max_unavailable(1)
            .build(),
        "spec.minAvailable",
        "",
    );
    assert_err(
        pod_disruption_budget_for(&web)
            .max_unavailable(IntOrPercent::percent(150))
            .build(),
        "spec.maxUnavailable",
        "150%",
    );
    let pdb = pod_disruption_budget_for(&db)
        .name("db-budget")
        .max_unavailable(IntOrPercent::percent(50))
        .build()?;
    assert_eq!(pdb.metadata.namespace.as_deref(), Some("shop"));

    // Policies: ports named on the side that receives the traffic.
    let err = assert_err(
        network_policy_for(&db).allow_from(&web, ["http"]).build(),
        "spec.ingress[0].ports[0].port",
        "http",
    );
    assert_eq!(
        err.rule,
        "does not name a container port of StatefulSet \"db\" (its named ports are: postgres)"
    );
    assert_err(
        network_policy_for(&web).allow_to(&db, ["http"]).build(),
        "spec.egress[0].ports[0].port",
        "http",
    );
    // A peer in another namespace is selected with its namespace.
    let elsewhere = deployment()
        .name("batch")
        .namespace("jobs")
        .template(
            pod_template()
                .label("app", "batch")
                .container(busybox("b", "true")?)
                .build(),
        )
        .build()?;
    let p = network_policy_for(&db)
        .allow_from(&elsewhere, [5432])
        .build()?;
    let peer = p
        .spec
        .and_then(|s| s.ingress)
        .and_then(|i| i[0].from.clone())
        .expect("a peer");
    assert_eq!(
        peer[0]
            .namespace_selector
            .as_ref()
            .and_then(|s| s.match_labels.as_ref())
            .map(|l| l["kubernetes.io/metadata.name"].as_str()),
        Some("jobs")
    );
    // With no rule, the policy isolates the pods: nothing reaches them.
    let deny = network_policy_for(&db).name("deny").build()?;
    let spec = deny.spec.expect("a spec");
    assert_eq!(spec.ingress, None);
    assert_eq!(spec.policy_types, Some(vec!["Ingress".to_string()]));
    Ok(())
}

#[test]
fn new_kinds_have_kubectl_tables() -> AnyResult {
    let now: k8s_openapi::jiff::Timestamp = "2026-01-01T00:00:00Z".parse()?;
    let web = web()?;
    let hpa = horizontal_pod_autoscaler_for(&web)
        .max_replicas(5)
        .cpu_utilization(70)
        .build()?;
    assert_eq!(
        kubekit::kinds::table_at(&[hpa], now),
        "NAME   REFERENCE        TARGETS              MINPODS   MAXPODS   REPLICAS   AGE\n\
         web    Deployment/web   cpu: <unknown>/70%   1         5         0          <unknown>\n"
    );
    let pdb = pod_disruption_budget_for(&web).min_available(1).build()?;
    assert_eq!(
        kubekit::kinds::table_at(&[pdb], now),
        "NAME   MIN AVAILABLE   MAX UNAVAILABLE   ALLOWED DISRUPTIONS   AGE\n\
         web    1               N/A               0                     <unknown>\n"
    );
    let policy = network_policy_for(&web).build()?;
    assert_eq!(
        kubekit::kinds::table_at(&[policy], now),
        "NAME   POD-SELECTOR   AGE\nweb    app=web        <unknown>\n"
    );
    Ok(())
}

/// The Kubernetes docs' shapes of these kinds, read and rendered unchanged.
const REAL_WORLD_NETWORK: &str = r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: minimal-ingress
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /
spec:
  ingressClassName: nginx-example
  rules:
  - http:
      paths:
      - path: /testpath
        pathType: Prefix
        backend:
          service:
            name: test
            port:
              number: 80
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: php-apache
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: php-apache
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: zk-pdb
spec:
  minAvailable: 2
  selector:
    matchLabels:
      app: zookeeper
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
"#;

#[test]
fn real_world_network_manifests_round_trip_unchanged() -> AnyResult {
    let objects = manifest::from_yaml(REAL_WORLD_NETWORK)?;
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Ingress",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy"
        ]
    );
    let documents: Vec<serde_json::Value> = REAL_WORLD_NETWORK
        .split("\n---\n")
        .map(serde_saphyr::from_str)
        .collect::<std::result::Result<_, _>>()?;
    for (object, written) in objects.iter().zip(documents) {
        object.validate()?;
        assert!(
            !matches!(object, manifest::Object::Other(_)),
            "{}",
            object.kind()
        );
        assert_eq!(object.to_value()?, written, "{}", object.kind());
    }
    assert_eq!(
        manifest::from_yaml(&manifest::to_yaml_all(&objects)?)?,
        objects
    );
    // A typo in a field is found with its position.
    let err = manifest::from_yaml(&REAL_WORLD_NETWORK.replace("minAvailable", "minAvailble"))
        .expect_err("an unknown field");
    assert!(err.to_string().contains("minAvailble"), "{err}");
    Ok(())
}

#[test]
fn expose_makes_a_service_and_an_ingress_that_agree() -> Result {
    let web = web()?;
    let exposed = expose(&web)
        .port("http")
        .host("shop.example.com")
        .path("/shop")
        .build()?;
    let service = &exposed.service;
    let spec = service.spec.as_ref().expect("a spec");
    let port = &spec.ports.as_ref().expect("ports")[0];
    // On the container port's number, to the named port.
    assert_eq!((port.port, port.name.as_deref()), (80, Some("http")));
    assert_eq!(
        spec.selector,
        Some([("app".to_string(), "web".to_string())].into())
    );
    let ingress = exposed.ingress.clone().expect("an Ingress");
    assert_eq!(ingress.metadata.namespace, service.metadata.namespace);
    let rule = &ingress.spec.and_then(|s| s.rules).expect("rules")[0];
    assert_eq!(rule.host.as_deref(), Some("shop.example.com"));
    let path = &rule.http.as_ref().expect("http").paths[0];
    assert_eq!(path.path.as_deref(), Some("/shop"));
    let backend = path.backend.service.as_ref().expect("a Service backend");
    assert_eq!(
        Some(backend.name.as_str()),
        service.metadata.name.as_deref()
    );
    assert_eq!(exposed.into_objects().len(), 2);

    // Without a host, a Service only; an unknown port fails.
    let only = expose(&web).port("http").service_port(8080).build()?;
    assert_eq!(only.ingress, None);
    assert_eq!(
        only.service.spec.and_then(|s| s.ports).map(|p| p[0].port),
        Some(8080)
    );
    let err = assert_err(
        expose(&web).port("metrics").build(),
        "spec.ports[0].targetPort",
        "metrics",
    );
    assert!(err.rule.contains("its named ports are: http"), "{err}");
    Ok(())
}
