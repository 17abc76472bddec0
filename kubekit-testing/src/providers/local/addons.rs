//! The local cluster's components beyond the node ([`Component`]): CoreDNS and
//! local-path-provisioner, run as processes on the node next to kubelet and kube-proxy, with
//! the API objects that make them what pods expect (the `kube-dns` Service, a default
//! StorageClass).
//!
//! Why processes and not pods, as k3s runs them: they start with the node instead of after an
//! image is built and a pod is scheduled (CoreDNS answers about 100 ms after it starts), there
//! is no image to build or load for them, and a test that deletes or breaks every pod of
//! `kube-system`, or fills the node, does not take the cluster's DNS down with it. What pods see
//! is the same: the `kube-system/kube-dns` Service at `10.97.0.10`, whose endpoint is the node's
//! address, and a `local-path` StorageClass whose helper pods run on the node as k3s's do.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use k8s_openapi::api::{
    core::v1::{ConfigMap, Service, ServiceAccount},
    discovery::v1::EndpointSlice,
    storage::v1::StorageClass,
};
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    Component,
    error::Result,
    providers::local::{self, LocalState, node},
    report::progress,
    util::{self, Started},
};

/// The cluster DNS Service's address: the conventional `.10` of the Service range.
pub const DNS_SERVICE_IP: &str = "10.97.0.10";
/// The cluster's DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The default StorageClass's name (as k3s names it).
pub const STORAGE_CLASS: &str = "local-path";
/// The provisioner name of the default StorageClass.
pub const PROVISIONER: &str = "rancher.io/local-path";
/// The directory, under the cluster's directory, that holds the volumes local-path makes;
/// removed with the cluster.
pub(crate) const STORAGE_DIR: &str = "storage";

const MANAGER: &str = "kubekit-testing";

/// The program that runs `component`.
pub(crate) fn binary(component: Component) -> &'static str {
    match component {
        Component::Dns => "coredns",
        Component::Storage => "local-path-provisioner",
    }
}

