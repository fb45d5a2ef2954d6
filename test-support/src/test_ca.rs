//! A throwaway certificate authority for TLS on loopback.
//!
//! songbird always dials the voice gateway over `wss://`, so the fake voice
//! server needs a certificate the client trusts. A test generates a [`TestCa`],
//! writes its certificate to a file with [`TestCa::write_ca_file`] and points
//! `SSL_CERT_FILE` at that file before any thread or runtime starts:
//! songbird's `tws` + `rustls` features load roots through
//! `rustls-native-certs`, which reads only that file when the variable is set.

use std::{path::Path, sync::Arc};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Names the leaf certificate is valid for: what a loopback endpoint can be.
const LEAF_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A freshly generated CA and a leaf certificate for `localhost` and `127.0.0.1`.
///
/// Keys live only in memory and die with the value; nothing is reused between
/// test runs.
pub struct TestCa {
    ca_pem: String,
    server_config: Arc<rustls::ServerConfig>,
    client_config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs even in tests.
        f.debug_struct("TestCa").field("leaf_names", &LEAF_NAMES).finish_non_exhaustive()
    }
}

impl TestCa {
    /// Generates a new CA and a leaf certificate signed by it.
    ///
    /// # Errors
    ///
    /// Fails if key generation or signing fails (it does not in practice).
    pub fn new() -> anyhow::Result<Self> {
        let ca_key = KeyPair::generate().context("generate ca key")?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).context("ca params")?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, "timmybot test CA");
        ca_params.distinguished_name = ca_name;
        let ca_cert = ca_params.self_signed(&ca_key).context("self-sign ca")?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().context("generate leaf key")?;
        let mut leaf_params = CertificateParams::new(LEAF_NAMES.map(String::from).to_vec()).context("leaf params")?;
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let mut leaf_name = DistinguishedName::new();
        leaf_name.push(DnType::CommonName, "localhost");
        leaf_params.distinguished_name = leaf_name;
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).context("sign leaf")?;

        // The ring provider is named explicitly: when another crate in the
        // build also enables rustls's aws-lc-rs provider, rustls has no
        // implicit default and `builder()` would panic.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("tls protocol versions")?
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
            .context("tls server certificate")?;

        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).context("add test ca root")?;
        let client_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("tls protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();

        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_config: Arc::new(server_config),
            client_config: Arc::new(client_config),
        })
    }

    /// Returns the CA certificate in PEM form, the content `SSL_CERT_FILE` needs.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// Writes the CA certificate (PEM) to `path`, for `SSL_CERT_FILE`.
    ///
    /// # Errors
    ///
    /// Fails if the file cannot be written.
    pub fn write_ca_file(&self, path: impl AsRef<Path>) -> anyhow::Result<()> {
        let path = path.as_ref();
        std::fs::write(path, &self.ca_pem).with_context(|| format!("write ca file {}", path.display()))
    }

    /// Returns the rustls server configuration presenting the leaf certificate.
    ///
    /// The chain sent is leaf then CA; the crypto provider is ring.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.server_config.clone()
    }

    /// Returns a rustls client configuration that trusts only this CA.
    ///
    /// For tests that dial the fake voice server with their own WebSocket
    /// client instead of going through `SSL_CERT_FILE`.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.client_config.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_pem_is_a_pem_certificate() {
        let ca = TestCa::new().unwrap();
        let pem = ca.ca_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(pem.trim_end().ends_with("-----END CERTIFICATE-----"));
    }

    #[test]
    fn write_ca_file_writes_the_pem() {
        let ca = TestCa::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        ca.write_ca_file(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), ca.ca_pem());
    }

    async fn handshake(server: &TestCa, client: &TestCa, name: &str) -> std::io::Result<()> {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(server.server_config());
        let connector = tokio_rustls::TlsConnector::from(client.client_config());
        let accept = tokio::spawn(async move { acceptor.accept(server_io).await.map(drop) });
        let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
        // Keep the client stream open until the server is done: a TLS 1.3
        // server writes session tickets after the client's last flight.
        let connected = connector.connect(name, client_io).await;
        let accepted = accept.await.unwrap();
        connected.map(drop).and(accepted)
    }

    #[tokio::test]
    async fn leaf_is_trusted_for_localhost_and_loopback_ip() {
        let ca = TestCa::new().unwrap();
        for name in LEAF_NAMES {
            handshake(&ca, &ca, name).await.unwrap();
        }
    }

    #[tokio::test]
    async fn leaf_is_rejected_for_other_names_and_other_cas() {
        let ca = TestCa::new().unwrap();
        let other = TestCa::new().unwrap();
        assert!(handshake(&ca, &ca, "example.com").await.is_err());
        assert!(handshake(&ca, &other, "localhost").await.is_err());
    }
}
