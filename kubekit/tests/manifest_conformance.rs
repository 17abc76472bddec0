//! Conformance with `kubectl`: every manifest of `tests/fixtures/conformance/` is read by
//! kubekit and the outcome compared with what kubectl v1.37 did with it, recorded next to it
//! in `NAME.kubectl.json` by `scripts/conformance-fixtures.sh` (`kubectl apply --dry-run=client
//! -o json` for what kubectl sends, `--dry-run=server` for what the API server accepts).
//!
//! The rule: kubekit produces exactly the objects kubectl sends, or refuses with an error
//! naming the document, line and field — never a third outcome. Where kubectl accepts, the
//! objects are compared as JSON after the differences that do not change what the API server
//! stores (see [`normalize_kubectl`] and [`differences`]).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kubekit::manifest::{self, Object};
use serde_json::Value;

/// What kubectl did with a fixture, and what kubekit must do.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// kubectl sends it and the API server accepts it: kubekit reads the same objects.
    Same,
    /// kubectl or the API server refuses it: so does kubekit, with a message containing these.
    Refused(&'static [&'static str]),
    /// kubectl accepts it but silently drops something (a duplicate key keeps the last value):
    /// kubekit refuses it, with a message containing these.
    Stricter(&'static [&'static str]),
}

use Expect::{Refused, Same, Stricter};

/// Every fixture and its expected outcome.
const FIXTURES: &[(&str, Expect)] = &[
    ("anchors", Same),
    ("bool-keys", Same),
    (
        "bool-keys-collide",
        Stricter(&[
            "document 1, line 8, column 3",
            "duplicate key `true`",
            "YAML 1.1",
        ]),
    ),
    ("bool-values-custom", Same),
    (
        "configmap-number-value",
        Refused(&[
            "line 6",
            "`data.retries`",
            "expected a string, found the number `3`",
        ]),
    ),
    ("crd-descriptions", Same),
    ("crlf", Same),
    ("dotted-scalars", Same),
    ("duplicate-key", Stricter(&["line 7", "duplicate"])),
    ("empty-documents", Same),
    (
        "env-value-bool",
        Refused(&[
            "line 19",
            "`spec.template.spec.containers[0].env[0].value`",
            "expected a string, found the boolean `true`",
        ]),
    ),
    (
        "env-value-number",
        Refused(&[
            "line 11",
            "`spec.containers[0].env[0].value`",
            "found the number `8080`",
        ]),
    ),
    (
        "infinity-custom",
        Refused(&["line 6", "`.inf` is not a finite number"]),
    ),
    (
        "ingress-missing-path-type",
        Refused(&["missing required field `spec.rules[0].http.paths[0].pathType`"]),
    ),
    ("int-or-string-ports", Same),
    ("json-document", Same),
    ("kustomize-base", Same),
    (
        "label-float",
        Refused(&[
            "`metadata.labels.app.kubernetes.io/version`",
            "the number `1.15`",
        ]),
    ),
    (
        "labels-number-custom",
        Refused(&["line 6", "`metadata.labels.version`", "the number `1`"]),
    ),
    (
        "labels-number-typed",
        Refused(&["line 6", "`metadata.labels.version`", "the number `1`"]),
    ),
    (
        "missing-container-name",
        Refused(&[
            "line 7",
            "missing required field `spec.containers[0].name` in Pod",
        ]),
    ),
    (
        "missing-container-port",
        Refused(&["missing required field `spec.containers[0].ports[0].containerPort`"]),
    ),
    (
        "missing-containers",
        Refused(&["line 5", "missing required field `spec.containers` in Pod"]),
    ),
    (
        "missing-selector",
        Refused(&[
            "line 5",
            "missing required field `spec.selector` in Deployment",
        ]),
    ),
    ("octal-modes-custom", Same),
    ("octal-modes-pod", Same),
    ("quantities", Same),
    (
        "replicas-string",
        Refused(&[
            "line 6",
            "`spec.replicas`",
            "expected an integer, found the string `3`",
        ]),
    ),
    ("scalars-multiline", Same),
    ("secret-base64-padding-bits", Same),
    ("secret-base64-wrapped", Same),
    (
        "secret-not-base64",
        Refused(&[
            "line 8",
            "Secret `placeholder` at `data.password`",
            "`.` at byte 6",
            "stringData",
        ]),
    ),
    ("statefulset-claims", Same),
    ("yaml11-edge-scalars-custom", Same),
    (
        "underscore-number-custom",
        Stricter(&[
            "line 9, column 8",
            "`spec.odd`",
            "`1__0` is a number for Kubernetes",
        ]),
    ),
    (
        "bool-mixed-case-custom",
        Stricter(&[
            "line 9, column 10",
            "`spec.debug`",
            "`yEs` is text for Kubernetes",
        ]),
    ),
    ("null-key", Refused(&["line 6", "a null key"])),
    ("nulls-custom", Same),
    ("float-overflow-custom", Same),
    ("flow-multiline", Same),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance")
}

