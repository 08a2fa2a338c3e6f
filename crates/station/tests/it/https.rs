//! HTTPS for the LAN UI (`[http] tls`), as a clinic browser, a technician comparing the
//! fingerprint, the center's monitoring and a stranger on the LAN meet it: a browser that trusts
//! only the certificate the station wrote logs in and reads pages; the fingerprint the Settings
//! page and `station status` show is the SHA-256 of the certificate the connection presented;
//! plain HTTP on the port gets nothing; a client that connects and never finishes its handshake
//! is closed by the header deadline; an admin's own certificate is served as given; a
//! certificate file that cannot be used stops the start with its name; the desktop window's
//! in-process engine reaches the server on plain loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use station::config::{Secret, TlsMode};

use crate::harness::pki::openssl;
use crate::harness::*;

const SCRAPE_TOKEN: &str = "scrape-over-https";
/// `[http] header_read_timeout_secs` of these stations: the handshake's deadline too.
const DEADLINE_SECS: u64 = 2;

/// SHA-256 of a certificate's DER as browsers show it (computed here, not by the station).
fn sha256_colons(der: &[u8]) -> String {
    let hex = hex::encode_upper(Sha256::digest(der));
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// The first certificate of a PEM file, as DER.
fn first_der(pem: &[u8]) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem)
        .expect("a PEM certificate")
        .to_vec()
}

/// A browser on the LAN that trusts only `trusted` (PEM), not the system's roots.
struct Browser {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

/// An answer: status, `Set-Cookie`, body, and the certificate the server presented (DER).
struct Answer {
    status: u16,
    set_cookie: Option<String>,
    body: String,
    peer: Option<Vec<u8>>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Browser {
    fn trusting(trusted: &[u8], port: u16) -> Browser {
        Browser {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            http: reqwest::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(trusted).expect("PEM"))
                .tls_info(true)
                // Below the station's header deadline, which closes idle connections too.
                .pool_idle_timeout(Duration::from_millis(DEADLINE_SECS * 1000 / 2))
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTPS client"),
            base: format!("https://127.0.0.1:{port}"),
        }
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        self.rt.block_on(async {
            let resp = request.send().await.expect("an HTTPS answer");
            let peer = resp
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|t| t.peer_certificate())
                .map(<[u8]>::to_vec);
            let set_cookie = resp
                .headers()
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            Answer {
                status: resp.status().as_u16(),
                set_cookie,
                peer,
                body: resp.text().await.expect("reading the answer"),
            }
        })
    }

    fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        self.send(req)
    }

    /// `POST /api/{op}` as the UI sends it: JSON, with the session cookie once logged in.
    fn call(&self, op: &str, cookie: Option<&str>, body: Value) -> Answer {
        let mut req = self
            .http
            .post(format!("{}/api/{op}", self.base))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        self.send(req)
    }

    /// Logs in as `admin`; the session cookie (`name=value`) the browser then sends.
    fn login(&self) -> String {
        let answer = self.call(
            "login",
            None,
            json!({ "username": "admin", "password": ADMIN_PASSWORD }),
        );
        assert_eq!(answer.status, 200, "login: {}", answer.body);
        let cookie = answer.set_cookie.expect("a session cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Secure"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        cookie.split(';').next().expect("name=value").to_owned()
    }
}

/// Plain HTTP to `port` gets no HTTP answer.
fn plain_http_fails(port: u16) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let answer = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
    });
    assert!(
        answer.is_err(),
        "plain HTTP was answered on the HTTPS port: {answer:?}"
    );
}

/// How long after connecting the station closed a connection that `speak`s as it likes and
/// never completes a handshake; fails when it is still open after `limit`.
fn closed_after(port: u16, limit: Duration, mut speak: impl FnMut(&mut TcpStream)) -> Duration {
    let start = Instant::now();
    let mut stream =
        TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).expect("TCP connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("read timeout");
    let mut buf = [0u8; 256];
    let rounds = (limit.as_millis() / 300) as usize + 2;
    for _ in 0..rounds {
        match stream.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            // An alert on the way out, then the close.
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return start.elapsed(),
        }
        if start.elapsed() > limit {
            break;
        }
        speak(&mut stream);
    }
    panic!("a half-open TLS connection was still open after {limit:?}");
}

