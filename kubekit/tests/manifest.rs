//! Tests of `kubekit::manifest`: rendering, parsing and every error message (snapshots).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, Namespace, Pod, PodSpec, PodStatus, PodTemplateSpec,
    Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ManagedFieldsEntry, ObjectMeta, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubekit::manifest::{
    self, DynamicObject, ManifestError, ManifestErrorKind, Object, RenderOptions,
};

const WALKTHROUGH: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web2
spec:
  containers:
    - name: web
      image: nginx:1.28
      imagePullPolicy: IfNotPresent
      ports:
        - containerPort: 80
";

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn web_container() -> Container {
    Container {
        name: "web".into(),
        image: Some("nginx:1.28".into()),
        image_pull_policy: Some("IfNotPresent".into()),
        ports: Some(vec![ContainerPort {
            container_port: 80,
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn walkthrough_pod() -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web2".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![web_container()],
            ..Default::default()
        }),
        status: None,
    }
}

fn namespace(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn deployment() -> Deployment {
    let app = labels(&[("app", "web")]);
    Deployment {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("shop".into()),
            labels: Some(app.clone()),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(3),
            selector: LabelSelector {
                match_labels: Some(app.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(app),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![web_container()],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

fn service() -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("shop".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(labels(&[("app", "web")])),
            ports: Some(vec![ServicePort {
                port: 80,
                target_port: Some(IntOrString::Int(80)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

/// A Pod as `kubectl get -o yaml` would return it: server fields and status included.
fn pod_from_cluster() -> Pod {
    let mut pod = walkthrough_pod();
    let time = Time("2026-01-02T03:04:05Z".parse().unwrap());
    pod.metadata = ObjectMeta {
        name: Some("web2".into()),
        namespace: Some("default".into()),
        uid: Some("6f1d2c9e-4a57-4a8e-9a53-0c2f5b8e7d11".into()),
        resource_version: Some("48213".into()),
        generation: Some(1),
        creation_timestamp: Some(time.clone()),
        self_link: Some("/api/v1/namespaces/default/pods/web2".into()),
        labels: Some(labels(&[("app", "web")])),
        annotations: Some(labels(&[(
            manifest::LAST_APPLIED_ANNOTATION,
            r#"{"apiVersion":"v1","kind":"Pod"}"#,
        )])),
        managed_fields: Some(vec![ManagedFieldsEntry {
            api_version: Some("v1".into()),
            manager: Some("kubectl-client-side-apply".into()),
            operation: Some("Update".into()),
            time: Some(time),
            ..Default::default()
        }]),
        ..Default::default()
    };
    pod.status = Some(PodStatus {
        phase: Some("Running".into()),
        pod_ip: Some("10.244.0.7".into()),
        ..Default::default()
    });
    pod
}

fn error_of(yaml: &str) -> ManifestError {
    match manifest::from_yaml(yaml) {
        Ok(objects) => panic!("expected an error, got {objects:#?}"),
        Err(error) => error,
    }
}

fn position(error: &ManifestError) -> (Option<usize>, Option<usize>, Option<usize>) {
    (error.document(), error.line(), error.column())
}

// ---------------------------------------------------------------------------------------------
// Rendering

#[test]
fn renders_one_pod() {
    insta::assert_snapshot!("render_pod", manifest::to_yaml(&walkthrough_pod()).unwrap());
}

#[test]
fn renders_several_objects_as_one_stream() {
    let objects = [
        Object::from(namespace("shop")),
        deployment().into(),
        service().into(),
    ];
    let yaml = manifest::to_yaml_all(&objects).unwrap();
    insta::assert_snapshot!("render_multi", yaml);
    assert_eq!(manifest::from_yaml(&yaml).unwrap(), objects);
}

#[test]
fn renders_objects_of_one_type_from_any_iterator() {
    let namespaces = [namespace("a"), namespace("b")];
    let yaml = manifest::to_yaml_all(namespaces.iter()).unwrap();
    assert_eq!(
        yaml,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n"
    );
    assert_eq!(manifest::to_yaml_all(Vec::<&Namespace>::new()).unwrap(), "");
}

#[test]
fn renders_status_last_and_cleans_for_reapply() {
    let pod = pod_from_cluster();
    insta::assert_snapshot!("render_from_cluster", manifest::to_yaml(&pod).unwrap());
    let clean = manifest::to_yaml_with(&pod, RenderOptions::default().clean(true)).unwrap();
    insta::assert_snapshot!("render_clean", clean);
    let reparsed: Pod = manifest::from_yaml_one(&clean).unwrap();
    assert_eq!(reparsed.status, None);
    assert_eq!(reparsed.metadata.uid, None);
    assert_eq!(reparsed.metadata.annotations, None);
    assert_eq!(reparsed.metadata.labels, Some(labels(&[("app", "web")])));
}

#[test]
fn managed_fields_hidden_unless_asked_for() {
    let pod = pod_from_cluster();
    let yaml = manifest::to_yaml(&pod).unwrap();
    assert!(!yaml.contains("managedFields"), "{yaml}");
    assert!(yaml.contains("  resourceVersion: \"48213\"\n"), "{yaml}");
    let shown =
        manifest::to_yaml_with(&pod, RenderOptions::default().show_managed_fields(true)).unwrap();
    assert!(
        shown.contains(
            "  managedFields:\n  - apiVersion: v1\n    manager: kubectl-client-side-apply\n"
        ),
        "{shown}"
    );
    let reparsed: Pod = manifest::from_yaml_one(&shown).unwrap();
    assert_eq!(
        reparsed.metadata.managed_fields,
        pod.metadata.managed_fields
    );

    // In a List, from every item.
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {},
        "items": [serde_json::to_value(&pod).unwrap()],
    });
    let yaml = manifest::to_yaml(&list).unwrap();
    assert!(!yaml.contains("managedFields"), "{yaml}");
    let shown =
        manifest::to_yaml_with(&list, RenderOptions::default().show_managed_fields(true)).unwrap();
    assert!(shown.contains("managedFields"), "{shown}");
}

#[test]
fn cleaning_keeps_other_annotations() {
    let mut pod = pod_from_cluster();
    pod.metadata
        .annotations
        .get_or_insert_default()
        .insert("team".into(), "shop".into());
    pod.metadata.labels = Some(BTreeMap::new());
    let clean = manifest::to_yaml_with(&pod, RenderOptions::default().clean(true)).unwrap();
    assert!(clean.contains("annotations:\n    team: shop\n"), "{clean}");
    assert!(!clean.contains("labels"), "{clean}");
    assert!(!clean.contains("last-applied"), "{clean}");
}

#[test]
fn cleaning_a_list_cleans_its_items() {
    let mut list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [manifest::Object::from(pod_from_cluster()).to_value().unwrap()],
        "metadata": { "resourceVersion": "1" },
    });
    manifest::clean_for_reapply(&mut list);
    let item = &list["items"][0];
    assert!(item.get("status").is_none());
    assert!(item["metadata"].get("uid").is_none());
    assert_eq!(list["metadata"], serde_json::json!({}));
}

#[test]
fn renders_top_level_keys_in_kubectl_order() {
    let config = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            ..Default::default()
        },
        data: Some(labels(&[
            ("mode", "fast"),
            ("retries", "3"),
            ("debug", "yes"),
        ])),
        immutable: Some(true),
        ..Default::default()
    };
    // k8s-openapi serializes `data` and `immutable` before `metadata`.
    insta::assert_snapshot!("render_configmap", manifest::to_yaml(&config).unwrap());
}

#[test]
fn renders_a_json_value_with_spec_before_others_and_status_last() {
    let value = serde_json::json!({
        "status": { "ready": true },
        "zeta": 1,
        "spec": { "size": 3, "color": "blue" },
        "metadata": { "name": "w" },
        "kind": "Widget",
        "apiVersion": "example.com/v1",
    });
    assert_eq!(
        manifest::to_yaml(&value).unwrap(),
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n  color: blue\nzeta: 1\nstatus:\n  ready: true\n"
    );
}

#[test]
fn dynamic_object_with_non_object_data_is_a_render_error() {
    let mut object = DynamicObject::new("example.com/v1", "Widget");
    object.data = serde_json::json!([1, 2]);
    let error = manifest::to_yaml(&object).unwrap_err();
    assert!(matches!(error.kind(), ManifestErrorKind::Render { .. }));
    insta::assert_snapshot!("error_render", error);
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[test]
fn walkthrough_manifest_parses_into_a_pod_and_renders_back() {
    let objects = manifest::from_yaml(WALKTHROUGH).unwrap();
    assert_eq!(objects.len(), 1);
    let object = &objects[0];
    assert_eq!(
        (
            object.kind(),
            object.api_version(),
            object.name(),
            object.namespace()
        ),
        ("Pod", "v1", Some("web2"), None)
    );
    let Object::Pod(pod) = object else {
        panic!("expected a Pod, got {object:?}")
    };
    assert_eq!(**pod, walkthrough_pod());

    let rendered = manifest::to_yaml(pod).unwrap();
    insta::assert_snapshot!("render_walkthrough", rendered);
    assert_eq!(manifest::from_yaml(&rendered).unwrap(), objects);
    // Equivalent as data, too.
    let original: serde_json::Value = serde_saphyr::from_str(WALKTHROUGH).unwrap();
    assert_eq!(object.to_value().unwrap(), original);
    let typed: Pod = manifest::from_yaml_one(WALKTHROUGH).unwrap();
    assert_eq!(typed, **pod);
}

#[test]
fn parses_a_stream_of_known_and_other_kinds_skipping_empty_documents() {
    let yaml = "\
# a leading comment
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
# only a comment
---
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: nginx}]
--- # a custom resource
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: shop
spec:
  zeta: 1
  alpha: [2, 3]
status:
  ready: true
...
";
    let objects = manifest::from_yaml(yaml).unwrap();
    let kinds: Vec<_> = objects.iter().map(Object::kind).collect();
    assert_eq!(kinds, ["Namespace", "Deployment", "Widget"]);
    let Object::Other(widget) = &objects[2] else {
        panic!("expected Other")
    };
    assert_eq!(widget.api_version, "example.com/v1");
    assert_eq!(
        (widget.name(), widget.namespace()),
        (Some("w1"), Some("shop"))
    );
    assert_eq!(
        widget.data,
        serde_json::json!({ "spec": { "zeta": 1, "alpha": [2, 3] }, "status": { "ready": true } })
    );
    // The custom resource renders back with its keys in the order they were written.
    insta::assert_snapshot!("render_dynamic", manifest::to_yaml(&objects[2]).unwrap());
}

#[test]
fn a_service_of_another_group_is_not_a_kubernetes_service() {
    let yaml = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: hello\nspec:\n  template: {}\n";
    let objects = manifest::from_yaml(yaml).unwrap();
    assert!(matches!(&objects[0], Object::Other(o) if o.kind == "Service"));
}

#[test]
fn empty_input_has_no_objects() {
    for yaml in [
        "",
        "\n",
        "---\n",
        "# nothing\n---\n# still nothing\n",
        "--- ~\n",
        "...\n",
    ] {
        assert_eq!(manifest::from_yaml(yaml).unwrap(), [], "{yaml:?}");
    }
}

#[test]
fn tabs_inside_block_scalars_are_text() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\ndata:\n  run.sh: |\n    if true; then\n    \techo tab\n    fi\n";
    let objects = manifest::from_yaml(yaml).unwrap();
    let Object::ConfigMap(config) = &objects[0] else {
        panic!("expected a ConfigMap")
    };
    assert_eq!(
        config.data.as_ref().unwrap()["run.sh"],
        "if true; then\n\techo tab\nfi\n"
    );
}

#[test]
fn tabs_inside_block_scalars_with_comments_or_quoted_keys_are_text() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\ndata:\n  \"a #b\": |-\n    \tx\n  c: > # folded # really\n    \ty\n";
    let objects = manifest::from_yaml(yaml).unwrap();
    let Object::ConfigMap(config) = &objects[0] else {
        panic!("expected a ConfigMap")
    };
    let data = config.data.as_ref().unwrap();
    assert_eq!(
        (data["a #b"].as_str(), data["c"].as_str()),
        ("\tx", "\ty\n")
    );
}

#[test]
fn scalars_are_typed_as_kubernetes_types_them() {
    // JSON types are strict, as the API server reads what kubectl sends: a plain `8080` for a
    // string field and a quoted "3" for a number are refused, naming the field.
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: \"3\"\n  selector: {}\n  template:\n    spec:\n      containers:\n        - name: web\n          env:\n            - name: PORT\n              value: 8080\n";
    let error = manifest::from_yaml_one::<Deployment>(yaml).unwrap_err();
    assert_eq!(position(&error), (Some(1), Some(6), Some(13)));
    let fixed = yaml.replace("\"3\"", "3");
    let error = manifest::from_yaml_one::<Deployment>(&fixed).unwrap_err();
    assert_eq!(position(&error), (Some(1), Some(14), Some(22)));
    assert!(
        matches!(error.kind(), ManifestErrorKind::InvalidValue { path: Some(path), .. }
            if path == "spec.template.spec.containers[0].env[0].value"),
        "{error}"
    );
    let deployment: Deployment =
        manifest::from_yaml_one(&fixed.replace("8080", "\"8080\"")).unwrap();
    let spec = deployment.spec.unwrap();
    assert_eq!(spec.replicas, Some(3));
    let env = spec.template.spec.unwrap().containers[0]
        .env
        .clone()
        .unwrap();
    assert_eq!(env[0].value.as_deref(), Some("8080"));
}

#[test]
fn yaml_is_read_as_yaml_1_1_as_kubernetes_reads_it() {
    // Octal modes, booleans and numbers as keys, integer-valued floats: as sigs.k8s.io/yaml.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  on: a\n  0640: b\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  mode: 0640\n  hex: 0x1F\n  ratio: 1.0\n  unset: null\n  switch: on\n";
    let objects = manifest::from_yaml(yaml).unwrap();
    let Object::ConfigMap(config) = &objects[0] else {
        panic!("expected a ConfigMap")
    };
    assert_eq!(
        config.data.clone().unwrap(),
        labels(&[("true", "a"), ("416", "b")])
    );
    let Object::Other(widget) = &objects[1] else {
        panic!("expected a Widget")
    };
    assert_eq!(
        widget.data,
        serde_json::json!({"spec": {"mode": 416, "hex": 31, "ratio": 1, "switch": true}})
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: a}]\n  volumes:\n    - name: v\n      secret: {secretName: s, defaultMode: 0400}\n";
    let pod: Pod = manifest::from_yaml_one(pod).unwrap();
    let volume = &pod.spec.unwrap().volumes.unwrap()[0];
    assert_eq!(volume.secret.as_ref().unwrap().default_mode, Some(0o400));
}

#[test]
fn scalars_yaml_1_1_reads_otherwise_are_refused() {
    let config = |data: &str| {
        format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n{data}")
    };
    for (data, line, column) in [
        ("  oN: x\n", 6, 3),
        ("  list: [a, tRUE]\n", 6, 13),
        ("  list:\n    - nO\n", 7, 7),
        ("  a: {b: Off, c: yEs} # yEs\n", 6, 18),
    ] {
        let error = error_of(&config(data));
        assert_eq!(
            position(&error),
            (Some(1), Some(line), Some(column)),
            "{data:?}: {error}"
        );
        assert!(
            error.to_string().contains("is text for Kubernetes"),
            "{error}"
        );
    }
    // `_` in numbers: go-yaml v2 leaves every one out; YAML 1.2 readers only single ones.
    let error = error_of(&config("  env: LOG_LEVEL_2\n  ratio: 1_0.5\n"));
    assert_eq!(position(&error), (Some(1), Some(7), Some(10)), "{error}");
    assert!(
        error
            .to_string()
            .contains("`1_0.5` is a number for Kubernetes"),
        "{error}"
    );
    // Quoted, in a block scalar or a comment: text, as for kubectl.
    let objects =
        manifest::from_yaml(&config("  a: \"yEs\" # oN\n  b: |\n    tRUE\n  c: Yes\n")).unwrap();
    let Object::Other(widget) = &objects[0] else {
        panic!("expected a Widget")
    };
    assert_eq!(
        widget.data["spec"],
        serde_json::json!({"a": "yEs", "b": "tRUE\n", "c": true})
    );
}

#[test]
fn missing_required_fields_are_errors_naming_the_field() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n    - name: http\n      targetPort: 80\n";
    let error = error_of(yaml);
    assert_eq!(
        error.kind(),
        &ManifestErrorKind::MissingField {
            kind: "Service".into(),
            path: "spec.ports[0].port".into(),
        }
    );
    assert_eq!(position(&error), (Some(1), Some(7), Some(7)));
    insta::assert_snapshot!("error_missing_field", error);
    let error = manifest::from_yaml_one::<Pod>(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n",
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "document 1, line 4, column 1: missing required field `spec.containers` in Pod"
    );
}

