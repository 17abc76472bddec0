//! The local provider: etcd, kube-apiserver, kube-controller-manager and kube-scheduler as
//! local processes on 127.0.0.1, with fresh certificates and a temporary data directory.

use std::{
    fmt::Write as _,
    fs::File,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api,
    config::{KubeConfigOptions, Kubeconfig},
};
use serde::{Deserialize, Serialize};

use crate::{
    certs::{self, files},
    error::{Error, IoContext, Result},
};

/// The Service ClusterIP range of the local cluster (clear of the machine's own addresses).
pub const SERVICE_CIDR: &str = "10.97.0.0/16";
/// The pod IP range of the local cluster.
pub const POD_CIDR: &str = "10.98.0.0/16";

/// The controllers kube-controller-manager runs: those the walkthrough and the tests need
/// (namespaces, service accounts and their CA bundle, node taints, Deployments, ReplicaSets, garbage
/// collection, endpoints).
/// Starting only these saves seconds at every cluster start.
pub const CONTROLLERS: &[&str] = &[
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "pod-garbage-collector-controller",
    "taint-eviction-controller",
    "root-ca-certificate-publisher-controller",
    "node-lifecycle-controller",
];

/// One process of the cluster, as recorded in its state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Process {
    pub name: String,
    pub pid: u32,
    pub exe: PathBuf,
    pub log: PathBuf,
}

/// What a running local cluster is made of.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub api_port: u16,
    pub run_id: String,
    pub processes: Vec<Process>,
    pub node: bool,
}

pub(crate) fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").io("binding a free port on", "127.0.0.1")?;
    Ok(l.local_addr()
        .io("reading the address of", "127.0.0.1")?
        .port())
}

/// The last `n` lines of a log file.
pub(crate) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A component started by kubekit, still a child of this process.
pub(crate) struct Started {
    pub process: Process,
    pub child: Child,
}

impl Started {
    /// An error with the component's last log lines when it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(self.failed(format!("it exited ({status})")));
        }
        Ok(())
    }

    pub fn failed(&self, reason: String) -> Error {
        Error::Component {
            component: self.process.name.clone(),
            reason,
            log: self.process.log.clone(),
            tail: tail(&self.process.log, 25),
        }
    }
}

/// Starts `exe` with `args` in its own process group (so it outlives the test process that
/// started it and a terminal's signals do not reach it), logging to `logs/<name>.log`.
pub(crate) fn spawn(dir: &Path, name: &str, exe: &Path, args: &[String]) -> Result<Started> {
    let log = dir.join("logs").join(format!("{name}.log"));
    let out = File::create(&log).io("creating", &log)?;
    let err = out.try_clone().io("opening", &log)?;
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .io("starting", exe)?;
    Ok(Started {
        process: Process {
            name: name.into(),
            pid: child.id(),
            exe: exe.into(),
            log,
        },
        child,
    })
}

/// Writes a kubeconfig for the admin user of the cluster at `server`.
pub(crate) fn write_kubeconfig(path: &Path, pki: &Path, server: &str) -> Result<()> {
    use base64::Engine as _;
    // The certificates are embedded (as k3s does), so the file works copied anywhere, e.g.
    // out of a container.
    let data = |f: &str| -> Result<String> {
        let file = pki.join(f);
        let bytes = std::fs::read(&file).io("reading", &file)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kubekit
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: kubekit-admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: kubekit
  context:
    cluster: kubekit
    user: kubekit-admin
    namespace: default
current-context: kubekit
",
        ca = data(files::CA_CERT)?,
        cert = data(files::ADMIN_CERT)?,
        key = data(files::ADMIN_KEY)?,
    );
    std::fs::write(path, text).io("writing", path)
}

/// Reads a kubeconfig file into a client configuration.
pub(crate) async fn config_from(path: &Path) -> Result<kube::Config> {
    let kc = Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
        path: path.into(),
        source,
    })?;
    kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|source| Error::Kubeconfig {
            path: path.into(),
            source,
        })
}

fn args(list: &[(&str, String)]) -> Vec<String> {
    list.iter().map(|(k, v)| format!("--{k}={v}")).collect()
}

