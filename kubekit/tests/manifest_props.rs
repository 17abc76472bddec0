//! Properties of `kubekit::manifest`: no input makes the parser panic, and what is rendered
//! reads back the same.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Container, ContainerPort, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubekit::manifest::{self, DynamicObject, ManifestErrorKind, Object, RenderOptions};
use proptest::prelude::*;
use serde_json::Value;

const VALID: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web2
  labels: {app: web}
spec:
  containers:
    - name: web
      image: nginx:1.28
      imagePullPolicy: IfNotPresent
      args: [\"--port\", \"80\"]
      ports:
        - containerPort: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx
          command:
            - sh
            - -c
            - |
              echo hello
              sleep 3600
--- # custom
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec: &spec
  size: 3
copy: *spec
";

/// The number of cases: `default`, or `PROPTEST_CASES` from the environment for a longer run.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// Feeds `input` to every entry point; they may fail, never panic.
fn parse_everything(input: &str) {
    let all = manifest::from_yaml(input);
    // The streaming reader gives the same objects, or the same first error, however the
    // reader hands out the bytes.
    let streamed: Result<Vec<Object>, _> = manifest::read(input.as_bytes()).collect();
    assert_eq!(streamed, all, "{input:?}");
    let trickled: Result<Vec<Object>, _> = manifest::read(Trickle(input.as_bytes())).collect();
    assert_eq!(trickled, all, "{input:?}");
    let _ = manifest::from_yaml_one::<Pod>(input);
    let _ = manifest::from_yaml_one::<Object>(input);
    let _ = manifest::from_yaml_one::<Value>(input);
    if let Ok(objects) = manifest::from_yaml(input) {
        // Whatever was read renders, and reads back the same.
        let yaml = manifest::to_yaml_all(&objects).unwrap();
        assert_eq!(manifest::from_yaml(&yaml).unwrap(), objects, "{yaml}");
    }
}

/// A reader that hands out one byte per call.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&byte, rest)), Some(slot)) => {
                *slot = byte;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// Feeds raw bytes to the streaming reader: objects or errors, never a panic, and the same
/// as `from_yaml` when the bytes are UTF-8.
fn read_bytes(bytes: &[u8]) {
    let streamed: Vec<_> = manifest::read(bytes).collect();
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let streamed: Result<Vec<Object>, _> = streamed.into_iter().collect();
            assert_eq!(streamed, manifest::from_yaml(text));
        }
        Err(_) => {
            let last = streamed.last().and_then(|item| item.as_ref().err());
            assert!(
                last.is_some_and(|error| matches!(
                    error.kind(),
                    ManifestErrorKind::Read {
                        kind: std::io::ErrorKind::InvalidData,
                        ..
                    }
                )),
                "{streamed:?}"
            );
        }
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, char),
    Delete(usize, usize),
    DuplicateLine(usize),
    IndentWithTab(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        '\t', ' ', '\n', ':', '-', '#', '[', ']', '{', '}', '"', '\'', '|', '>', '&', '*', '!',
        '%', '@', '`', ',', '?', '\r', '\u{feff}', 'é', '0',
    ]);
    prop_oneof![
        (any::<usize>(), prop_oneof![special, any::<char>()])
            .prop_map(|(at, c)| Mutation::Insert(at, c)),
        (any::<usize>(), 0usize..20).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::IndentWithTab),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match *mutation {
        Mutation::Insert(at, c) => {
            let at = at % (chars.len() + 1);
            chars[..at].iter().chain([&c]).chain(&chars[at..]).collect()
        }
        Mutation::Delete(at, len) => {
            let at = at % (chars.len() + 1);
            let end = (at + len).min(chars.len());
            chars[..at].iter().chain(&chars[end..]).collect()
        }
        Mutation::DuplicateLine(line) => {
            let line = line % lines.len().max(1);
            let mut out = lines.clone();
            if let Some(copy) = lines.get(line) {
                out.insert(line, copy);
            }
            out.concat()
        }
        Mutation::IndentWithTab(line) => {
            let line = line % lines.len().max(1);
            lines
                .iter()
                .enumerate()
                .map(|(number, text)| {
                    if number == line {
                        format!("\t{}", text.trim_start_matches(' '))
                    } else {
                        (*text).to_owned()
                    }
                })
                .collect()
        }
    }
}

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?"
}

