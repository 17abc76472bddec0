// A Namespace needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _ns = namespace().label("team", "a").build()?;
    Ok(())
}
