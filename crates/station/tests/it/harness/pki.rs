//! Certificates for tests of TLS and of the certificate alerts, made fresh for each run by the
//! `openssl` command (Debian's, called by full path).

use std::path::Path;
use std::process::Command;

/// Runs `/usr/bin/openssl args` in `dir`; fails the test with openssl's words when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("/usr/bin/openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running /usr/bin/openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate for `subject` valid for `days`, with its key, in `{name}.pem`
/// (certificate then key, as `client_identity_file` takes it).
pub fn self_signed(dir: &Path, name: &str, subject: &str, days: u32) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("pki dir");
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    let days = days.to_string();
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", &days, "-subj", subject,
            "-keyout", &key, "-out", &crt,
        ],
    );
    let mut pem = std::fs::read(dir.join(&crt)).expect("certificate");
    pem.extend(std::fs::read(dir.join(&key)).expect("key"));
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, pem).expect("pem");
    path
}
