// A Service needs at least one port.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _s = service().name("web").selector([("app", "web")]).build()?;
    Ok(())
}
