//! Manifests from Rust: the walkthrough's pods, a 3-replica Deployment with a rolling update
//! strategy and a Service for it, printed as one multi-document YAML (no cluster needed).
//!
//! ```text
//! cargo run -p kubekit-examples --example manifests > app.yaml
//! ```

use kubekit::{
    builders::{ContainerPort, PullPolicy, container, deployment, pod, pod_template, service_for},
    manifest::{self, Object},
};

fn main() -> kubekit::Result<()> {
    // `kubectl run web --image=nginx:1.28 --port 80`
    let web = pod()
        .name("web")
        .label("run", "web")
        .container(
            container()
                .name("web")
                .image("nginx:1.28")
                .port(ContainerPort::new(80))
                .build()?,
        )
        .build()?;

    // The walkthrough's web-pod.yaml.
    let web2 = pod()
        .name("web2")
        .container(
            container()
                .name("web")
                .image("nginx:1.28")
                .pull_policy(PullPolicy::IfNotPresent)
                .port(ContainerPort::new(80))
                .build()?,
        )
        .build()?;

    // Three replicas, upgraded one new pod at a time, keeping three old ReplicaSets.
    let app = deployment()
        .name("web")
        .replicas(3)
        .revision_history_limit(3)
        .rolling_update(1, 0)
        .template(
            pod_template()
                .label("app", "web")
                .container(
                    container()
                        .name("web")
                        .image("nginx:1.28")
                        .port(ContainerPort::http(80))
                        .build()?,
                )
                .build(),
        )
        .build()?;
    // Selector and target port come from the Deployment: they cannot disagree with it.
    let svc = service_for(&app).name("web").port(80, "http").build()?;

    let objects: Vec<Object> = vec![web.into(), web2.into(), app.into(), svc.into()];
    print!("{}", manifest::to_yaml_all(&objects)?);
    Ok(())
}
