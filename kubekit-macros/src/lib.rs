//! Procedural macros for kubekit.
