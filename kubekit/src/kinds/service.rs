//! Service: validated; ready once it exists (a LoadBalancer when it has an address);
//! `kubectl get services` columns.

use k8s_openapi::{api::core::v1::Service, jiff::Timestamp};

use super::{Kind, Readiness, age, name};
use crate::builders::{Validate, ValidationError};

impl Kind for Service {
    fn validate(&self) -> Result<(), ValidationError> {
        Validate::validate(self)
    }

    /// Ready once it exists; a `LoadBalancer` Service when the load balancer has reported
    /// an address in `status.loadBalancer.ingress`.
    fn readiness(&self) -> Readiness {
        let spec = self.spec.as_ref();
        if spec.and_then(|s| s.type_.as_deref()) != Some("LoadBalancer") {
            return Readiness::Ready;
        }
        let has_address = self
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .is_some_and(|i| !i.is_empty());
        if has_address {
            Readiness::Ready
        } else {
            Readiness::NotReady("the load balancer has no address yet".into())
        }
    }

    const COLUMNS: &'static [&'static str] = &[
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ];

    fn row(&self, now: Timestamp) -> Vec<String> {
        let spec = self.spec.clone().unwrap_or_default();
        let type_ = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
        let external = self
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|i| {
                i.iter()
                    .filter_map(|x| x.ip.clone().or_else(|| x.hostname.clone()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|s| !s.is_empty())
            .or_else(|| spec.external_ips.as_ref().map(|ips| ips.join(",")))
            .unwrap_or_else(|| {
                if type_ == "LoadBalancer" {
                    "<pending>"
                } else {
                    "<none>"
                }
                .to_string()
            });
        let ports = spec
            .ports
            .iter()
            .flatten()
            .map(|p| {
                let protocol = p.protocol.as_deref().unwrap_or("TCP");
                match p.node_port {
                    Some(node) => format!("{}:{node}/{protocol}", p.port),
                    None => format!("{}/{protocol}", p.port),
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        vec![
            name(self),
            type_,
            spec.cluster_ip.clone().unwrap_or_else(|| "<none>".into()),
            external,
            if ports.is_empty() {
                "<none>".into()
            } else {
                ports
            },
            age(self, now),
        ]
    }
}
