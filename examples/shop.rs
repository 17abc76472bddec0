//! The example app's objects (see `app.rs`): a web Deployment with its Service and Ingress, a
//! worker reading a queue Service, a Postgres-style StatefulSet with a claim per pod and its
//! headless Service, a migration Job, a nightly CronJob, a ConfigMap and a Secret, a
//! ServiceAccount with a Role, an autoscaler, a disruption budget and NetworkPolicies.
//!
//! A module of its own so that `kubekit/benches/builders.rs` times the same code
//! (`#[path]`-included there): builders only, no client.

use kubekit::{
    builders::{
        ConcurrencyPolicy, ContainerPort, Probe, PullPolicy, backend, config_map, container,
        cron_job, deployment, grant, headless_service_for, horizontal_pod_autoscaler_for, ingress,
        job, network_policy_for, persistent_volume_claim, pod_disruption_budget_for, pod_template,
        secret, service_account, service_for, stateful_set,
    },
    manifest::Object,
};

/// The images the app runs: public ones for the printed manifest; with `--apply`, the test
/// cluster's locally built ones (no registry is reachable there).
pub struct Images {
    /// The web tier's image.
    pub web: String,
    /// The database's image.
    pub db: String,
    /// The image of the queue, the worker, the migration and the backup.
    pub tool: String,
    /// Their pull policy (`None`: Kubernetes' default for the tag).
    pub pull: Option<PullPolicy>,
    /// The database's command: Postgres's own, or with the local images a stand-in that
    /// serves its data directory over HTTP on port 5432.
    pub db_command: Vec<String>,
}

impl Images {
    /// Public images, for the printed manifest.
    pub fn public() -> Self {
        Images {
            web: "nginx:1.28".into(),
            db: "postgres:17".into(),
            tool: "busybox:1.37".into(),
            pull: None,
            db_command: vec!["docker-entrypoint.sh".into(), "postgres".into()],
        }
    }
}

