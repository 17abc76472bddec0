//! YAML manifests.