/// Strings that YAML could read as something else when written plainly.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        "[ -~\n\t]{0,40}",
        prop::sample::select(vec![
            "",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "true",
            "False",
            "~",
            "null",
            "NULL",
            "1",
            "-1",
            "1.0",
            "1e3",
            "0x1F",
            "0o17",
            "012",
            ".inf",
            "-.inf",
            ".nan",
            "- a",
            "#x",
            "a #b",
            " lead",
            "trail ",
            "a: b",
            "key:",
            "a\nb",
            "a\n",
            "\n",
            "'q'",
            "\"d\"",
            "*a",
            "&a",
            "!t",
            "%p",
            "@x",
            "`x",
            "---",
            "...",
            "--- x",
            "[a]",
            "{a: 1}",
            "| x",
            "> x",
            "\t",
            "é",
            "2024-01-01",
            "12:30:00",
            "<<",
            "1.15.1",
            "10.0.0.1",
            "0640",
            "0o17",
            "1_000",
            "Y",
            "N",
            "ON",
            "1.",
            ".5",
            "+1",
            "1.0",
        ])
        .prop_map(str::to_owned),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// `value` as kubectl sends it, which is what kubekit reads: no fields set to null, and
/// integer-valued floats as integers (JSON has one number type).
fn as_kubernetes_reads_it(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key, as_kubernetes_reads_it(value)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(as_kubernetes_reads_it).collect())
        }
        Value::Number(number) => match number.as_f64() {
            #[allow(clippy::cast_possible_truncation)]
            Some(float) if !number.is_i64() && !number.is_u64() && float.fract() == 0.0 => {
                Value::from(float as i64)
            }
            _ => Value::Number(number),
        },
        other => other,
    }
}

fn object() -> impl Strategy<Value = Object> {
    let pod = (
        name(),
        tricky_string(),
        prop::collection::vec(1i32..65536, 0..3),
    )
        .prop_map(|(name, image, ports)| {
            Object::from(Pod {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..Default::default()
                },
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name,
                        image: Some(image),
                        ports: (!ports.is_empty()).then(|| {
                            ports
                                .into_iter()
                                .map(|container_port| ContainerPort {
                                    container_port,
                                    ..Default::default()
                                })
                                .collect()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                status: None,
            })
        });
    let config_map = (
        name(),
        prop::collection::btree_map(tricky_string(), tricky_string(), 0..6),
        prop::collection::btree_map("[a-z./]{1,20}", tricky_string(), 0..3),
    )
        .prop_map(
            |(name, data, annotations): (_, BTreeMap<_, _>, BTreeMap<_, _>)| {
                Object::from(ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name),
                        annotations: (!annotations.is_empty()).then_some(annotations),
                        ..Default::default()
                    },
                    data: Some(data),
                    ..Default::default()
                })
            },
        );
    let dynamic = (
        name(),
        "[A-Z][a-zA-Z]{0,12}",
        prop::collection::vec(("[a-z][a-zA-Z]{0,10}", json_value()), 0..4),
    )
        .prop_map(|(name, kind, fields)| {
            let mut object = DynamicObject::new("example.com/v1", kind);
            object.metadata.name = Some(name);
            let data: serde_json::Map<String, Value> = fields
                .into_iter()
                .filter(|(key, value)| {
                    !value.is_null() && !matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
                })
                .map(|(key, value)| (key, as_kubernetes_reads_it(value)))
                .collect();
            object.data = Value::Object(data);
            Object::from(object)
        });
    prop_oneof![pod, config_map, dynamic]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn any_string_is_ok_or_err(input in any::<String>()) {
        parse_everything(&input);
    }

    #[test]
    fn yaml_like_strings_are_ok_or_err(input in "[a-zA-Z0-9:\\-\\[\\]{}#'\"|>&*!%@`,.?~ \n\t\r]{0,300}") {
        parse_everything(&input);
    }

    #[test]
    fn any_bytes_are_ok_or_err(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
        read_bytes(&bytes);
    }

    #[test]
    fn mutated_manifest_bytes_are_ok_or_err(
        mutations in prop::collection::vec(mutation(), 1..6),
        bytes in prop::collection::vec((any::<usize>(), any::<u8>()), 0..3),
    ) {
        let mut input = mutations.iter().fold(VALID.to_owned(), |text, m| apply(&text, m)).into_bytes();
        for (at, byte) in bytes {
            let at = at % (input.len() + 1);
            input.insert(at, byte);
        }
        read_bytes(&input);
    }

    #[test]
    fn mutated_manifests_are_ok_or_err(mutations in prop::collection::vec(mutation(), 1..6)) {
        let input = mutations.iter().fold(VALID.to_owned(), |text, m| apply(&text, m));
        parse_everything(&input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn render_then_parse_gives_the_same_objects(objects in prop::collection::vec(object(), 0..5)) {
        let yaml = manifest::to_yaml_all(&objects).unwrap();
        let parsed = manifest::from_yaml(&yaml);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed, yaml);
        prop_assert_eq!(parsed.unwrap(), objects.clone(), "{}", yaml);
        // Cleaning changes nothing here: none of these has server fields.
        let clean = manifest::to_yaml_all_with(&objects, RenderOptions::default().clean(true)).unwrap();
        prop_assert_eq!(clean, yaml);
    }
}

