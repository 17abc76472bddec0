//! Tests of `kubekit::builders`: output (snapshots and equivalence with YAML), compile-time
//! requirements are in `ui.rs`, and every validation rule, accepted and rejected.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Container, Namespace, Pod, Service};
use kubekit::builders::validate::{self, Validate};
use kubekit::builders::{
    BuiltContainer, ContainerPort, IntOrPercent, Probe, Protocol, PullPolicy, RestartPolicy,
    ServicePort, ServiceType, Strategy, ValidationError, config_map_volume, container, deployment,
    empty_dir, empty_dir_in_memory, namespace, pod, pod_template, replica_set, secret_volume,
    service, service_for, service_for_deployment, service_for_pod,
};

type Result<T = (), E = ValidationError> = std::result::Result<T, E>;

fn nginx() -> Result<BuiltContainer> {
    container()
        .name("web")
        .image("nginx:1.28")
        .port(ContainerPort::http(80))
        .build()
}

fn web_template() -> Result<kubekit::builders::BuiltPodTemplate> {
    Ok(pod_template()
        .label("app", "web")
        .container(nginx()?)
        .build())
}

fn web_deployment() -> Result<Deployment> {
    deployment().name("web").template(web_template()?).build()
}

/// Builds a pod with `c` as its only container.
fn pod_with(c: impl Into<BuiltContainer>) -> Result<Pod> {
    pod().name("p").container(c).build()
}

#[track_caller]
fn assert_err<T: std::fmt::Debug>(r: Result<T>, field: &str, value: &str) -> ValidationError {
    let err = r.expect_err("expected a validation error");
    assert_eq!(err.field, field, "{err}");
    assert_eq!(err.value, value, "{err}");
    err
}

// ------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------

const WALKTHROUGH: &str = r#"
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
"#;

#[test]
fn walkthrough_pod_is_expressible_and_equivalent() -> Result<(), Box<dyn std::error::Error>> {
    let built = pod()
        .name("web2")
        .container(
            container()
                .name("web")
                .image("nginx:1.28")
                .pull_policy(PullPolicy::IfNotPresent)
                .port(80)
                .build()?,
        )
        .build()?;
    let parsed: Pod = serde_saphyr::from_str(WALKTHROUGH)?;
    assert_eq!(built, parsed);
    assert!(parsed.validate().is_ok());

    // And serialized, apiVersion/kind included, it is the same document.
    let yaml: serde_json::Value = serde_saphyr::from_str(WALKTHROUGH)?;
    assert_eq!(serde_json::to_value(&built)?, yaml);
    insta::assert_yaml_snapshot!("walkthrough_pod", built);
    Ok(())
}

/// Walks a JSON value and fails on any empty object, array or string: nothing that would
/// clobber server-side state under server-side apply.
#[track_caller]
fn assert_nothing_empty(value: &serde_json::Value, path: &str) {
    match value {
        serde_json::Value::Object(map) => {
            assert!(!map.is_empty(), "empty object at {path}");
            for (k, v) in map {
                assert_nothing_empty(v, &format!("{path}.{k}"));
            }
        }
        serde_json::Value::Array(items) => {
            assert!(!items.is_empty(), "empty array at {path}");
            for (i, v) in items.iter().enumerate() {
                assert_nothing_empty(v, &format!("{path}[{i}]"));
            }
        }
        serde_json::Value::String(s) => assert!(!s.is_empty(), "empty string at {path}"),
        _ => {}
    }
}

#[test]
fn minimal_objects_hold_only_what_was_set() -> Result<(), Box<dyn std::error::Error>> {
    let c = container().name("web").image("nginx").build()?;
    let c_json = serde_json::to_value(&c)?;
    assert_eq!(c_json, serde_json::json!({"name": "web", "image": "nginx"}));

    let p = pod().name("p").container(c.clone()).build()?;
    assert_eq!(
        serde_json::to_value(&p)?,
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}
        })
    );

    // Empty collections given explicitly are left out too.
    let c = container()
        .name("web")
        .image("nginx")
        .command(Vec::<String>::new())
        .args(Vec::<String>::new())
        .ports(Vec::<i32>::new())
        .envs(Vec::<(String, String)>::new())
        .build()?;
    assert_eq!(serde_json::to_value(&c)?, c_json);
    let p = pod()
        .name("p")
        .labels(Vec::<(String, String)>::new())
        .annotations(Vec::<(String, String)>::new())
        .container(c)
        .build()?;
    assert_nothing_empty(&serde_json::to_value(&p)?, "");

    let objects = [
        serde_json::to_value(web_deployment()?)?,
        serde_json::to_value(
            service_for(&web_deployment()?)
                .name("web")
                .port(80, "http")
                .build()?,
        )?,
        serde_json::to_value(namespace().name("ns").build()?)?,
        serde_json::to_value(replica_set().name("rs").template(web_template()?).build()?)?,
    ];
    for object in &objects {
        assert_nothing_empty(object, "");
    }
    Ok(())
}

#[test]
fn snapshot_container() -> Result {
    let c = container()
        .name("web")
        .image("nginx:1.28")
        .pull_policy(PullPolicy::IfNotPresent)
        .command(["nginx"])
        .args(["-g", "daemon off;"])
        .working_dir("/usr/share/nginx")
        .port(ContainerPort::http(80))
        .port(ContainerPort::named("dns", 53).protocol(Protocol::Udp))
        .port(9090)
        .env("A", "1")
        .envs([("B", "2"), ("C", "3")])
        .env_from_field("POD_NAME", "metadata.name")
        .env_from_secret("TOKEN", "web-secrets", "token")
        .request("cpu", "100m")
        .request("memory", "64Mi")
        .limit("cpu", "1")
        .limit("memory", "128Mi")
        .readiness_probe(
            Probe::http_get("/ready", "http")
                .period_seconds(5)
                .success_threshold(2),
        )
        .liveness_probe(
            Probe::tcp(80)
                .initial_delay_seconds(10)
                .timeout_seconds(2)
                .failure_threshold(5),
        )
        .startup_probe(Probe::exec(["cat", "/tmp/started"]))
        .mount("logs", "/var/log/nginx")
        .mount_read_only("config", "/etc/nginx/conf.d")
        .build()?;
    insta::assert_yaml_snapshot!("container_full", c);
    Ok(())
}

