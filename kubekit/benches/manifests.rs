//! Manifest benchmarks: render 1,000 Deployments to one multi-document YAML and parse it back,
//! against plain serde-saphyr doing the same (no key ordering, no checks, typed parse only);
//! and ordinary files side by side with serde-saphyr: one small ConfigMap, a 10-document file,
//! and the conformance fixtures (`tests/fixtures/conformance/`) repeated to about 20 MiB.
//!
//! Run with `cargo bench -p kubekit --no-default-features --bench manifests`.
#![allow(clippy::unwrap_used)]
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubekit::manifest;

const COUNT: usize = 1_000;

/// A Deployment of typical size: labels, two containers with env, ports, resources, a probe.
fn deployment(index: usize) -> Deployment {
    let name = format!("web-{index}");
    let labels: BTreeMap<String, String> = [
        ("app".to_owned(), name.clone()),
        ("tier".to_owned(), "frontend".to_owned()),
    ]
    .into();
    let resources = |cpu: &str, memory: &str| {
        Some(
            [
                ("cpu".to_owned(), Quantity(cpu.to_owned())),
                ("memory".to_owned(), Quantity(memory.to_owned())),
            ]
            .into(),
        )
    };
    let container = |name: &str, image: &str, port: i32| Container {
        name: name.to_owned(),
        image: Some(image.to_owned()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        env: Some(vec![
            EnvVar {
                name: "MODE".to_owned(),
                value: Some("production".to_owned()),
                ..Default::default()
            },
            EnvVar {
                name: "INDEX".to_owned(),
                value: Some(index.to_string()),
                ..Default::default()
            },
        ]),
        ports: Some(vec![ContainerPort {
            container_port: port,
            name: Some("http".to_owned()),
            protocol: Some("TCP".to_owned()),
            ..Default::default()
        }]),
        readiness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(port),
                ..Default::default()
            }),
            period_seconds: Some(5),
            ..Default::default()
        }),
        resources: Some(ResourceRequirements {
            limits: resources("500m", "256Mi"),
            requests: resources("100m", "128Mi"),
            ..Default::default()
        }),
        ..Default::default()
    };
    Deployment {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some("shop".to_owned()),
            labels: Some(labels.clone()),
            annotations: Some([("team".to_owned(), "storefront".to_owned())].into()),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(3),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![
                        container("web", "nginx:1.28", 80),
                        container("metrics", "prom/statsd-exporter:v0.28.0", 9102),
                    ],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

fn plain_render(deployments: &[Deployment]) -> String {
    deployments
        .iter()
        .map(|deployment| serde_saphyr::to_string(deployment).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// A ConfigMap holding a config file over several lines and a long one-line setting, as
/// ConfigMaps often do: the writer's literal and folded blocks.
fn config_map(index: usize) -> k8s_openapi::api::core::v1::ConfigMap {
    let file = format!(
        "server {{\n  listen 80;\n  server_name web-{index}.example.com;\n\n  location / {{\n    \
         proxy_pass http://backend:8080;\n    proxy_set_header Host $host;\n  }}\n}}\n"
    );
    let motd = "Welcome to the shop. This line is long enough that it is written folded over \
                more than one line of the manifest."
        .to_owned();
    k8s_openapi::api::core::v1::ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("web-{index}")),
            namespace: Some("shop".to_owned()),
            ..Default::default()
        },
        data: Some([("nginx.conf".to_owned(), file), ("motd".to_owned(), motd)].into()),
        ..Default::default()
    }
}

fn manifests(c: &mut Criterion) {
    let deployments: Vec<Deployment> = (0..COUNT).map(deployment).collect();
    let yaml = manifest::to_yaml_all(&deployments).unwrap();
    let objects: Vec<manifest::Object> = deployments.iter().cloned().map(Into::into).collect();
    assert_eq!(manifest::from_yaml(&yaml).unwrap(), objects);
    assert_eq!(
        serde_saphyr::from_multiple::<Deployment>(&yaml).unwrap(),
        deployments
    );
    // The same objects as one JSON document each: YAML too, but outside the block-style subset
    // kubekit reads itself, so this measures the serde-saphyr path.
    let json = deployments
        .iter()
        .map(|deployment| serde_json::to_string(deployment).unwrap())
        .collect::<Vec<_>>()
        .join("\n---\n");
    assert_eq!(manifest::from_yaml(&json).unwrap(), objects);
    eprintln!(
        "{COUNT} Deployments: {} lines, {} bytes of YAML",
        yaml.lines().count(),
        yaml.len()
    );

    let mut group = c.benchmark_group("manifests");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));

    group.bench_function("render_1000/kubekit", |b| {
        b.iter(|| manifest::to_yaml_all(black_box(&deployments)).unwrap());
    });
    group.bench_function("render_1000/serde_saphyr", |b| {
        b.iter(|| plain_render(black_box(&deployments)));
    });
    // ConfigMaps with files: kubectl's key order puts `data` after `metadata`, serde-saphyr
    // alone keeps k8s-openapi's (`data` first), so the objects are compared, not the bytes.
    let config_maps: Vec<_> = (0..COUNT).map(config_map).collect();
    let ours = manifest::to_yaml_all(&config_maps).unwrap();
    assert!(ours.contains("nginx.conf: |\n") && ours.contains("motd: >-\n"));
    let plain: Vec<String> = config_maps
        .iter()
        .map(|config_map| serde_saphyr::to_string(config_map).unwrap())
        .collect();
    assert_eq!(
        manifest::from_yaml(&ours).unwrap(),
        manifest::from_yaml(&plain.join("---\n")).unwrap()
    );
    group.bench_function("render_1000_config_maps/kubekit", |b| {
        b.iter(|| manifest::to_yaml_all(black_box(&config_maps)).unwrap());
    });
    group.bench_function("render_1000_config_maps/serde_saphyr", |b| {
        b.iter(|| {
            black_box(&config_maps)
                .iter()
                .map(|config_map| serde_saphyr::to_string(config_map).unwrap())
                .collect::<Vec<_>>()
                .join("---\n")
        });
    });
    group.bench_function("parse_1000/kubekit", |b| {
        b.iter(|| manifest::from_yaml(black_box(&yaml)).unwrap());
    });
    group.bench_function("parse_1000/serde_saphyr", |b| {
        b.iter(|| serde_saphyr::from_multiple::<Deployment>(black_box(&yaml)).unwrap());
    });
    // One document per call: below the parallel threshold, so this is the one-core cost.
    let documents: Vec<&str> = yaml.split("\n---\n").collect();
    assert_eq!(documents.len(), COUNT);
    group.bench_function("parse_1000_one_core/kubekit", |b| {
        b.iter(|| {
            for document in &documents {
                black_box(manifest::from_yaml(black_box(document)).unwrap());
            }
        });
    });
    group.bench_function("parse_1000_json/kubekit", |b| {
        b.iter(|| manifest::from_yaml(black_box(&json)).unwrap());
    });
    group.bench_function("parse_1000_json/serde_saphyr", |b| {
        b.iter(|| serde_saphyr::from_multiple::<Deployment>(black_box(&json)).unwrap());
    });
    group.finish();
}