#[test]
fn secret_data_wrapped_over_lines_is_base64() {
    let yaml =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: |\n    aGVs\n    bG8=\n";
    let Object::Secret(secret) = &manifest::from_yaml(yaml).unwrap()[0] else {
        panic!("expected a Secret")
    };
    assert_eq!(secret.data.as_ref().unwrap()["a"].0, b"hello");
    let error = error_of(&yaml.replace("bG8=", "bG8"));
    assert_eq!(position(&error), (Some(1), Some(6), Some(3)));
    assert!(
        error
            .to_string()
            .contains("Secret `s` at `data.a`: not base64"),
        "{error}"
    );
}

#[test]
fn from_value_checks_like_from_yaml() {
    let value: serde_json::Value = serde_saphyr::from_str(WALKTHROUGH).unwrap();
    assert!(matches!(
        Object::from_value(value.clone()).unwrap(),
        Object::Pod(_)
    ));
    let mut typo = value;
    typo["spec"]["containers"][0]["imagePullPolcy"] = "Always".into();
    let error = Object::from_value(typo).unwrap_err();
    assert_eq!(position(&error), (None, None, None));
    assert_eq!(
        error.to_string(),
        "unknown field `spec.containers[0].imagePullPolcy` in Pod; did you mean `imagePullPolicy`?"
    );
}

