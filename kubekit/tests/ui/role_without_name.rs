// A Role needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _r = role().namespace("shop").rule(["get"], ["pods"]).build()?;
    Ok(())
}
