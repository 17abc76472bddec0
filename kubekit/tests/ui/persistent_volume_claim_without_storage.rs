// A PersistentVolumeClaim needs a size.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _c = persistent_volume_claim().name("data").storage_class("local-path").build()?;
    Ok(())
}
