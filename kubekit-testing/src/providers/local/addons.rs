//! The local cluster's components beyond the node ([`Component`]): CoreDNS,
//! local-path-provisioner, metrics-server, Traefik and kubekit's service load balancer, run as
//! processes on the node next to kubelet and kube-proxy, with the API objects that make them
//! what pods and clients expect (the `kube-dns` Service, a default StorageClass, the
//! `v1beta1.metrics.k8s.io` APIService, the default IngressClass).
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

use k8s_openapi::{
    api::{
        core::v1::{ConfigMap, Service, ServiceAccount},
        discovery::v1::EndpointSlice,
        networking::v1::IngressClass,
        rbac::v1::ClusterRole,
        storage::v1::StorageClass,
    },
    kube_aggregator::pkg::apis::apiregistration::v1::APIService,
};
use kube::{
    Api,
    api::{Patch, PatchParams},
    runtime::wait::await_condition,
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

/// Where metrics-server keeps its serving key and certificate, under the cluster's directory
/// (removed with the other keys when the cluster stops).
pub(crate) const METRICS_CERT_DIR: &str = "metrics-server";

const MANAGER: &str = "kubekit-testing";

/// The program that runs `component`, among the built add-ons (the service load balancer is
/// kubekit's own: `kubekit-cluster servicelb`).
pub(crate) fn binary(component: Component) -> Option<&'static str> {
    match component {
        Component::Dns => Some("coredns"),
        Component::Storage => Some("local-path-provisioner"),
        Component::Metrics => Some("metrics-server"),
        Component::Ingress => Some("traefik"),
        Component::ServiceLb => None,
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
            Component::Metrics => metrics(state, started, bins, &client).await?,
            Component::Ingress => ingress(state, started, bins, &client).await?,
            Component::ServiceLb => service_lb(state, started).await?,
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
    record(
        state,
        started,
        util::spawn(
            &dir,
            "coredns",
            &bins.join("coredns"),
            &["-conf".into(), corefile.display().to_string()],
        )?,
    );

    node_service(
        client,
        "kube-dns",
        Some(DNS_SERVICE_IP),
        &[("dns", "UDP", 53, 53), ("dns-tcp", "TCP", 53, 53)],
    )
    .await?;

    // CoreDNS's `ready` answers 200 once the kubernetes plugin has synced with the API.
    wait_http_ok(started, ready_port, "/ready").await
}

/// The components' processes, as the cluster's state and this start know them.
fn record(state: &mut LocalState, started: &mut Vec<Started>, process: Started) {
    state.processes.push(process.process.clone());
    started.push(process);
}

/// Waits until the last started component answers 200 to `GET path` on 127.0.0.1:`port`
/// (30 s at most); an error with its log when it does not, or when a component exits.
async fn wait_http_ok(started: &mut [Started], port: u16, path: &str) -> Result<()> {
    let timeout = Duration::from_secs(30);
    let ready = util::while_alive(started, timeout, async {
        loop {
            if http_ok(port, path).await {
                return Ok::<(), crate::Error>(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await?;
    match (ready, started.last()) {
        (None, Some(last)) => Err(last.failed(format!("{path} not answering after {timeout:?}"))),
        _ => Ok(()),
    }
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200 (CoreDNS's `ready`, Traefik's `ping`).
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
    record(
        state,
        started,
        util::spawn(
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
        )?,
    );
    // It has nothing to ask when it is ready; it must at least stay up past reading its
    // configuration (a bad one makes it exit at once).
    tokio::time::sleep(Duration::from_millis(200)).await;
    started.last_mut().map(Started::check_alive).transpose()?;
    Ok(())
}

/// A selectorless Service in `kube-system` whose one endpoint is a process on the node's
/// address (`ports`: name, protocol, Service port, the process's port).
async fn node_service(
    client: &kube::Client,
    name: &str,
    cluster_ip: Option<&str>,
    ports: &[(&str, &str, u16, u16)],
) -> Result<()> {
    let services: Api<Service> = Api::namespaced(client.clone(), "kube-system");
    let mut spec = json!({"ports": ports.iter().map(|(n, proto, port, target)| json!(
        {"name": n, "protocol": proto, "port": port, "targetPort": target})).collect::<Vec<_>>()});
    if let Some(ip) = cluster_ip {
        spec["clusterIP"] = json!(ip);
    }
    apply(
        &services,
        name,
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "kube-system",
                         "labels": {"k8s-app": name, "kubernetes.io/cluster-service": "true"}},
            "spec": spec
        }),
    )
    .await?;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "kube-system");
    apply(
        &slices,
        &format!("{name}-node"),
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{name}-node"), "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": name,
                                    "endpointslice.kubernetes.io/managed-by": MANAGER}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [node::NODE_IP], "conditions": {"ready": true},
                           "nodeName": node::NODE_NAME}],
            "ports": ports.iter().map(|(n, proto, _, target)| json!(
                {"name": n, "protocol": proto, "port": target})).collect::<Vec<_>>()
        }),
    )
    .await
}