fn read(name: &str) -> (String, Value) {
    let input = std::fs::read_to_string(dir().join(format!("{name}.yaml"))).unwrap();
    let recorded = std::fs::read_to_string(dir().join(format!("{name}.kubectl.json")))
        .unwrap_or_else(|error| {
            panic!("{name}.kubectl.json: {error}; run scripts/conformance-fixtures.sh")
        });
    (input, serde_json::from_str(&recorded).unwrap())
}

/// The objects kubectl printed (a `List` for several).
fn kubectl_objects(stdout: &Value) -> Vec<Value> {
    match stdout {
        Value::Null => Vec::new(),
        Value::Object(object) if object.get("kind") == Some(&Value::from("List")) => {
            object["items"].as_array().cloned().unwrap_or_default()
        }
        other => vec![other.clone()],
    }
}

/// Takes out of kubectl's object what kubectl adds to what the file says: the
/// last-applied-configuration annotation (client-side apply) and the namespace `default`
/// when kubekit's object has none.
fn normalize_kubectl(kubectl: &mut Value, kubekit: &Value) {
    let metadata = kubectl["metadata"].as_object_mut().unwrap();
    if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
        annotations.shift_remove("kubectl.kubernetes.io/last-applied-configuration");
        if annotations.is_empty() {
            metadata.shift_remove("annotations");
        }
    }
    if kubekit["metadata"].get("namespace").is_none() {
        metadata.shift_remove("namespace");
    }
}

/// Where kubekit's `ours` differs from what kubectl sends as `theirs`, as `path: ...` lines.
///
/// Equal as JSON, except where the API server stores the same thing:
/// - a quantity kubectl sends as a number (`cpu: 1`, `0.15`) is a string in kubekit's typed
///   objects (`"1"`, `"0.15"`; k8s-openapi's `Quantity` is a string, as the server returns it);
/// - a Secret's `data` is the same bytes: kubectl sends the base64 as written, line breaks
///   included; kubekit decodes it and sends it again without them (and non-canonical
///   base64, checked against what the API server stored, in [`stored_as_ours`]);
/// - an object inside another (a StatefulSet's volumeClaimTemplates) has `apiVersion` and
///   `kind` in kubekit's objects: k8s-openapi writes them for every resource type, and the
///   API server returns them so too.
fn differences(ours: &Value, theirs: &Value, path: &str, found: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(ours), Value::Object(theirs)) => {
            let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
            let embedded = path.contains("volumeClaimTemplates[");
            for key in keys {
                let at = format!("{path}.{key}");
                match (ours.get(key), theirs.get(key)) {
                    (Some(ours), Some(theirs)) => differences(ours, theirs, &at, found),
                    (Some(_), None) if embedded && (key == "apiVersion" || key == "kind") => {}
                    (ours, theirs) => {
                        found.push(format!("{at}: kubekit {ours:?}, kubectl {theirs:?}"))
                    }
                }
            }
        }
        (Value::Array(ours), Value::Array(theirs)) if ours.len() == theirs.len() => {
            for (index, (ours, theirs)) in ours.iter().zip(theirs).enumerate() {
                differences(ours, theirs, &format!("{path}[{index}]"), found);
            }
        }
        (Value::String(ours), Value::Number(theirs))
            if path.contains(".resources.") && *ours == theirs.to_string() => {}
        (Value::String(ours), Value::String(theirs))
            if path.contains(".data.")
                && theirs.contains('\n')
                && *ours == theirs.replace('\n', "") => {}
        _ if ours == theirs => {}
        _ => found.push(format!("{path}: kubekit {ours}, kubectl {theirs}")),
    }
}

/// Whether `difference` (a line of [`differences`]) is in a Secret's `data` and the API
/// server's dry run stored there exactly what kubekit's object holds.
fn stored_as_ours(ours: &Value, stored: Option<&Value>, difference: &str) -> bool {
    let Some(key) = difference
        .split_once(": ")
        .and_then(|(path, _)| path.strip_prefix(".data."))
    else {
        return false;
    };
    ours["kind"] == "Secret"
        && stored.is_some_and(|stored| {
            stored["data"].get(key).is_some() && stored["data"].get(key) == ours["data"].get(key)
        })
}

