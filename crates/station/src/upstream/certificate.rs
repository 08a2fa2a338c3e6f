//! When a certificate in a PEM file stops being valid: the client certificate a station
//! presents to its hub (`client_identity_file`), so the center is warned before the hub starts
//! refusing it. Only the certificates in the file are parsed; the private key beside them is
//! skipped unread.
//!
//! Must never: put key material or the file's text in an error.

use std::path::Path;

use x509_parser::pem::Pem;

/// Why the expiry of a certificate file is unknown (shown on the metrics page and in the
/// connection test).
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The file cannot be opened or read (missing, no permission).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The PEM file, as configured.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file holds no `CERTIFICATE` block that parses as X.509 (e.g. only a key).
    #[error("{path}: no readable PEM certificate in it")]
    NoCertificate {
        /// The PEM file, as configured.
        path: String,
    },
}

/// The earliest end of validity (Unix seconds) among the certificates in a PEM file: the leaf
/// and any intermediates sent with it, since the hub refuses the chain when any of them ends.
pub fn earliest_expiry(path: &Path) -> Result<i64, CertificateError> {
    let bytes = std::fs::read(path).map_err(|source| CertificateError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Pem::iter_from_buffer(&bytes)
        .flatten()
        .filter(|pem| pem.label == "CERTIFICATE")
        .filter_map(|pem| {
            let cert = pem.parse_x509().ok()?;
            Some(cert.validity().not_after.timestamp())
        })
        .min()
        .ok_or_else(|| CertificateError::NoCertificate {
            path: path.display().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_says_so_without_quoting_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("identity.pem");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END PRIVATE KEY-----\n",
        )
        .expect("write");
        let err = earliest_expiry(&path).expect_err("no certificate");
        assert!(matches!(err, CertificateError::NoCertificate { .. }));
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
    }
}
