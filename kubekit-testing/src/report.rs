//! The harness's one progress reporter: the human lines (a cluster starting, images loaded, a
//! namespace kept) go to stderr, prefixed `kubekit-testing:`, and are also `tracing` events
//! of target `kubekit_testing` (`info` for progress, `warn` for what needs attention).

use std::fmt;

/// Reports progress: `progress!("starting {what}")`.
macro_rules! progress {
    ($($arg:tt)*) => { $crate::report::report_progress(::std::format_args!($($arg)*)) };
}

/// Reports something that needs attention (a kept namespace, a fallback).
macro_rules! warning {
    ($($arg:tt)*) => { $crate::report::report_warning(::std::format_args!($($arg)*)) };
}

pub(crate) use {progress, warning};

/// Prints a progress line and emits it as an `info` event.
pub(crate) fn report_progress(message: fmt::Arguments<'_>) {
    let message = message.to_string();
    tracing::info!(target: "kubekit_testing", "{message}");
    print(&message);
}

/// Prints a line that needs attention and emits it as a `warn` event.
pub(crate) fn report_warning(message: fmt::Arguments<'_>) {
    let message = message.to_string();
    tracing::warn!(target: "kubekit_testing", "{message}");
    print(&message);
}

/// Passes on the output of a build script (its own progress lines), line by line.
pub(crate) fn output(text: &str) {
    for line in text.lines() {
        tracing::info!(target: "kubekit_testing", "{line}");
        eprintln!("{line}");
    }
}

fn print(message: &str) {
    for line in message.lines() {
        eprintln!("kubekit-testing: {line}");
    }
}
