//! CronJob: ready once it exists (it runs on its schedule); `kubectl get cronjobs` columns.

use k8s_openapi::{api::batch::v1::CronJob, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for CronJob {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
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