/// The API server's listening address: `KUBEKIT_API_ADDRESS` (`IP:PORT`, e.g. `0.0.0.0:6443`
/// in a container whose port is published), else a free port on 127.0.0.1. Clients always
/// use 127.0.0.1.
fn api_address() -> Result<(String, u16)> {
    match std::env::var("KUBEKIT_API_ADDRESS") {
        Ok(v) if !v.is_empty() => {
            let addr: std::net::SocketAddr = v.parse().map_err(|_| {
                Error::Node(format!(
                    "KUBEKIT_API_ADDRESS={v} is not an IP:PORT address such as 0.0.0.0:6443"
                ))
            })?;
            Ok((addr.ip().to_string(), addr.port()))
        }
        _ => Ok(("127.0.0.1".into(), free_port()?)),
    }
}

/// Starts a control plane in `dir` (created fresh) from the binaries in `bins` and waits
/// until it serves requests and its controllers work (the `default` ServiceAccount exists).
pub(crate) async fn start_control_plane(
    dir: &Path,
    bins: &Path,
    run_id: &str,
) -> Result<(State, Vec<Started>)> {
    let began = Instant::now();
    if dir.exists() {
        std::fs::remove_dir_all(dir).io("removing", dir)?;
    }
    let pki = dir.join("pki");
    for d in [&pki, &dir.join("logs"), &dir.join("etcd")] {
        std::fs::create_dir_all(d).io("creating", d.as_path())?;
    }
    certs::generate(
        &pki,
        &[
            "127.0.0.1",
            "localhost",
            "10.97.0.1",
            "10.98.0.1",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
    )?;
    let (api_bind, api_port) = api_address()?;
    let (etcd_port, peer_port) = (free_port()?, free_port()?);
    let (kcm_port, sched_port) = (free_port()?, free_port()?);
    let kubeconfig = dir.join("kubeconfig");
    let server = format!("https://127.0.0.1:{api_port}");
    write_kubeconfig(&kubeconfig, &pki, &server)?;
    let pk = |f: &str| pki.join(f).display().to_string();
    let kc = kubeconfig.display().to_string();

    eprintln!(
        "kubekit-testing: starting Kubernetes {} control plane (etcd, kube-apiserver, \
         kube-controller-manager, kube-scheduler) on {server}",
        crate::assets::KUBERNETES_VERSION
    );
    let etcd_url = format!("http://127.0.0.1:{etcd_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut started = vec![spawn(
        dir,
        "etcd",
        &bins.join("etcd"),
        &args(&[
            ("name", "kubekit".into()),
            ("data-dir", dir.join("etcd").display().to_string()),
            ("listen-client-urls", etcd_url.clone()),
            ("advertise-client-urls", etcd_url.clone()),
            ("listen-peer-urls", peer_url.clone()),
            ("initial-advertise-peer-urls", peer_url.clone()),
            ("initial-cluster", format!("kubekit={peer_url}")),
            ("unsafe-no-fsync", "true".into()),
            ("log-level", "warn".into()),
        ]),
    )?];
    started.push(spawn(
        dir,
        "kube-apiserver",
        &bins.join("kube-apiserver"),
        &args(&[
            ("etcd-servers", etcd_url),
            ("bind-address", api_bind),
            ("advertise-address", "127.0.0.1".into()),
            ("secure-port", api_port.to_string()),
            ("cert-dir", dir.join("pki").display().to_string()),
            ("tls-cert-file", pk(files::SERVING_CERT)),
            ("tls-private-key-file", pk(files::SERVING_KEY)),
            ("client-ca-file", pk(files::CA_CERT)),
            ("kubelet-client-certificate", pk(files::ADMIN_CERT)),
            ("kubelet-client-key", pk(files::ADMIN_KEY)),
            // The node's name does not resolve: reach kubelets (exec, logs, port-forward) by
            // their InternalIP.
            (
                "kubelet-preferred-address-types",
                "InternalIP,ExternalIP,Hostname".into(),
            ),
            (
                "service-account-issuer",
                "https://kubernetes.default.svc.cluster.local".into(),
            ),
            ("service-account-key-file", pk(files::SA_PUB)),
            ("service-account-signing-key-file", pk(files::SA_KEY)),
            ("service-cluster-ip-range", SERVICE_CIDR.into()),
            ("authorization-mode", "RBAC".into()),
            ("allow-privileged", "true".into()),
            // The API server listens on loopback only: the `kubernetes` Service cannot point
            // at it, so its endpoints are not reconciled.
            ("endpoint-reconciler-type", "none".into()),
            ("enable-priority-and-fairness", "false".into()),
            ("profiling", "false".into()),
            ("v", "1".into()),
        ]),
    )?);
    started.push(spawn(
        dir,
        "kube-controller-manager",
        &bins.join("kube-controller-manager"),
        &args(&[
            ("kubeconfig", kc.clone()),
            ("authentication-kubeconfig", kc.clone()),
            ("authorization-kubeconfig", kc.clone()),
            ("leader-elect", "false".into()),
            ("controllers", CONTROLLERS.join(",")),
            ("service-account-private-key-file", pk(files::SA_KEY)),
            ("root-ca-file", pk(files::CA_CERT)),
            ("use-service-account-credentials", "false".into()),
            ("bind-address", "127.0.0.1".into()),
            ("secure-port", kcm_port.to_string()),
            ("concurrent-deployment-syncs", "10".into()),
            ("concurrent-replicaset-syncs", "10".into()),
            ("concurrent-gc-syncs", "20".into()),
            ("concurrent-namespace-syncs", "10".into()),
        ]),
    )?);
    started.push(spawn(
        dir,
        "kube-scheduler",
        &bins.join("kube-scheduler"),
        &args(&[
            ("kubeconfig", kc.clone()),
            ("authentication-kubeconfig", kc.clone()),
            ("authorization-kubeconfig", kc),
            ("leader-elect", "false".into()),
            ("bind-address", "127.0.0.1".into()),
            ("secure-port", sched_port.to_string()),
        ]),
    )?);

    let state = State {
        dir: dir.into(),
        kubeconfig: kubeconfig.clone(),
        api_port,
        run_id: run_id.into(),
        processes: started.iter().map(|s| s.process.clone()).collect(),
        node: false,
    };
    // Write the teardown script now, so even a failed start can be cleaned up.
    write_teardown(&state)?;
    let config = config_from(&kubeconfig).await?;
    let client = kube::Client::try_from(config)?;
    if let Err(e) = wait_ready(&client, &mut started).await {
        let _ = run_teardown(dir);
        return Err(e);
    }
    eprintln!(
        "kubekit-testing: control plane ready in {:.1} s (kubeconfig: {})",
        began.elapsed().as_secs_f64(),
        kubeconfig.display()
    );
    Ok((state, started))
}