/// Starts the cluster's components (`state.components`) and returns once each works.
pub(crate) async fn start(
    state: &mut LocalState,
    started: &mut Vec<Started>,
    bins: &Path,
) -> Result<()> {
    if state.components == crate::Components::none() {
        return Ok(());
    }
    let began = Instant::now();
    let client = kube::Client::try_from(local::config_from(&state.kubeconfig).await?)?;
    for component in state.components.iter() {
        match component {
            Component::Dns => dns(state, started, bins, &client).await?,
            Component::Storage => storage(state, started, bins, &client).await?,
        }
    }
    progress!(
        "components {} ready in {:.1} s",
        state.components,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn apply<K>(api: &Api<K>, name: &str, object: serde_json::Value) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await?;
    Ok(())
}

/// CoreDNS on the node's address, serving `cluster.local` from the API, and the `kube-dns`
/// Service in front of it.
async fn dns(
    state: &mut LocalState,
    started: &mut Vec<Started>,
    bins: &Path,
    client: &kube::Client,
) -> Result<()> {
    let ready_port = util::free_port()?;
    // No upstream by default: there may be none (an offline machine, a sandbox), and a name
    // outside the cluster then fails at once instead of after resolver timeouts.
    let forward = match std::env::var("KUBEKIT_DNS_UPSTREAM") {
        Ok(up) if !up.trim().is_empty() => format!("    forward . {}\n", up.trim()),
        _ => String::new(),
    };
    let corefile = state.dir.join("Corefile");
    util::write_private(
        &corefile,
        format!(
            ".:53 {{
    bind {ip}
    errors
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
{forward}    cache 5
    loadbalance
}}
",
            ip = node::NODE_IP,
            kubeconfig = state.kubeconfig.display(),
        )
        .as_bytes(),
    )?;
    let dir = state.dir.clone();
    started.push(util::spawn(
        &dir,
        "coredns",
        &bins.join("coredns"),
        &["-conf".into(), corefile.display().to_string()],
    )?);
    state
        .processes
        .push(started[started.len() - 1].process.clone());

    let services: Api<Service> = Api::namespaced(client.clone(), "kube-system");
    apply(
        &services,
        "kube-dns",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                         "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS",
                                    "kubernetes.io/cluster-service": "true"}},
            "spec": {"clusterIP": DNS_SERVICE_IP, "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}
        }),
    )
    .await?;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "kube-system");
    apply(
        &slices,
        "kube-dns-node",
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-node", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns",
                                    "endpointslice.kubernetes.io/managed-by": MANAGER}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [node::NODE_IP], "conditions": {"ready": true},
                           "nodeName": node::NODE_NAME}],
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                      {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
        }),
    )
    .await?;

    // CoreDNS's `ready` answers 200 once the kubernetes plugin has synced with the API.
    let timeout = Duration::from_secs(30);
    let ready = util::while_alive(started, timeout, async {
        loop {
            if http_ok(ready_port, "/ready").await {
                return Ok::<(), crate::Error>(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await?;
    if ready.is_none() {
        let coredns = &started[started.len() - 1];
        return Err(coredns.failed(format!("not ready after {timeout:?}")));
    }
    Ok(())
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200 (CoreDNS's plain-HTTP `ready`).
async fn http_ok(port: u16, path: &str) -> bool {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.ok()?;
        Some(head.ends_with(b" 200"))
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// local-path-provisioner with its configuration, ServiceAccount (for its helper pods) and the
/// default StorageClass; volumes are directories under the cluster's [`STORAGE_DIR`].
async fn storage(
    state: &mut LocalState,
    started: &mut Vec<Started>,
    bins: &Path,
    client: &kube::Client,
) -> Result<()> {
    let images = util::blocking(node::images).await?;
    let volumes = state.dir.join(STORAGE_DIR);
    util::private_dir(&volumes)?;
    let config = json!({"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES",
                                         "paths": [volumes.display().to_string()]}]});
    let helper_pod = format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  tolerations:
  - key: node.kubernetes.io/disk-pressure
    operator: Exists
    effect: NoSchedule
  containers:
  - name: helper-pod
    image: {image}
    imagePullPolicy: Never
",
        image = images.toolbox
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    apply(
        &config_maps,
        "local-path-config",
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "local-path-config", "namespace": "kube-system"},
            "data": {
                "config.json": config.to_string(),
                "setup": "#!/bin/sh\nset -eu\nmkdir -m 0777 -p \"$VOL_DIR\"\n",
                "teardown": "#!/bin/sh\nset -eu\nrm -rf \"$VOL_DIR\"\n",
                "helperPod.yaml": helper_pod,
            }
        }),
    )
    .await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "kube-system");
    apply(
        &accounts,
        "local-path-provisioner",
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "local-path-provisioner", "namespace": "kube-system"}}),
    )
    .await?;
    let classes: Api<StorageClass> = Api::all(client.clone());
    apply(
        &classes,
        STORAGE_CLASS,
        json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS,
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"
        }),
    )
    .await?;
    let dir = state.dir.clone();
    let kubeconfig = state.kubeconfig.display().to_string();
    started.push(util::spawn(
        &dir,
        "local-path-provisioner",
        &bins.join("local-path-provisioner"),
        &[
            "start".into(),
            format!("--kubeconfig={kubeconfig}"),
            "--namespace=kube-system".into(),
            "--configmap-name=local-path-config".into(),
            format!("--helper-image={}", images.toolbox),
            "--service-account-name=local-path-provisioner".into(),
            format!("--provisioner-name={PROVISIONER}"),
        ],
    )?);
    state
        .processes
        .push(started[started.len() - 1].process.clone());
    // It has nothing to ask when it is ready; it must at least stay up past reading its
    // configuration (a bad one makes it exit at once).
    tokio::time::sleep(Duration::from_millis(200)).await;
    started.last_mut().map(Started::check_alive).transpose()?;
    Ok(())
}
