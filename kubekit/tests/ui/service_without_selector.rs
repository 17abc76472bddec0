// A Service needs a selector (or use service_for(&deployment)).
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _s = service().name("web").port(80, "http").build()?;
    Ok(())
}
