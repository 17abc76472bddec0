// A DaemonSet needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let template = pod_template()
        .container(container().name("agent").image("busybox").build()?)
        .build();
    let _d = daemon_set().template(template).build()?;
    Ok(())
}