#[test]
fn objects_convert_to_and_from_their_kinds() {
    let object = Object::from(service());
    assert_eq!(object.kind(), "Service");
    let object = Pod::try_from(object).unwrap_err();
    let service = Service::try_from(object).unwrap();
    assert_eq!(service.metadata.name.as_deref(), Some("web"));

    let object: Object = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" }
    }))
    .unwrap();
    assert!(matches!(object, Object::ConfigMap(_)));
}

#[test]
fn from_yaml_one_wants_exactly_one_document() {
    let error = manifest::from_yaml_one::<Pod>("# nothing\n").unwrap_err();
    insta::assert_snapshot!("error_no_document", error);
    let two = format!("{WALKTHROUGH}---\n{WALKTHROUGH}");
    let error = manifest::from_yaml_one::<Pod>(&two).unwrap_err();
    assert_eq!(position(&error), (Some(2), Some(13), Some(1)));
    insta::assert_snapshot!("error_two_documents", error);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn error_tab_indentation() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n\tnamespace: shop\n";
    let error = error_of(yaml);
    assert!(matches!(
        error.kind(),
        ManifestErrorKind::TabIndentation { line: 5 }
    ));
    assert_eq!(position(&error), (Some(1), Some(5), Some(1)));
    insta::assert_snapshot!("error_tab", error);
}

