// `tls` sets the type: setting it again is an error.
use kubekit::builders::*;

fn main() -> Result<(), ValidationError> {
    let _secret = secret()
        .name("web-tls")
        .tls("cert", "key")
        .type_(SecretType::Opaque)
        .build()?;
    Ok(())
}
