// A Job needs a pod template.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _j = job().name("migrate").backoff_limit(2).build()?;
    Ok(())
}