/// metrics-server on the node's address behind the `v1beta1.metrics.k8s.io` APIService; it
/// scrapes the kubelet every 15 s. The kubelet's serving certificate is self-signed (no CSR
/// signer in a test cluster), so metrics-server skips verifying it (`--kubelet-insecure-tls`,
/// its documented switch for test clusters); the API server reaches metrics-server with the
/// front proxy's client certificate, as in any cluster.
async fn metrics(
    state: &mut LocalState,
    started: &mut Vec<Started>,
    bins: &Path,
    client: &kube::Client,
) -> Result<()> {
    let port = util::free_port()?;
    let certs = state.dir.join(METRICS_CERT_DIR);
    util::private_dir(&certs)?;
    let kubeconfig = state.kubeconfig.display().to_string();
    let dir = state.dir.clone();
    record(
        state,
        started,
        util::spawn(
            &dir,
            "metrics-server",
            &bins.join("metrics-server"),
            &[
                format!("--kubeconfig={kubeconfig}"),
                format!("--authentication-kubeconfig={kubeconfig}"),
                format!("--authorization-kubeconfig={kubeconfig}"),
                format!("--bind-address={}", node::NODE_IP),
                format!("--secure-port={port}"),
                format!("--cert-dir={}", certs.display()),
                "--kubelet-insecure-tls".into(),
                "--kubelet-preferred-address-types=InternalIP".into(),
                "--kubelet-use-node-status-port".into(),
                "--metric-resolution=15s".into(),
            ],
        )?,
    );
    node_service(
        client,
        "metrics-server",
        None,
        &[("https", "TCP", 443, port)],
    )
    .await?;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    apply(
        &roles,
        "system:aggregated-metrics-reader",
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:aggregated-metrics-reader",
                         "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true",
                                    "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                                    "rbac.authorization.k8s.io/aggregate-to-admin": "true"}},
            "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                       "verbs": ["get", "list", "watch"]}]
        }),
    )
    .await?;
    let services: Api<APIService> = Api::all(client.clone());
    let name = crate::components::METRICS_API_SERVICE;
    apply(
        &services,
        name,
        json!({
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": name, "labels": {"k8s-app": "metrics-server"}},
            "spec": {"service": {"name": "metrics-server", "namespace": "kube-system",
                                 "port": 443},
                     "group": "metrics.k8s.io", "version": "v1beta1",
                     "insecureSkipTLSVerify": true,
                     "groupPriorityMinimum": 100, "versionPriority": 100}
        }),
    )
    .await?;
    // The aggregator marks it Available once metrics-server answers its discovery.
    let timeout = Duration::from_secs(60);
    let available = util::while_alive(started, timeout, async {
        Ok(await_condition(services, name, |s: Option<&APIService>| {
            s.and_then(|s| s.status.as_ref()?.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Available" && c.status == "True")
                })
        })
        .await?)
    })
    .await?;
    if available.flatten().is_none() {
        let server = &started[started.len() - 1];
        return Err(server.failed(format!(
            "the APIService {name} is not Available after {timeout:?}"
        )));
    }
    Ok(())
}

/// The IngressClass Traefik serves, the cluster's default (as in k3s).
pub(crate) const INGRESS_CLASS: &str = "traefik";