#[test]
fn error_tab_after_spaces_in_a_later_document() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  \tname: b\n";
    let error = error_of(yaml);
    assert_eq!(position(&error), (Some(2), Some(9), Some(3)));
    insta::assert_snapshot!("error_tab_document_2", error);
}

#[test]
fn error_unknown_field_with_suggestion() {
    let yaml = WALKTHROUGH.replace("imagePullPolicy", "imagePullPolcy");
    let error = error_of(&yaml);
    assert_eq!(
        error.kind(),
        &ManifestErrorKind::UnknownField {
            kind: "Pod".into(),
            path: "spec.containers[0].imagePullPolcy".into(),
            suggestion: Some("imagePullPolicy".into()),
        }
    );
    assert_eq!(position(&error), (Some(1), Some(9), Some(7)));
    insta::assert_snapshot!("error_unknown_field", error);
}

#[test]
fn error_unknown_field_without_suggestion() {
    let yaml = WALKTHROUGH.replace("  name: web2\n", "  name: web2\n  colour: blue\n");
    let error = error_of(&yaml);
    assert_eq!(position(&error), (Some(1), Some(5), Some(3)));
    insta::assert_snapshot!("error_unknown_field_no_suggestion", error);
}

#[test]
fn error_unknown_top_level_field_and_in_metadata_of_other_kinds() {
    let error = error_of(&WALKTHROUGH.replace("spec:", "specs:"));
    insta::assert_snapshot!("error_unknown_top_level_field", error);
    let error = error_of(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  lables:\n    a: b\n",
    );
    assert_eq!(position(&error), (Some(1), Some(5), Some(3)));
    insta::assert_snapshot!("error_unknown_field_dynamic_metadata", error);
}