/// The app's objects in namespace `ns`, in the order they are applied (after the namespace).
pub fn app(images: &Images, ns: &str) -> kubekit::Result<Vec<Object>> {
    let settings = config_map()
        .name("web-config")
        .namespace(ns)
        .data("GREETING", "welcome to the shop")
        .data("DB_HOST", "db")
        .build()?;
    let credentials = secret()
        .name("db")
        .namespace(ns)
        .string_data("username", "shop")
        .string_data("password", "change-me")
        .build()?;
    let worker_account = service_account().name("worker").namespace(ns).build()?;
    // The worker reads its settings from the API: a Role and RoleBinding made for its account.
    let (worker_role, worker_binding) = grant(
        "worker-reads-config",
        &worker_account,
        ["get", "list", "watch"],
        ["configmaps"],
    )?;

    // The database: one pod with its own claim, found by the headless Service made for it.
    let db_container = container()
        .name("postgres")
        .image(images.db.as_str())
        .port(ContainerPort::named("postgres", 5432))
        .env_value_from("POSTGRES_USER", &credentials, "username")
        .env_value_from("POSTGRES_PASSWORD", &credentials, "password")
        .mount("data", "/var/lib/postgresql/data")
        .readiness_probe(Probe::tcp("postgres").period_seconds(2))
        .command(images.db_command.clone())
        .maybe_pull_policy(images.pull);
    let db = stateful_set()
        .name("db")
        .namespace(ns)
        .template(
            pod_template()
                .label("app", "db")
                .termination_grace_period_seconds(0)
                .container(db_container.build()?)
                .build(),
        )
        .volume_claim_template(
            persistent_volume_claim()
                .name("data")
                .storage("64Mi")
                .build()?,
        )
        .build()?;
    let db_service = headless_service_for(&db).port(5432, "postgres").build()?;

    // The web tier: env from the ConfigMap and the Secret (keys checked), exposed through a
    // Service and an Ingress made from it, scaled on CPU, kept at one pod at least in drains.
    let web_container = container()
        .name("web")
        .image(images.web.as_str())
        .port(ContainerPort::http(80))
        .env_from(&settings)
        .env_value_from("DB_PASSWORD", &credentials, "password")
        .request("cpu", "50m")
        .limit("memory", "128Mi")
        .readiness_probe(Probe::http_get("/", "http").period_seconds(2))
        .maybe_pull_policy(images.pull);
    let web = deployment()
        .name("web")
        .namespace(ns)
        .replicas(2)
        .template(
            pod_template()
                .label("app", "web")
                .termination_grace_period_seconds(0)
                .container(web_container.build()?)
                .build(),
        )
        .rolling_update(1, 0)
        .build()?;
    let web_service = service_for(&web).name("web").port(80, "http").build()?;
    let web_ingress = ingress()
        .name("shop")
        .host_route("shop.test", "/", backend(&web_service, "http")?)
        .build()?;
    let web_autoscaler = horizontal_pod_autoscaler_for(&web)
        .min_replicas(2)
        .max_replicas(5)
        .cpu_utilization(70)
        .build()?;
    let web_budget = pod_disruption_budget_for(&web).min_available(1).build()?;

    // A queue and the worker that reads it, as the worker's ServiceAccount.
    let queue_command = "mkdir -p /srv && echo job-1 > /srv/next && exec httpd -f -p 8080 -h /srv";
    let queue_container = container()
        .name("queue")
        .image(images.tool.as_str())
        .port(ContainerPort::http(8080))
        .command(["sh", "-c", queue_command])
        .readiness_probe(Probe::tcp("http").period_seconds(2))
        .maybe_pull_policy(images.pull);
    let queue = deployment()
        .name("queue")
        .namespace(ns)
        .template(
            pod_template()
                .label("app", "queue")
                .termination_grace_period_seconds(0)
                .container(queue_container.build()?)
                .build(),
        )
        .build()?;
    let queue_service = service_for(&queue).name("queue").port(80, "http").build()?;
    let worker_script = "while true; do wget -qO- http://queue/next; sleep 10; done";
    let worker_container = container()
        .name("worker")
        .image(images.tool.as_str())
        .command(["sh", "-c", worker_script])
        .env_from(&settings)
        .maybe_pull_policy(images.pull);
    let worker = deployment()
        .name("worker")
        .namespace(ns)
        .template(
            pod_template()
                .label("app", "worker")
                .service_account_from(&worker_account)
                .termination_grace_period_seconds(0)
                .container(worker_container.build()?)
                .build(),
        )
        .build()?;

    // The migration, once, and the backup, nightly (`restartPolicy: Never` is the default).
    let migrate_script = "echo migrating $DB_HOST as $POSTGRES_USER; echo migrated";
    let migrate_container = container()
        .name("migrate")
        .image(images.tool.as_str())
        .command(["sh", "-c", migrate_script])
        .env_from(&settings)
        .env_value_from("POSTGRES_USER", &credentials, "username")
        .maybe_pull_policy(images.pull);
    let migrate = job()
        .name("migrate")
        .namespace(ns)
        .backoff_limit(2)
        .template(
            pod_template()
                .label("app", "migrate")
                .termination_grace_period_seconds(0)
                .container(migrate_container.build()?)
                .build(),
        )
        .build()?;
    let backup_container = container()
        .name("backup")
        .image(images.tool.as_str())
        .command(["sh", "-c", "echo backing up the uploads"])
        .maybe_pull_policy(images.pull);
    let backup = cron_job()
        .name("backup")
        .namespace(ns)
        .schedule("0 3 * * *")
        .time_zone("Etc/UTC")
        .concurrency_policy(ConcurrencyPolicy::Forbid)
        .template(
            pod_template()
                .label("app", "backup")
                .container(backup_container.build()?)
                .build(),
        )
        .build()?;

    // Only web and the migration reach the database, on its postgres port; only the worker
    // reaches the queue.
    let db_policy = network_policy_for(&db)
        .allow_from(&web, ["postgres"])
        .allow_from(&migrate, ["postgres"])
        .build()?;
    let queue_policy = network_policy_for(&queue)
        .allow_from(&worker, ["http"])
        .build()?;

    Ok(vec![
        settings.into(),
        credentials.into(),
        worker_account.into(),
        worker_role.into(),
        worker_binding.into(),
        db_service.into(),
        db.into(),
        migrate.into(),
        web.into(),
        web_service.into(),
        web_ingress.into(),
        web_autoscaler.into(),
        web_budget.into(),
        queue.into(),
        queue_service.into(),
        worker.into(),
        backup.into(),
        db_policy.into(),
        queue_policy.into(),
    ])
}
