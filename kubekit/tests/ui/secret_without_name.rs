// A Secret needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _secret = secret().string_data("password", "hunter2").build()?;
    Ok(())
}