#[test]
fn error_unknown_field_from_yaml_one() {
    let yaml = WALKTHROUGH.replace("containerPort", "containerPorts");
    let error = manifest::from_yaml_one::<Pod>(&yaml).unwrap_err();
    assert_eq!(position(&error), (Some(1), Some(11), Some(11)));
    insta::assert_snapshot!("error_unknown_field_one", error);
}

#[test]
fn error_missing_kind() {
    let yaml = format!("{WALKTHROUGH}---\napiVersion: v1\nmetadata:\n  name: nameless\n");
    let error = error_of(&yaml);
    assert_eq!(error.kind(), &ManifestErrorKind::MissingKind);
    assert_eq!(position(&error), (Some(2), Some(13), Some(1)));
    insta::assert_snapshot!("error_missing_kind", error);
}

#[test]
fn error_missing_api_version() {
    let error = error_of("kind: Deployment\nmetadata:\n  name: web\n");
    assert_eq!(position(&error), (Some(1), Some(1), Some(1)));
    insta::assert_snapshot!("error_missing_api_version", error);
    let error = error_of("kind: Widget\nmetadata:\n  name: w\n");
    insta::assert_snapshot!("error_missing_api_version_unknown_kind", error);
}

#[test]
fn error_wrong_api_version() {
    let error = error_of(&WALKTHROUGH.replace("apiVersion: v1", "apiVersion: apps/v1"));
    assert_eq!(
        error.kind(),
        &ManifestErrorKind::WrongApiVersion {
            kind: "Pod".into(),
            found: "apps/v1".into(),
            expected: "v1",
        }
    );
    assert_eq!(position(&error), (Some(1), Some(1), Some(1)));
    insta::assert_snapshot!("error_wrong_api_version", error);
}

