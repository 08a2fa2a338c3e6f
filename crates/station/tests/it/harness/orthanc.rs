//! A real Orthanc (Debian `orthanc` 1.10 + `orthanc-dicomweb` 1.7) playing the regional hub:
//! started on free loopback ports with its own storage and index in the test's scratch
//! directory and a generated JSON configuration, ready within a bounded wait, killed on drop.
//! [`Orthanc::builder`] sets what a test changes from Orthanc's defaults; [`Orthanc::restart`]
//! brings the same hub (archive, port) back with other settings.
//!
//! The test's own look at the hub goes through Orthanc's REST API (`/instances`, `/changes`),
//! never through the DICOMweb client under test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub const ORTHANC: &str = "/usr/sbin/Orthanc";
/// From `dpkg -L orthanc-dicomweb` (a link to /usr/lib/orthanc/libOrthancDicomWeb.so.1.7).
pub const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
/// Orthanc answering `/system` with its plugins loaded; a debug-build CI machine is slow.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How a hub is set up; every setting defaults to Orthanc's own default, except that the
/// DICOMweb plugin is loaded.
#[derive(Clone, Debug)]
pub struct OrthancBuilder {
    http_port: Option<u16>,
    user: Option<(String, String)>,
    overwrite: bool,
    utf8: bool,
    dicomweb: bool,
}

impl OrthancBuilder {
    /// On a given HTTP port: a hub that comes up where the station has been trying to reach it.
    pub fn port(mut self, http_port: u16) -> Self {
        self.http_port = Some(http_port);
        self
    }

    /// HTTP Basic authentication on, with one registered user.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.user = Some((name.into(), password.into()));
        self
    }

    /// `OverwriteInstances`: replace an instance sent again instead of keeping the first copy,
    /// as a hub taking corrections must.
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }

    /// `DefaultEncoding: Utf8` instead of Latin-1, in which QIDO-RS answers are written
    /// (Orthanc's default Latin-1 drops Chinese names from them).
    pub fn utf8(mut self, on: bool) -> Self {
        self.utf8 = on;
        self
    }

    /// Whether the DICOMweb plugin is loaded (a hub without it answers 404 under /dicom-web).
    pub fn dicomweb(mut self, on: bool) -> Self {
        self.dicomweb = on;
        self
    }

    /// Starts Orthanc with its storage, index, configuration and log under `dir`; returns once
    /// it answers (with its DICOMweb plugin loaded, when asked for).
    pub fn start(self, dir: &Path) -> Orthanc {
        if self.dicomweb {
            assert!(
                Path::new(DICOMWEB_PLUGIN).exists(),
                "{DICOMWEB_PLUGIN} missing (Debian package orthanc-dicomweb)"
            );
        }
        std::fs::create_dir_all(dir).expect("orthanc dir");
        let http_port = self.http_port.unwrap_or_else(free_port);
        let mut config = serde_json::json!({
            "Name": "hub",
            "StorageDirectory": dir.join("storage"),
            "IndexDirectory": dir.join("index"),
            "HttpPort": http_port,
            "DicomPort": free_port(),
            "DicomAet": "HUB",
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": self.user.is_some(),
            "OverwriteInstances": self.overwrite,
        });
        if self.dicomweb {
            config["Plugins"] = serde_json::json!([DICOMWEB_PLUGIN]);
            config["DicomWeb"] = serde_json::json!({ "Enable": true, "Root": "/dicom-web/" });
        }
        if self.utf8 {
            config["DefaultEncoding"] = serde_json::json!("Utf8");
        }
        if let Some((name, password)) = &self.user {
            config["RegisteredUsers"] = serde_json::json!({ name: password });
        }
        let config_path = dir.join("orthanc.json");
        std::fs::write(&config_path, config.to_string()).expect("orthanc config");
        let log = dir.join("orthanc.log");
        let out = std::fs::File::create(&log).expect("orthanc log");
        let child = Command::new(ORTHANC)
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .expect("starting /usr/sbin/Orthanc (Debian package orthanc)");
        let mut orthanc = Orthanc {
            http_port,
            dir: dir.to_owned(),
            settings: self,
            child,
            log,
        };
        orthanc.wait_ready();
        orthanc
    }
}

pub struct Orthanc {
    pub http_port: u16,
    dir: PathBuf,
    settings: OrthancBuilder,
    child: Child,
    log: PathBuf,
}

impl Orthanc {
    /// Orthanc's defaults with the DICOMweb plugin loaded, on a free port.
    pub fn builder() -> OrthancBuilder {
        OrthancBuilder {
            http_port: None,
            user: None,
            overwrite: false,
            utf8: false,
            dicomweb: true,
        }
    }

    /// A hub with [`Orthanc::builder`]'s defaults.
    pub fn start(dir: &Path) -> Orthanc {
        Orthanc::builder().start(dir)
    }

    /// The settings this hub was started with, to change some and [`Orthanc::restart`].
    pub fn settings(&self) -> OrthancBuilder {
        self.settings.clone()
    }

    /// Stops this hub (a hub that is down); [`StoppedOrthanc::start`] brings it back.
    pub fn stop(self) -> StoppedOrthanc {
        StoppedOrthanc {
            dir: self.dir.clone(),
            settings: self.settings().port(self.http_port),
        }
    }

