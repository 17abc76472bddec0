//! PersistentVolumeClaim: ready when `Bound`; `kubectl get pvc` columns.

use k8s_openapi::{api::core::v1::PersistentVolumeClaim, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for PersistentVolumeClaim {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready when its phase is `Bound`; failed when `Lost` (its volume is gone).
    fn readiness(&self) -> Readiness {
        match self.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Bound") => Readiness::Ready,
            Some("Lost") => Readiness::Failed("phase Lost: its volume no longer exists".into()),
            Some(phase) => Readiness::NotReady(format!("phase {phase}")),
            None => Readiness::NotReady("no phase yet".into()),
        }
    }

    const COLUMNS: &'static [&'static str] = &[
        "NAME",
        "STATUS",
        "VOLUME",
        "CAPACITY",
        "ACCESS MODES",
        "STORAGECLASS",
        "AGE",
    ];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let status = self.status.as_ref();
        let spec = self.spec.as_ref();
        let capacity = status
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_default();
        let modes = status
            .and_then(|s| s.access_modes.as_ref())
            .map(|modes| {
                modes
                    .iter()
                    .map(|m| match m.as_str() {
                        "ReadWriteOnce" => "RWO",
                        "ReadOnlyMany" => "ROX",
                        "ReadWriteMany" => "RWX",
                        "ReadWriteOncePod" => "RWOP",
                        other => other,
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        vec![
            name(self),
            status.and_then(|s| s.phase.clone()).unwrap_or_default(),
            spec.and_then(|s| s.volume_name.clone()).unwrap_or_default(),
            capacity,
            modes,
            spec.and_then(|s| s.storage_class_name.clone())
                .unwrap_or_else(|| "<unset>".into()),
            age(self, now),
        ]
    }
}