#[test]
fn snapshot_pod_with_log_sidecar() -> Result {
    let web = container()
        .name("web")
        .image("nginx:1.28")
        .port(ContainerPort::http(80))
        .mount("logs", "/var/log/nginx")
        .build()?;
    let shipper = container()
        .name("log-shipper")
        .image("busybox:1.37")
        .command(["sh", "-c", "tail -F /logs/access.log"])
        .mount_read_only("logs", "/logs")
        .build()?;
    let init = container()
        .name("init-config")
        .image("busybox:1.37")
        .command(["sh", "-c", "echo ok > /config/ready"])
        .mount("config", "/config")
        .build()?;
    let p = pod()
        .name("web")
        .namespace("demo")
        .label("app", "web")
        .labels([("tier", "frontend")])
        .annotation("example.com/owner", "team-a")
        .container(web)
        .and_container(shipper)
        .init_container(init)
        .volume(empty_dir("logs"))
        .volume(empty_dir_in_memory("config", Some("1Mi")))
        .volume(config_map_volume("settings", "web-settings"))
        .volume(secret_volume("tls", "web-tls"))
        .restart_policy(RestartPolicy::Always)
        .service_account("web")
        .termination_grace_period_seconds(30)
        .node_selector("kubernetes.io/os", "linux")
        .build()?;
    insta::assert_yaml_snapshot!("pod_with_log_sidecar", p);
    Ok(())
}

#[test]
fn snapshot_pod_template() -> Result {
    let t = pod_template()
        .labels([("app", "web"), ("tier", "frontend")])
        .annotation("prometheus.io/scrape", "true")
        .container(nginx()?)
        .build();
    insta::assert_yaml_snapshot!("pod_template", t);
    Ok(())
}

#[test]
fn snapshot_deployment() -> Result {
    let d = deployment()
        .name("web")
        .namespace("demo")
        .label("team", "frontend")
        .annotation("example.com/owner", "team-a")
        .replicas(3)
        .template(web_template()?)
        .rolling_update(1, IntOrPercent::percent(25))
        .revision_history_limit(5)
        .progress_deadline_seconds(120)
        .min_ready_seconds(10)
        .build()?;
    insta::assert_yaml_snapshot!("deployment", d);
    Ok(())
}

#[test]
fn snapshot_deployment_recreate_with_explicit_selector() -> Result {
    let template = pod_template()
        .labels([("app", "web"), ("version", "v2")])
        .container(nginx()?)
        .build();
    let d = deployment()
        .name("web")
        .selector([("app", "web")])
        .template(template)
        .recreate()
        .paused(true)
        .build()?;
    insta::assert_yaml_snapshot!("deployment_recreate", d);
    Ok(())
}

#[test]
fn snapshot_deployment_default_selector() -> Result {
    let d = deployment()
        .name("web")
        .template(pod_template().container(nginx()?).build())
        .strategy(Strategy::RollingUpdate {
            max_surge: None,
            max_unavailable: Some(IntOrPercent::Int(0)),
        })
        .build()?;
    insta::assert_yaml_snapshot!("deployment_default_selector", d);
    Ok(())
}

#[test]
fn snapshot_replica_set() -> Result {
    let rs = replica_set()
        .name("web")
        .namespace("demo")
        .label("team", "frontend")
        .replicas(2)
        .min_ready_seconds(5)
        .template(web_template()?)
        .build()?;
    insta::assert_yaml_snapshot!("replica_set", rs);
    Ok(())
}

#[test]
fn snapshot_service() -> Result {
    let s = service()
        .name("web")
        .namespace("demo")
        .label("app", "web")
        .annotation("example.com/owner", "team-a")
        .selector([("app", "web")])
        .port(80, "http")
        .and_port_spec(ServicePort::new(443, 8443).name("https").node_port(30443))
        .and_port_spec(ServicePort::new(53, 53).name("dns").protocol(Protocol::Udp))
        .service_type(ServiceType::NodePort)
        .build()?;
    insta::assert_yaml_snapshot!("service", s);
    Ok(())
}

#[test]
fn snapshot_service_for_deployment() -> Result {
    let d = deployment()
        .name("web")
        .namespace("demo")
        .template(
            pod_template()
                .label("app", "web")
                .container(
                    container()
                        .name("web")
                        .image("nginx:1.28")
                        .port(ContainerPort::http(80))
                        .port(ContainerPort::named("metrics", 9090))
                        .build()?,
                )
                .build(),
        )
        .build()?;
    let s = service_for_deployment(&d)
        .name("web")
        .port(80, "http")
        .and_port(9090, "metrics")
        .service_type(ServiceType::LoadBalancer)
        .build()?;
    insta::assert_yaml_snapshot!("service_for_deployment", s);
    Ok(())
}

#[test]
fn snapshot_service_for_pod() -> Result {
    let p = pod()
        .name("web")
        .label("app", "web")
        .container(nginx()?)
        .build()?;
    let s = service_for_pod(&p)
        .name("web")
        .port_spec(ServicePort::new(8080, "http").name("web"))
        .build()?;
    insta::assert_yaml_snapshot!("service_for_pod", s);
    Ok(())
}

