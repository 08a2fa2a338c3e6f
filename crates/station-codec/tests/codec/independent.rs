//! Checking our output with other readers and decoders through tests/verify_pixels.py: pydicom
//! (the DICOM side: attributes, offsets, fragments, and decoding through its CharLS and OpenJPEG
//! plug-ins), DCMTK's dcmdjpls (its own JPEG-LS decoder, as Orthanc uses it) and Grok's
//! grk_decompress (a separately maintained JPEG 2000 codec). hayro.rs adds a JPEG 2000 decoder
//! with no OpenJPEG lineage at all. scripts/test.sh installs them and sets STATION_TEST_PYTHON.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Case {
    pub name: String,
    pub original: PathBuf,
    pub encoded: PathBuf,
    pub transfer_syntax: &'static str,
    pub photometric: String,
    pub planar: Option<u16>,
    pub frames: u32,
    /// A copy DCMTK decompressed from `encoded`, to check as well.
    pub dcmtk: Option<PathBuf>,
    /// Decode the JPEG 2000 frames with Grok too.
    pub grok: bool,
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn json_path(p: &Path) -> String {
    json_string(&p.to_string_lossy())
}

pub fn python() -> PathBuf {
    std::env::var_os("STATION_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// DCMTK's JPEG-LS decoder (its own, not CharLS 2): `encoded` to native.
pub fn dcmdjpls(encoded: &Path, out: &Path) {
    let status = Command::new("/usr/bin/dcmdjpls")
        .arg(encoded)
        .arg(out)
        .status()
        .expect("run /usr/bin/dcmdjpls (Debian package dcmtk)");
    assert!(status.success(), "dcmdjpls failed on {}", encoded.display());
}

/// Runs the checks on every case; panics with the script's report unless each one passed.
pub fn verify(dir: &Path, cases: &[Case]) {
    let items: Vec<String> = cases
        .iter()
        .map(|c| {
            format!(
                "{{\"name\":{},\"original\":{},\"encoded\":{},\"transfer_syntax\":{},\"photometric\":{},\"planar\":{},\"frames\":{},\"dcmtk\":{},\"grok\":{}}}",
                json_string(&c.name),
                json_path(&c.original),
                json_path(&c.encoded),
                json_string(c.transfer_syntax),
                json_string(&c.photometric),
                c.planar.map_or("null".to_string(), |p| p.to_string()),
                c.frames,
                c.dcmtk.as_deref().map_or("null".to_string(), json_path),
                c.grok,
            )
        })
        .collect();
    let list = dir.join("cases.json");
    std::fs::write(&list, format!("[{}]", items.join(","))).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_pixels.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(&list)
        .output()
        .unwrap_or_else(|e| panic!("run {} {}: {e}", python().display(), script.display()));
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    let passed = report.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(
        output.status.success() && passed == cases.len(),
        "independent decoders disagree ({passed} of {} cases ok); needs pydicom, pyjpegls, \
         pylibjpeg-openjpeg and numpy in STATION_TEST_PYTHON (scripts/test.sh sets it up):\n{report}\n{errors}",
        cases.len()
    );
}
