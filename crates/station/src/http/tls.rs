//! HTTPS for the LAN UI (`[http] tls`): the certificate the server presents, loaded at start
//! from the admin's PEM files or from the one the station made for itself at its first start
//! (kept in the data directory, reused at every later start), and its SHA-256 fingerprint for
//! a person to compare with what the browser shows.
//!
//! The self-signed certificate names what a clinic browser may type as the station's address
//! (the same names `security::AllowedHosts` accepts): `localhost`, `127.0.0.1`, `::1`, this
//! computer's name bare and `.local`, `[http] allowed_hosts`, and the bind address when it is
//! one.
//!
//! Must never: replace a certificate that exists (a changed fingerprint is what a person in the
//! middle looks like to the technician comparing it), or start serving with a file it could not
//! use without naming that file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Datelike;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use super::security::AllowedHosts;
use crate::api::HttpsCertificate;
use crate::config::{HttpConfig, TlsMode};

/// The self-signed certificate, in the data directory.
pub const SELF_SIGNED_CERT: &str = "https-cert.pem";
/// The self-signed certificate's private key (0600), beside it.
pub const SELF_SIGNED_KEY: &str = "https-key.pem";

/// Why HTTPS cannot be served: the start stops naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file is missing, unreadable, or does not match.
    #[error("HTTPS certificate file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The self-signed certificate could not be made or written.
    #[error("cannot make the station's HTTPS certificate: {0}")]
    Make(String),
}

fn file_error(path: &Path, message: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// What the server presents over TLS, ready to serve.
pub struct Served {
    /// Performs the TLS handshake on each accepted connection.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// What is presented, for the status and the Settings page (fingerprint).
    pub certificate: HttpsCertificate,
}

/// The certificate and key files `[http]` asks for; `None` when TLS is off.
pub fn files(config: &HttpConfig, data_dir: &Path) -> Option<(PathBuf, PathBuf)> {
    match config.tls {
        TlsMode::Off => None,
        TlsMode::SelfSigned => Some((
            data_dir.join(SELF_SIGNED_CERT),
            data_dir.join(SELF_SIGNED_KEY),
        )),
        TlsMode::Files => Some((
            config.tls_cert.clone().unwrap_or_default(),
            config.tls_key.clone().unwrap_or_default(),
        )),
    }
}

/// The certificate `[http]` asks for, made first if it is the station's own and there is none
/// yet; `None` when TLS is off.
pub fn prepare(config: &HttpConfig, data_dir: &Path) -> Result<Option<Served>, TlsError> {
    let Some((cert_file, key_file)) = files(config, data_dir) else {
        return Ok(None);
    };
    // The certificate is written last: without it nothing was made whole, and a key alone is
    // replaced; with it, both are the station's for good.
    if config.tls == TlsMode::SelfSigned && !cert_file.exists() {
        make(config, &cert_file, &key_file)?;
        tracing::info!(file = %cert_file.display(), "made the station's HTTPS certificate");
    }
    let chain = read_chain(&cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&key_file)
        .map_err(|e| file_error(&key_file, format!("no private key read from it ({e})")))?;
    let certificate = HttpsCertificate {
        mode: config.tls,
        sha256: fingerprint(&chain[0]),
        file: cert_file.display().to_string(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Make(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            file_error(
                &key_file,
                format!("cannot serve it with {}: {e}", cert_file.display()),
            )
        })?;
    // Browsers speak nothing but HTTP/1.1 to this server (`listen`).
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Served {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        certificate,
    }))
}

/// The SHA-256 fingerprint of the certificate `[http]` asks for, as [`fingerprint`] writes it,
/// with its file; `None` when TLS is off or the station has not made its certificate yet.
pub fn current_fingerprint(
    config: &HttpConfig,
    data_dir: &Path,
) -> Result<Option<(String, PathBuf)>, TlsError> {
    let Some((cert_file, _)) = files(config, data_dir) else {
        return Ok(None);
    };
    if config.tls == TlsMode::SelfSigned && !cert_file.exists() {
        return Ok(None);
    }
    let chain = read_chain(&cert_file)?;
    Ok(Some((fingerprint(&chain[0]), cert_file)))
}

/// The certificates of a PEM file, at least one.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(path, format!("cannot read a PEM certificate from it ({e})")))?;
    if chain.is_empty() {
        return Err(file_error(path, "it holds no PEM certificate"));
    }
    Ok(chain)
}

/// SHA-256 of a certificate's DER, as browsers show it: uppercase hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Makes the self-signed certificate and its key (ECDSA P-256), valid from last year for 20
/// years: a clinic PC runs for years, and a browser's exception is for this one certificate.
fn make(config: &HttpConfig, cert_file: &Path, key_file: &Path) -> Result<(), TlsError> {
    let made = |e: rcgen::Error| TlsError::Make(e.to_string());
    let mut names = vec!["127.0.0.1".to_owned(), "::1".to_owned()];
    if let Ok(ip) = config.bind.parse::<std::net::IpAddr>() {
        if !ip.is_unspecified() && !ip.is_loopback() {
            names.push(ip.to_string());
        }
    }
    // A name a certificate cannot carry (not ASCII) is left out: the address still works.
    for name in AllowedHosts::new(&config.allowed_hosts).names() {
        if !name.is_empty() && name.is_ascii() && !names.contains(name) {
            names.push(name.clone());
        }
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(made)?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "Clinic Imaging Station (self-signed)",
    );
    let year = chrono::Local::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 20, 1, 1);
    let key = rcgen::KeyPair::generate().map_err(made)?;
    let cert = params.self_signed(&key).map_err(made)?;
    crate::disk::write_private_durably(key_file, key.serialize_pem().as_bytes())
        .map_err(|e| file_error(key_file, format!("cannot write it ({e})")))?;
    crate::disk::write_private_durably(cert_file, cert.pem().as_bytes())
        .map_err(|e| file_error(cert_file, format!("cannot write it ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_as_browsers_show_it() {
        let f = fingerprint(b"abc");
        assert_eq!(
            f,
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
