//! The node of the local cluster: kubelet and kube-proxy from the pinned release, with
//! Debian's containerd, runc and CNI plugins, and images built locally and loaded into it.
//!
//! Everything the node makes lives under [`RUN_DIR`] and on the bridge [`BRIDGE`];
//! its teardown removes all of it (containers, mounts, network namespaces, interfaces,
//! iptables chains, cgroups) when the cluster stops.

use std::{
    collections::BTreeMap,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::Node;
use kube::{Api, runtime::wait::await_condition};
use rustix::process::Signal;

use crate::{
    assets,
    certs::files,
    error::{Error, IoContext, Result},
    providers::local::{self, LocalState},
    report::{self, progress},
    util::{self, Started},
};

/// Where the node keeps containerd's state, kubelet's root, CNI configuration and IPAM.
pub const RUN_DIR: &str = "/run/kubekit-node";
/// The node's name.
pub const NODE_NAME: &str = "kubekit-node";
/// The Linux bridge pods are attached to.
pub const BRIDGE: &str = "kubekit0";
/// The node's IP: the bridge's address, the pods' gateway.
pub const NODE_IP: &str = "10.98.0.1";
pub(crate) const POD_SUBNET: &str = "10.98.0.0/24";

const BUILD_IMAGES: &str = include_str!("../../../images/build-images.sh");
const IMAGE_PY: &str = include_str!("../../../images/image.py");
const PAUSE_C: &str = include_str!("../../../images/pause.c");

/// The images kubekit-testing builds from Debian packages and loads onto the node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Images {
    /// The pod sandbox image the node is configured with.
    pub pause: String,
    /// Debian's nginx-light, with curl and bash: the walkthrough's web server.
    pub nginx: String,
    /// Debian's busybox-static: a small image for exec and log tests.
    pub toolbox: String,
}

pub(crate) fn images_dir() -> PathBuf {
    std::env::var_os("KUBEKIT_IMAGES")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| assets::cache_dir().join("images"))
}

/// The locally built images, building them first if needed (about 30 s the first time,
/// instant once cached). `KUBEKIT_IMAGES` names a directory of images built before (the
/// build script's output: `<name>.ref` and `<name>.tar`) to use instead.
///
/// # Errors
///
/// When the build fails (its output is on stderr) or a tool it needs is missing.
pub fn images() -> Result<Images> {
    let dir = images_dir();
    if std::env::var_os("KUBEKIT_IMAGES").is_some_and(|d| !d.is_empty()) {
        return read_images(&dir);
    }
    let script_dir = assets::cache_dir().join("image-sources");
    std::fs::create_dir_all(&script_dir).io("creating", &script_dir)?;
    for (name, text) in [
        ("build-images.sh", BUILD_IMAGES),
        ("image.py", IMAGE_PY),
        ("pause.c", PAUSE_C),
    ] {
        let p = script_dir.join(name);
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text) {
            std::fs::write(&p, text).io("writing", &p)?;
        }
    }
    let script = script_dir.join("build-images.sh");
    // Quiet when everything is cached; the build's progress is shown when it does work.
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .io("running", &script)?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || log.contains(": built") {
        report::output(&log);
    }
    if !out.status.success() {
        return Err(Error::Build {
            script,
            status: out.status.to_string(),
        });
    }
    read_images(&dir)
}

/// The images of a directory the build script wrote (`<name>.ref` and `<name>.tar`).
fn read_images(dir: &Path) -> Result<Images> {
    let read = |n: &str| -> Result<String> {
        let p = dir.join(format!("{n}.ref"));
        Ok(std::fs::read_to_string(&p)
            .io("reading", &p)?
            .trim()
            .to_string())
    };
    Ok(Images {
        pause: read("pause")?,
        nginx: read("nginx")?,
        toolbox: read("toolbox")?,
    })
}

