//! Jobs and CronJobs: pods that run to completion, once or on a schedule.

// Struct literals end in `..Default::default()` even when every field is set: the fields of
// the k8s-openapi types depend on the Kubernetes version feature the final build picks.
#![allow(clippy::needless_update)]

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ValidationError;
use super::built::BuiltPodTemplate;
use super::container::non_empty_map;
use super::pod::{RestartPolicy, metadata_setters};
use super::validate::{Ctx, Validate, with_validated_containers};

/// The parts of a Job's spec the Job and CronJob builders share.
struct JobParts {
    template: core::PodTemplateSpec,
    completions: Option<i32>,
    parallelism: Option<i32>,
    backoff_limit: Option<i32>,
    active_deadline_seconds: Option<i64>,
    ttl_seconds_after_finished: Option<i32>,
}

impl JobParts {
    /// The Job's spec; a template that leaves `restartPolicy` unset gets `Never` (Kubernetes'
    /// default for pods, `Always`, is not allowed in a Job). `Always` stays, for `validate` to
    /// report it.
    fn into_spec(self) -> batch::JobSpec {
        let mut template = self.template;
        if let Some(spec) = template.spec.as_mut()
            && spec.restart_policy.is_none()
        {
            spec.restart_policy = Some(RestartPolicy::Never.as_str().to_string());
        }
        batch::JobSpec {
            template,
            completions: self.completions,
            parallelism: self.parallelism,
            backoff_limit: self.backoff_limit,
            active_deadline_seconds: self.active_deadline_seconds,
            ttl_seconds_after_finished: self.ttl_seconds_after_finished,
            ..Default::default()
        }
    }
}

/// Builds a [`Job`](k8s_openapi::api::batch::v1::Job): pods that run until `completions` of
/// them have succeeded.
///
/// `name` and `template` (see [`pod_template`](crate::builders::pod_template)) are required: a
/// Job without either does not compile. A Job's pods must not restart forever, so their
/// `restartPolicy` must be `Never` or `OnFailure`: a template that leaves it unset gets `Never`,
/// and `Always` is an error naming `spec.template.spec.restartPolicy`. The API server picks the
/// Job's selector (a label with the Job's uid), so there is none to get wrong.
///
/// `build()` checks the counts (`completions`, `parallelism`, `backoffLimit`,
/// `ttlSecondsAfterFinished` at least 0, `activeDeadlineSeconds` above 0) and the pod template.
/// `Client::wait_ready` waits for it to complete, and fails with
/// the controller's reason (e.g. `BackoffLimitExceeded`) when it fails.
///
/// ```
/// use kubekit::builders::{container, job, pod_template, RestartPolicy};
///
/// let migrate = job()
///     .name("migrate")
///     .namespace("shop")
///     .template(
///         pod_template()
///             .container(
///                 container()
///                     .name("migrate")
///                     .image("postgres:17")
///                     .command(["sh", "-c", "psql -f /migrations/001.sql"])
///                     .build()?,
///             )
///             .build(),
///     )
///     .backoff_limit(2)
///     .active_deadline_seconds(600)
///     .ttl_seconds_after_finished(3600)
///     .build()?;
/// let spec = migrate.spec.expect("a Job has a spec");
/// assert_eq!(spec.template.spec.and_then(|s| s.restart_policy).as_deref(), Some("Never"));
///
/// // A Job's pods may not restart `Always`.
/// let err = job()
///     .name("migrate")
///     .template(
///         pod_template()
///             .container(container().name("m").image("postgres:17").build()?)
///             .restart_policy(RestartPolicy::Always)
///             .build(),
///     )
///     .build()
///     .unwrap_err();
/// assert_eq!(err.field, "spec.template.spec.restartPolicy");
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn job(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    /// The Job's name, a DNS-1123 subdomain (its pods are named after it).
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// The pods to run, e.g. from [`pod_template`](crate::builders::pod_template); their
    /// `restartPolicy` becomes `Never` unless set to `OnFailure`.
    // Boxed in the builder: bon moves the builder on every setter call, and a pod template
    // is 1.8 kB (BENCHMARKS.md, "Builders").
    #[builder(with = |template: impl Into<BuiltPodTemplate>| Box::new(template.into()))]
    template: Box<BuiltPodTemplate>,
    /// How many pods must succeed (`completions`, Kubernetes' default: 1).
    completions: Option<i32>,
    /// How many pods may run at once (`parallelism`, Kubernetes' default: 1).
    parallelism: Option<i32>,
    /// How many failed pods before the Job fails (`backoffLimit`, Kubernetes' default: 6).
    backoff_limit: Option<i32>,
    /// Seconds the Job may run before it is stopped and fails (`activeDeadlineSeconds`).
    active_deadline_seconds: Option<i64>,
    /// Seconds after the Job finishes before it is deleted, with its pods
    /// (`ttlSecondsAfterFinished`); kept until deleted when not set.
    ttl_seconds_after_finished: Option<i32>,
    /// Create the Job suspended: no pods start until it is resumed (`suspend`).
    suspend: Option<bool>,
) -> Result<batch::Job, ValidationError> {
    // The template stays in its box until it is moved into the Job (one copy of it).
    let mut template = template;
    let checks = std::mem::take(&mut template.checks);
    let ctx = Ctx {
        kind: "Job",
        name: &name,
    };
    checks.check_namespace(ctx, namespace.as_deref(), "spec.template.spec")?;
    let mut spec = JobParts {
        template: template.template,
        completions,
        parallelism,
        backoff_limit,
        active_deadline_seconds,
        ttl_seconds_after_finished,
    }
    .into_spec();
    spec.suspend = suspend;
    let job = batch::Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(spec),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || job.validate())?;
    Ok(job)
}

