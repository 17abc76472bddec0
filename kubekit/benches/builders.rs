//! Builders against struct literals (issue 14, "Performance"): 1,000 Deployments + 1,000
//! Services built with kubekit's builders and rendered with `manifest::to_yaml_all`, against
//! the same objects written as `k8s-openapi` struct literals and rendered with
//! `serde_saphyr::to_string`; and the example app's manifest stream (`examples/shop.rs`, the
//! code `examples/app.rs` prints) generated 100 times the same two ways.
//!
//! Both paths produce the same YAML, byte for byte (checked before timing).
//!
//! Run with `cargo bench -p kubekit --no-default-features --bench builders`.
#![allow(clippy::unwrap_used)]
// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort as Port, EnvVar, PodSpec, PodTemplateSpec, Probe as K8sProbe,
    ResourceRequirements, Service, ServicePort, ServiceSpec, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubekit::builders::{
    ContainerPort, Probe, PullPolicy, container, deployment, pod_template, service_for,
};
use kubekit::manifest::{self, Object};

#[path = "../../examples/shop.rs"]
#[allow(dead_code, unreachable_pub)]
mod shop;

const COUNT: usize = 1_000;

/// A Deployment of typical size, from the builders: labels, an annotation, two containers
/// with env, a named port, a readiness probe and resources; and its Service.
fn built(index: usize) -> (Deployment, Service) {
    let name = format!("web-{index}");
    let container = |name: &str, image: &str, port: ContainerPort| {
        container()
            .name(name)
            .image(image)
            .pull_policy(PullPolicy::IfNotPresent)
            .env("MODE", "production")
            .env("INDEX", index.to_string())
            .readiness_probe(Probe::tcp(port.number).period_seconds(5))
            .port(port)
            .request("cpu", "100m")
            .request("memory", "128Mi")
            .limit("cpu", "500m")
            .limit("memory", "256Mi")
            .build()
            .unwrap()
    };
    let deployment = deployment()
        .name(name.as_str())
        .namespace("shop")
        .label("app", name.as_str())
        .label("tier", "frontend")
        .annotation("team", "storefront")
        .replicas(3)
        .template(
            pod_template()
                .label("app", name.as_str())
                .label("tier", "frontend")
                .container(container("web", "nginx:1.28", ContainerPort::http(80)))
                .and_container(container(
                    "metrics",
                    "prom/statsd-exporter:v0.28.0",
                    ContainerPort::named("metrics", 9102),
                ))
                .build(),
        )
        .build()
        .unwrap();
    let service = service_for(&deployment)
        .name(name)
        .port(80, "http")
        .build()
        .unwrap();
    (deployment, service)
}