#[test]
fn error_syntax_with_line_and_column() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web\nspec: {}\n";
    let error = error_of(yaml);
    assert!(matches!(error.kind(), ManifestErrorKind::Syntax { .. }));
    insta::assert_snapshot!("error_syntax", error);
}

#[test]
fn error_in_document_3_of_3_has_the_absolute_line() {
    let yaml = "\
apiVersion: v1
kind: Namespace
metadata:
  name: one
---
apiVersion: v1
kind: Namespace
metadata:
  name: two
---
apiVersion: v1
kind: Namespace
metadata:
  name: three
   labels: {}
";
    let error = error_of(yaml);
    assert_eq!(error.document(), Some(3));
    assert_eq!(error.line(), Some(15));
    insta::assert_snapshot!("error_document_3", error);
}

#[test]
fn error_position_on_the_marker_line() {
    // Content after `---` on the same line: columns count the marker.
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n--- [1, 2\n";
    let error = error_of(yaml);
    assert_eq!(error.document(), Some(2));
    assert_eq!(error.line(), Some(4));
    insta::assert_snapshot!("error_marker_line", error);
}

#[test]
fn error_invalid_value() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: many\n  selector: {}\n  template: {}\n";
    let error = error_of(yaml);
    assert_eq!(position(&error), (Some(1), Some(6), Some(13)));
    insta::assert_snapshot!("error_invalid_value", error);
}

#[test]
fn error_wrong_type() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: web\n";
    let error = error_of(yaml);
    assert_eq!(position(&error), (Some(1), Some(6), Some(15)));
    insta::assert_snapshot!("error_wrong_type", error);
}

#[test]
fn error_not_an_object() {
    let error = error_of("- apiVersion: v1\n  kind: Namespace\n");
    assert_eq!(
        error.kind(),
        &ManifestErrorKind::NotAnObject {
            found: "a sequence"
        }
    );
    insta::assert_snapshot!("error_not_an_object", error);
}

#[test]
fn error_kind_not_a_string() {
    let error = error_of("apiVersion: v1\nkind: [Pod]\n");
    assert_eq!(position(&error), (Some(1), Some(2), Some(1)));
    insta::assert_snapshot!("error_kind_not_a_string", error);
}

#[test]
fn error_invalid_value_in_a_sequence() {
    let yaml = WALKTHROUGH.replace(
        "- containerPort: 80",
        "- containerPort: 80\n        - eighty",
    );
    let error = error_of(&yaml);
    assert_eq!(position(&error), (Some(1), Some(12), Some(11)));
    insta::assert_snapshot!("error_invalid_value_in_a_sequence", error);
}

#[test]
fn error_duplicate_key() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n";
    insta::assert_snapshot!("error_duplicate_key", error_of(yaml));
}

#[test]
fn errors_are_small_and_cloneable() {
    assert!(std::mem::size_of::<ManifestError>() <= std::mem::size_of::<usize>());
    let error = error_of("kind: Pod\n");
    assert_eq!(error.clone(), error);
}

#[test]
fn long_streams_read_in_parallel_keep_document_order_and_the_first_error() {
    let doc = |i: usize| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n");
    let good: Vec<String> = (0..300).map(doc).collect();
    let objects = manifest::from_yaml(&good.join("---\n")).expect("valid stream");
    let names: Vec<String> = objects
        .iter()
        .map(|o| o.name().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names,
        (0..300).map(|i| format!("cm-{i}")).collect::<Vec<_>>()
    );

    let mut bad = good.clone();
    bad[149] = "apiVersion: v1\nmetadata:\n  name: no-kind\n".into();
    bad[279] = "kind: ConfigMap\nmetadata:\n  name: no-version\n".into();
    let error = manifest::from_yaml(&bad.join("---\n")).expect_err("two bad documents");
    assert_eq!(error.document(), Some(150), "{error}");
    assert_eq!(
        error.kind(),
        &manifest::ManifestErrorKind::MissingKind,
        "{error}"
    );
}