/// Whether the shared local cluster gets a node: as root, unless `KUBEKIT_NODE=0`.
pub(crate) fn wanted() -> bool {
    match std::env::var("KUBEKIT_NODE").as_deref() {
        Ok("0") | Ok("false") => false,
        _ => util::is_root(),
    }
}

fn need(program: &str, package: &str) -> Result<PathBuf> {
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        let p = Path::new(dir).join(program);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::MissingBinaries(format!(
        "the node needs {program} (Debian package {package}); run scripts/setup.sh or \
         `apt-get install {package}`, or set KUBEKIT_NODE=0 for a cluster without a node"
    )))
}

/// Makes the node's network before the control plane starts (so the API server can listen on
/// the node's address, where pods reach it): the bridge [`BRIDGE`] with [`NODE_IP`],
/// forwarding, bridged traffic through iptables (for kube-proxy's Service rules), and a guard
/// that keeps other hosts out — packets for the node's address or the pods' subnet are
/// dropped unless they come from the bridge or the machine itself.
///
/// Refuses, changing nothing, when another kubekit node runs on the machine; removes the
/// remains of one that was not cleaned up (e.g. the machine lost power) first.
pub(crate) async fn prepare_network() -> Result<()> {
    need("iptables", "iptables")?;
    need("ip", "iproute2")?;
    if let Some(pid) = running_node() {
        return Err(Error::Node(format!(
            "another kubekit node is running on this machine (containerd pid {pid}); only one \
             node can run at a time. Stop it (kubekit_testing::stop_local(), or wait for the \
             test run that owns it to end), or set KUBEKIT_NODE=0"
        )));
    }
    util::blocking(|| {
        teardown();
        Ok(())
    })
    .await?;
    let made = async {
        let run_dir = Path::new(RUN_DIR);
        std::fs::create_dir_all(run_dir).io("creating", run_dir)?;
        util::run("ip", &["link", "add", BRIDGE, "type", "bridge"]).await?;
        util::run(
            "ip",
            &["addr", "add", &format!("{NODE_IP}/24"), "dev", BRIDGE],
        )
        .await?;
        util::run("ip", &["link", "set", BRIDGE, "up"]).await?;
        // The Service range goes to the bridge: a ClusterIP kube-proxy has not programmed yet
        // (or never will) then fails here instead of leaving the machine by the default route,
        // where whatever answers for that address on the outer network would (a proxy there
        // answered the API server's first check of an APIService with 404, and the kept-alive
        // connection stayed on it). Programmed ClusterIPs are rewritten before routing matters.
        util::run(
            "ip",
            &[
                "route",
                "add",
                super::SERVICE_CIDR,
                "dev",
                BRIDGE,
                "src",
                NODE_IP,
            ],
        )
        .await?;
        for (path, value) in [
            ("/proc/sys/net/ipv4/ip_forward", "1"),
            ("/proc/sys/net/bridge/bridge-nf-call-iptables", "1"),
        ] {
            if Path::new(path).exists() {
                std::fs::write(path, value).io("writing", path)?;
            }
        }
        for rule in guard_rules() {
            let args: Vec<&str> = rule.iter().map(String::as_str).collect();
            util::run("iptables", &args).await?;
        }
        Ok(())
    };
    let result: Result<()> = made.await;
    if result.is_err() {
        util::blocking(|| {
            teardown();
            Ok(())
        })
        .await?;
    }
    result
}

/// The chain that keeps the node's address and the pods' subnet away from other hosts.
pub(crate) const GUARD_CHAIN: &str = "KUBEKIT-GUARD";

/// The iptables commands that make [`GUARD_CHAIN`] and hook it into INPUT and FORWARD.
fn guard_rules() -> Vec<Vec<String>> {
    let c = GUARD_CHAIN;
    let rule = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    vec![
        rule(&format!("-t filter -N {c}")),
        rule(&format!("-t filter -A {c} -i lo -j RETURN")),
        rule(&format!("-t filter -A {c} -i {BRIDGE} -j RETURN")),
        rule(&format!(
            "-t filter -A {c} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN"
        )),
        rule(&format!("-t filter -A {c} -j DROP")),
        rule(&format!("-t filter -I INPUT -d {NODE_IP}/32 -j {c}")),
        rule(&format!("-t filter -I FORWARD -d {POD_SUBNET} -j {c}")),
    ]
}

