//! kubekit's service load balancer ([`Component::ServiceLb`](crate::Component::ServiceLb)):
//! what k3s's ServiceLB does for `type: LoadBalancer` Services, as one small process next to
//! the cluster's other components (`kubekit-cluster servicelb KUBECONFIG READY_PORT`).
//!
//! Each LoadBalancer Service gets an address of its own on this machine's loopback range
//! [`LB_RANGE`] (`127.77.0.1`, `127.77.0.2`, ...: all of `127.0.0.0/8` is local, so nothing is
//! reachable from other hosts and no two Services' ports collide), a listener on each of its
//! TCP ports there that forwards every connection to the Service's ClusterIP (kube-proxy takes
//! it on to a ready endpoint), and that address in `status.loadBalancer.ingress` with
//! `ipMode: Proxy`. `KUBEKIT_LB_ADDRESS=IP` (or `auto`: the address of the default route's
//! interface, as in kubekit's node image, where it is the container's address) gives every
//! Service that one address instead, as k3s gives them the node's: a port two Services want is
//! then served for the first and reported with an error for the other.
//!
//! UDP and SCTP ports are reported with the error `kubekit.dev/UnsupportedProtocol` in
//! `status.loadBalancer.ingress[].ports`. Services with a `loadBalancerClass` belong to
//! another controller and are left alone, as the specification asks. The controller holds
//! the Lease `kube-system/kubekit-servicelb` while it runs, which is how a test finds out that
//! a cluster has it.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use k8s_openapi::api::{coordination::v1::Lease, core::v1::Service};
use kube::{
    Api,
    api::{Patch, PatchParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::{AbortHandle, JoinSet},
};

use crate::error::{Error, Result};

/// The addresses Services get, one each: `127.77.0.1` to `127.77.255.254`.
pub const LB_RANGE: &str = "127.77.0.0/16";
const LB_BASE: [u8; 2] = [127, 77];

/// The Lease the running load balancer holds (in `kube-system`).
pub(crate) const LEASE: &str = "kubekit-servicelb";
const LEASE_SECONDS: i32 = 30;
const MANAGER: &str = "kubekit-servicelb";

/// The port-status error of a port whose protocol is not TCP.
pub const UNSUPPORTED_PROTOCOL: &str = "kubekit.dev/UnsupportedProtocol";
/// The port-status error of a port the load balancer could not listen on (another Service
/// has it on a shared address, or the program may not bind it).
pub const PORT_UNAVAILABLE: &str = "kubekit.dev/PortUnavailable";

/// Which addresses LoadBalancer Services get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addresses {
    /// One loopback address of [`LB_RANGE`] each.
    PerService,
    /// The same address for every Service.
    Shared(IpAddr),
}

impl Addresses {
    /// `KUBEKIT_LB_ADDRESS`: unset for [`Addresses::PerService`], an IP, or `auto`.
    fn from_env() -> Result<Self> {
        match std::env::var("KUBEKIT_LB_ADDRESS") {
            Ok(v) if v.trim() == "auto" => Ok(Self::Shared(default_route_address()?)),
            Ok(v) if !v.trim().is_empty() => v.trim().parse().map(Self::Shared).map_err(|_| {
                Error::Setting(format!(
                    "KUBEKIT_LB_ADDRESS={v} is neither an IP address nor `auto`"
                ))
            }),
            _ => Ok(Self::PerService),
        }
    }
}

/// The source address of this machine's default route: a UDP socket connected to a
/// documentation address (no packet is sent) tells it.
fn default_route_address() -> Result<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map_err(|e| {
            Error::Setting(format!(
                "KUBEKIT_LB_ADDRESS=auto: no default route to take the address of ({e})"
            ))
        })?;
    Ok(socket.ip())
}

/// The `n`th address of [`LB_RANGE`] (from 1).
fn range_address(n: u16) -> IpAddr {
    let [hi, lo] = n.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(LB_BASE[0], LB_BASE[1], hi, lo))
}

/// The index of `ip` in [`LB_RANGE`], when it is one of its usable addresses.
fn range_index(ip: IpAddr) -> Option<u16> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, hi, lo] = v4.octets();
            let n = u16::from_be_bytes([hi, lo]);
            ([a, b] == LB_BASE && n != 0 && n != u16::MAX).then_some(n)
        }
        IpAddr::V6(_) => None,
    }
}