#[test]
fn snapshot_namespace() -> Result {
    let ns = namespace()
        .name("team-a")
        .label("team", "a")
        .annotation("example.com/owner", "team-a")
        .build()?;
    insta::assert_yaml_snapshot!("namespace", ns);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Consistency by construction
// ------------------------------------------------------------------------------------------

#[test]
fn deployment_selector_is_the_template_labels() -> Result {
    let d = web_deployment()?;
    let spec = d.spec.as_ref().expect("spec");
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone());
    assert_eq!(spec.selector.match_labels, template_labels);
    assert!(d.validate().is_ok());
    Ok(())
}

#[test]
fn deployment_without_template_labels_gets_app_name() -> Result {
    let d = deployment()
        .name("api")
        .template(pod_template().container(nginx()?).build())
        .build()?;
    let spec = d.spec.expect("spec");
    let expected = Some([("app".to_string(), "api".to_string())].into());
    assert_eq!(spec.selector.match_labels, expected);
    assert_eq!(spec.template.metadata.and_then(|m| m.labels), expected);
    Ok(())
}

#[test]
fn explicit_selector_is_added_to_the_template_and_conflicts_are_errors() -> Result {
    let d = deployment()
        .name("web")
        .selector([("app", "web")])
        .template(
            pod_template()
                .label("version", "v1")
                .container(nginx()?)
                .build(),
        )
        .build()?;
    let spec = d.spec.expect("spec");
    assert_eq!(spec.selector.match_labels.map(|l| l.len()), Some(1));
    let labels = spec
        .template
        .metadata
        .and_then(|m| m.labels)
        .expect("labels");
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(labels.get("version").map(String::as_str), Some("v1"));

    let err = assert_err(
        deployment()
            .name("web")
            .selector([("app", "web")])
            .template(web_template()?.into_inner().clone_with_label("app", "api"))
            .build(),
        "spec.template.metadata.labels.app",
        "api",
    );
    assert_eq!(err.kind, "Deployment");
    Ok(())
}

trait CloneWithLabel {
    fn clone_with_label(self, key: &str, value: &str) -> Self;
}

impl CloneWithLabel for k8s_openapi::api::core::v1::PodTemplateSpec {
    fn clone_with_label(mut self, key: &str, value: &str) -> Self {
        self.metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(key.into(), value.into());
        self
    }
}

#[test]
fn service_for_takes_selector_and_namespace_from_its_target() -> Result {
    let d = deployment()
        .name("web")
        .namespace("demo")
        .template(web_template()?)
        .build()?;
    let s = service_for(&d).name("web").port(80, "http").build()?;
    assert_eq!(s.metadata.namespace.as_deref(), Some("demo"));
    let spec = s.spec.expect("spec");
    assert_eq!(spec.selector, d.spec.and_then(|s| s.selector.match_labels));
    let port = &spec.ports.expect("ports")[0];
    assert_eq!(port.name.as_deref(), Some("http"));
    assert_eq!(
        port.target_port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http".into()))
    );

    let rs = replica_set()
        .name("web")
        .template(web_template()?)
        .build()?;
    let s = service_for(&rs).name("web").port(80, "http").build()?;
    assert!(s.spec.and_then(|s| s.selector).is_some());
    Ok(())
}

#[test]
fn service_for_rejects_unknown_port_names() -> Result {
    let d = web_deployment()?;
    let err = assert_err(
        service_for(&d).name("web").port(80, "web").build(),
        "spec.ports[0].targetPort",
        "web",
    );
    assert_eq!(
        err.to_string(),
        "Service \"web\": spec.ports[0].targetPort \"web\" does not name a container port of \
         Deployment \"web\" (its named ports are: http)"
    );
    // The second port too.
    assert_err(
        service_for(&d)
            .name("web")
            .port(80, "http")
            .and_port(443, "https")
            .build(),
        "spec.ports[1].targetPort",
        "https",
    );
    // Numbers need not be declared by a container.
    assert!(service_for(&d).name("web").port(80, 8080).build().is_ok());
    Ok(())
}

#[test]
fn service_for_checks_protocols() -> Result {
    let d = web_deployment()?;
    assert_err(
        service_for(&d)
            .name("web")
            .port_spec(ServicePort::new(80, "http").protocol(Protocol::Udp))
            .build(),
        "spec.ports[0].protocol",
        "UDP",
    );
    Ok(())
}

#[test]
fn service_for_a_pod_needs_labels() -> Result {
    let p = pod_with(nginx()?)?;
    let err = assert_err(
        service_for(&p).name("web").port(80, "http").build(),
        "spec.selector",
        "",
    );
    assert!(err.rule.contains("Pod \"p\" has no labels"), "{err}");
    Ok(())
}

#[test]
fn service_for_a_deployment_with_match_expressions_is_an_error() -> Result {
    let mut d = web_deployment()?;
    if let Some(spec) = &mut d.spec {
        spec.selector.match_expressions = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
                key: "app".into(),
                operator: "Exists".into(),
                values: None,
            },
        ]);
    }
    let err = assert_err(
        service_for(&d).name("web").port(80, 80).build(),
        "spec.selector",
        "",
    );
    assert!(err.rule.contains("matchExpressions"), "{err}");
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Pull policy
// ------------------------------------------------------------------------------------------

#[test]
fn pull_policy_default_rule() {
    use PullPolicy::*;
    let cases = [
        ("nginx", Always),
        ("nginx:latest", Always),
        ("library/nginx", Always),
        ("registry.example.com:5000/team/web", Always),
        ("registry.example.com:5000/team/web:latest", Always),
        ("nginx:1.28", IfNotPresent),
        ("registry.example.com:5000/team/web:v2", IfNotPresent),
        (
            "nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
            IfNotPresent,
        ),
        (
            "nginx:latest@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
            IfNotPresent,
        ),
    ];
    for (image, expected) in cases {
        assert_eq!(PullPolicy::default_for_image(image), expected, "{image}");
    }
    assert_eq!(Never.to_string(), "Never");
}