/// Each object comes with its document's number (empty documents counted, as errors count
/// them) and the line its content starts on.
#[test]
fn documents_are_numbered_as_errors_number_them() {
    let a = "{apiVersion: v1, kind: Namespace, metadata: {name: a}}";
    let b = "{apiVersion: v1, kind: Namespace, metadata: {name: b}}";
    let numbers = |yaml: &str| -> Vec<(usize, usize)> {
        kubekit::manifest::from_yaml_documents(yaml)
            .expect("valid")
            .iter()
            .map(|d| (d.index, d.line))
            .collect()
    };
    assert_eq!(numbers(&format!("{a}\n---\n{b}\n")), [(1, 1), (2, 3)]);
    assert_eq!(numbers(&format!("---\n{a}\n---\n{b}\n")), [(1, 2), (2, 4)]);
    assert_eq!(numbers(&format!("{a}\n---\n---\n{b}\n")), [(1, 1), (3, 4)]);
    assert_eq!(numbers(&format!("# c\n---\n{a}\n")), [(1, 3)]);
    assert_eq!(numbers(&format!("--- {a}\n")), [(1, 1)]);
    assert_eq!(
        numbers(&format!("{a}\n---\n# only a comment\n---\n{b}\n---\n")),
        [(1, 1), (3, 5)]
    );
    let names: Vec<_> = kubekit::manifest::from_yaml_documents(&format!("{a}\n---\n{b}\n"))
        .expect("valid")
        .into_iter()
        .map(|d| d.object.name().map(str::to_string))
        .collect();
    assert_eq!(names, [Some("a".to_string()), Some("b".to_string())]);
}

/// A stream of 10,000 ConfigMaps, made as it is read, that counts the documents it has
/// handed out: the number shows how far `manifest::read` has read.
struct LazyConfigMaps {
    made: std::rc::Rc<std::cell::Cell<usize>>,
    pending: Vec<u8>,
}

impl std::io::Read for LazyConfigMaps {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() {
            let index = self.made.get();
            if index == 10_000 {
                return Ok(0);
            }
            self.made.set(index + 1);
            self.pending = format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{index}\ndata:\n  at: \"{index}\"\n"
            )
            .into_bytes();
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

#[test]
fn read_streams_documents_as_they_come() {
    let made = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut objects = manifest::read(LazyConfigMaps {
        made: made.clone(),
        pending: Vec::new(),
    });
    // Each object comes out after its document and the next marker, not after the stream.
    let first = objects.next().unwrap().unwrap();
    assert_eq!(first.name(), Some("c0"));
    assert_eq!(made.get(), 2, "read one document past the first");
    let names: Vec<String> = objects
        .by_ref()
        .take(999)
        .map(|object| object.unwrap().name().unwrap().to_owned())
        .collect();
    assert_eq!(names.last().map(String::as_str), Some("c999"));
    assert_eq!(made.get(), 1001);
    assert_eq!(objects.count(), 9000);
}

#[test]
fn read_errors_carry_the_document_and_line_of_the_whole_stream() {
    let config_map = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n")
    };
    // Documents 1-4 and 6 are fine (6 lines each, then a marker); document 5's second data
    // key is a number where Kubernetes wants a string: line 4 * 7 + 7 = 35.
    let mut stream = String::new();
    for index in 1..=6 {
        stream.push_str(&config_map(&format!("c{index}")));
        if index == 5 {
            stream.push_str("  replicas: 3\n");
        }
        if index < 6 {
            stream.push_str("---\n");
        }
    }
    let items: Vec<_> = manifest::read(stream.as_bytes()).collect();
    assert_eq!(
        items.len(),
        6,
        "the documents after the error are still read"
    );
    let error = items[4].as_ref().unwrap_err();
    assert_eq!(
        (error.document(), error.line(), error.column()),
        (Some(5), Some(35), Some(13)),
        "{error}"
    );
    assert!(
        items[5]
            .as_ref()
            .is_ok_and(|object| object.name() == Some("c6"))
    );
    // The same error as `from_yaml` reports for the whole stream.
    assert_eq!(&manifest::from_yaml(&stream).unwrap_err(), error);
}

