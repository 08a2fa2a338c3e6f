//! A real Orthanc (Debian `orthanc` + `orthanc-dicomweb`) playing the regional hub: started on
//! free loopback ports with its own storage in the test's scratch directory, killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::free_port;

pub const ORTHANC: &str = "/usr/sbin/Orthanc";
pub const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

pub struct Orthanc {
    pub http_port: u16,
    child: Child,
    log: std::path::PathBuf,
}

impl Orthanc {
    pub fn start(dir: &Path) -> Orthanc {
        Orthanc::start_on(dir, free_port())
    }

    /// On a given HTTP port: a hub that comes up where the station has been trying to reach it.
    pub fn start_on(dir: &Path, http_port: u16) -> Orthanc {
        std::fs::create_dir_all(dir).expect("orthanc dir");
        let dicom_port = free_port();
        let config = serde_json::json!({
            "Name": "hub",
            "StorageDirectory": dir.join("storage"),
            "IndexDirectory": dir.join("index"),
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": "HUB",
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/" }
        });
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
            child,
            log,
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if orthanc.get("/system").is_some() {
                return orthanc;
            }
            if let Ok(Some(status)) = orthanc.child.try_wait() {
                panic!("Orthanc exited with {status}:\n{}", orthanc.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "Orthanc did not answer within 30 s:\n{}",
            orthanc.log_text()
        );
    }

    pub fn dicomweb_url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.http_port)
    }

    /// GET on Orthanc's own REST API, parsed as JSON; `None` when it does not answer 200.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let response = reqwest::Client::new()
                .get(format!("http://127.0.0.1:{}{path}", self.http_port))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .ok()?;
            if !response.status().is_success() {
                return None;
            }
            serde_json::from_str(&response.text().await.ok()?).ok()
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

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