fn tls_options(mode: TlsMode) -> Options {
    Options::default().tweak(move |c| {
        c.http.tls = mode;
        c.http.header_read_timeout_secs = DEADLINE_SECS;
        c.metrics.token = Some(Secret(SCRAPE_TOKEN.into()));
    })
}

#[test]
fn a_self_signed_station_serves_https_to_a_browser_that_trusts_only_its_certificate() {
    let scratch = Scratch::new();
    let mut station = Station::start(scratch.path(), &tls_options(TlsMode::SelfSigned));
    let cert_file = station.data_dir.join("https-cert.pem");
    let pem = std::fs::read(&cert_file).expect("the station wrote its certificate");
    let der = first_der(&pem);
    #[cfg(unix)]
    for file in ["https-cert.pem", "https-key.pem"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(station.data_dir.join(file))
            .expect(file)
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is {mode:o}");
    }

    let browser = Browser::trusting(&pem, station.http_port);
    let cookie = browser.login();
    let page = browser.call("studies_list", Some(&cookie), json!({}));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.json()["total"], 0);
    assert_eq!(
        page.peer.as_deref(),
        Some(der.as_slice()),
        "the connection presented the certificate in the file"
    );

    let fingerprint = sha256_colons(&der);
    let settings = browser.call("settings_get", Some(&cookie), json!({}));
    assert_eq!(settings.status, 200, "{}", settings.body);
    let https = &settings.json()["https"];
    assert_eq!(https["sha256"], fingerprint.as_str());
    assert_eq!(https["mode"], "self-signed");
    assert_eq!(https["file"], cert_file.display().to_string());
    let status = station.cli(&["status"]);
    assert!(
        status.log.contains(&format!("SHA-256 {fingerprint}")),
        "{}",
        status.log
    );
    assert!(
        station.logs_text().contains(&fingerprint),
        "the start's log line names the fingerprint"
    );

    // The center's monitoring over the same TLS.
    assert_eq!(browser.get("/healthz", None).status, 200);
    assert_eq!(browser.get("/readyz", None).status, 200);
    let metrics = browser.get("/metrics", Some(SCRAPE_TOKEN));
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(metrics.body.contains("station_"), "{}", metrics.body);

    plain_http_fails(station.http_port);

    // Connects and says nothing; then one that starts a ClientHello record and trickles it a
    // byte at a time, well inside any per-read wait: both closed by the deadline.
    let limit = Duration::from_secs(DEADLINE_SECS + 4);
    let silent = closed_after(station.http_port, limit, |_| {});
    let mut sent = false;
    let trickled = closed_after(station.http_port, limit, |s| {
        let bytes: &[u8] = if sent {
            &[0x01]
        } else {
            &[0x16, 0x03, 0x01, 0x02, 0x00]
        };
        sent = true;
        let _ = s.write_all(bytes);
    });
    for took in [silent, trickled] {
        assert!(
            took >= Duration::from_millis(DEADLINE_SECS * 1000 - 300),
            "closed after {took:?}, before the deadline"
        );
    }
    // And the browser still gets in.
    assert_eq!(browser.get("/healthz", None).status, 200);

    // A later start serves the same certificate: the fingerprint a technician noted holds.
    station.restart();
    assert_eq!(std::fs::read(&cert_file).expect("certificate"), pem);
    let again = Browser::trusting(&pem, station.http_port).get("/healthz", None);
    assert_eq!(again.status, 200);
    assert_eq!(again.peer.as_deref(), Some(der.as_slice()));
}

