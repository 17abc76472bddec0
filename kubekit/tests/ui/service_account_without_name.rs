// A ServiceAccount needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _a = service_account().automount_token(false).build()?;
    Ok(())
}
