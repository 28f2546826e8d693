//! A certificate authority made for one test, and a server certificate it
//! signed for 127.0.0.1: what the fake portal serves HTTPS with. Made in the
//! test process (rcgen), so the TLS tests run wherever the suite does,
//! Windows under Wine included.

use std::path::PathBuf;

use fake_portal::TlsIdentity;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

pub struct TestCa {
    pub dir: tempfile::TempDir,
    /// The CA certificate (PEM): what AWS_CA_BUNDLE points at.
    pub ca_pem: PathBuf,
    /// The server's certificate and key, for `FakePortal::start_tls`.
    pub identity: TlsIdentity,
}

/// A fresh CA (P-256) and a server certificate for 127.0.0.1 and localhost
/// that it signed, as a TLS-inspecting corporate proxy would present one.
pub fn test_ca() -> TestCa {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "ssosync test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    server.is_ca = IsCa::ExplicitNoCa;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
    let identity = TlsIdentity::from_pem(
        server_cert.pem().as_bytes(),
        server_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    TestCa {
        dir,
        ca_pem,
        identity,
    }
}