/// The same Deployment and Service as [`built`], written as `k8s-openapi` struct literals.
fn literal(index: usize) -> (Deployment, Service) {
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
    let container = |name: &str, image: &str, port_name: &str, port: i32| Container {
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
        ports: Some(vec![Port {
            container_port: port,
            name: Some(port_name.to_owned()),
            ..Default::default()
        }]),
        readiness_probe: Some(K8sProbe {
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
    let deployment = Deployment {
        metadata: ObjectMeta {
            name: Some(name.clone()),
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
                    labels: Some(labels.clone()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![
                        container("web", "nginx:1.28", "http", 80),
                        container("metrics", "prom/statsd-exporter:v0.28.0", "metrics", 9102),
                    ],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    };
    let service = Service {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some("shop".to_owned()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: 80,
                target_port: Some(IntOrString::String("http".to_owned())),
                ..Default::default()
            }]),
            selector: Some(labels),
            ..Default::default()
        }),
        status: None,
    };
    (deployment, service)
}

/// kubekit's path: build every pair, render them all as one stream.
fn kubekit_path() -> String {
    let mut objects: Vec<Object> = Vec::with_capacity(2 * COUNT);
    for index in 0..COUNT {
        let (deployment, service) = built(index);
        objects.push(deployment.into());
        objects.push(service.into());
    }
    manifest::to_yaml_all(&objects).unwrap()
}

/// kubekit's path over an iterator: each pair built as the stream is written
/// (`manifest::to_yaml_all` takes any iterator of objects), never all 2,000 at once.
fn kubekit_streaming() -> String {
    manifest::to_yaml_all((0..COUNT).flat_map(|index| {
        let (deployment, service) = built(index);
        [Object::from(deployment), Object::from(service)]
    }))
    .unwrap()
}

/// kubekit's builders in the hand-written path's shape: each pair built and rendered at once
/// (`manifest::to_yaml`), so only one pair is alive at a time.
fn kubekit_one_at_a_time() -> String {
    let mut documents = Vec::with_capacity(2 * COUNT);
    for index in 0..COUNT {
        let (deployment, service) = built(index);
        documents.push(manifest::to_yaml(&Object::from(deployment)).unwrap());
        documents.push(manifest::to_yaml(&Object::from(service)).unwrap());
    }
    documents.join("---\n")
}

/// The hand-written path in kubekit's shape: every pair built first, then all rendered.
fn literals_all_then_render() -> String {
    let pairs: Vec<_> = (0..COUNT).map(literal).collect();
    let mut documents = Vec::with_capacity(2 * COUNT);
    for (deployment, service) in &pairs {
        documents.push(serde_saphyr::to_string(deployment).unwrap());
        documents.push(serde_saphyr::to_string(service).unwrap());
    }
    documents.join("---\n")
}

/// The struct literals rendered with kubekit's writer, one at a time: against
/// [`kubekit_one_at_a_time`], what the builders cost over struct literals when both render
/// the same way.
fn literals_kubekit_render() -> String {
    let mut documents = Vec::with_capacity(2 * COUNT);
    for index in 0..COUNT {
        let (deployment, service) = literal(index);
        documents.push(manifest::to_yaml(&Object::from(deployment)).unwrap());
        documents.push(manifest::to_yaml(&Object::from(service)).unwrap());
    }
    documents.join("---\n")
}

/// The hand-written path: struct literals, each rendered with `serde_saphyr::to_string`,
/// joined with `---`.
fn literal_path() -> String {
    let mut documents = Vec::with_capacity(2 * COUNT);
    for index in 0..COUNT {
        let (deployment, service) = literal(index);
        documents.push(serde_saphyr::to_string(&deployment).unwrap());
        documents.push(serde_saphyr::to_string(&service).unwrap());
    }
    documents.join("---\n")
}

/// How many copies of the example app.
const APPS: usize = 100;

/// kubekit's path for the example app: generate it 100 times (namespaces `shop-0` ...),
/// render all of it as one stream.
fn app_kubekit_path(images: &shop::Images) -> String {
    let mut objects = Vec::new();
    for copy in 0..APPS {
        objects.extend(shop::app(images, &format!("shop-{copy}")).unwrap());
    }
    manifest::to_yaml_all(&objects).unwrap()
}

/// The hand-written stand-in for the example app: its objects, built once beforehand, are
/// cloned (a struct literal's cost is the allocations a clone makes again) and each rendered
/// with `serde_saphyr::to_string`.
fn app_literal_path(templates: &[Vec<Object>]) -> String {
    let mut documents = Vec::new();
    for copy in templates {
        for object in copy.clone() {
            documents.push(serde_saphyr::to_string(&object).unwrap());
        }
    }
    documents.join("---\n")
}

fn builders(c: &mut Criterion) {
    assert_eq!(built(7), literal(7));
    let ours = kubekit_path();
    assert!(
        ours == literal_path(),
        "the two paths render different YAML"
    );
    assert!(
        ours == kubekit_one_at_a_time()
            && ours == kubekit_streaming()
            && ours == literals_all_then_render()
            && ours == literals_kubekit_render(),
        "the paths in each other's shape render different YAML"
    );
    eprintln!(
        "{COUNT} Deployments + {COUNT} Services: {} lines, {} bytes of YAML",
        ours.lines().count(),
        ours.len()
    );
    let images = shop::Images::public();
    let templates: Vec<Vec<Object>> = (0..APPS)
        .map(|copy| shop::app(&images, &format!("shop-{copy}")).unwrap())
        .collect();
    let app = app_kubekit_path(&images);
    // serde-saphyr alone keeps k8s-openapi's field order (a ConfigMap's `data` before its
    // `metadata`), kubekit kubectl's: the same objects, not the same bytes.
    assert!(
        manifest::from_yaml(&app).unwrap()
            == manifest::from_yaml(&app_literal_path(&templates)).unwrap(),
        "the two paths render different objects"
    );
    eprintln!(
        "the example app x{APPS}: {} objects, {} lines, {} bytes of YAML",
        templates.iter().map(Vec::len).sum::<usize>(),
        app.lines().count(),
        app.len()
    );

    let mut group = c.benchmark_group("builders");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("deployments_services_1000/kubekit", |b| {
        b.iter(|| black_box(kubekit_path()));
    });
    group.bench_function("deployments_services_1000/literals_serde_saphyr", |b| {
        b.iter(|| black_box(literal_path()));
    });
    // The same two in each other's shape: what holding all 2,000 objects before rendering
    // costs (memory the render then walks cold), apart from what kubekit's code costs.
    group.bench_function("deployments_services_1000/kubekit_streaming", |b| {
        b.iter(|| black_box(kubekit_streaming()));
    });
    group.bench_function("deployments_services_1000/kubekit_one_at_a_time", |b| {
        b.iter(|| black_box(kubekit_one_at_a_time()));
    });
    group.bench_function("deployments_services_1000/literals_all_then_render", |b| {
        b.iter(|| black_box(literals_all_then_render()));
    });
    // The builders' own cost: both build one pair at a time and render it with kubekit.
    group.bench_function("deployments_services_1000/literals_kubekit_render", |b| {
        b.iter(|| black_box(literals_kubekit_render()));
    });
    // The parts of kubekit's path: building (with validation) alone.
    group.bench_function("deployments_services_1000/kubekit_build_only", |b| {
        b.iter(|| black_box((0..COUNT).map(built).collect::<Vec<_>>()));
    });
    group.bench_function("deployments_services_1000/literals_only", |b| {
        b.iter(|| black_box((0..COUNT).map(literal).collect::<Vec<_>>()));
    });
    group.bench_function("app_x100/kubekit", |b| {
        b.iter(|| black_box(app_kubekit_path(&images)));
    });
    group.bench_function("app_x100/clones_serde_saphyr", |b| {
        b.iter(|| black_box(app_literal_path(&templates)));
    });
    group.finish();
}

criterion_group!(benches, builders);

/// `BUILDERS_ONCE=kubekit|literals|literals_kubekit|app_kubekit|app_literals|app_templates|none` runs that
/// path once and exits, for an instruction count that the machine's load does not move (the
/// shared machine's wall times vary by 2x): `valgrind --tool=callgrind` of the bench binary,
/// minus the count for `none` (`app_templates` for `app_literals`, which clones objects built
/// beforehand; see BENCHMARKS.md, "Builders against struct literals").
fn main() {
    if let Ok(path) = std::env::var("BUILDERS_ONCE") {
        let images = shop::Images::public();
        let templates: Vec<Vec<Object>> =
            if path.starts_with("app_templates") || path == "app_literals" {
                (0..APPS)
                    .map(|copy| shop::app(&images, &format!("shop-{copy}")).unwrap())
                    .collect()
            } else {
                Vec::new()
            };
        let out = match path.as_str() {
            "kubekit" => kubekit_path(),
            "literals" => literal_path(),
            "literals_kubekit" => literals_kubekit_render(),
            "app_kubekit" => app_kubekit_path(&images),
            "app_literals" => app_literal_path(&templates),
            _ => String::new(),
        };
        println!("{} bytes", black_box(out).len());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