/// A clinic CA and a station certificate it signed for 127.0.0.1, by openssl: `(ca.crt,
/// chain.pem, leaf.key, leaf DER)`.
fn clinic_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf, Vec<u8>) {
    std::fs::create_dir_all(dir).expect("pki dir");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "30", "-subj", "/CN=Clinic Test CA"],
            &["-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &["-subj", "/CN=station.clinic.test"],
            &["-keyout", "leaf.key", "-out", "leaf.csr"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.crt",
        ],
    );
    let leaf = std::fs::read(dir.join("leaf.crt")).expect("leaf");
    let mut chain = leaf.clone();
    chain.extend(std::fs::read(dir.join("ca.crt")).expect("ca"));
    std::fs::write(dir.join("chain.pem"), chain).expect("chain");
    (
        dir.join("ca.crt"),
        dir.join("chain.pem"),
        dir.join("leaf.key"),
        first_der(&leaf),
    )
}

/// `options` serving the admin's `cert` and `key` files.
fn with_files(options: Options, cert: &Path, key: &Path) -> Options {
    let (cert, key) = (cert.to_owned(), key.to_owned());
    options.tweak(move |c| {
        c.http.tls = TlsMode::Files;
        c.http.tls_cert = Some(cert.clone());
        c.http.tls_key = Some(key.clone());
    })
}

#[test]
fn an_admins_certificate_and_key_are_served_as_given() {
    let scratch = Scratch::new();
    let (ca, chain, key, leaf) = clinic_pki(&scratch.join("pki"));
    let options = with_files(tls_options(TlsMode::Files), &chain, &key);
    let station = Station::start(scratch.path(), &options);
    assert!(
        !station.data_dir.join("https-cert.pem").exists(),
        "no certificate of its own"
    );
    let browser = Browser::trusting(&std::fs::read(&ca).expect("ca"), station.http_port);
    let cookie = browser.login();
    let settings = browser.call("settings_get", Some(&cookie), json!({}));
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert_eq!(
        settings.peer.as_deref(),
        Some(leaf.as_slice()),
        "the station presented the admin's certificate"
    );
    let https = &settings.json()["https"];
    assert_eq!(https["mode"], "files");
    assert_eq!(https["sha256"], sha256_colons(&leaf).as_str());
}

/// `station serve` on `options`, which must fail to start: its output.
fn refused_start(root: &Path, options: &Options) -> String {
    std::fs::create_dir_all(root).expect("root");
    let (config, _, _) = configure(root, options);
    let out_file = root.join("serve.out");
    let out = std::fs::File::create(&out_file).expect("output file");
    let mut child = Command::new(STATION_BIN)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .env("STATION_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("output handle"))
        .stderr(out)
        .spawn()
        .expect("starting station serve");
    let status = wait_child(&mut child, "station serve", Duration::from_secs(30));
    let output = std::fs::read_to_string(&out_file).expect("output");
    assert!(!status.success(), "started anyway:\n{output}");
    output
}

#[test]
fn a_certificate_file_that_cannot_be_used_stops_the_start_naming_the_file() {
    let scratch = Scratch::new();
    let (_, chain, key, _) = clinic_pki(&scratch.join("pki"));
    let missing = scratch.join("pki/no-such-cert.pem");
    // The CA's key with the station's certificate: the key file is named.
    let wrong_key = scratch.join("pki/ca.key");
    for (case, cert, key, named) in [
        ("missing", &missing, &key, &missing),
        ("mismatch", &chain, &wrong_key, &wrong_key),
    ] {
        let options = with_files(Options::default(), cert, key);
        let output = refused_start(&scratch.join(case), &options);
        assert!(
            output.contains(&named.display().to_string()),
            "{case}: names {}:\n{output}",
            named.display()
        );
    }
}

#[test]
fn the_desktop_window_reaches_an_https_station_over_plain_loopback() {
    let scratch = Scratch::new();
    let station = InProcess::start_for_window(scratch.path(), &tls_options(TlsMode::SelfSigned));
    assert!(station.window_http_addr.ip().is_loopback());
    assert_ne!(station.window_http_addr, station.http_addr);
    let window = Client::on_port(station.window_http_addr.port());
    let (status, body) = window.get("/healthz");
    assert_eq!(status, 200, "{body}");
    let token = window.admin();
    let settings = window.ok(&token, "settings_get", json!({}));
    assert!(settings["https"]["sha256"].is_string(), "{settings}");
    // The LAN port itself speaks only TLS.
    plain_http_fails(station.http_port());
    station.shutdown();
}