// ------------------------------------------------------------------------------------------
// String rules
// ------------------------------------------------------------------------------------------

#[test]
fn rule_dns1123_label() {
    for ok in ["a", "web", "web-1", "1web", "0", &"a".repeat(63)] {
        assert_eq!(validate::dns1123_label(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "Web",
        "web_1",
        "web.1",
        "-web",
        "web-",
        "wéb",
        " web",
        &"a".repeat(64),
    ] {
        assert!(validate::dns1123_label(bad).is_err(), "{bad}");
    }
    assert_eq!(
        validate::dns1123_label(&"a".repeat(64)),
        Err("is not a valid DNS-1123 label: must be no more than 63 characters")
    );
}

#[test]
fn rule_dns1123_subdomain() {
    let long_ok = format!("{}.{}", "a".repeat(126), "b".repeat(126));
    for ok in [
        "a",
        "web",
        "web.example.com",
        "web-1.v2",
        "1.2.3",
        long_ok.as_str(),
    ] {
        assert_eq!(validate::dns1123_subdomain(ok), Ok(()), "{ok}");
    }
    let too_long = "a".repeat(254);
    for bad in [
        "",
        "Web",
        "web..x",
        ".web",
        "web.",
        "web.-x",
        "web_x",
        too_long.as_str(),
    ] {
        assert!(validate::dns1123_subdomain(bad).is_err(), "{bad}");
    }
}

#[test]
fn rule_dns1035_label() {
    for ok in ["a", "web", "web-1", "w0"] {
        assert_eq!(validate::dns1035_label(ok), Ok(()), "{ok}");
    }
    for bad in ["", "1web", "-web", "web-", "Web", "web.x", &"a".repeat(64)] {
        assert!(validate::dns1035_label(bad).is_err(), "{bad}");
    }
}

#[test]
fn rule_iana_svc_name() {
    for ok in ["http", "h", "http-alt", "h2c", "a1-b2", "abcdefghijklmno"] {
        assert_eq!(validate::iana_svc_name(ok), Ok(()), "{ok}");
    }
    let cases = [
        ("", "must not be empty"),
        ("abcdefghijklmnop", "no more than 15"),
        ("HTTP", "lower case"),
        ("http_alt", "lower case"),
        ("8080", "at least one letter"),
        ("http--alt", "consecutive hyphens"),
        ("-http", "begin or end"),
        ("http-", "begin or end"),
    ];
    for (bad, why) in cases {
        let rule = validate::iana_svc_name(bad).expect_err(bad);
        assert!(rule.contains(why), "{bad}: {rule}");
    }
}

#[test]
fn rule_qualified_name_and_label_key() {
    let long_prefix = format!("{}.com/app", "a".repeat(249));
    for ok in [
        "app",
        "App",
        "app.kubernetes.io/name",
        "example.com/a_b.c-d",
        "a",
        "9",
        long_prefix.as_str(),
        &"a".repeat(63),
    ] {
        assert_eq!(validate::qualified_name(ok), Ok(()), "{ok}");
        assert_eq!(validate::label_key(ok), Ok(()), "{ok}");
    }
    let too_long_prefix = format!("{}.com/app", "a".repeat(250));
    let cases = [
        ("", "name part must not be empty"),
        ("/app", "prefix part must not be empty"),
        ("example.com/", "name part must not be empty"),
        (
            "Example.com/app",
            "prefix part must be a DNS-1123 subdomain",
        ),
        ("a/b/c", "name part must consist"),
        ("-app", "name part must consist"),
        ("app-", "name part must consist"),
        ("app name", "name part must consist"),
        (
            too_long_prefix.as_str(),
            "prefix part must be no more than 253",
        ),
        (&"a".repeat(64), "name part must be no more than 63"),
    ];
    for (bad, why) in cases {
        let rule = validate::label_key(bad).expect_err(bad);
        assert!(rule.contains(why), "{bad}: {rule}");
    }
}

#[test]
fn rule_label_value() {
    for ok in ["", "web", "Web", "v1.2_3-beta", "0", &"a".repeat(63)] {
        assert_eq!(validate::label_value(ok), Ok(()), "{ok}");
    }
    for bad in ["-web", "web-", "_web", "a b", "a/b", "é", &"a".repeat(64)] {
        assert!(validate::label_value(bad).is_err(), "{bad}");
    }
}

#[test]
fn rule_port_number() {
    for ok in [1, 80, 65535] {
        assert_eq!(validate::port_number(ok), Ok(()));
    }
    for bad in [i32::MIN, -1, 0, 65536, i32::MAX] {
        assert_eq!(
            validate::port_number(bad),
            Err("must be between 1 and 65535, inclusive")
        );
    }
}

#[test]
fn rule_quantity() {
    for ok in [
        "0", "1", "100m", "0.5", ".5", "1.5Gi", "128Mi", "1G", "1e3", "1E", "+1", "2Ki",
    ] {
        assert_eq!(validate::quantity(ok), Ok(()), "{ok}");
    }
    for bad in [
        "", "m", "1..5", "128MB", "1mi", "1 Gi", "1e", "-1", "-100m", "abc", "1Kii",
    ] {
        assert!(validate::quantity(bad).is_err(), "{bad}");
    }
}

#[test]
fn rule_env_var_name_image_and_enums() {
    assert!(validate::env_var_name("RUST_LOG").is_ok());
    assert!(validate::env_var_name("a.b-c").is_ok());
    assert!(validate::env_var_name("").is_err());
    assert!(validate::env_var_name("A=B").is_err());
    assert!(validate::env_var_name("A\nB").is_err());

    assert!(validate::image("nginx:1.28").is_ok());
    assert!(validate::image("").is_err());
    assert!(validate::image("nginx ").is_err());

    assert!(validate::pull_policy("Never").is_ok());
    assert!(validate::pull_policy("never").is_err());
    assert!(validate::restart_policy("Always").is_ok());
    assert!(validate::restart_policy("always").is_err());
    assert!(validate::protocol("SCTP").is_ok());
    assert!(validate::protocol("HTTP").is_err());
    assert!(validate::service_type("LoadBalancer").is_ok());
    assert!(validate::service_type("Ingress").is_err());

    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    assert!(validate::int_or_percent(&IntOrString::Int(0)).is_ok());
    assert!(validate::int_or_percent(&IntOrString::String("100%".into())).is_ok());
    assert!(validate::int_or_percent(&IntOrString::String("%".into())).is_err());
    assert!(validate::int_or_percent(&IntOrString::String("-5%".into())).is_err());
    assert!(validate::int_or_name_port(&IntOrString::Int(0)).is_err());
    assert!(validate::int_or_name_port(&IntOrString::String("http".into())).is_ok());
}

// ------------------------------------------------------------------------------------------
// Object rules, through the builders
// ------------------------------------------------------------------------------------------

#[test]
fn error_display_names_object_field_value_and_rule() -> Result {
    let err = pod()
        .name("Web")
        .container(nginx()?)
        .build()
        .expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "Pod \"Web\": metadata.name \"Web\" is not a valid DNS-1123 subdomain: must consist of \
         lower case alphanumeric characters, '-' or '.', and must start and end with an \
         alphanumeric character"
    );
    assert_eq!(
        (
            err.kind.as_str(),
            err.name.as_str(),
            err.field.as_str(),
            err.value.as_str()
        ),
        ("Pod", "Web", "metadata.name", "Web")
    );
    Ok(())
}

#[test]
fn object_names_follow_their_kind() -> Result {
    // Pods and Deployments: subdomains (dots allowed).
    assert!(pod().name("web.v1").container(nginx()?).build().is_ok());
    assert!(
        deployment()
            .name("web.v1")
            .template(web_template()?)
            .build()
            .is_ok()
    );
    assert_err(
        deployment()
            .name("web_v1")
            .template(web_template()?)
            .build(),
        "metadata.name",
        "web_v1",
    );
    // Namespaces: labels (no dots).
    assert!(namespace().name("team-a").build().is_ok());
    assert_err(
        namespace().name("team.a").build(),
        "metadata.name",
        "team.a",
    );
    // Services: DNS-1035 labels (must start with a letter).
    let s = |name: &str| {
        service()
            .name(name)
            .selector([("app", "web")])
            .port(80, 80)
            .build()
    };
    assert!(s("web").is_ok());
    let err = assert_err(s("1web"), "metadata.name", "1web");
    assert!(err.rule.contains("DNS-1035"), "{err}");
    assert_err(s("web.a"), "metadata.name", "web.a");
    // Containers: labels.
    let err = assert_err(
        container().name("Web").image("nginx").build(),
        "name",
        "Web",
    );
    assert_eq!(err.kind, "Container");
    // Namespaces of namespaced objects: labels.
    assert_err(
        pod()
            .name("p")
            .namespace("Demo")
            .container(nginx()?)
            .build(),
        "metadata.namespace",
        "Demo",
    );
    Ok(())
}

#[test]
fn labels_and_annotations_are_checked() -> Result {
    assert_err(
        pod()
            .name("p")
            .label("bad key", "x")
            .container(nginx()?)
            .build(),
        "metadata.labels",
        "bad key",
    );
    assert_err(
        pod()
            .name("p")
            .label("app", "bad value")
            .container(nginx()?)
            .build(),
        "metadata.labels.app",
        "bad value",
    );
    assert!(
        pod()
            .name("p")
            .label("app", "")
            .container(nginx()?)
            .build()
            .is_ok()
    );
    assert_err(
        namespace()
            .name("ns")
            .annotation("Bad.Prefix/x", "anything at all")
            .build(),
        "metadata.annotations",
        "Bad.Prefix/x",
    );
    assert!(
        namespace()
            .name("ns")
            .annotation("example.com/x", "anything: at all!")
            .build()
            .is_ok()
    );
    assert_err(
        deployment()
            .name("web")
            .template(
                pod_template()
                    .label("app", "-web")
                    .container(nginx()?)
                    .build(),
            )
            .build(),
        "spec.selector.matchLabels.app",
        "-web",
    );
    assert_err(
        service()
            .name("web")
            .selector([("app", "web!")])
            .port(80, 80)
            .build(),
        "spec.selector.app",
        "web!",
    );
    Ok(())
}

#[test]
fn container_ports_are_checked() -> Result {
    for bad in [0, -1, 65536] {
        assert_err(
            container().name("web").image("nginx").port(bad).build(),
            "ports[0].containerPort",
            &bad.to_string(),
        );
    }
    assert!(
        container()
            .name("web")
            .image("nginx")
            .port(65535)
            .build()
            .is_ok()
    );
    assert_err(
        container()
            .name("web")
            .image("nginx")
            .port(80)
            .port(ContainerPort::named("metrics-endpoint", 9090))
            .build(),
        "ports[1].name",
        "metrics-endpoint",
    );
    // Same number and protocol twice in a container.
    assert_err(
        container()
            .name("web")
            .image("nginx")
            .port(80)
            .port(80)
            .build(),
        "ports[1].containerPort",
        "80",
    );
    // Same number, other protocol: fine.
    assert!(
        container()
            .name("dns")
            .image("coredns")
            .port(ContainerPort::named("dns", 53).protocol(Protocol::Udp))
            .port(ContainerPort::named("dns-tcp", 53))
            .build()
            .is_ok()
    );
    // Duplicate port names in a container.
    assert_err(
        container()
            .name("web")
            .image("nginx")
            .port(ContainerPort::http(80))
            .port(ContainerPort::http(8080))
            .build(),
        "ports[1].name",
        "http",
    );
    Ok(())
}

#[test]
fn duplicates_within_a_pod_are_rejected() -> Result {
    // Two containers with the same name.
    let err = assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .and_container(nginx()?)
            .build(),
        "spec.containers[1].name",
        "web",
    );
    assert!(err.rule.contains("duplicate"), "{err}");
    // An init container and a container with the same name.
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .init_container(container().name("web").image("busybox").build()?)
            .build(),
        "spec.containers[0].name",
        "web",
    );
    // The same port and protocol in two containers.
    let other = container().name("other").image("nginx").port(80).build()?;
    let err = assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .and_container(other)
            .build(),
        "spec.containers[1].ports[0].containerPort",
        "80",
    );
    assert!(err.rule.contains("80/TCP of container \"web\""), "{err}");
    // Same number, different protocol: fine.
    let udp = container()
        .name("other")
        .image("nginx")
        .port(ContainerPort::new(80).protocol(Protocol::Udp))
        .build()?;
    assert!(
        pod()
            .name("p")
            .container(nginx()?)
            .and_container(udp)
            .build()
            .is_ok()
    );
    // Two volumes with the same name.
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .volume(empty_dir("a"))
            .volume(empty_dir("a"))
            .build(),
        "spec.volumes[1].name",
        "a",
    );
    Ok(())
}

