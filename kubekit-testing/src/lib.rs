//! Real Kubernetes clusters for integration tests: one shared cluster per test run, a
//! namespace per test.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::Api;
//!
//! // The run's cluster (started on first use, stopped after the run) and a namespace for
//! // this test, deleted when the test passes, kept for inspection when it fails.
//! let ns = kubekit_testing::test_namespace!().await?;
//! let client = kube::Client::try_from(ns.cluster().config().clone())?;
//! let config_maps: Api<ConfigMap> = Api::namespaced(client, ns.name());
//! assert!(config_maps.get_opt("kube-root-ca.crt").await?.is_some());
//! # Ok(()) }
//! ```
//!
//! Providers (`KUBEKIT_PROVIDER`, [`ProviderKind`]; each a [`Provider`] in [`providers`]):
//! `k3s` runs k3s in a Docker container through testcontainers ([`K3s`]); `local` runs etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler and, as root, a node (kubelet,
//! containerd, CNI, kube-proxy) as local processes ([`Local`]); `kubeconfig` uses the
//! cluster `KUBECONFIG` points at ([`Kubeconfig`]). Unset, `k3s` is chosen where a Docker
//! engine answers and its image is present or can be pulled, `local` otherwise.
//!
//! A cluster's keys and kubeconfigs are readable by the user only (directories 0700, files
//! 0600) and removed when the cluster stops; the components' logs stay for failure reports.
//! Progress lines go to stderr and are `tracing` events of target `kubekit_testing`.

pub mod assets;
mod certs;
mod cluster;
mod components;
mod error;
mod namespace;
pub mod providers;
mod report;
mod service_lb;
mod shared;
mod util;

pub use cluster::Cluster;
pub use components::{Component, Components, IngressAddress};
pub use error::{Error, Result};
pub use namespace::{
    OWNER_BOOT_ANNOTATION, OWNER_HOST_ANNOTATION, OWNER_PID_ANNOTATION, OWNER_START_ANNOTATION,
    RESTRICTED_ACCOUNT, TEST_LABEL, TEST_PATH_LABEL, TestNamespace, namespace_name,
};
pub use providers::{
    Kubeconfig, Local, Provider, ProviderKind,
    k3s::{CLUSTER_LABEL, K3S_IMAGE, K3S_TAG, K3s},
    local::{
        LocalCluster, MINIMAL_CONTROLLERS, POD_CIDR, SERVICE_CIDR, controllers_from_env,
        node::{BRIDGE, Images, NODE_IP, NODE_NAME, RUN_DIR, images, load_image, node_selector},
    },
};
pub use service_lb::{LB_RANGE, PORT_UNAVAILABLE, UNSUPPORTED_PROTOCOL, run_service_lb};
pub use shared::{WATCHDOG_PROGRAM, run_watchdog, state_dir, stop_local};
