// A Service needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _s = service()
        .selector([("app", "web")])
        .port(80, "http")
        .build()?;
    Ok(())
}
