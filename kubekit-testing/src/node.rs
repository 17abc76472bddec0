//! The node of the local cluster: kubelet, containerd, CNI and kube-proxy.

use std::path::Path;

use crate::{
    error::Result,
    local::{Started, State},
};

/// Whether the shared local cluster should get a node.
pub(crate) fn wanted() -> bool {
    false
}

/// Starts the node and adds it to `state`.
pub(crate) async fn start(
    _state: &mut State,
    _started: &mut Vec<Started>,
    _bins: &Path,
) -> Result<()> {
    Ok(())
}
