//! kubekit: typed builders, YAML manifests and a finished client toolkit for Kubernetes.
//!
//! - [`builders`]: Pod, Deployment, Service, Namespace, ReplicaSet and their parts, built with
//!   [`bon`], returning the real [`k8s_openapi`] types, validated before anything is sent.
//! - [`manifest`]: multi-document YAML in and out, typed for the kinds kubekit knows.
//! - [`client`] (feature `client`, on by default): apply / get / list / delete, waits, exec,
//!   logs and port-forward on top of [`kube`].
//! - `testing` (feature `testing`): `#[kubekit::test]`, async tests against a real cluster
//!   that get a client and a namespace of their own, with YAML fixtures applied.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod builders;
pub mod manifest;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod exec;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod logs;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod portforward;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod rollout;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub use kubekit_macros::test;

pub use k8s_openapi;
#[cfg(feature = "client")]
pub use kube;

#[cfg(feature = "client")]
pub use client::Client;
