//! Real Kubernetes clusters for integration tests: one shared cluster per test run, a
//! namespace per test.
//!
//! ```no_run
//! # async fn demo() -> kubekit_testing::Result<()> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::Api;
//!
//! // The run's cluster (started on first use, stopped after the run) and a namespace for
//! // this test, deleted when the test passes, kept for inspection when it fails.
//! let ns = kubekit_testing::test_namespace!().await?;
//! let config_maps: Api<ConfigMap> = Api::namespaced(ns.client(), ns.name());
//! assert!(config_maps.get_opt("kube-root-ca.crt").await?.is_some());
//! # Ok(()) }
//! ```
//!
//! Providers (`KUBEKIT_PROVIDER`): `k3s` runs k3s in a Docker container through
//! testcontainers ([`K3s`]); `local` runs etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and, as root, a node (kubelet, containerd, CNI, kube-proxy) as local
//! processes; `kubeconfig` uses the cluster `KUBECONFIG` points at. Unset, `k3s` is chosen
//! where a Docker engine answers and its image is present or can be pulled, `local`
//! otherwise.

pub mod assets;
mod certs;
mod error;
mod k3s;
mod local;
mod namespace;
mod node;
mod shared;

pub use error::{Error, Result};
pub use k3s::{CLUSTER_LABEL, K3S_IMAGE, K3S_TAG, K3s};
pub use local::{CONTROLLERS, LocalCluster, POD_CIDR, SERVICE_CIDR};
pub use namespace::{TEST_LABEL, TEST_PATH_LABEL, TestNamespace, namespace_name};
pub use node::{BRIDGE, Images, NODE_IP, NODE_NAME, RUN_DIR, images, load_image, node_selector};
pub use shared::{Cluster, Provider, state_dir, stop_local};
