//! A hub on HTTPS with its own CA that also demands a client certificate: socat terminates
//! TLS in front of Orthanc, as a reverse proxy would at a real hub (Orthanc's own HTTPS is not
//! used). Certificates come from the `openssl` command, made fresh for each run.

use std::path::Path;
use std::process::{Child, Command};

use super::*;
use crate::harness::pki::openssl;

/// socat, killed when the test ends however it ends.
struct Terminator(Child);

impl Drop for Terminator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A certificate for `name` signed by the test CA, with the given extensions; writes
/// `{name}.pem` (certificate then key).
fn issue(pki: &Path, name: &str, subject: &str, extensions: &str) {
    let (key, csr, crt, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
        format!("{name}.ext"),
    );
    openssl(
        pki,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", &key, "-out", &csr,
        ],
    );
    std::fs::write(pki.join(&ext), extensions).expect("extensions");
    openssl(
        pki,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &crt,
        ],
    );
    let mut both = std::fs::read(pki.join(&crt)).expect("certificate");
    both.extend(std::fs::read(pki.join(&key)).expect("key"));
    std::fs::write(pki.join(format!("{name}.pem")), both).expect("pem");
}

#[test]
fn a_hub_behind_tls_is_trusted_only_with_its_ca_and_gets_our_client_certificate() {
    let scratch = Scratch::new();
    let pki = scratch.join("pki");
    std::fs::create_dir_all(&pki).expect("pki dir");
    openssl(
        &pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Regional Hub Test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    issue(
        &pki,
        "hub",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    issue(
        &pki,
        "station",
        "/CN=clinic-station",
        "extendedKeyUsage=clientAuth\n",
    );

    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let tls_port = free_port();
    let _socat = Terminator(
        Command::new("/usr/bin/socat")
            .arg(format!(
                "OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,reuseaddr,fork,cert={},cafile={},verify=1",
                pki.join("hub.pem").display(),
                pki.join("ca.pem").display()
            ))
            .arg(format!("TCP:127.0.0.1:{}", orthanc.http_port))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting /usr/bin/socat (Debian package socat)"),
    );
    wait_for("socat listening", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", tls_port)).ok()
    });
    let url = format!("https://127.0.0.1:{tls_port}/dicom-web");
    let (study, made) = make_study(&scratch.join("study"), 1, 2);
    let rt = runtime();
    let hub_with = |ca: bool, identity: bool| {
        Hub::with_options(
            &url,
            HubOptions {
                timeout: Duration::from_secs(30),
                extra_ca_file: ca.then(|| pki.join("ca.pem")),
                client_identity_file: identity.then(|| pki.join("station.pem")),
                ..HubOptions::default()
            },
        )
        .expect("hub")
    };

    let err = rt
        .block_on(hub_with(false, true).stow(&stows(&made)))
        .expect_err("a CA the system does not know is refused");
    assert!(err.is_transient(), "a transport failure: {err}");
    assert!(
        err.to_string().contains("certificate is not trusted"),
        "says why: {err}"
    );

    let err = rt
        .block_on(hub_with(true, false).stow(&stows(&made)))
        .expect_err("the hub demands a client certificate");
    // Under TLS 1.3 the server's refusal of a missing client certificate arrives after the
    // handshake, so the client sees either the alert or a connection closed before the
    // request: the message varies, the outcome must not.
    assert!(err.is_transient(), "{err}");
    assert!(orthanc.instances().is_empty(), "nothing got through");

    let hub = hub_with(true, true);
    let result = rt
        .block_on(hub.stow(&stows(&made)))
        .expect("stow over mutual TLS");
    assert!(result.all_stored(), "{result:?}");
    assert_eq!(
        rt.block_on(hub.study_instances(&study)).expect("qido"),
        sops(&made)
    );
    assert_eq!(
        orthanc.instances().keys().cloned().collect::<BTreeSet<_>>(),
        sops(&made)
    );

    // The connection test a maintainer runs: without the hub's CA the TLS step fails and says
    // the certificate is not trusted; with it (and our certificate) every step passes and the
    // TLS line tells when our certificate ends.
    let config_with = |name: &str, ca: bool| {
        let dir = scratch.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut config = Options::sending_to(url.clone()).config(&dir.join("data"), 0, 0);
        config.destinations[0].ca_file = ca.then(|| pki.join("ca.pem"));
        config.destinations[0].client_identity_file = Some(pki.join("station.pem"));
        let path = dir.join("station.toml");
        config::write(&config, &path);
        path
    };
    let hub_test = |config: &Path| {
        let run = run_tool(
            Command::new(STATION_BIN)
                .args(["hub", "test", "--english", "--config"])
                .arg(config)
                .arg("hub"),
        );
        let tls = run
            .log
            .lines()
            .find(|l| l.contains("(TLS)"))
            .unwrap_or_default()
            .to_string();
        (run, tls)
    };
    let (untrusted, tls) = hub_test(&config_with("untrusted", false));
    assert!(!untrusted.status.success(), "{}", untrusted.log);
    assert!(
        tls.starts_with("✗ encryption (TLS) failed"),
        "{}",
        untrusted.log
    );
    assert!(tls.contains("not trusted"), "{tls}");
    let (trusted, tls) = hub_test(&config_with("trusted", true));
    assert!(trusted.status.success(), "{}", trusted.log);
    assert!(
        tls.starts_with("✓ encryption (TLS) passed"),
        "{}",
        trusted.log
    );
    // The end date in the station's local time (the certificate was made for 2 days).
    let in_two_days = (chrono::Local::now() + chrono::Duration::days(2)).format("%Y-%m-%d");
    assert!(
        tls.contains(&format!("client certificate valid until {in_two_days}")),
        "{tls}"
    );
}
