//! Client calls.
