//! A real Orthanc (Debian `orthanc` 1.10 + `orthanc-dicomweb` 1.7) playing the regional hub:
//! started on free loopback ports with its own storage and index in the test's scratch
//! directory and a generated JSON configuration, ready within a bounded wait, killed on drop.
//! The test's own look at the hub goes through Orthanc's REST API (`/instances`, `/changes`),
//! never through the DICOMweb client under test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::free_port;

pub const ORTHANC: &str = "/usr/sbin/Orthanc";
/// From `dpkg -L orthanc-dicomweb` (a link to /usr/lib/orthanc/libOrthancDicomWeb.so.1.7).
pub const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
/// Orthanc answering `/system` with its plugins loaded; a debug-build CI machine is slow.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Orthanc settings a test may change from Orthanc's defaults.
struct Settings {
    /// `OverwriteInstances`: replace an instance sent again instead of keeping the first copy.
    overwrite: bool,
    /// `DefaultEncoding: Utf8` instead of Latin-1, in which QIDO-RS answers are written.
    utf8: bool,
}

pub struct Orthanc {
    pub http_port: u16,
    /// `(user, password)` when HTTP authentication is on.
    user: Option<(String, String)>,
    child: Child,
    log: PathBuf,
}

impl Orthanc {
    pub fn start(dir: &Path) -> Orthanc {
        Orthanc::start_on(dir, free_port())
    }

    /// On a given HTTP port: a hub that comes up where the station has been trying to reach it.
    pub fn start_on(dir: &Path, http_port: u16) -> Orthanc {
        Orthanc::launch(dir, http_port, None)
    }

    /// With HTTP Basic authentication on and one registered user.
    pub fn start_with_user(dir: &Path, user: &str, password: &str) -> Orthanc {
        Orthanc::launch(
            dir,
            free_port(),
            Some((user.to_string(), password.to_string())),
        )
    }

    /// A hub that replaces an instance it already holds when it is sent again (Orthanc's
    /// `OverwriteInstances`), as a hub taking corrections must.
    pub fn start_overwriting(dir: &Path) -> Orthanc {
        let settings = Settings {
            overwrite: true,
            utf8: false,
        };
        Orthanc::launch_with(dir, free_port(), None, settings)
    }

    /// A hub that keeps the first copy of an instance (Orthanc's default) and answers queries
    /// in UTF-8 (`DefaultEncoding`; Orthanc's default Latin-1 drops Chinese names from QIDO-RS).
    pub fn start_utf8_keeping_first(dir: &Path) -> Orthanc {
        Orthanc::launch_with(
            dir,
            free_port(),
            None,
            Settings {
                overwrite: false,
                utf8: true,
            },
        )
    }

    /// The same hub (archive, port) started again set to overwrite instances and answer in
    /// UTF-8: a hub whose operator fixed it after a correction failed.
    pub fn restart_overwriting(self, dir: &Path) -> Orthanc {
        let port = self.http_port;
        drop(self);
        let settings = Settings {
            overwrite: true,
            utf8: true,
        };
        Orthanc::launch_with(dir, port, None, settings)
    }

    fn launch(dir: &Path, http_port: u16, user: Option<(String, String)>) -> Orthanc {
        let settings = Settings {
            overwrite: false,
            utf8: false,
        };
        Orthanc::launch_with(dir, http_port, user, settings)
    }

    fn launch_with(
        dir: &Path,
        http_port: u16,
        user: Option<(String, String)>,
        settings: Settings,
    ) -> Orthanc {
        assert!(
            Path::new(DICOMWEB_PLUGIN).exists(),
            "{DICOMWEB_PLUGIN} missing (Debian package orthanc-dicomweb)"
        );
        std::fs::create_dir_all(dir).expect("orthanc dir");
        let mut config = serde_json::json!({
            "Name": "hub",
            "StorageDirectory": dir.join("storage"),
            "IndexDirectory": dir.join("index"),
            "HttpPort": http_port,
            "DicomPort": free_port(),
            "DicomAet": "HUB",
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": user.is_some(),
            "OverwriteInstances": settings.overwrite,
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/" }
        });
        if settings.utf8 {
            config["DefaultEncoding"] = serde_json::json!("Utf8");
        }
        if let Some((name, password)) = &user {
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
            user,
            child,
            log,
        };
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Some(plugins) = orthanc.get("/plugins") {
                assert!(
                    plugins.to_string().contains("dicom-web"),
                    "Orthanc is up without its DICOMweb plugin ({plugins}):\n{}",
                    orthanc.log_text()
                );
                return orthanc;
            }
            if let Ok(Some(status)) = orthanc.child.try_wait() {
                panic!("Orthanc exited with {status}:\n{}", orthanc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "Orthanc did not answer within {READY_TIMEOUT:?}:\n{}",
            orthanc.log_text()
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
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut request = reqwest::Client::new()
                .get(format!("http://127.0.0.1:{}{path}", self.http_port))
                .timeout(Duration::from_secs(10));
            if let Some((user, password)) = &self.user {
                request = request.basic_auth(user, Some(password));
            }
            let response = request.send().await.ok()?;
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

    /// Patient names of every instance Orthanc holds, by SOP Instance UID.
    pub fn instances(&self) -> std::collections::BTreeMap<String, String> {
        let ids = self.get("/instances").expect("GET /instances");
        ids.as_array()
            .expect("instance list")
            .iter()
            .map(|id| {
                let tags = self
                    .get(&format!(
                        "/instances/{}/simplified-tags",
                        id.as_str().expect("id")
                    ))
                    .expect("simplified-tags");
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

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
