//! Typed builders.
