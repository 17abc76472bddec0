//! The kubeconfig provider: the existing cluster `KUBECONFIG` (or `~/.kube/config`) points
//! at, used as it is; kubekit-testing neither starts nor stops it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Error, Result},
    providers::{Provider, ProviderKind},
};

/// The cluster of the current kubeconfig (`KUBEKIT_PROVIDER=kubeconfig`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kubeconfig;

/// The cluster the kubeconfig provider found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KubeconfigState {
    path: Option<PathBuf>,
}

impl Provider for Kubeconfig {
    type State = KubeconfigState;

    fn kind(&self) -> ProviderKind {
        ProviderKind::Kubeconfig
    }

    fn state_dir(&self) -> Option<PathBuf> {
        None
    }

    async fn start(&self, _dir: &Path, _run_id: &str) -> Result<KubeconfigState> {
        Ok(KubeconfigState {
            path: std::env::var_os("KUBECONFIG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        })
    }

    async fn alive(&self, _state: &KubeconfigState) -> bool {
        true
    }

    fn kubeconfig<'s>(&self, state: &'s KubeconfigState) -> Option<&'s Path> {
        state.path.as_deref()
    }

    async fn config(&self, _state: &KubeconfigState) -> Result<kube::Config> {
        kube::Config::infer().await.map_err(Error::InferConfig)
    }

    fn has_node(&self, _state: &KubeconfigState) -> bool {
        true
    }

    async fn load_image(&self, _state: &KubeconfigState, _archive: &Path) -> Result<()> {
        Err(Error::Unsupported(
            "the kubeconfig provider's cluster is not managed by kubekit-testing; load images \
             with its own tools"
                .into(),
        ))
    }

    async fn stop(&self, _state: &KubeconfigState) -> Result<()> {
        Ok(())
    }
}
