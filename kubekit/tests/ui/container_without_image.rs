// A container needs an image.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _c = container().name("web").build()?;
    Ok(())
}