#[test]
fn volumes_and_mounts_are_checked() -> Result {
    let c = container()
        .name("web")
        .image("nginx")
        .mount("logs", "/logs")
        .build()?;
    let err = assert_err(
        pod_with(c.clone()),
        "spec.containers[0].volumeMounts[0].name",
        "logs",
    );
    assert!(err.rule.contains("does not name a volume"), "{err}");
    assert!(
        pod()
            .name("p")
            .container(c)
            .volume(empty_dir("logs"))
            .build()
            .is_ok()
    );
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .volume(empty_dir("Logs"))
            .build(),
        "spec.volumes[0].name",
        "Logs",
    );
    assert_err(
        container()
            .name("web")
            .image("nginx")
            .mount("a", "/x")
            .mount("b", "/x")
            .build(),
        "volumeMounts[1].mountPath",
        "/x",
    );
    assert_err(
        container()
            .name("web")
            .image("nginx")
            .mount("a", "")
            .build(),
        "volumeMounts[0].mountPath",
        "",
    );
    Ok(())
}

#[test]
fn probes_are_checked() -> Result {
    let base = || {
        container()
            .name("web")
            .image("nginx")
            .port(ContainerPort::http(80))
    };
    assert!(
        base()
            .readiness_probe(Probe::http_get("/", "http"))
            .build()
            .is_ok()
    );
    assert!(
        base()
            .readiness_probe(Probe::http_get("/", 80).https())
            .build()
            .is_ok()
    );
    assert!(base().liveness_probe(Probe::grpc(9000)).build().is_ok());
    let err = assert_err(
        base()
            .readiness_probe(Probe::http_get("/", "metrics"))
            .build(),
        "readinessProbe.httpGet.port",
        "metrics",
    );
    assert!(err.rule.contains("does not name a port"), "{err}");
    assert_err(
        base().liveness_probe(Probe::tcp(0)).build(),
        "livenessProbe.tcpSocket.port",
        "0",
    );
    assert_err(
        base().liveness_probe(Probe::tcp("HTTP")).build(),
        "livenessProbe.tcpSocket.port",
        "HTTP",
    );
    assert_err(
        base()
            .liveness_probe(Probe::tcp(80).success_threshold(2))
            .build(),
        "livenessProbe.successThreshold",
        "2",
    );
    assert!(
        base()
            .readiness_probe(Probe::tcp(80).success_threshold(2))
            .build()
            .is_ok()
    );
    assert_err(
        base()
            .startup_probe(Probe::tcp(80).period_seconds(-1))
            .build(),
        "startupProbe.periodSeconds",
        "-1",
    );
    assert_err(
        base()
            .readiness_probe(Probe::exec(Vec::<String>::new()))
            .build(),
        "readinessProbe.exec.command",
        "",
    );
    let mut two_handlers: k8s_openapi::api::core::v1::Probe = Probe::tcp(80).into();
    two_handlers.exec = Probe::exec(["true"]).into_k8s().exec;
    assert_err(
        base().readiness_probe(two_handlers).build(),
        "readinessProbe",
        "2 handlers",
    );
    assert_err(
        base()
            .readiness_probe(k8s_openapi::api::core::v1::Probe::default())
            .build(),
        "readinessProbe",
        "0 handlers",
    );
    // No probes on (non-sidecar) init containers.
    let init = container()
        .name("init")
        .image("busybox")
        .liveness_probe(Probe::exec(["true"]))
        .build()?;
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .init_container(init)
            .build(),
        "spec.initContainers[0].livenessProbe",
        "",
    );
    Ok(())
}