async fn wait_ready(client: &kube::Client, started: &mut [Started]) -> Result<()> {
    const TIMEOUT: Duration = Duration::from_secs(90);
    let deadline = Instant::now() + TIMEOUT;
    let mut stage = "kube-apiserver /readyz";
    loop {
        for s in started.iter_mut() {
            s.check_alive()?;
        }
        let done = if stage.starts_with("kube-apiserver") {
            let req = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(kube::Error::HttpError)?;
            if matches!(client.request_text(req).await.as_deref(), Ok("ok")) {
                stage = "the default ServiceAccount (kube-controller-manager)";
            }
            false
        } else {
            let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
            matches!(sas.get_opt("default").await, Ok(Some(_)))
        };
        if done {
            return Ok(());
        }
        if Instant::now() > deadline {
            let culprit = if stage.starts_with("kube-apiserver") {
                1
            } else {
                2
            };
            return Err(started[culprit].failed(format!("not ready after {TIMEOUT:?} ({stage})")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `teardown.sh`: stops every process of the cluster (checking each PID still runs
/// the recorded program, so a reused PID is never signalled), runs the node's cleanup when
/// there is one, and removes the state file. The watchdog and [`run_teardown`] both run it.
pub(crate) fn write_teardown(state: &State) -> Result<()> {
    let mut s = String::from(
        "#!/usr/bin/env bash\n# Stops kubekit's local cluster. Generated by kubekit-testing.\nset -u\n",
    );
    let _ = writeln!(s, "dir='{}'", state.dir.display());
    s.push_str(
        r#"ours() { [[ -r /proc/$1/cmdline ]] && tr '\0' '\n' </proc/$1/cmdline | head -1 | grep -qxF "$2"; }
pids=()
stop() { if ours "$1" "$2"; then kill -TERM "$1" 2>/dev/null; pids+=("$1:$2"); fi; }
"#,
    );
    if state.node {
        s.push_str("[[ -x $dir/node-teardown.sh ]] && \"$dir/node-teardown.sh\"\n");
    }
    for p in state.processes.iter().rev() {
        let _ = writeln!(s, "stop {} '{}'", p.pid, p.exe.display());
    }
    s.push_str(
        r#"for _ in $(seq 100); do
  alive=0
  for e in "${pids[@]}"; do ours "${e%%:*}" "${e#*:}" && alive=1; done
  (( alive )) || break
  sleep 0.1
done
for e in "${pids[@]}"; do ours "${e%%:*}" "${e#*:}" && kill -KILL "${e%%:*}" 2>/dev/null; done
rm -rf "$dir/etcd" "$dir/../state.json"
exit 0
"#,
    );
    let path = state.dir.join("teardown.sh");
    std::fs::write(&path, s).io("writing", &path)?;
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .io("chmod", &path)?;
    debug_assert!(status.success());
    Ok(())
}

/// Runs the cluster's teardown script, if any.
pub(crate) fn run_teardown(dir: &Path) -> Result<()> {
    let script = dir.join("teardown.sh");
    if script.is_file() {
        Command::new("bash")
            .arg(&script)
            .status()
            .io("running", &script)?;
    }
    Ok(())
}

/// A cluster of its own, outside the shared one: started by [`LocalCluster::start`], stopped
/// when dropped. For benchmarks and for programs that want a throwaway cluster (the `tour`
/// example); tests should use the shared cluster ([`Cluster::shared`](crate::Cluster::shared)).
///
/// A node ([`LocalCluster::start_with_node`]) uses the machine-wide [`RUN_DIR`](crate::RUN_DIR)
/// and bridge, so only one cluster with a node can run on a machine at a time.
pub struct LocalCluster {
    state: State,
    config: kube::Config,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("dir", &self.state.dir)
            .field("node", &self.state.node)
            .finish_non_exhaustive()
    }
}

impl LocalCluster {
    /// Starts a control plane (etcd, kube-apiserver, kube-controller-manager,
    /// kube-scheduler) and waits until it is ready.
    ///
    /// # Errors
    ///
    /// When the binaries are missing and cannot be built or a component fails to start
    /// (with its last log lines).
    ///
    /// # Example
    ///
    /// ```no_run
    /// # async fn demo() -> kubekit_testing::Result<()> {
    /// let cluster = kubekit_testing::LocalCluster::start().await?;
    /// let version = cluster.client()?.apiserver_version().await?;
    /// println!("Kubernetes {}", version.git_version);
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<Self> {
        Self::start_inner(false).await
    }

    /// Starts a control plane and a node (kubelet, containerd, CNI, kube-proxy) with the
    /// locally built images loaded, and waits until the node is Ready. Needs root.
    ///
    /// # Errors
    ///
    /// As [`LocalCluster::start`], and when the node cannot start (not root, a package
    /// missing, or another node running on this machine).
    pub async fn start_with_node() -> Result<Self> {
        Self::start_inner(true).await
    }

    async fn start_inner(with_node: bool) -> Result<Self> {
        let mut needed = crate::assets::CONTROL_PLANE_BINARIES.to_vec();
        if with_node {
            needed.extend_from_slice(crate::assets::NODE_BINARIES);
        }
        let bins = crate::assets::binaries(&needed)?;
        let run_id = crate::namespace::random_suffix();
        let dir = crate::assets::cache_dir()
            .join("clusters")
            .join(format!("dedicated-{run_id}"));
        let (mut state, mut started) = start_control_plane(&dir, &bins, &run_id).await?;
        if with_node && let Err(e) = crate::node::start(&mut state, &mut started, &bins).await {
            let _ = run_teardown(&dir);
            return Err(e);
        }
        let config = config_from(&state.kubeconfig).await?;
        Ok(Self { state, config })
    }

    /// A new client for this cluster, bound to the calling async runtime.
    ///
    /// # Errors
    ///
    /// When the client's TLS configuration cannot be built.
    pub fn client(&self) -> Result<kube::Client> {
        Ok(kube::Client::try_from(self.config.clone())?)
    }

    /// The cluster's kubeconfig file (for `kubectl --kubeconfig`).
    pub fn kubeconfig(&self) -> &Path {
        &self.state.kubeconfig
    }

    /// Whether the cluster has a node.
    pub fn has_node(&self) -> bool {
        self.state.node
    }

    /// Stops the cluster and removes its files (also done on drop).
    ///
    /// # Errors
    ///
    /// When the teardown script cannot be run.
    pub fn stop(self) -> Result<()> {
        // Drop does the work.
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let _ = run_teardown(&self.state.dir);
        let _ = std::fs::remove_dir_all(&self.state.dir);
    }
}
