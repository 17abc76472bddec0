// A Pod needs at least one container.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _pod = pod().name("web").build()?;
    Ok(())
}