trait IntoK8s {
    fn into_k8s(self) -> k8s_openapi::api::core::v1::Probe;
}
impl IntoK8s for Probe {
    fn into_k8s(self) -> k8s_openapi::api::core::v1::Probe {
        self.into()
    }
}

#[test]
fn resources_and_env_are_checked() -> Result {
    let base = || container().name("web").image("nginx");
    assert!(
        base()
            .request("cpu", "250m")
            .limit("cpu", "1")
            .build()
            .is_ok()
    );
    assert!(
        base()
            .request("memory", "1Gi")
            .limit("memory", "1024Mi")
            .build()
            .is_ok()
    );
    assert_err(
        base().request("memory", "128MB").build(),
        "resources.requests.memory",
        "128MB",
    );
    assert_err(
        base().limit("cpu", "-1").build(),
        "resources.limits.cpu",
        "-1",
    );
    let err = assert_err(
        base().request("cpu", "2").limit("cpu", "500m").build(),
        "resources.requests.cpu",
        "2",
    );
    assert!(err.rule.contains("cpu limit \"500m\""), "{err}");
    assert_err(
        base().request("bad name!", "1").build(),
        "resources.requests",
        "bad name!",
    );
    assert_err(base().env("A=B", "x").build(), "env[0].name", "A=B");
    assert_err(base().env("", "x").build(), "env[0].name", "");
    assert_err(
        container().name("web").image(" nginx").build(),
        "image",
        " nginx",
    );
    Ok(())
}