metadata_setters!(JobBuilder, job_builder::State, "Job itself (not its pods)");

/// What a CronJob does when its schedule fires while its previous Job is still running
/// (`concurrencyPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConcurrencyPolicy {
    /// Start the new Job anyway (Kubernetes' default).
    #[default]
    Allow,
    /// Skip this run.
    Forbid,
    /// Stop the running Job and start the new one.
    Replace,
}

impl ConcurrencyPolicy {
    /// The value Kubernetes uses: `Allow`, `Forbid` or `Replace`.
    ///
    /// ```
    /// assert_eq!(kubekit::builders::ConcurrencyPolicy::Forbid.as_str(), "Forbid");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

impl fmt::Display for ConcurrencyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds a [`CronJob`](k8s_openapi::api::batch::v1::CronJob): a Job made from its template
/// each time its schedule fires.
///
/// `name`, `schedule` and `template` (the Job's pods) are required. The Job's own settings
/// (`backoff_limit`, `active_deadline_seconds`, ...) are members of this builder too, and its
/// pods get `restartPolicy: Never` unless the template says `OnFailure`, as for
/// [`job`](crate::builders::job).
///
/// `build()` checks the schedule (five cron fields — minute, hour, day of month, month, day of
/// week — or a macro like `@hourly`; see [`validate::cron_schedule`](crate::builders::validate::cron_schedule)),
/// the time zone, the name (at most 52 characters: its Jobs add 11), the history limits and
/// the Job template, with errors naming e.g. `spec.jobTemplate.spec.template.spec.restartPolicy`.
///
/// ```
/// use kubekit::builders::{container, cron_job, pod_template, ConcurrencyPolicy};
///
/// let nightly = cron_job()
///     .name("backup")
///     .schedule("30 2 * * *")
///     .time_zone("Europe/Paris")
///     .concurrency_policy(ConcurrencyPolicy::Forbid)
///     .successful_jobs_history_limit(3)
///     .failed_jobs_history_limit(1)
///     .template(
///         pod_template()
///             .container(
///                 container().name("backup").image("postgres:17").command(["pg_dumpall"]).build()?,
///             )
///             .build(),
///     )
///     .backoff_limit(1)
///     .build()?;
/// assert_eq!(nightly.spec.as_ref().map(|s| s.schedule.as_str()), Some("30 2 * * *"));
///
/// let err = cron_job()
///     .name("backup")
///     .schedule("30 25 * * *")
///     .template(pod_template().container(container().name("b").image("busybox").build()?).build())
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "CronJob \"backup\": spec.schedule \"30 25 * * *\" is not a valid cron schedule: 25 in \
///      the hour field is out of range 0-23"
/// );
/// # Ok::<(), kubekit::builders::ValidationError>(())
/// ```
#[bon::builder(finish_fn = build, on(String, into))]
pub fn cron_job(
    #[builder(field)] labels: BTreeMap<String, String>,
    #[builder(field)] annotations: BTreeMap<String, String>,
    /// The CronJob's name, a DNS-1123 subdomain of at most 52 characters.
    name: String,
    /// The namespace; left to the client (its default namespace) when not set.
    namespace: Option<String>,
    /// When to run: five cron fields (`"30 2 * * *"`: 02:30 every day) or a macro (`@hourly`,
    /// `@daily`, `@weekly`, `@monthly`, `@yearly`, `@every 1h30m`).
    schedule: String,
    /// The time zone of the schedule (`timeZone`, an IANA name such as `Europe/Paris`); the
    /// controller manager's time zone when not set.
    time_zone: Option<String>,
    /// What happens when a run is due while the previous one is still running
    /// (`concurrencyPolicy`, Kubernetes' default: `Allow`).
    concurrency_policy: Option<ConcurrencyPolicy>,
    /// Seconds after a missed run's time during which it may still start
    /// (`startingDeadlineSeconds`).
    starting_deadline_seconds: Option<i64>,
    /// How many finished successful Jobs to keep (`successfulJobsHistoryLimit`, default 3).
    successful_jobs_history_limit: Option<i32>,
    /// How many failed Jobs to keep (`failedJobsHistoryLimit`, default 1).
    failed_jobs_history_limit: Option<i32>,
    /// Create the CronJob suspended: no runs until it is resumed (`suspend`).
    suspend: Option<bool>,
    /// The pods each Job runs, e.g. from [`pod_template`](crate::builders::pod_template).
    // Boxed in the builder: bon moves the builder on every setter call, and a pod template
    // is 1.8 kB (BENCHMARKS.md, "Builders").
    #[builder(with = |template: impl Into<BuiltPodTemplate>| Box::new(template.into()))]
    template: Box<BuiltPodTemplate>,
    /// How many pods of each Job must succeed (`completions`).
    completions: Option<i32>,
    /// How many pods of each Job may run at once (`parallelism`).
    parallelism: Option<i32>,
    /// How many failed pods before a Job fails (`backoffLimit`, Kubernetes' default: 6).
    backoff_limit: Option<i32>,
    /// Seconds each Job may run before it is stopped and fails (`activeDeadlineSeconds`).
    active_deadline_seconds: Option<i64>,
    /// Seconds after a Job finishes before it is deleted (`ttlSecondsAfterFinished`); the
    /// history limits apply otherwise.
    ttl_seconds_after_finished: Option<i32>,
) -> Result<batch::CronJob, ValidationError> {
    // The template stays in its box until it is moved into the Job (one copy of it).
    let mut template = template;
    let checks = std::mem::take(&mut template.checks);
    let ctx = Ctx {
        kind: "CronJob",
        name: &name,
    };
    checks.check_namespace(
        ctx,
        namespace.as_deref(),
        "spec.jobTemplate.spec.template.spec",
    )?;
    let job = JobParts {
        template: template.template,
        completions,
        parallelism,
        backoff_limit,
        active_deadline_seconds,
        ttl_seconds_after_finished,
    }
    .into_spec();
    let cron_job = batch::CronJob {
        metadata: ObjectMeta {
            name: Some(name),
            namespace,
            labels: non_empty_map(labels),
            annotations: non_empty_map(annotations),
            ..Default::default()
        },
        spec: Some(batch::CronJobSpec {
            schedule,
            time_zone,
            concurrency_policy: concurrency_policy.map(|p| p.as_str().to_string()),
            starting_deadline_seconds,
            successful_jobs_history_limit,
            failed_jobs_history_limit,
            suspend,
            job_template: batch::JobTemplateSpec {
                metadata: None,
                spec: Some(job),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    with_validated_containers(checks.validated, || cron_job.validate())?;
    Ok(cron_job)
}

metadata_setters!(
    CronJobBuilder,
    cron_job_builder::State,
    "CronJob itself (not its Jobs)"
);
