//! Real Kubernetes clusters for integration tests.