#[test]
fn pod_and_template_policies() -> Result {
    assert!(
        pod()
            .name("job")
            .container(nginx()?)
            .restart_policy(RestartPolicy::Never)
            .build()
            .is_ok()
    );
    let template = pod_template()
        .label("app", "web")
        .container(nginx()?)
        .restart_policy(RestartPolicy::OnFailure)
        .build();
    assert_err(
        deployment().name("web").template(template.clone()).build(),
        "spec.template.spec.restartPolicy",
        "OnFailure",
    );
    assert_err(
        replica_set().name("web").template(template).build(),
        "spec.template.spec.restartPolicy",
        "OnFailure",
    );
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .termination_grace_period_seconds(-1)
            .build(),
        "spec.terminationGracePeriodSeconds",
        "-1",
    );
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .service_account("Web")
            .build(),
        "spec.serviceAccountName",
        "Web",
    );
    assert_err(
        pod()
            .name("p")
            .container(nginx()?)
            .node_selector("k", "bad value")
            .build(),
        "spec.nodeSelector.k",
        "bad value",
    );
    Ok(())
}

#[test]
fn deployment_numbers_and_strategy_are_checked() -> Result {
    let d = || {
        deployment()
            .name("web")
            .template(web_template().expect("template"))
    };
    assert_err(d().replicas(-1).build(), "spec.replicas", "-1");
    assert!(d().replicas(0).build().is_ok());
    assert_err(
        d().revision_history_limit(-1).build(),
        "spec.revisionHistoryLimit",
        "-1",
    );
    assert_err(
        d().min_ready_seconds(-1).build(),
        "spec.minReadySeconds",
        "-1",
    );
    assert_err(
        d().progress_deadline_seconds(0).build(),
        "spec.progressDeadlineSeconds",
        "0",
    );
    let err = assert_err(
        d().progress_deadline_seconds(10)
            .min_ready_seconds(10)
            .build(),
        "spec.progressDeadlineSeconds",
        "10",
    );
    assert!(err.rule.contains("minReadySeconds"), "{err}");
    assert!(
        d().progress_deadline_seconds(11)
            .min_ready_seconds(10)
            .build()
            .is_ok()
    );

    assert_err(
        d().rolling_update(0, 0).build(),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "0",
    );
    assert_err(
        d().rolling_update(IntOrPercent::percent(0), IntOrPercent::percent(0))
            .build(),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "0%",
    );
    assert!(d().rolling_update(0, 1).build().is_ok());
    assert!(
        d().rolling_update(IntOrPercent::percent(200), 0)
            .build()
            .is_ok()
    );
    assert_err(
        d().rolling_update(1, IntOrPercent::percent(101)).build(),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "101%",
    );
    assert_err(
        d().rolling_update(-1, 1).build(),
        "spec.strategy.rollingUpdate.maxSurge",
        "-1",
    );
    assert!(d().recreate().build().is_ok());
    Ok(())
}