const CONFIG_MAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
";

/// The conformance fixtures both kubekit and serde-saphyr read, as one stream each.
fn conformance_inputs() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .filter(|text| {
            manifest::from_yaml(text).is_ok()
                && serde_saphyr::from_multiple::<serde_json::Value>(text).is_ok()
        })
        .collect()
}

/// Ordinary files: kubekit's `from_yaml` (objects, checked) beside serde-saphyr reading the
/// same text to a `serde_json::Value` (and, for one document, converting it with
/// `Object::from_value`, or reading the typed ConfigMap straight away).
fn ordinary_files(c: &mut Criterion) {
    let mut group = c.benchmark_group("ordinary");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    group.bench_function("configmap/kubekit", |b| {
        b.iter(|| manifest::from_yaml(black_box(CONFIG_MAP)).unwrap());
    });
    group.bench_function("configmap/serde_saphyr_value_and_conversion", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_saphyr::from_str(black_box(CONFIG_MAP)).unwrap();
            manifest::Object::from_value(value).unwrap()
        });
    });
    group.bench_function("configmap/serde_saphyr_typed", |b| {
        b.iter(|| {
            serde_saphyr::from_str::<k8s_openapi::api::core::v1::ConfigMap>(black_box(CONFIG_MAP))
                .unwrap()
        });
    });

    let inputs = conformance_inputs();
    // Ten documents: the first fixtures' documents, in one stream.
    let ten: Vec<&str> = inputs
        .iter()
        .flat_map(|text| text.split("\n---\n"))
        .filter(|document| manifest::from_yaml(document).is_ok_and(|objects| objects.len() == 1))
        .take(10)
        .collect();
    assert_eq!(ten.len(), 10);
    let ten = ten.join("\n---\n");
    assert_eq!(manifest::from_yaml(&ten).unwrap().len(), 10);
    group.bench_function("ten_documents/kubekit", |b| {
        b.iter(|| manifest::from_yaml(black_box(&ten)).unwrap());
    });
    group.bench_function("ten_documents/serde_saphyr_value_and_conversion", |b| {
        b.iter(|| {
            serde_saphyr::from_multiple::<serde_json::Value>(black_box(&ten))
                .unwrap()
                .into_iter()
                .filter(|value| !value.is_null())
                .map(|value| manifest::Object::from_value(value).unwrap())
                .collect::<Vec<_>>()
        });
    });

    // The conformance inputs repeated to about 20 MiB.
    let one_round = inputs.join("\n---\n");
    let rounds = (20usize << 20).div_ceil(one_round.len());
    let mixed = vec![one_round.as_str(); rounds].join("\n---\n");
    let objects = manifest::from_yaml(&mixed).unwrap().len();
    eprintln!(
        "mixed set: {} conformance files x {rounds}, {objects} objects, {} bytes",
        inputs.len(),
        mixed.len()
    );
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("mixed_20mib/kubekit", |b| {
        b.iter(|| manifest::from_yaml(black_box(&mixed)).unwrap());
    });
    // serde-saphyr's default budget stops at 1,024 documents: raised for the whole stream.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = usize::MAX;
    budget.max_events = usize::MAX;
    budget.max_nodes = usize::MAX;
    budget.max_total_scalar_bytes = usize::MAX;
    budget.max_anchors = usize::MAX;
    budget.max_aliases = usize::MAX;
    budget.max_merge_keys = usize::MAX;
    let unbounded = serde_saphyr::options! { budget: Some(budget) };
    assert!(
        serde_saphyr::from_multiple_with_options::<serde_json::Value>(&mixed, unbounded.clone())
            .is_ok()
    );
    group.bench_function("mixed_20mib/serde_saphyr_value", |b| {
        b.iter(|| {
            serde_saphyr::from_multiple_with_options::<serde_json::Value>(
                black_box(&mixed),
                unbounded.clone(),
            )
            .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, manifests, ordinary_files);
criterion_main!(benches);
