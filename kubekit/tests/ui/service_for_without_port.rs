// A Service for a Deployment needs at least one port.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let template = pod_template()
        .label("app", "web")
        .container(
            kubekit::builders::container()
                .name("web")
                .image("nginx")
                .build()?,
        )
        .build();
    let d = deployment().name("web").template(template).build()?;
    let _s = service_for(&d).name("web").build()?;
    Ok(())
}