#[test]
fn service_ports_are_checked() -> Result {
    let s = || service().name("web").selector([("app", "web")]);
    assert_err(s().port(0, 80).build(), "spec.ports[0].port", "0");
    assert_err(
        s().port(80, 70000).build(),
        "spec.ports[0].targetPort",
        "70000",
    );
    assert_err(
        s().port(80, "Http").build(),
        "spec.ports[0].targetPort",
        "Http",
    );
    // Several ports need names.
    let err = assert_err(
        s().port(80, 8080).and_port(443, 8443).build(),
        "spec.ports[0].name",
        "",
    );
    assert!(err.rule.contains("more than one port"), "{err}");
    assert!(
        s().port_spec(ServicePort::new(80, 8080).name("http"))
            .and_port_spec(ServicePort::new(443, 8443).name("https"))
            .build()
            .is_ok()
    );
    // Duplicate names and duplicate port+protocol.
    assert_err(
        s().port(80, "http").and_port(81, "http").build(),
        "spec.ports[1].name",
        "http",
    );
    assert_err(
        s().port(80, "http").and_port(80, "admin").build(),
        "spec.ports[1].port",
        "80",
    );
    assert!(
        s().port(53, "dns-tcp")
            .and_port_spec(ServicePort::new(53, "dns").protocol(Protocol::Udp))
            .build()
            .is_ok()
    );
    // Node ports only for NodePort / LoadBalancer, and in range.
    let with_node_port = || s().port_spec(ServicePort::new(80, 80).node_port(30080));
    let err = assert_err(with_node_port().build(), "spec.ports[0].nodePort", "30080");
    assert!(err.rule.contains("ClusterIP"), "{err}");
    assert!(
        with_node_port()
            .service_type(ServiceType::NodePort)
            .build()
            .is_ok()
    );
    assert!(
        with_node_port()
            .service_type(ServiceType::LoadBalancer)
            .build()
            .is_ok()
    );
    assert_err(
        s().port_spec(ServicePort::new(80, 80).node_port(70000))
            .service_type(ServiceType::NodePort)
            .build(),
        "spec.ports[0].nodePort",
        "70000",
    );
    // A selector given as an empty list.
    assert_err(
        service()
            .name("web")
            .selector(Vec::<(String, String)>::new())
            .port(80, 80)
            .build(),
        "spec.selector",
        "",
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Validating objects that did not come from a builder (e.g. parsed YAML)
// ------------------------------------------------------------------------------------------

#[test]
fn parsed_objects_are_validated_with_the_same_rules() -> Result<(), Box<dyn std::error::Error>> {
    let d: Deployment = serde_saphyr::from_str(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: web
          image: nginx:1.28
"#,
    )?;
    let err = validate::validate_deployment(&d).expect_err("selector mismatch");
    assert_eq!(err.field, "spec.template.metadata.labels");
    assert_eq!(err.value, "app=api");
    assert!(err.rule.contains("app=web"), "{err}");

    let d: Deployment = serde_saphyr::from_str(
        r#"
metadata: {name: web}
spec:
  selector:
    matchExpressions:
      - {key: app, operator: In, values: [web, api]}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: web}]
"#,
    )?;
    // Images may be left out of templates (admission may fill them in), not out of Pods.
    assert_eq!(d.validate(), Ok(()));

    let p: Pod =
        serde_saphyr::from_str("metadata: {name: web}\nspec:\n  containers: [{name: web}]\n")?;
    assert_err(
        validate::validate_pod(&p).map(|_| ()),
        "spec.containers[0].image",
        "",
    );

    let p: Pod = serde_saphyr::from_str(
        "metadata: {generateName: web-}\nspec:\n  containers: [{name: web, image: nginx, imagePullPolicy: always}]\n",
    )?;
    let err = p.validate().expect_err("bad pull policy");
    assert_eq!(err.name, "web-");
    assert_eq!(err.field, "spec.containers[0].imagePullPolicy");

    let p: Pod =
        serde_saphyr::from_str("metadata: {}\nspec:\n  containers: [{name: web, image: nginx}]\n")?;
    assert_err(p.validate(), "metadata.name", "");

    let rs: ReplicaSet = serde_saphyr::from_str(
        "metadata: {name: web}\nspec:\n  selector: {}\n  template:\n    spec:\n      containers: [{name: web, image: nginx}]\n",
    )?;
    assert_err(validate::validate_replica_set(&rs), "spec.selector", "");

    let s: Service = serde_saphyr::from_str(
        "metadata: {name: web}\nspec:\n  type: ExternalName\n  externalName: example.com\n",
    )?;
    assert_eq!(validate::validate_service(&s), Ok(()));
    let s: Service =
        serde_saphyr::from_str("metadata: {name: web}\nspec:\n  selector: {app: web}\n")?;
    assert_err(validate::validate_service(&s), "spec.ports", "");
    let s: Service = serde_saphyr::from_str(
        "metadata: {name: web}\nspec:\n  type: Ingress\n  ports: [{port: 80}]\n",
    )?;
    assert_err(s.validate(), "spec.type", "Ingress");

    let ns: Namespace = serde_saphyr::from_str("metadata: {name: kube-system}\n")?;
    assert_eq!(validate::validate_namespace(&ns), Ok(()));
    let c: Container = serde_saphyr::from_str(
        "{name: web, image: nginx, ports: [{containerPort: 80, protocol: tcp}]}",
    )?;
    assert_err(validate::validate_container(&c), "ports[0].protocol", "tcp");
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The rules never panic, and they nest the way Kubernetes' do.
        #[test]
        fn rules_never_panic_and_nest(s in "\\PC{0,80}") {
            let label = validate::dns1123_label(&s).is_ok();
            let subdomain = validate::dns1123_subdomain(&s).is_ok();
            let dns1035 = validate::dns1035_label(&s).is_ok();
            let iana = validate::iana_svc_name(&s).is_ok();
            let _ = validate::qualified_name(&s);
            let value = validate::label_value(&s).is_ok();
            let _ = validate::quantity(&s);
            let _ = validate::env_var_name(&s);
            prop_assert!(!label || subdomain);
            prop_assert!(!dns1035 || label);
            prop_assert!(!iana || label);
            prop_assert!(!label || value);
        }

        /// Names made of the allowed characters are accepted.
        #[test]
        fn generated_labels_are_accepted(s in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?") {
            prop_assert_eq!(validate::dns1123_label(&s), Ok(()));
            prop_assert_eq!(validate::dns1123_subdomain(&s), Ok(()));
            prop_assert_eq!(validate::label_value(&s), Ok(()));
            prop_assert_eq!(validate::qualified_name(&s), Ok(()));
        }

        /// Builders never panic, whatever the input; an error names the field.
        #[test]
        fn builders_never_panic(name in "\\PC{0,20}", image in "\\PC{0,10}", port in any::<i32>(), label in "\\PC{0,10}") {
            let built = container()
                .name(name.clone())
                .image(image)
                .port(port)
                .request("cpu", label.clone())
                .build()
                .and_then(|c| pod().name(name.clone()).label(label.clone(), label.clone()).container(c).build());
            if let Err(err) = built {
                prop_assert!(!err.field.is_empty());
            }
            let s = service().name(name).selector([(label.clone(), label)]).port(port, port).build();
            if let Err(err) = s {
                prop_assert!(!err.field.is_empty());
            }
        }
    }
}
