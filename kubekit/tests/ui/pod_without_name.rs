// A Pod needs a name.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _pod = pod()
        .container(
            kubekit::builders::container()
                .name("web")
                .image("nginx")
                .build()?,
        )
        .build()?;
    Ok(())
}
