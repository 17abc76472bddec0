//! Label selectors, in one place: a [`LabelSelector`] of an object becomes kube-core's
//! [`Selector`], which formats it in kubectl's syntax and matches labels.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_core::{Selector, SelectorExt};

/// `selector` as kube-core's [`Selector`]; `None` when an expression has an operator
/// Kubernetes does not know, or `In`/`NotIn` without values (the builders' validation
/// reports those with their field path; the API server refuses them).
pub(crate) fn of(selector: &LabelSelector) -> Option<Selector> {
    Selector::try_from(selector.clone()).ok()
}

/// `selector` in kubectl's syntax (`app=web,tier in (a,b),!canary`); `None` as for [`of`],
/// and for a selector that selects everything (an empty one).
pub(crate) fn string(selector: &LabelSelector) -> Option<String> {
    of(selector)
        .filter(|s| !s.selects_all())
        .map(|s| s.to_string())
}

/// Whether `selector` selects an object with `labels` (never for an invalid selector).
pub(crate) fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    if selector
        .match_expressions
        .as_ref()
        .is_none_or(Vec::is_empty)
    {
        // Labels only (what the builders make): each must be there with its value. Same answer
        // as kube-core's, without cloning the selector into one.
        return selector
            .match_labels
            .iter()
            .flatten()
            .all(|(key, value)| labels.get(key) == Some(value));
    }
    of(selector).is_some_and(|s| s.matches(labels))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn selector(labels: &[(&str, &str)], exprs: &[(&str, &str, &[&str])]) -> LabelSelector {
        LabelSelector {
            match_labels: (!labels.is_empty()).then(|| {
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            match_expressions: (!exprs.is_empty()).then(|| {
                exprs
                    .iter()
                    .map(|(key, op, values)| LabelSelectorRequirement {
                        key: key.to_string(),
                        operator: op.to_string(),
                        values: (!values.is_empty())
                            .then(|| values.iter().map(|v| v.to_string()).collect()),
                    })
                    .collect()
            }),
        }
    }

    #[test]
    fn selectors_are_written_as_kubectl_reads_them() {
        let s = selector(
            &[("app", "web")],
            &[
                ("tier", "In", &["a", "b"]),
                ("env", "NotIn", &["prod"]),
                ("ready", "Exists", &[]),
                ("canary", "DoesNotExist", &[]),
            ],
        );
        assert_eq!(
            string(&s).as_deref(),
            Some("app=web,tier in (a,b),env notin (prod),ready,!canary")
        );
        assert_eq!(string(&LabelSelector::default()), None);
    }

    #[test]
    fn an_unknown_operator_selects_nothing_and_has_no_string() {
        let s = selector(&[("app", "web")], &[("tier", "Like", &["a"])]);
        assert_eq!(string(&s), None);
        let labels = [("app".to_string(), "web".to_string())].into();
        assert!(!matches(&s, &labels));
    }

    #[test]
    fn matching_follows_each_operator() {
        let labels: BTreeMap<String, String> = [("app", "web"), ("tier", "a")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(matches(&selector(&[("app", "web")], &[]), &labels));
        assert!(!matches(&selector(&[("app", "db")], &[]), &labels));
        assert!(matches(
            &selector(&[], &[("tier", "In", &["a", "b"])]),
            &labels
        ));
        assert!(!matches(
            &selector(&[], &[("tier", "NotIn", &["a"])]),
            &labels
        ));
        assert!(matches(&selector(&[], &[("app", "Exists", &[])]), &labels));
        assert!(!matches(
            &selector(&[], &[("app", "DoesNotExist", &[])]),
            &labels
        ));
        assert!(matches(
            &selector(&[], &[("x", "DoesNotExist", &[])]),
            &labels
        ));
    }
}
