// A pod template runs as one ServiceAccount: setting it twice does not compile.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let web = service_account().name("web").build()?;
    let _t = pod_template()
        .container(container().name("web").image("nginx").build()?)
        .service_account_from(&web)
        .service_account("other")
        .build();
    Ok(())
}