/// Runs the service load balancer of the cluster of `kubeconfig` until the process ends,
/// answering `GET /ready` on `127.0.0.1:ready_port` with 200 once it has taken every existing
/// LoadBalancer Service in hand (503 before).
///
/// # Errors
///
/// When the kubeconfig cannot be read, `KUBEKIT_LB_ADDRESS` is not an address, the readiness
/// port cannot be bound, or the watch of Services ends.
pub async fn run_service_lb(kubeconfig: &Path, ready_port: u16) -> Result<()> {
    let addresses = Addresses::from_env()?;
    let config = crate::providers::local::config_from(kubeconfig).await?;
    let client = kube::Client::try_from(config)?;
    let ready = Arc::new(AtomicBool::new(false));
    let readiness = TcpListener::bind((Ipv4Addr::LOCALHOST, ready_port))
        .await
        .map_err(|e| Error::Setting(format!("servicelb: binding 127.0.0.1:{ready_port}: {e}")))?;
    tokio::spawn(serve_readiness(readiness, ready.clone()));
    tokio::spawn(hold_lease(client.clone(), addresses));
    eprintln!("servicelb: addresses {addresses:?}; watching Services");

    let services: Api<Service> = Api::all(client.clone());
    let mut balancer = Balancer {
        client,
        addresses,
        balanced: HashMap::new(),
        retry: HashMap::new(),
    };
    let mut events =
        std::pin::pin!(watcher(services, watcher::Config::default()).default_backoff());
    let mut seen = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else {
                    return Err(Error::Setting("servicelb: the watch of Services ended".into()));
                };
                match event {
                    Ok(watcher::Event::Init) => seen.clear(),
                    Ok(watcher::Event::InitApply(service)) => {
                        seen.insert(uid(&service));
                        balancer.reconcile(&service).await;
                    }
                    Ok(watcher::Event::InitDone) => {
                        let gone: Vec<_> = balancer
                            .balanced
                            .keys()
                            .filter(|k| !seen.contains(*k))
                            .cloned()
                            .collect();
                        for uid in gone {
                            balancer.forget(&uid);
                        }
                        ready.store(true, Ordering::Release);
                    }
                    Ok(watcher::Event::Apply(service)) => balancer.reconcile(&service).await,
                    Ok(watcher::Event::Delete(service)) => balancer.forget(&uid(&service)),
                    Err(e) => eprintln!("servicelb: watching Services: {e}"),
                }
            }
            _ = tick.tick() => {
                // Status writes that failed, and ports another Service may have let go of.
                let mut retry: Vec<Service> = balancer.retry.drain().map(|(_, s)| s).collect();
                retry.extend(balancer.balanced.values().filter(|b| {
                    b.ports.values().any(|p| matches!(p, PortState::Failed(PORT_UNAVAILABLE)))
                }).map(|b| b.service.clone()));
                for service in retry {
                    balancer.reconcile(&service).await;
                }
            }
        }
    }
}

/// Answers `GET /ready`: 200 once `ready` is set, 503 before.
async fn serve_readiness(listener: TcpListener, ready: Arc<AtomicBool>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let ready = ready.load(Ordering::Acquire);
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let status = if ready {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            let _ = stream
                .write_all(format!("HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
        });
    }
}

