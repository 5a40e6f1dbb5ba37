//! TLS for outbound connections: rustls with the public web roots compiled
//! in (webpki-roots: no dependence on the machine's store), plus the
//! owner's extra CA file when configured.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub fn connector(extra_ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        let shown = path.display();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("network.extra-ca-file {shown}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("network.extra-ca-file {shown}: {e}"))?;
        if certs.is_empty() {
            return Err(format!(
                "network.extra-ca-file {shown}: no certificates in it"
            ));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("network.extra-ca-file {shown}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