/// Starts containerd, loads the images, starts kubelet and kube-proxy, and waits until the
/// node is Ready. The network is [`prepare_network`]'s; `dns` names the cluster DNS Service's
/// address for the pods' `/etc/resolv.conf`.
pub(crate) async fn start(
    state: &mut LocalState,
    started: &mut Vec<Started>,
    bins: &Path,
    dns: Option<&str>,
) -> Result<()> {
    let began = Instant::now();
    let containerd = need("containerd", "containerd")?;
    need("runc", "runc")?;
    if !Path::new("/usr/lib/cni/bridge").is_file() {
        need("bridge-cni-plugin", "containernetworking-plugins")?;
    }
    let images = util::blocking(images).await?;
    progress!("starting node {NODE_NAME} (containerd, kubelet, kube-proxy; pods on {POD_SUBNET})");
    let run_dir = Path::new(RUN_DIR);
    state.node = true;

    let sock = run_dir.join("containerd/containerd.sock");
    util::write_file(
        &run_dir.join("containerd/config.toml"),
        &format!(
            r#"version = 2
root = "{RUN_DIR}/containerd/root"
state = "{RUN_DIR}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{sock}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{RUN_DIR}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  # This machine's root lacks CAP_SYS_RESOURCE, so pods cannot get a lower OOM score than
  # containerd's (runc would fail with "can't get final child's PID from pipe").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{RUN_DIR}/cni/net.d"
"#,
            sock = sock.display(),
            pause = images.pause
        ),
    )?;
    util::write_file(
        &run_dir.join("cni/net.d/10-kubekit.conflist"),
        &format!(
            r#"{{
  "cniVersion": "1.0.0",
  "name": "kubekit",
  "plugins": [
    {{
      "type": "bridge", "bridge": "{BRIDGE}", "isDefaultGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {{ "type": "host-local", "dataDir": "{RUN_DIR}/cni/ipam",
                "ranges": [[{{ "subnet": "{POD_SUBNET}", "gateway": "{NODE_IP}" }}]] }}
    }},
    {{ "type": "portmap", "capabilities": {{ "portMappings": true }} }}
  ]
}}
"#
        ),
    )?;
    let dir = state.dir.clone();
    started.push(util::spawn(
        &dir,
        "containerd",
        &containerd,
        &[
            "--config".into(),
            run_dir.join("containerd/config.toml").display().to_string(),
        ],
    )?);
    state
        .processes
        .push(started[started.len() - 1].process.clone());

    // Load the images as soon as containerd answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sock.exists() {
        started.last_mut().map(Started::check_alive).transpose()?;
        if Instant::now() > deadline {
            return Err(
                started[started.len() - 1].failed("its socket did not appear in 30 s".into())
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for name in ["pause", "nginx", "toolbox"] {
        load_into(&sock, &images_dir().join(format!("{name}.tar"))).await?;
    }

    let pki = state.dir.join("pki");
    let kubelet_port = util::free_port()?;
    let kubelet_config = run_dir.join("kubelet-config.yaml");
    util::write_file(
        &kubelet_config,
        &format!(
            r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: "{ca}"}}
authorization: {{mode: AlwaysAllow}}
address: "{NODE_IP}"
port: {kubelet_port}
readOnlyPort: 0
healthzPort: 0
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: "unix://{sock}"
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A test node evicts only when the disk is all but full (a percentage of a large, shared
# disk can be gigabytes that builds next to the cluster are using).
evictionHard: {{"memory.available": "50Mi", "nodefs.available": "100Mi", "imagefs.available": "100Mi", "nodefs.inodesFree": "1%"}}
resolvConf: /etc/resolv.conf
{dns}nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 60s
maxPods: 110
"#,
            ca = pki.join(files::CA_CERT).display(),
            sock = sock.display(),
            dns = match dns {
                Some(ip) => format!("clusterDNS: [\"{ip}\"]\nclusterDomain: cluster.local\n"),
                None => String::new(),
            }
        ),
    )?;
    // The kubelet's directory holds its serving key and the service account tokens it
    // projects into pods: the owner's only (the kubelet itself would make it 0755).
    util::private_dir(&run_dir.join("kubelet"))?;
    util::private_dir(&run_dir.join("kubelet/pki"))?;
    let kc = state.kubeconfig.display().to_string();
    started.push(util::spawn(
        &dir,
        "kubelet",
        &bins.join("kubelet"),
        &[
            format!("--config={}", kubelet_config.display()),
            format!("--kubeconfig={kc}"),
            format!("--root-dir={RUN_DIR}/kubelet"),
            // Its serving key with the node's other files (removed with the node), not in
            // the kubelet's default /var/lib/kubelet/pki, where it outlived every cluster.
            format!("--cert-dir={RUN_DIR}/kubelet/pki"),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={NODE_IP}"),
            "--v=1".into(),
        ],
    )?);
    state
        .processes
        .push(started[started.len() - 1].process.clone());
    let (proxy_metrics, proxy_health) = (util::free_port()?, util::free_port()?);
    started.push(util::spawn(
        &dir,
        "kube-proxy",
        &bins.join("kube-proxy"),
        &[
            format!("--kubeconfig={kc}"),
            format!("--hostname-override={NODE_NAME}"),
            format!("--cluster-cidr={}", local::POD_CIDR),
            "--proxy-mode=iptables".into(),
            "--conntrack-max-per-core=0".into(),
            format!("--nodeport-addresses={NODE_IP}/32"),
            format!("--metrics-bind-address=127.0.0.1:{proxy_metrics}"),
            format!("--healthz-bind-address=127.0.0.1:{proxy_health}"),
            "--v=1".into(),
        ],
    )?);
    state
        .processes
        .push(started[started.len() - 1].process.clone());

    let client = kube::Client::try_from(local::config_from(&state.kubeconfig).await?)?;
    let nodes: Api<Node> = Api::all(client);
    let timeout = Duration::from_secs(60);
    let ready = util::while_alive(started, timeout, async {
        Ok(await_condition(nodes, NODE_NAME, is_node_ready).await?)
    })
    .await?;
    if ready.flatten().is_none() {
        let kubelet = started.iter().find(|s| s.process.name == "kubelet");
        return Err(match kubelet {
            Some(k) => k.failed(format!("node {NODE_NAME} not Ready after {timeout:?}")),
            None => Error::Timeout {
                what: format!("node {NODE_NAME} Ready"),
                after: timeout,
            },
        });
    }
    progress!(
        "node {NODE_NAME} Ready in {:.1} s; images: {}, {}, {}",
        began.elapsed().as_secs_f64(),
        images.pause,
        images.nginx,
        images.toolbox
    );
    Ok(())
}