#[test]
fn read_reports_a_failing_reader_and_text_that_is_not_utf8_and_stops() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("connection reset"));
            }
            self.0 -= 1;
            let text = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n";
            buf[..text.len()].copy_from_slice(text);
            Ok(text.len())
        }
    }
    let items: Vec<_> = manifest::read(Failing(1)).collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items[0].is_ok());
    let error = items[1].as_ref().unwrap_err();
    assert!(matches!(
        error.kind(),
        ManifestErrorKind::Read {
            kind: std::io::ErrorKind::Other,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "document 2, line 6, column 1: cannot read the input: connection reset"
    );

    let items: Vec<_> =
        manifest::read(&b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \xe9t\xe9\n"[..])
            .collect();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        "document 1, line 4, column 9: cannot read the input: the text is not UTF-8 (byte 0xe9); \
         YAML manifests are UTF-8"
    );
}

#[test]
fn a_key_that_yaml_1_1_makes_a_duplicate_is_reported_where_the_duplicate_is() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\
                apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  on: one\n  \
                other: x\n  yes: two\n";
    let error = manifest::from_yaml(yaml).unwrap_err();
    assert_eq!(
        (error.document(), error.line(), error.column()),
        (Some(2), Some(13), Some(3)),
        "{error}"
    );
    assert!(
        error.to_string().contains("duplicate key `true`"),
        "{error}"
    );
    // As for a key written twice.
    let twice = yaml.replace("yes: two", "on: two");
    let error = manifest::from_yaml(&twice).unwrap_err();
    assert_eq!(
        (error.line(), error.column()),
        (Some(13), Some(3)),
        "{error}"
    );
}

#[test]
fn numbers_too_large_for_a_float_are_text_as_for_kubectl_and_infinity_is_refused() {
    let big = "9".repeat(400);
    let yaml = format!(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  a: [1e400, -1E400, 1.5]\n  b: {{c: +1e400}}\n  d: {big}\n  e:\n    - 1e400\n"
    );
    let objects = manifest::from_yaml(&yaml).unwrap();
    assert_eq!(
        objects[0].to_value().unwrap()["spec"],
        serde_json::json!({"a": ["1e400", "-1E400", 1.5], "b": {"c": "+1e400"}, "d": big, "e": ["1e400"]})
    );
    for (infinity, column) in [(".inf", 14), ("-.Inf", 14), (".NaN", 14)] {
        let yaml = yaml.replace("-1E400", infinity);
        let error = manifest::from_yaml(&yaml).unwrap_err();
        assert_eq!(
            (error.line(), error.column()),
            (Some(6), Some(column)),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("`{infinity}` is not a finite number")),
            "{error}"
        );
    }
}

#[test]
fn secret_data_with_unused_bits_set_reads_as_the_api_server_decodes_it() {
    // Go's base64.StdEncoding (not strict) ignores the bits the padding leaves unused: the API
    // server stores `YR==` as `a`, as it stores `YQ==`.
    let yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  one: YR==\n  two: YWJ=\n  \
                canonical: YWI=\n";
    let objects = manifest::from_yaml(yaml).unwrap();
    let [Object::Secret(secret)] = objects.as_slice() else {
        panic!("expected one Secret")
    };
    let data = secret.data.as_ref().unwrap();
    assert_eq!(data["one"].0, b"a");
    assert_eq!(data["two"].0, b"ab");
    assert_eq!(data["canonical"].0, b"ab");
    let rendered = manifest::to_yaml(&**secret).unwrap();
    assert!(rendered.contains("one: YQ==\n  two: YWI="), "{rendered}");
}

#[test]
fn read_refuses_a_document_without_end_instead_of_holding_it() {
    /// A ConfigMap, then the same byte forever: one line without end.
    struct Endless(usize);
    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let head = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\ndata: ";
            if self.0 < head.len() {
                let n = buf.len().min(head.len() - self.0);
                buf[..n].copy_from_slice(&head[self.0..self.0 + n]);
                self.0 += n;
                return Ok(n);
            }
            buf.fill(b'x');
            Ok(buf.len())
        }
    }
    let items: Vec<_> = manifest::read(Endless(0)).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let error = items[1].as_ref().unwrap_err();
    assert!(matches!(
        error.kind(),
        ManifestErrorKind::DocumentTooLarge { .. }
    ));
    assert_eq!(
        error.to_string(),
        "document 2, line 6, column 1: the document is larger than 64 MiB; the API server \
         takes objects of about 3 MiB at most"
    );
}
