use super::*;

fn load(path: &Path) -> Config {
    Config::load(Some(path), &Overrides::default()).expect("the written file loads")
}

#[test]
fn edits_keep_the_admins_comments_and_other_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("station.toml");
    std::fs::write(
        &path,
        "# our clinic\n[dicom]\nae_title = \"CLINIC1\" # printed on the DR\nallowed_callers = [\"DR1\"]\n\n\
         # the county hub\n[[destinations]]\nname = \"hub\" # do not rename\nurl = \"https://old/dicom-web\"\n\
         password = \"s3cret\"\n",
    )
    .expect("write");
    let mut config = load(&path);
    config.dicom.allowed_callers.push("US2".into());
    config.destinations[0].url = "https://new:8042/dicom-web".into();
    config.reports.targets.truncate(1);
    config.reports.targets[0].minutes = 20;
    write_editable(&path, &config).expect("written");

    let text = std::fs::read_to_string(&path).expect("read");
    for kept in [
        "# our clinic",
        "# printed on the DR",
        "# the county hub",
        "# do not rename",
    ] {
        assert!(text.contains(kept), "{kept:?} lost:\n{text}");
    }
    let again = load(&path);
    assert_eq!(again.dicom.ae_title, "CLINIC1");
    assert_eq!(again.dicom.allowed_callers, ["DR1", "US2"]);
    assert_eq!(again.destinations[0].url, "https://new:8042/dicom-web");
    assert_eq!(
        again.destinations[0].password,
        Some(super::super::Secret("s3cret".into()))
    );
    assert_eq!(again.reports.targets, config.reports.targets);
    assert!(!dir.path().join(".station.toml.saving").exists());
}

#[test]
fn a_new_file_holds_the_edits_and_empty_lists_stay_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data").join("station.toml");
    let mut config = Config::defaults();
    config.reports.targets.clear();
    config.watch.push(WatchFolder {
        path: "/srv/ecg".into(),
        settle_ms: 1500,
        rescan_secs: 30,
        device: Some(super::super::DeviceProfile {
            modality: "ECG".into(),
            writes: vec!["pdf".into()],
            name: "ECG-1250".into(),
            exam_gap_secs: 300,
        }),
    });
    write_editable(&path, &config).expect("written");
    let again = load(&path);
    assert!(again.reports.targets.is_empty(), "no targets means none");
    assert_eq!(again.watch, config.watch);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "secrets may live here: only the owner reads it"
        );
    }
}