/// Whether a node's `Ready` condition is `True`.
pub(crate) fn is_node_ready(node: Option<&Node>) -> bool {
    node.and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The PID of a running containerd of a kubekit node, if any.
/// The containerd of a node running in this mount namespace (a node inside a container,
/// e.g. the k3s provider's, has a [`RUN_DIR`] of its own).
fn running_node() -> Option<u32> {
    let config = format!("{RUN_DIR}/containerd/config.toml");
    let own_mounts = std::fs::read_link("/proc/self/ns/mnt").ok();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let same_mounts = std::fs::read_link(e.path().join("ns/mnt")).ok() == own_mounts;
        (same_mounts && String::from_utf8_lossy(&cmdline).contains(&config)).then_some(pid)
    })
}

/// Imports a docker or OCI archive into the node's containerd (namespace `k8s.io`).
async fn load_into(sock: &Path, archive: &Path) -> Result<()> {
    if !archive.is_file() {
        return Err(Error::Io {
            action: "loading image",
            path: archive.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such archive"),
        });
    }
    let sock = sock.display().to_string();
    let archive = archive.display().to_string();
    let base = [
        "--address",
        &sock,
        "--namespace",
        "k8s.io",
        "images",
        "import",
    ];
    let unpacked = [&base[..], &["--no-unpack=false", &archive]].concat();
    if util::run("ctr", &unpacked).await.is_err() {
        util::run("ctr", &[&base[..], &[archive.as_str()]].concat()).await?;
    }
    Ok(())
}