/// Traefik serving Ingresses of the default IngressClass [`INGRESS_CLASS`] and writing the
/// node's address into their status. Its entrypoints (all of them take every Ingress): the
/// node's address ports 80 and 443, where pods reach it, and two free loopback ports, where
/// this machine does ([`LocalState::ingress`]); HTTPS with Traefik's default self-signed
/// certificate until an Ingress names a Secret. `KUBEKIT_INGRESS_ADDRESS=IP` (kubekit's node
/// image: `0.0.0.0` in its container, whose ports 80 and 443 Docker publishes on loopback)
/// listens on IP:80 and IP:443 instead. It reads the API with the cluster's kubeconfig, as
/// the other components do.
async fn ingress(
    state: &mut LocalState,
    started: &mut Vec<Started>,
    bins: &Path,
    client: &kube::Client,
) -> Result<()> {
    let ping_port = util::free_port()?;
    let node_ip: std::net::IpAddr = node::NODE_IP.parse().expect("NODE_IP is an address");
    type Entrypoints = Vec<(&'static str, std::net::SocketAddr, bool)>;
    let (entrypoints, reported): (Entrypoints, (std::net::SocketAddr, std::net::SocketAddr)) =
        match std::env::var("KUBEKIT_INGRESS_ADDRESS") {
            Ok(v) if !v.trim().is_empty() => {
                let ip: std::net::IpAddr = v.trim().parse().map_err(|_| {
                    crate::Error::Setting(format!(
                        "KUBEKIT_INGRESS_ADDRESS={v} is not an IP address such as 0.0.0.0"
                    ))
                })?;
                let (http, https) = ((ip, 80).into(), (ip, 443).into());
                (
                    vec![("web", http, false), ("websecure", https, true)],
                    (http, https),
                )
            }
            _ => {
                let local = std::net::IpAddr::from([127, 0, 0, 1]);
                let (http, https) = (
                    (local, util::free_port()?).into(),
                    (local, util::free_port()?).into(),
                );
                let entrypoints = vec![
                    ("web", (node_ip, 80).into(), false),
                    ("websecure", (node_ip, 443).into(), true),
                    ("web-local", http, false),
                    ("websecure-local", https, true),
                ];
                (entrypoints, (http, https))
            }
        };
    let mut yaml = String::from(
        "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\nlog:\n  level: INFO\n\
         entryPoints:\n",
    );
    for (name, addr, tls) in &entrypoints {
        let addr: &std::net::SocketAddr = addr;
        yaml.push_str(&format!(
            "  {name}:\n    address: \"{addr}\"\n    asDefault: true\n{}",
            if *tls {
                "    http:\n      tls: {}\n"
            } else {
                ""
            }
        ));
    }
    yaml.push_str(&format!(
        "  ping:\n    address: \"127.0.0.1:{ping_port}\"\nping:\n  entryPoint: ping\n\
         providers:\n  kubernetesIngress:\n    ingressEndpoint:\n      ip: \"{node_ip}\"\n"
    ));
    let config = state.dir.join("traefik.yaml");
    util::write_private(&config, yaml.as_bytes())?;
    let classes: Api<IngressClass> = Api::all(client.clone());
    apply(
        &classes,
        INGRESS_CLASS,
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": INGRESS_CLASS,
                         "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "traefik.io/ingress-controller"}
        }),
    )
    .await?;
    let dir = state.dir.clone();
    // The kubeconfig by KUBECONFIG, and never the in-cluster variables of an outer cluster
    // the tests may run in (Traefik would prefer them).
    record(
        state,
        started,
        util::spawn_env(
            &dir,
            "traefik",
            &bins.join("traefik"),
            &[format!("--configFile={}", config.display())],
            &[
                ("KUBECONFIG", Some(state.kubeconfig.as_os_str())),
                ("KUBERNETES_SERVICE_HOST", None),
                ("KUBERNETES_SERVICE_PORT", None),
            ],
        )?,
    );
    wait_http_ok(started, ping_port, "/ping").await?;
    state.ingress = Some(crate::IngressAddress::new(reported.0, reported.1));
    Ok(())
}

/// kubekit's service load balancer (`kubekit-cluster servicelb`, see
/// [`run_service_lb`](crate::run_service_lb)), ready once it has taken the existing
/// LoadBalancer Services in hand. `KUBEKIT_LB_ADDRESS` passes through to it.
async fn service_lb(state: &mut LocalState, started: &mut Vec<Started>) -> Result<()> {
    let program = crate::shared::cluster_program(
        "to run the service load balancer",
        "leave `servicelb` out of KUBEKIT_COMPONENTS",
    )?;
    let ready_port = util::free_port()?;
    let dir = state.dir.clone();
    record(
        state,
        started,
        util::spawn(
            &dir,
            "servicelb",
            &program,
            &[
                "servicelb".into(),
                state.kubeconfig.display().to_string(),
                ready_port.to_string(),
            ],
        )?,
    );
    wait_http_ok(started, ready_port, "/ready").await
}