#[test]
fn every_fixture_is_listed() {
    let listed: BTreeSet<&str> = FIXTURES.iter().map(|(name, _)| *name).collect();
    let files: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".yaml").map(str::to_owned)
        })
        .collect();
    assert_eq!(
        files.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        listed,
        "fixtures and FIXTURES differ"
    );
}

#[test]
fn kubekit_reads_manifests_as_kubectl_does() {
    let mut failures = String::new();
    let mut refusals = String::new();
    for &(name, expect) in FIXTURES {
        let (input, recorded) = read(name);
        let client = &recorded["client"];
        let server = &recorded["server"];
        let kubectl_accepts = client["exitCode"] == 0 && server["exitCode"] == 0;
        let ours = manifest::from_yaml(&input);
        match (expect, ours) {
            (Same, Ok(objects)) => {
                if !kubectl_accepts {
                    let _ = writeln!(failures, "{name}: kubectl refused it: {recorded}");
                    continue;
                }
                let theirs = kubectl_objects(&client["stdout"]);
                let stored = kubectl_objects(&server["stdout"]);
                if theirs.len() != objects.len() {
                    let _ = writeln!(
                        failures,
                        "{name}: kubekit read {} objects, kubectl sent {}",
                        objects.len(),
                        theirs.len()
                    );
                    continue;
                }
                let mut found = Vec::new();
                for (index, (object, mut theirs)) in objects.iter().zip(theirs).enumerate() {
                    let ours = object.to_value().unwrap();
                    normalize_kubectl(&mut theirs, &ours);
                    let mut here = Vec::new();
                    differences(&ours, &theirs, "", &mut here);
                    // A Secret's data differing from the text kubectl sends is the same
                    // bytes when the API server stored what kubekit sends (non-canonical
                    // base64, e.g. unused padding bits: `YR==` is stored as `YQ==`).
                    here.retain(|difference| !stored_as_ours(&ours, stored.get(index), difference));
                    found.extend(here);
                }
                if !found.is_empty() {
                    let _ = writeln!(failures, "{name}: differs {found:#?}");
                }
            }
            (Refused(wanted) | Stricter(wanted), Err(error)) => {
                let refused_by_kubectl = !kubectl_accepts;
                if refused_by_kubectl != matches!(expect, Refused(_)) {
                    let _ = writeln!(
                        failures,
                        "{name}: expected {expect:?}, kubectl accepts: {kubectl_accepts}"
                    );
                }
                let message = error.to_string();
                for part in wanted {
                    if !message.contains(part) {
                        let _ = writeln!(failures, "{name}: {message:?} lacks {part:?}");
                    }
                }
                if error.document().is_none() || error.line().is_none() {
                    let _ = writeln!(failures, "{name}: no position in {message:?}");
                }
                let kubectl = [client, server]
                    .into_iter()
                    .map(|outcome| outcome["stderr"].as_str().unwrap_or_default().trim())
                    .find(|stderr| !stderr.is_empty())
                    .unwrap_or("(accepted)");
                let _ = writeln!(
                    refusals,
                    "{name}\n  kubekit: {message}\n  kubectl: {kubectl}\n"
                );
            }
            (Same, Err(error)) => {
                let _ = writeln!(failures, "{name}: kubekit refused it: {error}");
            }
            (_, Ok(objects)) => {
                let _ = writeln!(failures, "{name}: kubekit accepted it: {objects:?}");
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
    insta::assert_snapshot!("refusals", refusals);
}

/// What kubekit reads from each accepted fixture reads back the same from JSON (serde-saphyr's
/// path, where the YAML may have gone through kubekit's fast reader).
#[test]
fn accepted_fixtures_read_back_the_same_from_json() {
    for &(name, expect) in FIXTURES {
        if !matches!(expect, Same) {
            continue;
        }
        let (input, _) = read(name);
        let objects = manifest::from_yaml(&input).unwrap();
        let json: Vec<String> = objects
            .iter()
            .map(|object| serde_json::to_string(&object.to_value().unwrap()).unwrap())
            .collect();
        let again = manifest::from_yaml(&json.join("\n---\n")).unwrap();
        assert_eq!(again, objects, "{name}");
        let kinds: Vec<&str> = objects.iter().map(Object::kind).collect();
        assert!(!kinds.is_empty(), "{name}");
    }
}
