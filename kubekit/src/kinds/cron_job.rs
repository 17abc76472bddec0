//! CronJob: ready when it is scheduled (it exists and is not suspended), failed while
//! suspended; `kubectl get cronjobs` columns.

use k8s_openapi::{api::batch::v1::CronJob, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for CronJob {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when the CronJob is scheduled: it exists (so the API server accepted its
    /// `schedule` and `timeZone`, which it validates on admission) and `spec.suspend` is not
    /// true. A suspended CronJob is [`Readiness::Failed`]: no Job will be created until it is
    /// resumed, so a wait for it would never end.
    ///
    /// Nothing more can be waited for: the CronJob controller writes nothing on a CronJob
    /// before its first run (`status` has no conditions and no `observedGeneration`; only
    /// `lastScheduleTime`, `lastSuccessfulTime` and `active` once Jobs exist), and the first
    /// run may be a whole period away. kstatus likewise calls a CronJob `Current` as soon as
    /// it exists; `kubectl rollout status` does not support CronJobs. To wait for a run, wait
    /// on the CronJob's `status.lastScheduleTime` or on its Jobs.
    ///
    /// ```
    /// use kubekit::builders::{container, cron_job, pod_template};
    /// use kubekit::kinds::{Kind, Readiness};
    ///
    /// let template = pod_template()
    ///     .container(container().name("backup").image("busybox:1.37").build()?)
    ///     .build();
    /// let nightly = cron_job().name("backup").schedule("0 3 * * *").template(template.clone());
    /// assert_eq!(nightly.build()?.readiness(), Readiness::Ready);
    /// let paused = cron_job().name("backup").schedule("0 3 * * *").template(template).suspend(true);
    /// assert!(matches!(paused.build()?.readiness(), Readiness::Failed(why) if why.contains("suspend")));
    /// # Ok::<(), kubekit::Error>(())
    /// ```
    fn readiness(&self) -> Readiness {
        if self.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
            return Readiness::Failed(
                "suspended (spec.suspend: true): no Job is scheduled until it is resumed".into(),
            );
        }
        Readiness::Ready
    }

    const COLUMNS: &'static [&'static str] = &[
        "NAME",
        "SCHEDULE",
        "SUSPEND",
        "ACTIVE",
        "LAST SCHEDULE",
        "AGE",
    ];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let spec = self.spec.as_ref();
        let status = self.status.as_ref();
        let last = status
            .and_then(|s| s.last_schedule_time.as_ref())
            .map(|t| crate::table::age(Some(t), now))
            .unwrap_or_else(|| "<none>".into());
        vec![
            name(self),
            spec.map(|s| s.schedule.clone()).unwrap_or_default(),
            spec.and_then(|s| s.suspend).unwrap_or(false).to_string(),
            status
                .and_then(|s| s.active.as_ref())
                .map_or(0, Vec::len)
                .to_string(),
            last,
            age(self, now),
        ]
    }
}