/// Loads an image archive (`docker save` / OCI format) onto the local node, as `kind load`
/// or k3s's image import do, so pods can use it with `imagePullPolicy: Never` or
/// `IfNotPresent`.
///
/// # Errors
///
/// When the file does not exist, the cluster has no local node, or the import fails.
pub async fn load_image(archive: &Path) -> Result<()> {
    let sock = Path::new(RUN_DIR).join("containerd/containerd.sock");
    if !sock.exists() {
        return Err(Error::Node(format!(
            "no local node is running (no {}); start the shared cluster as root first",
            sock.display()
        )));
    }
    load_into(&sock, archive).await
}

/// Kills the task of container `id` on the local node (`SIGKILL`), as a crash would end it.
pub(crate) async fn kill_container(id: &str) -> Result<()> {
    let sock = Path::new(RUN_DIR).join("containerd/containerd.sock");
    let sock = sock.display().to_string();
    util::run(
        "ctr",
        &[
            "--address",
            &sock,
            "--namespace",
            "k8s.io",
            "tasks",
            "kill",
            "--signal",
            "SIGKILL",
            id,
        ],
    )
    .await
    .map(|_| ())
}

/// A process as the node's teardown sees it.
struct Proc {
    pid: u32,
    exe: PathBuf,
    cmdline: String,
    /// In this process's mount namespace (a node in a container has a `RUN_DIR` of its own).
    here: bool,
}

fn processes() -> Vec<Proc> {
    let own = std::fs::read_link("/proc/self/ns/mnt").ok();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let here = own.is_some() && std::fs::read_link(e.path().join("ns/mnt")).ok() == own;
            Some(Proc {
                pid,
                exe,
                cmdline,
                here,
            })
        })
        .collect()
}

fn exe_named(p: &Proc, names: &[&str]) -> bool {
    p.exe.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        names
            .iter()
            .any(|w| n == *w || (w.ends_with('*') && n.starts_with(w.trim_end_matches('*'))))
    })
}

