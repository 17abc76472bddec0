//! The node of the local cluster: kubelet and kube-proxy from the pinned release, with
//! Debian's containerd, runc and CNI plugins, and images built locally and loaded into it.
//!
//! Everything the node makes lives under [`RUN_DIR`] and on the bridge [`BRIDGE`]; the
//! generated `node-teardown.sh` removes all of it (containers, mounts, network namespaces,
//! interfaces, iptables chains, cgroups) when the cluster stops.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::Node;
use kube::Api;

use crate::{
    assets,
    certs::files,
    error::{Error, IoContext, Result},
    local::{self, Started, State},
};

/// Where the node keeps containerd's state, kubelet's root, CNI configuration and IPAM.
pub const RUN_DIR: &str = "/run/kubekit-node";
/// The node's name.
pub const NODE_NAME: &str = "kubekit-node";
/// The Linux bridge pods are attached to.
pub const BRIDGE: &str = "kubekit0";
/// The node's IP: the bridge's address, the pods' gateway.
pub const NODE_IP: &str = "10.98.0.1";
const POD_SUBNET: &str = "10.98.0.0/24";

const BUILD_IMAGES: &str = include_str!("../images/build-images.sh");
const IMAGE_PY: &str = include_str!("../images/image.py");
const PAUSE_C: &str = include_str!("../images/pause.c");

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
        eprint!("{log}");
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

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Whether the shared local cluster gets a node: as root, unless `KUBEKIT_NODE=0`.
pub(crate) fn wanted() -> bool {
    match std::env::var("KUBEKIT_NODE").as_deref() {
        Ok("0") | Ok("false") => false,
        _ => is_root(),
    }
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .io("running", program)?;
    if !out.status.success() {
        return Err(Error::Component {
            component: "node setup".into(),
            reason: format!("`{program} {}` failed ({})", args.join(" "), out.status),
            log: PathBuf::from(program),
            tail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).io("creating", parent)?;
    }
    std::fs::write(path, text).io("writing", path)
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

/// Starts containerd, loads the images, starts kubelet and kube-proxy, and waits until the
/// node is Ready.
pub(crate) async fn start(
    state: &mut State,
    started: &mut Vec<Started>,
    bins: &Path,
) -> Result<()> {
    let began = Instant::now();
    let containerd = need("containerd", "containerd")?;
    need("runc", "runc")?;
    need("iptables", "iptables")?;
    need("ip", "iproute2")?;
    if !Path::new("/usr/lib/cni/bridge").is_file() {
        need("bridge-cni-plugin", "containernetworking-plugins")?;
    }
    let images = images()?;
    eprintln!(
        "kubekit-testing: starting node {NODE_NAME} (containerd, kubelet, kube-proxy; pods on {POD_SUBNET})"
    );

    let run_dir = Path::new(RUN_DIR);
    if let Some(pid) = running_node() {
        return Err(Error::Node(format!(
            "another kubekit node is running on this machine (containerd pid {pid}); only one \
             node can run at a time. Stop it (kubekit_testing::stop_local(), or wait for the \
             test run that owns it to end), or set KUBEKIT_NODE=0"
        )));
    }
    // A previous node that was not cleaned up (e.g. the machine lost power) is removed first.
    let old_teardown = state.dir.join("node-teardown.sh");
    write_node_teardown(&old_teardown)?;
    let _ = Command::new("bash").arg(&old_teardown).status();
    std::fs::create_dir_all(run_dir).io("creating", run_dir)?;
    state.node = true;
    local::write_teardown(state)?;

    // Network: the bridge with the node's address, forwarding, and bridged traffic through
    // iptables (for kube-proxy's Service rules).
    run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
    run(
        "ip",
        &["addr", "add", &format!("{NODE_IP}/24"), "dev", BRIDGE],
    )?;
    run("ip", &["link", "set", BRIDGE, "up"])?;
    for (path, value) in [
        ("/proc/sys/net/ipv4/ip_forward", "1"),
        ("/proc/sys/net/bridge/bridge-nf-call-iptables", "1"),
    ] {
        if Path::new(path).exists() {
            std::fs::write(path, value).io("writing", path)?;
        }
    }

    let sock = run_dir.join("containerd/containerd.sock");
    write(
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
    write(
        &run_dir.join("cni/net.d/10-kubekit.conflist"),
        &format!(
            r#"{{
  "cniVersion": "1.0.0",
  "name": "kubekit",
  "plugins": [
    {{
      "type": "bridge", "bridge": "{BRIDGE}", "isGateway": true, "ipMasq": true, "hairpinMode": true,
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
    started.push(local::spawn(
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
    local::write_teardown(state)?;

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
        load_into(&sock, &images_dir().join(format!("{name}.tar")))?;
    }

    let pki = state.dir.join("pki");
    let kubelet_port = local::free_port()?;
    let kubelet_config = run_dir.join("kubelet-config.yaml");
    write(
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
nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
fileCheckFrequency: 60s
maxPods: 110
"#,
            ca = pki.join(files::CA_CERT).display(),
            sock = sock.display()
        ),
    )?;
    let kc = state.kubeconfig.display().to_string();
    started.push(local::spawn(
        &dir,
        "kubelet",
        &bins.join("kubelet"),
        &[
            format!("--config={}", kubelet_config.display()),
            format!("--kubeconfig={kc}"),
            format!("--root-dir={RUN_DIR}/kubelet"),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={NODE_IP}"),
            "--v=1".into(),
        ],
    )?);
    state
        .processes
        .push(started[started.len() - 1].process.clone());
    let (proxy_metrics, proxy_health) = (local::free_port()?, local::free_port()?);
    started.push(local::spawn(
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
    local::write_teardown(state)?;

    let client = kube::Client::try_from(local::config_from(&state.kubeconfig).await?)?;
    let nodes: Api<Node> = Api::all(client);
    let timeout = Duration::from_secs(60);
    let deadline = Instant::now() + timeout;
    loop {
        for s in started.iter_mut() {
            s.check_alive()?;
        }
        if let Ok(Some(node)) = nodes.get_opt(NODE_NAME).await {
            let ready = node
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            if ready {
                break;
            }
        }
        if Instant::now() > deadline {
            let kubelet = started.iter().find(|s| s.process.name == "kubelet");
            return Err(match kubelet {
                Some(k) => k.failed(format!("node {NODE_NAME} not Ready after {timeout:?}")),
                None => Error::Timeout {
                    what: format!("node {NODE_NAME} Ready"),
                    after: timeout,
                },
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "kubekit-testing: node {NODE_NAME} Ready in {:.1} s; images: {}, {}, {}",
        began.elapsed().as_secs_f64(),
        images.pause,
        images.nginx,
        images.toolbox
    );
    Ok(())
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
fn load_into(sock: &Path, archive: &Path) -> Result<()> {
    let sock = sock.display().to_string();
    let archive_s = archive.display().to_string();
    if !archive.is_file() {
        return Err(Error::Io {
            action: "loading image",
            path: archive.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such archive"),
        });
    }
    run(
        "ctr",
        &[
            "--address",
            &sock,
            "--namespace",
            "k8s.io",
            "images",
            "import",
            "--no-unpack=false",
            &archive_s,
        ],
    )
    .or_else(|_| {
        run(
            "ctr",
            &[
                "--address",
                &sock,
                "--namespace",
                "k8s.io",
                "images",
                "import",
                &archive_s,
            ],
        )
    })
}

/// Loads an image archive (`docker save` / OCI format) onto the local node, as `kind load`
/// or k3s's image import do, so pods can use it with `imagePullPolicy: Never` or
/// `IfNotPresent`.
///
/// # Errors
///
/// When the file does not exist, the cluster has no local node, or the import fails.
pub fn load_image(archive: &Path) -> Result<()> {
    let sock = Path::new(RUN_DIR).join("containerd/containerd.sock");
    if !sock.exists() {
        return Err(Error::Node(format!(
            "no local node is running (no {}); start the shared cluster as root first",
            sock.display()
        )));
    }
    load_into(&sock, archive)
}

/// Writes the node's cleanup script.
fn write_node_teardown(path: &Path) -> Result<()> {
    let mut s = String::from(
        "#!/usr/bin/env bash\n# Removes kubekit's local node. Generated by kubekit-testing.\nset -u\n",
    );
    let _ = writeln!(s, "run='{RUN_DIR}' bridge='{BRIDGE}'");
    s.push_str(
        r#"# Only processes of this mount namespace: a node in a container has a RUN_DIR of its own.
own_mnt=$(readlink /proc/$$/ns/mnt)
in_run() { [[ $(readlink /proc/$1/ns/mnt 2>/dev/null) == "$own_mnt" ]] && tr '\0' ' ' </proc/$1/cmdline 2>/dev/null | grep -qF -- "$run"; }
mine() { [[ $(readlink /proc/$1/ns/mnt 2>/dev/null) == "$own_mnt" ]]; }
# 1. kubelet and kube-proxy first, so nothing restarts containers.
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  exe=$(readlink "$p/exe" 2>/dev/null) || continue
  case $exe in */kubelet|*/kube-proxy) mine "$pid" && { in_run "$pid" || [[ $(tr '\0' ' ' <"$p/cmdline") == *kubekit-node* ]]; } && kill -KILL "$pid" 2>/dev/null;; esac
done
# 2. Every container process (cgroups under kubepods), then the shims and containerd.
for c in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods /sys/fs/cgroup/unified/kubepods; do
  [[ -d $c ]] && find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
done
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  exe=$(readlink "$p/exe" 2>/dev/null) || continue
  case $exe in */containerd-shim*|*/containerd) in_run "$pid" && kill -KILL "$pid" 2>/dev/null;; esac
done
sleep 0.3
# 3. Mounts, network namespaces and interfaces.
grep -F " $run/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
for ns in /run/netns/cni-*; do
  [[ -e $ns ]] || continue
  ip netns pids "$(basename "$ns")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns delete "$(basename "$ns")" 2>/dev/null
done
for v in $(ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do ip link delete "$v" 2>/dev/null; done
ip link delete "$bridge" 2>/dev/null
# 4. iptables chains of kube-proxy and the CNI plugins.
for t in nat filter mangle; do
  iptables -t $t -S 2>/dev/null | grep -E '^-A .*(KUBE-|CNI-)' | sed 's/^-A/-D/' | while read -r r; do eval "iptables -t $t $r" 2>/dev/null; done
  iptables -t $t -S 2>/dev/null | grep -E '^-N (KUBE-|CNI-)' | awk '{print $2}' | while read -r ch; do iptables -t $t -F "$ch" 2>/dev/null; done
  iptables -t $t -S 2>/dev/null | grep -E '^-N (KUBE-|CNI-)' | awk '{print $2}' | while read -r ch; do iptables -t $t -X "$ch" 2>/dev/null; done
done
# 5. Pod cgroups and the node's files.
for ctl in /sys/fs/cgroup/*/; do
  [[ -d ${ctl}kubepods ]] && find "${ctl}kubepods" -depth -type d -exec rmdir {} + 2>/dev/null
done
# (The directory itself may be a mount point, e.g. a volume of a container: keep it then.)
if [[ -d $run ]]; then
  if mountpoint -q "$run"; then find "$run" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} + 2>/dev/null
  else rm -rf --one-file-system "$run"; fi
fi
exit 0
"#,
    );
    write(path, &s)?;
    run("chmod", &["+x", &path.display().to_string()])
}

/// Labels of the node, for tests that pin pods to it.
pub fn node_selector() -> BTreeMap<String, String> {
    BTreeMap::from([("kubernetes.io/hostname".to_string(), NODE_NAME.to_string())])
}