/// Creates and renews the Lease that says this cluster has a service load balancer.
async fn hold_lease(client: kube::Client, addresses: Addresses) {
    let leases: Api<Lease> = Api::namespaced(client, "kube-system");
    let holder = format!(
        "{}-{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default(),
        std::process::id()
    );
    let mode = match addresses {
        Addresses::PerService => format!("per-service {LB_RANGE}"),
        Addresses::Shared(ip) => format!("shared {ip}"),
    };
    loop {
        let now = k8s_openapi::jiff::Timestamp::now();
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": LEASE, "annotations": {"kubekit.dev/servicelb-addresses": mode}},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": LEASE_SECONDS,
                "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
            }
        });
        if let Err(e) = leases
            .patch(
                LEASE,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(lease),
            )
            .await
        {
            eprintln!("servicelb: renewing Lease kube-system/{LEASE}: {e}");
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

fn uid(service: &Service) -> String {
    service.metadata.uid.clone().unwrap_or_default()
}

fn object_name(service: &Service) -> String {
    format!(
        "{}/{}",
        service.metadata.namespace.as_deref().unwrap_or_default(),
        service.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The LoadBalancer Services the controller serves, by uid.
struct Balancer {
    client: kube::Client,
    addresses: Addresses,
    balanced: HashMap<String, Balanced>,
    /// Services whose status could not be written, retried on the next tick.
    retry: HashMap<String, Service>,
}

/// One served Service: its address and a listener per port.
struct Balanced {
    /// The Service as last seen, to try its unavailable ports again.
    service: Service,
    ip: IpAddr,
    cluster_ip: IpAddr,
    /// `(port, protocol)` to the listener's task, or the error reported for the port.
    ports: BTreeMap<(i32, String), PortState>,
}

enum PortState {
    /// Served, until the guard drops.
    Listening {
        _guard: AbortOnDrop,
    },
    Failed(&'static str),
}

/// A task aborted when its handle is dropped (a port's listener and its connections).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether `service` is one this controller balances, and to which ClusterIP.
fn wanted(service: &Service) -> Option<IpAddr> {
    let spec = service.spec.as_ref()?;
    if service.metadata.deletion_timestamp.is_some()
        || spec.type_.as_deref() != Some("LoadBalancer")
        || spec.load_balancer_class.is_some()
    {
        return None;
    }
    spec.cluster_ip.as_deref()?.parse().ok()
}

impl Balancer {
    /// Stops serving the Service of `uid`.
    fn forget(&mut self, uid: &str) {
        self.retry.remove(uid);
        self.balanced.remove(uid);
    }

    /// Brings the listeners and the status of `service` in line with its spec.
    async fn reconcile(&mut self, service: &Service) {
        let key = uid(service);
        let Some(cluster_ip) = wanted(service) else {
            if let Some(was) = self.balanced.remove(&key) {
                // No longer ours (type changed, a class set): take our address out.
                self.write_status(service, Value::Null, Some(was.ip)).await;
            }
            self.retry.remove(&key);
            return;
        };
        let ip = match self.balanced.get(&key) {
            Some(b) => b.ip,
            None => match self.allocate(service) {
                Some(ip) => ip,
                None => {
                    eprintln!(
                        "servicelb: no free address in {LB_RANGE} for Service {}",
                        object_name(service)
                    );
                    return;
                }
            },
        };
        let entry = self
            .balanced
            .entry(key.clone())
            .or_insert_with(|| Balanced {
                service: service.clone(),
                ip,
                cluster_ip,
                ports: BTreeMap::new(),
            });
        entry.service = service.clone();
        if entry.cluster_ip != cluster_ip {
            entry.cluster_ip = cluster_ip;
            entry.ports.clear();
        }
        let spec_ports: Vec<(i32, String)> = service
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
            .map(|p| (p.port, p.protocol.clone().unwrap_or_else(|| "TCP".into())))
            .collect();
        entry.ports.retain(|k, _| spec_ports.contains(k));
        // The ports of other Services on a shared address are taken; a failed port is tried
        // again on each reconcile (the other Service may have gone).
        for (port, protocol) in &spec_ports {
            let key = (*port, protocol.clone());
            if matches!(entry.ports.get(&key), Some(PortState::Listening { .. })) {
                continue;
            }
            let state = if protocol != "TCP" {
                PortState::Failed(UNSUPPORTED_PROTOCOL)
            } else {
                match listen(ip, *port, cluster_ip).await {
                    Ok(guard) => PortState::Listening { _guard: guard },
                    Err(e) => {
                        eprintln!(
                            "servicelb: Service {}: listening on {}: {e}",
                            object_name(service),
                            SocketAddr::new(ip, u16::try_from(*port).unwrap_or_default())
                        );
                        PortState::Failed(PORT_UNAVAILABLE)
                    }
                }
            };
            entry.ports.insert(key, state);
        }
        let ports: Vec<Value> = entry
            .ports
            .iter()
            .map(|((port, protocol), state)| match state {
                PortState::Listening { .. } => json!({"port": port, "protocol": protocol}),
                PortState::Failed(error) => {
                    json!({"port": port, "protocol": protocol, "error": error})
                }
            })
            .collect();
        let status =
            json!({"ingress": [{"ip": ip.to_string(), "ipMode": "Proxy", "ports": ports}]});
        self.write_status(service, status, None).await;
    }

    /// The address for a new Service: the one its status already names when it is free (a
    /// restarted controller keeps addresses), else the first free one.
    fn allocate(&self, service: &Service) -> Option<IpAddr> {
        if let Addresses::Shared(ip) = self.addresses {
            return Some(ip);
        }
        let taken: HashSet<IpAddr> = self.balanced.values().map(|b| b.ip).collect();
        let recorded = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .and_then(|i| i.first())
            .and_then(|i| i.ip.as_deref())
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .filter(|ip| range_index(*ip).is_some() && !taken.contains(ip));
        recorded.or_else(|| {
            (1..u16::MAX)
                .map(range_address)
                .find(|ip| !taken.contains(ip))
        })
    }

    /// Writes `status.loadBalancer` when it differs from what the Service has (`Null` clears
    /// it, when it names `clear`); a failure is retried on the next tick.
    async fn write_status(&mut self, service: &Service, wanted: Value, clear: Option<IpAddr>) {
        let current = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .map(|lb| serde_json::to_value(lb).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        let current_ip = current
            .pointer("/ingress/0/ip")
            .and_then(Value::as_str)
            .and_then(|ip| ip.parse::<IpAddr>().ok());
        let patch = match clear {
            Some(ip) if current_ip == Some(ip) => {
                json!({"status": {"loadBalancer": {"ingress": null}}})
            }
            Some(_) => return,
            None if normalized(&current) == normalized(&wanted) => return,
            None => json!({"status": {"loadBalancer": wanted}}),
        };
        let (Some(ns), Some(name)) = (
            service.metadata.namespace.as_deref(),
            service.metadata.name.as_deref(),
        ) else {
            return;
        };
        let api: Api<Service> = Api::namespaced(self.client.clone(), ns);
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
        {
            Ok(_) => {
                self.retry.remove(&uid(service));
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                eprintln!(
                    "servicelb: writing the status of Service {}: {e}",
                    object_name(service)
                );
                self.retry.insert(uid(service), service.clone());
            }
        }
    }
}

/// `status.loadBalancer` with empty lists and maps dropped, for comparison.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !is_empty(v))
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Listens on `ip:port` and forwards each connection to `cluster_ip:port`, until the
/// returned handle is dropped (which also ends the connections it carries).
async fn listen(ip: IpAddr, port: i32, cluster_ip: IpAddr) -> std::io::Result<AbortOnDrop> {
    let port = u16::try_from(port)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a port"))?;
    let listener = TcpListener::bind((ip, port)).await?;
    let target = SocketAddr::new(cluster_ip, port);
    let task = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((client, _)) => {
                        connections.spawn(forward(client, target));
                    }
                    Err(e) => {
                        eprintln!("servicelb: accepting on {ip}:{port}: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok(AbortOnDrop(task.abort_handle()))
}

/// Carries one connection to the Service's ClusterIP and back.
async fn forward(mut client: TcpStream, target: SocketAddr) {
    let _ = client.set_nodelay(true);
    match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(target)).await {
        Ok(Ok(mut upstream)) => {
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        Ok(Err(e)) => eprintln!("servicelb: connecting to {target}: {e}"),
        Err(_) => eprintln!("servicelb: connecting to {target}: no answer after 10 s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_addresses_round_trip() {
        assert_eq!(range_address(1).to_string(), "127.77.0.1");
        assert_eq!(range_address(256).to_string(), "127.77.1.0");
        assert_eq!(
            range_index("127.77.1.0".parse().expect("an address")),
            Some(256)
        );
        assert_eq!(range_index("127.77.0.0".parse().expect("an address")), None);
        assert_eq!(
            range_index("127.77.255.255".parse().expect("an address")),
            None
        );
        assert_eq!(range_index("127.0.0.1".parse().expect("an address")), None);
    }

    #[test]
    fn empty_fields_do_not_count_as_differences() {
        let a = json!({"ingress": [{"ip": "127.77.0.1", "ports": []}]});
        let b = json!({"ingress": [{"ip": "127.77.0.1"}]});
        assert_eq!(normalized(&a), normalized(&b));
        let c = json!({"ingress": [{"ip": "127.77.0.2"}]});
        assert_ne!(normalized(&a), normalized(&c));
    }

    #[test]
    fn only_unclassed_load_balancers_are_wanted() {
        let service = |ty: &str, class: Option<&str>| -> Service {
            serde_json::from_value(json!({
                "metadata": {"name": "s", "namespace": "n"},
                "spec": {"type": ty, "clusterIP": "10.97.0.20", "loadBalancerClass": class}
            }))
            .expect("a Service")
        };
        assert_eq!(
            wanted(&service("LoadBalancer", None)),
            Some("10.97.0.20".parse().expect("an address"))
        );
        assert_eq!(wanted(&service("ClusterIP", None)), None);
        assert_eq!(
            wanted(&service("LoadBalancer", Some("example.com/lb"))),
            None
        );
    }
}
