// A StatefulSet needs a pod template.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _s = stateful_set().name("db").replicas(3).build()?;
    Ok(())
}