    /// Stops this hub and starts it again on the same archive and HTTP port with `settings`
    /// (its port, if any, is ignored): e.g. a hub whose operator fixed a setting.
    pub fn restart(self, settings: OrthancBuilder) -> Orthanc {
        self.stop().start_with(settings)
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Some(plugins) = self.get("/plugins") {
                assert!(
                    !self.settings.dicomweb || plugins.to_string().contains("dicom-web"),
                    "Orthanc is up without its DICOMweb plugin ({plugins}):\n{}",
                    self.log_text()
                );
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Orthanc exited with {status}:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "Orthanc did not answer within {READY_TIMEOUT:?}:\n{}",
            self.log_text()
        );
    }

    pub fn dicomweb_url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.http_port)
    }

    /// GET on Orthanc's own REST API (with the registered user, if any), parsed as JSON;
    /// `None` when it does not answer 200 within 10 s.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let (_, body) = self.get_bytes(path)?;
        serde_json::from_slice(&body).ok()
    }

    /// GET on Orthanc's REST API returning the raw body and its Content-Type; `None` when it
    /// does not answer 200 within 10 s.
    pub fn get_bytes(&self, path: &str) -> Option<(String, Vec<u8>)> {
        runtime().block_on(async {
            let response = self.request(reqwest::Method::GET, path).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let kind = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            Some((kind, response.bytes().await.ok()?.to_vec()))
        })
    }

    /// The hub's doctors file a document: Orthanc's REST `POST /instances`, which must succeed.
    pub fn upload(&self, file: &Path) {
        let body = std::fs::read(file).expect("reading the file to upload");
        let status = runtime().block_on(async {
            self.request(reqwest::Method::POST, "/instances")
                .timeout(Duration::from_secs(30))
                .body(body)
                .send()
                .await
                .expect("POST /instances")
                .status()
        });
        assert!(
            status.is_success(),
            "Orthanc refused {}: {status}",
            file.display()
        );
    }

    /// The hub's copy of an instance replaced by `file` (the same SOP Instance UID, other
    /// bytes): the instance it holds is deleted, then `file` uploaded.
    pub fn replace(&self, sop_instance_uid: &str, file: &Path) {
        let deleted = runtime().block_on(async {
            let answer = self
                .request(reqwest::Method::POST, "/tools/lookup")
                .body(sop_instance_uid.to_owned())
                .send()
                .await
                .expect("POST /tools/lookup")
                .bytes()
                .await
                .expect("lookup answer");
            let found: serde_json::Value =
                serde_json::from_slice(&answer).expect("lookup answer as JSON");
            let id = found[0]["ID"]
                .as_str()
                .expect("the hub holds the instance")
                .to_owned();
            self.request(reqwest::Method::DELETE, &format!("/instances/{id}"))
                .send()
                .await
                .expect("DELETE /instances")
                .status()
        });
        assert!(
            deleted.is_success(),
            "Orthanc did not delete {sop_instance_uid}: {deleted}"
        );
        self.upload(file);
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = reqwest::Client::new()
            .request(method, format!("http://127.0.0.1:{}{path}", self.http_port))
            .timeout(Duration::from_secs(10));
        if let Some((user, password)) = &self.settings.user {
            request = request.basic_auth(user, Some(password));
        }
        request
    }

    /// Simplified tags of every instance the hub holds.
    pub fn tags(&self) -> Vec<serde_json::Value> {
        let ids = self.get("/instances").expect("GET /instances");
        ids.as_array()
            .expect("instance list")
            .iter()
            .map(|id| {
                self.get(&format!(
                    "/instances/{}/simplified-tags",
                    id.as_str().expect("id")
                ))
                .expect("simplified-tags")
            })
            .collect()
    }

    /// Patient names of every instance Orthanc holds, by SOP Instance UID.
    pub fn instances(&self) -> BTreeMap<String, String> {
        self.tags()
            .iter()
            .map(|tags| {
                (
                    tags["SOPInstanceUID"].as_str().unwrap_or("").to_string(),
                    tags["PatientName"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// How many times Orthanc stored a new instance since it started (`NewInstance` entries of
    /// `/changes`): a duplicate that Orthanc ignores adds none.
    pub fn new_instance_events(&self) -> usize {
        let mut count = 0;
        let mut since = 0u64;
        for _ in 0..1000 {
            let page = self
                .get(&format!("/changes?since={since}&limit=100"))
                .expect("GET /changes");
            let changes = page["Changes"].as_array().expect("changes");
            count += changes
                .iter()
                .filter(|c| c["ChangeType"] == "NewInstance")
                .count();
            since = page["Last"].as_u64().expect("last change");
            if page["Done"].as_bool().expect("done flag") {
                return count;
            }
        }
        panic!("/changes did not end");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A hub that is down, with its archive and HTTP port kept for when it comes back.
pub struct StoppedOrthanc {
    dir: PathBuf,
    settings: OrthancBuilder,
}

impl StoppedOrthanc {
    /// Back, as it was.
    pub fn start(self) -> Orthanc {
        let settings = self.settings.clone();
        self.start_with(settings)
    }

    /// Back with other settings, on the same archive and port.
    pub fn start_with(self, settings: OrthancBuilder) -> Orthanc {
        let port = self
            .settings
            .http_port
            .expect("a stopped hub keeps its port");
        settings.port(port).start(&self.dir)
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
