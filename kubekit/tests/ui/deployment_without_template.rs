// A Deployment needs a pod template.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _d = deployment().name("web").replicas(2).build()?;
    Ok(())
}
