// A member can be set only once.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _pod = pod()
        .name("web")
        .name("web2")
        .container(
            kubekit::builders::container()
                .name("web")
                .image("nginx")
                .build()?,
        )
        .build()?;
    Ok(())
}
