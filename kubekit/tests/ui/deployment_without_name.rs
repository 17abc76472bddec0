// A Deployment needs a name.
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
    let _d = deployment().template(template).replicas(2).build()?;
    Ok(())
}
