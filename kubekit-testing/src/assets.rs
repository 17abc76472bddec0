//! Finding (or building) the Kubernetes binaries the local cluster runs.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::error::{Error, IoContext, Result};

/// The Kubernetes release the local cluster runs (the same minor as the k3s image).
pub const KUBERNETES_VERSION: &str = "v1.34.4";
/// The etcd release the local cluster runs.
pub const ETCD_VERSION: &str = "v3.6.4";

/// The binaries a control plane needs.
pub const CONTROL_PLANE_BINARIES: &[&str] = &[
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];
/// The binaries a node needs on top of the control plane.
pub const NODE_BINARIES: &[&str] = &["kubelet", "kube-proxy"];

/// The cluster add-ons the local provider runs as processes on the node (see
/// [`Component`](crate::Component)): built by `scripts/build-addons.sh`.
pub const ADDON_BINARIES: &[&str] = &[
    "coredns",
    "local-path-provisioner",
    "metrics-server",
    "traefik",
];

const BUILD_SCRIPT: &str = include_str!("../scripts/build-components.sh");
const ADDONS_SCRIPT: &str = include_str!("../scripts/build-addons.sh");

/// kubekit's cache directory: `$XDG_CACHE_HOME/kubekit` or `~/.cache/kubekit`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("kubekit");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("kubekit")
}

/// Where the build script puts the binaries of [`KUBERNETES_VERSION`].
pub fn default_bin_dir() -> PathBuf {
    cache_dir().join(KUBERNETES_VERSION).join("bin")
}

fn has_all(dir: &Path, names: &[&str]) -> bool {
    names.iter().all(|n| dir.join(n).is_file())
}

/// Finds the directory holding the Kubernetes binaries, building them if needed.
///
/// The lookup order: `KUBEKIT_ASSETS`, then `KUBEBUILDER_ASSETS` (the envtest convention),
/// then kubekit's cache (`~/.cache/kubekit/<version>/bin`). When none has them and Go is
/// installed, the pinned release is built from the Go module proxy into the cache (15-20
/// minutes cold on 2 cores, with progress on stderr); the second time it is instant.
///
/// `needed` lists the binaries the caller needs, e.g. [`CONTROL_PLANE_BINARIES`].
///
/// # Errors
///
/// [`Error::MissingBinaries`] when a variable points at a directory without them, or when
/// Go is missing; [`Error::Build`] when the build fails.
pub fn binaries(needed: &[&str]) -> Result<PathBuf> {
    for var in ["KUBEKIT_ASSETS", "KUBEBUILDER_ASSETS"] {
        if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            if has_all(&dir, needed) {
                return Ok(dir);
            }
            let missing: Vec<_> = needed.iter().filter(|n| !dir.join(n).is_file()).collect();
            return Err(Error::MissingBinaries(format!(
                "{var}={} lacks {missing:?}; put them there or unset {var} to let kubekit build \
                 Kubernetes {KUBERNETES_VERSION} into {}",
                dir.display(),
                default_bin_dir().display()
            )));
        }
    }
    let dir = default_bin_dir();
    let (addons, core): (Vec<&str>, Vec<&str>) =
        needed.iter().partition(|n| ADDON_BINARIES.contains(n));
    if !(dir.join(".kubekit-stamp").is_file() && has_all(&dir, &core)) {
        build(&dir)?;
    }
    let addons_built = dir.join(".kubekit-addons-stamp").is_file() && has_all(&dir, &addons);
    if !addons.is_empty() && !addons_built {
        build_addons(&dir)?;
    }
    Ok(dir)
}

/// Builds the pinned add-ons (CoreDNS, local-path-provisioner, metrics-server, Traefik) into
/// `dir` with the embedded add-on build script (minutes cold on 2 cores; see BENCHMARKS.md).
fn build_addons(dir: &Path) -> Result<()> {
    if Command::new("go").arg("version").output().is_err() {
        return Err(Error::MissingBinaries(format!(
            "no cluster add-ons ({ADDON_BINARIES:?}) in {} and no Go to build them. Install Go, \
             run `kubekit-testing/scripts/build-addons.sh`, put them in KUBEKIT_ASSETS, or set \
             KUBEKIT_COMPONENTS=none",
            dir.display(),
        )));
    }
    run_script("build-addons.sh", ADDONS_SCRIPT, dir, "the cluster add-ons")
}

/// Builds the pinned components into `dir` with the embedded build script.
fn build(dir: &Path) -> Result<()> {
    if Command::new("go").arg("version").output().is_err() {
        return Err(Error::MissingBinaries(format!(
            "no Kubernetes {KUBERNETES_VERSION} binaries in {} and no Go to build them. Install \
             Go (1.24 or newer; the build uses the Go module proxy), run \
             `scripts/build-components.sh`, or set KUBEKIT_ASSETS (or KUBEBUILDER_ASSETS) to a \
             directory holding {:?}",
            dir.display(),
            [CONTROL_PLANE_BINARIES, NODE_BINARIES].concat()
        )));
    }
    run_script(
        "build-components.sh",
        BUILD_SCRIPT,
        dir,
        &format!("Kubernetes {KUBERNETES_VERSION}"),
    )
}

/// Writes an embedded build script into the cache and runs it with `dir` as its output.
fn run_script(name: &str, text: &str, dir: &Path, what: &str) -> Result<()> {
    let script = cache_dir().join(name);
    std::fs::create_dir_all(cache_dir()).io("creating", cache_dir())?;
    std::fs::write(&script, text).io("writing", &script)?;
    crate::report::progress!(
        "building {what} into {} (once; later runs reuse it)",
        dir.display()
    );
    let status = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .status()
        .io("running", &script)?;
    if !status.success() {
        return Err(Error::Build {
            script,
            status: status.to_string(),
        });
    }
    Ok(())
}
