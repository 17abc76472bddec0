// A container needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _c = container().image("nginx").build()?;
    Ok(())
}
