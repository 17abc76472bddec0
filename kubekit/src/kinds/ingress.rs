//! Ingress: ready once it exists; `kubectl get ingress` columns.

use k8s_openapi::{api::networking::v1::Ingress, jiff::Timestamp};

use super::{Kind, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Ingress {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    const COLUMNS: &'static [&'static str] = &["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let spec = self.spec.as_ref();
        let hosts: Vec<String> = spec
            .and_then(|s| s.rules.as_ref())
            .into_iter()
            .flatten()
            .map(|r| r.host.clone().unwrap_or_else(|| "*".into()))
            .collect();
        let address: Vec<String> = self
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
            .collect();
        let tls = spec
            .and_then(|s| s.tls.as_ref())
            .is_some_and(|t| !t.is_empty());
        vec![
            name(self),
            spec.and_then(|s| s.ingress_class_name.clone())
                .unwrap_or_else(|| "<none>".into()),
            if hosts.is_empty() {
                "*".into()
            } else {
                hosts.join(",")
            },
            address.join(","),
            if tls { "80, 443" } else { "80" }.into(),
            age(self, now),
        ]
    }
}
