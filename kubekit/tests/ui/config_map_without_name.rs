// A ConfigMap needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _cm = config_map().data("mode", "fast").build()?;
    Ok(())
}
