//! The waits this process runs, so that a failure report can say what a test was waiting
//! for, how it ended and what it last saw (`## Waits` in
//! [`namespace_report`](crate::testing::namespace_report)).
//!
//! Every wait of the client ([`Client::wait_ready`](crate::Client::wait_ready),
//! [`wait_until`](crate::Client::wait_until), the pod and Deployment waits,
//! [`wait_deleted`](crate::Client::wait_deleted),
//! [`wait_all_ready`](crate::Client::wait_all_ready)) registers itself while it runs and
//! records the state it last observed; a finished one is kept among the last
//! [`KEEP_FINISHED`] so that a report written after the failure still shows it. The cost is
//! one lock per observed change.

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How many finished waits are remembered (the oldest are forgotten first).
pub(crate) const KEEP_FINISHED: usize = 256;

/// How a wait ended, or that it has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Still waiting.
    InProgress,
    /// The condition was met.
    Met,
    /// The timeout passed first.
    TimedOut,
    /// It failed otherwise (the error's text).
    Failed(String),
    /// Its future was dropped before it ended (e.g. a `select!` or a test that ended).
    Abandoned,
}

/// One wait as the registry knows it.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) struct WaitRecord {
    id: u64,
    /// The namespace of what is awaited (`None`: cluster-scoped).
    pub(crate) namespace: Option<String>,
    /// What is awaited, e.g. `Deployment ns/web to be ready`.
    pub(crate) what: String,
    pub(crate) started: Instant,
    pub(crate) ended: Option<Instant>,
    pub(crate) outcome: Outcome,
    /// The state last observed (empty: nothing observed yet).
    pub(crate) last_state: String,
}

#[cfg_attr(not(feature = "testing"), allow(dead_code))]
impl WaitRecord {
    /// How long it ran (so far).
    pub(crate) fn duration(&self) -> Duration {
        self.ended.unwrap_or_else(Instant::now) - self.started
    }
}

struct Registry {
    next: u64,
    running: Vec<WaitRecord>,
    finished: VecDeque<WaitRecord>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    running: Vec::new(),
    finished: VecDeque::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running wait; dropping it before [`end`](Self::end) records it as abandoned.
#[derive(Debug)]
pub(crate) struct WaitGuard {
    id: u64,
}

/// Registers a wait for `what` in `namespace`.
pub(crate) fn begin(namespace: Option<&str>, what: impl Into<String>) -> WaitGuard {
    let mut r = registry();
    r.next += 1;
    let id = r.next;
    r.running.push(WaitRecord {
        id,
        namespace: namespace.map(str::to_string),
        what: what.into(),
        started: Instant::now(),
        ended: None,
        outcome: Outcome::InProgress,
        last_state: String::new(),
    });
    WaitGuard { id }
}

impl WaitGuard {
    /// Records the state the wait observed last.
    pub(crate) fn observe(&self, state: impl Into<String>) {
        let state = state.into();
        if let Some(w) = registry().running.iter_mut().find(|w| w.id == self.id)
            && w.last_state != state
        {
            w.last_state = state;
        }
    }

    /// Records how the wait ended, with the state it ended in when there is one to add.
    pub(crate) fn end(self, outcome: Outcome, state: Option<String>) {
        finish(self.id, outcome, state);
    }

    /// Records the end from a wait's result: met, timed out (with the state the timeout
    /// reports) or failed.
    pub(crate) fn end_with<T>(self, result: &crate::Result<T>) {
        match result {
            Ok(_) => self.end(Outcome::Met, None),
            Err(crate::Error::Timeout { state, .. }) => {
                self.end(Outcome::TimedOut, Some(state.clone()))
            }
            Err(e) => self.end(Outcome::Failed(e.to_string()), None),
        }
    }
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        finish(self.id, Outcome::Abandoned, None);
    }
}

fn finish(id: u64, outcome: Outcome, state: Option<String>) {
    let mut r = registry();
    let Some(i) = r.running.iter().position(|w| w.id == id) else {
        return;
    };
    let mut w = r.running.swap_remove(i);
    w.ended = Some(Instant::now());
    w.outcome = outcome;
    if let Some(state) = state.filter(|s| !s.is_empty()) {
        w.last_state = state;
    }
    if r.finished.len() == KEEP_FINISHED {
        r.finished.pop_front();
    }
    r.finished.push_back(w);
}

/// The waits (running and remembered) on objects of `namespace`, oldest first.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn in_namespace(namespace: &str) -> Vec<WaitRecord> {
    let r = registry();
    let mut out: Vec<WaitRecord> = r
        .finished
        .iter()
        .chain(r.running.iter())
        .filter(|w| w.namespace.as_deref() == Some(namespace))
        .cloned()
        .collect();
    out.sort_by_key(|w| (w.started, w.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(ns: &str, what: &str) -> WaitRecord {
        in_namespace(ns)
            .into_iter()
            .find(|w| w.what == what)
            .expect("the wait is known")
    }

    #[test]
    fn waits_are_recorded_with_their_outcome_and_last_state() {
        let ns = "waits-unit-1";
        let running = begin(Some(ns), "a to be ready");
        running.observe("0/1 ready");
        running.observe("still 0/1 ready");
        let w = find(ns, "a to be ready");
        assert_eq!(w.outcome, Outcome::InProgress);
        assert_eq!(w.last_state, "still 0/1 ready");

        let timed_out = begin(Some(ns), "b to be ready");
        timed_out.end_with::<()>(&Err(crate::Error::Timeout {
            what: "b to be ready".into(),
            after: Duration::from_secs(1),
            state: "phase Pending".into(),
        }));
        let w = find(ns, "b to be ready");
        assert_eq!(w.outcome, Outcome::TimedOut);
        assert_eq!(w.last_state, "phase Pending");
        assert!(w.ended.is_some());

        drop(begin(Some(ns), "c to be gone"));
        assert_eq!(find(ns, "c to be gone").outcome, Outcome::Abandoned);
        begin(Some(ns), "d").end_with(&Ok(()));
        assert_eq!(find(ns, "d").outcome, Outcome::Met);

        // Oldest first; other namespaces and cluster-scoped waits are not listed.
        let _elsewhere = begin(Some("waits-unit-other"), "e");
        let _cluster = begin(None, "f");
        let whats: Vec<String> = in_namespace(ns).into_iter().map(|w| w.what).collect();
        assert_eq!(
            whats,
            ["a to be ready", "b to be ready", "c to be gone", "d"]
        );
        drop(running);
    }

    #[test]
    fn finished_waits_are_bounded() {
        let ns = "waits-unit-2";
        for i in 0..KEEP_FINISHED + 10 {
            begin(Some(ns), format!("w{i}")).end(Outcome::Met, None);
        }
        let kept = in_namespace(ns);
        assert!(kept.len() <= KEEP_FINISHED, "{}", kept.len());
        assert!(kept.iter().all(|w| w.what != "w0"));
        assert_eq!(
            kept.last().map(|w| w.what.as_str()),
            Some(format!("w{}", KEEP_FINISHED + 9).as_str())
        );
    }
}