#[test]
fn the_valid_manifest_is_valid() {
    let objects = manifest::from_yaml(VALID).unwrap();
    let kinds: Vec<_> = objects.iter().map(Object::kind).collect();
    assert_eq!(kinds, ["Pod", "Deployment", "Widget"]);
}

/// Nesting, repetition and aliases in random amounts: an error or objects, never a panic, a
/// stack overflow or memory that grows with what the text expands to.
fn bomb() -> impl Strategy<Value = String> {
    const HEAD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  x:";
    prop_oneof![
        // Flow nesting and compact block sequences (`- - - 1`), far deeper than any reader
        // allows.
        (
            1usize..20_000,
            prop::sample::select(vec![" [", " {a: ", "\n    - "])
        )
            .prop_map(|(depth, open)| format!("{HEAD}{}1\n", open.repeat(depth))),
        // Block mappings, each one more indented.
        (1usize..300).prop_map(|depth| {
            let mut yaml = HEAD.to_owned();
            for level in 0..depth {
                yaml.push_str(&format!("\n{}a:", " ".repeat(4 + 2 * level)));
            }
            yaml + " 1\n"
        }),
        // Aliases of aliases: `levels` levels of `width` references each (up to 6^6 nodes;
        // `a_billion_laughs_is_refused_not_expanded` goes past serde-saphyr's budget).
        (1usize..7, 1usize..7).prop_map(|(levels, width)| {
            let mut yaml = String::from(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nl0: &l0 [lol]\n",
            );
            for level in 1..=levels {
                let refs = vec![format!("*l{}", level - 1); width].join(", ");
                yaml.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
            }
            yaml.push_str(&format!("data: {{x: *l{levels}}}\n"));
            yaml
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(32)))]

    #[test]
    fn nesting_and_alias_bombs_are_ok_or_err(input in bomb()) {
        let _ = manifest::from_yaml(&input);
        let _ = manifest::read(input.as_bytes()).count();
    }
}

#[test]
fn a_billion_laughs_is_refused_not_expanded() {
    let mut yaml = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  l0: &l0 lol\n",
    );
    for level in 1..=9 {
        let refs = vec![format!("*l{}", level - 1); 10].join(", ");
        yaml.push_str(&format!("  l{level}: &l{level} [{refs}]\n"));
    }
    let error = manifest::from_yaml(&yaml).unwrap_err();
    assert_eq!(error.document(), Some(1), "{error}");
    eprintln!("{error}");
    let streamed: Result<Vec<_>, _> = manifest::read(yaml.as_bytes()).collect();
    assert_eq!(streamed.unwrap_err(), error);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for open in [" [", " {a: ", "\n    - "] {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  x:{}1\n",
            open.repeat(100_000)
        );
        let error = manifest::from_yaml(&yaml).unwrap_err();
        eprintln!("{open:?}: {error}");
        assert_eq!(error.document(), Some(1), "{error}");
    }
}

/// A ConfigMap whose `data.x` holds `depth` block mappings, each one more indented.
fn nested_block_mappings(depth: usize) -> String {
    let mut yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  x:".to_owned();
    for level in 0..depth {
        yaml.push_str(&format!("\n{}a:", " ".repeat(4 + 2 * level)));
    }
    yaml + " 1\n"
}

#[test]
fn documents_as_deep_as_yaml_readers_allow_fit_a_small_stack() {
    // As deep as serde-saphyr allows (64 levels; the fast reader stops at 40), read on a
    // thread of 1 MiB: the type error is located by reading the document again, as deep.
    let found = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            (30..=64)
                .map(|depth| {
                    let block = manifest::from_yaml(&nested_block_mappings(depth));
                    let json = format!(
                        "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": \
                         {{\"name\": \"x\"}}, \"data\": {{\"x\": {}1{}}}}}",
                        "[".repeat(depth - 2),
                        "]".repeat(depth - 2)
                    );
                    (
                        block.map_err(|e| e.to_string()),
                        manifest::from_yaml(&json).map_err(|e| e.to_string()),
                    )
                })
                .collect::<Vec<_>>()
        })
        .unwrap()
        .join()
        .unwrap();
    for (block, json) in &found[..=62 - 30] {
        assert!(
            block
                .as_ref()
                .unwrap_err()
                .contains("expected a string, found a mapping"),
            "{block:?}"
        );
        assert!(
            json.as_ref()
                .unwrap_err()
                .contains("expected a string, found a sequence"),
            "{json:?}"
        );
    }
    assert!(
        found
            .last()
            .unwrap()
            .0
            .as_ref()
            .unwrap_err()
            .contains("limits breached"),
        "{found:?}"
    );
}