/// Removes the local node: kubelet and kube-proxy first (so nothing restarts containers),
/// every container process, the shims and containerd, then the mounts, network namespaces,
/// interfaces and iptables chains it made, the pods' cgroups and [`RUN_DIR`]. Best effort:
/// what is already gone is skipped. Blocking.
pub(crate) fn teardown() {
    let run = RUN_DIR;
    // 1. kubelet and kube-proxy of this node.
    for p in processes() {
        if p.here
            && exe_named(&p, &["kubelet", "kube-proxy"])
            && (p.cmdline.contains(run) || p.cmdline.contains(NODE_NAME))
        {
            util::signal(p.pid, Signal::KILL);
        }
    }
    // 2. Every container process (cgroups under kubepods), then the shims and containerd.
    for root in ["pids", "memory", "unified"] {
        for dir in dirs_under(&Path::new("/sys/fs/cgroup").join(root).join("kubepods")) {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse().ok()) {
                util::signal(pid, Signal::KILL);
            }
        }
    }
    for p in processes() {
        if p.here && exe_named(&p, &["containerd-shim*", "containerd"]) && p.cmdline.contains(run) {
            util::signal(p.pid, Signal::KILL);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    // 3. Mounts (deepest first), network namespaces and interfaces.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut points: Vec<String> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(|m| m.replace("\\040", " "))
        .filter(|m| m.starts_with(&format!("{run}/")))
        .collect();
    points.sort_by(|a, b| b.cmp(a));
    for m in points {
        let _ = rustix::mount::unmount(m.as_str(), rustix::mount::UnmountFlags::DETACH);
    }
    if let Ok(entries) = std::fs::read_dir("/run/netns") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("cni-") {
                continue;
            }
            let pids = util::run_blocking("ip", &["netns", "pids", &name]).unwrap_or_default();
            for pid in pids.lines().filter_map(|l| l.trim().parse().ok()) {
                util::signal(pid, Signal::KILL);
            }
            let _ = util::run_blocking("ip", &["netns", "delete", &name]);
        }
    }
    let links =
        util::run_blocking("ip", &["-o", "link", "show", "master", BRIDGE]).unwrap_or_default();
    for line in links.lines() {
        // "7: vethabc@if2: <...> ..."
        if let Some(name) = line.split(": ").nth(1).and_then(|n| n.split('@').next()) {
            let _ = util::run_blocking("ip", &["link", "delete", name]);
        }
    }
    let _ = util::run_blocking("ip", &["link", "delete", BRIDGE]);
    // 4. iptables rules and chains of kube-proxy, the CNI plugins and the guard.
    for table in ["nat", "filter", "mangle"] {
        let Ok(rules) = util::run_blocking("iptables", &["-t", table, "-S"]) else {
            continue;
        };
        for rule in rules.lines().filter(|r| {
            r.starts_with("-A ")
                && (r.contains("KUBE-") || r.contains("CNI-") || r.contains(GUARD_CHAIN))
        }) {
            let mut args = vec!["-t".to_string(), table.to_string(), "-D".to_string()];
            args.extend(split_rule(&rule[3..]));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = util::run_blocking("iptables", &args);
        }
        let chains: Vec<&str> = rules
            .lines()
            .filter_map(|r| r.strip_prefix("-N "))
            .filter(|c| c.starts_with("KUBE-") || c.starts_with("CNI-") || *c == GUARD_CHAIN)
            .collect();
        for flag in ["-F", "-X"] {
            for chain in &chains {
                let _ = util::run_blocking("iptables", &["-t", table, flag, chain]);
            }
        }
    }
    // 5. The pods' cgroups and the node's files (not across mounts; a RUN_DIR that is itself
    // a mount point, e.g. a container's volume, stays, emptied).
    if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
        for c in controllers.flatten() {
            let mut dirs = dirs_under(&c.path().join("kubepods"));
            dirs.reverse();
            for d in dirs {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
    let run_dir = Path::new(run);
    let (Ok(meta), Ok(parent)) = (std::fs::metadata(run_dir), std::fs::metadata("/run")) else {
        return;
    };
    remove_same_device(run_dir, meta.dev(), meta.dev() == parent.dev());
}

/// `dir` and every directory under it, parents before children.
fn dirs_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
        out.push(d);
    }
    out
}

/// Removes what is under `path` on device `dev` (as `rm -rf --one-file-system`), and `path`
/// itself when `itself`.
fn remove_same_device(path: &Path, dev: u64, itself: bool) {
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.dev() != dev {
                continue;
            }
            if meta.is_dir() {
                remove_same_device(&e.path(), dev, true);
            } else {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if itself {
        let _ = std::fs::remove_dir(path);
    }
}

/// Splits a rule as `iptables -S` prints it into arguments: words, and double-quoted
/// strings (comments) with `\"` escapes.
fn split_rule(rule: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = rule.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                '\\' if quoted => {
                    if let Some(n) = chars.next() {
                        arg.push(n);
                    }
                }
                ' ' if !quoted => break,
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
    args
}

/// Labels of the node, for tests that pin pods to it.
pub fn node_selector() -> BTreeMap<String, String> {
    BTreeMap::from([("kubernetes.io/hostname".to_string(), NODE_NAME.to_string())])
}
