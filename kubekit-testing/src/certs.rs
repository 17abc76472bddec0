//! Fresh certificates for a local cluster: a CA, the API server's serving certificate and
//! client certificates, and the service-account signing key.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::{error::Result, util};

/// The file names [`generate`] writes into a directory.
pub(crate) mod files {
    pub const CA_CERT: &str = "ca.crt";
    pub const SERVING_CERT: &str = "apiserver.crt";
    pub const SERVING_KEY: &str = "apiserver.key";
    pub const ADMIN_CERT: &str = "admin.crt";
    pub const ADMIN_KEY: &str = "admin.key";
    pub const SA_KEY: &str = "sa.key";
    pub const SA_PUB: &str = "sa.pub";
    pub const FRONT_PROXY_CA: &str = "front-proxy-ca.crt";
    pub const FRONT_PROXY_CERT: &str = "front-proxy-client.crt";
    pub const FRONT_PROXY_KEY: &str = "front-proxy-client.key";
}

/// The common name of the front proxy's client certificate.
pub(crate) const FRONT_PROXY_CLIENT: &str = "front-proxy-client";

/// Writes one file of the cluster's PKI, readable by its owner only (keys and certificates
/// alike: nothing else needs them).
fn write(dir: &Path, name: &str, contents: &str) -> Result<()> {
    util::write_private(&dir.join(name), contents.as_bytes())
}

/// Writes a CA, a serving certificate valid for `sans` (DNS names or IP addresses), an
/// admin client certificate (`system:masters`) and a service-account key pair into `dir`.
pub(crate) fn generate(dir: &Path, sans: &[&str]) -> Result<()> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name = dn("kubekit-ca", None);
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    write(dir, files::CA_CERT, &ca_cert.pem())?;

    let serving_key = KeyPair::generate()?;
    let mut serving = CertificateParams::new(Vec::<String>::new())?;
    serving.distinguished_name = dn("kube-apiserver", None);
    serving.subject_alt_names = sans
        .iter()
        .map(|s| match s.parse() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName((*s).try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    serving.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    write(
        dir,
        files::SERVING_CERT,
        &serving.signed_by(&serving_key, &issuer)?.pem(),
    )?;
    write(dir, files::SERVING_KEY, &serving_key.serialize_pem())?;

    let admin_key = KeyPair::generate()?;
    let mut admin = CertificateParams::new(Vec::<String>::new())?;
    admin.distinguished_name = dn("kubekit-admin", Some("system:masters"));
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    admin.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    write(
        dir,
        files::ADMIN_CERT,
        &admin.signed_by(&admin_key, &issuer)?.pem(),
    )?;
    write(dir, files::ADMIN_KEY, &admin_key.serialize_pem())?;

    let sa_key = KeyPair::generate()?;
    write(dir, files::SA_KEY, &sa_key.serialize_pem())?;
    write(dir, files::SA_PUB, &sa_key.public_key_pem())?;

    // The aggregation layer's front proxy: a CA of its own and the client certificate the API
    // server presents to extension API servers (metrics-server), as kubeadm makes them.
    let fp_ca_key = KeyPair::generate()?;
    let mut fp_ca = CertificateParams::new(Vec::<String>::new())?;
    fp_ca.distinguished_name = dn("kubekit-front-proxy-ca", None);
    fp_ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    fp_ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let fp_ca_cert = fp_ca.self_signed(&fp_ca_key)?;
    let fp_issuer = Issuer::new(fp_ca, fp_ca_key);
    write(dir, files::FRONT_PROXY_CA, &fp_ca_cert.pem())?;
    let fp_key = KeyPair::generate()?;
    let mut fp = CertificateParams::new(Vec::<String>::new())?;
    fp.distinguished_name = dn(FRONT_PROXY_CLIENT, None);
    fp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    fp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    write(
        dir,
        files::FRONT_PROXY_CERT,
        &fp.signed_by(&fp_key, &fp_issuer)?.pem(),
    )?;
    write(dir, files::FRONT_PROXY_KEY, &fp_key.serialize_pem())?;
    Ok(())
}

fn dn(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    dn
}
