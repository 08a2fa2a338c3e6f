use super::*;

fn load_str(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("station.toml");
    std::fs::write(&path, text).expect("write");
    Config::load(Some(&path), &Overrides::default())
}

#[test]
fn defaults_are_valid_and_usable() {
    let c = Config::load(None, &Overrides::default()).expect("defaults load");
    assert_eq!(c.dicom.ae_title, "STATION");
    assert_eq!(c.dicom.port, 11112);
    assert!(c.dicom.allowed_callers.is_empty());
    assert!(c.dicom.max_pdu_length >= 65536);
}

#[test]
fn file_overrides_part_and_keeps_the_rest() {
    let c = load_str("[dicom]\nae_title = \"CLINIC1\"\n").expect("load");
    assert_eq!(c.dicom.ae_title, "CLINIC1");
    assert_eq!(c.dicom.port, 11112);
}

#[test]
fn unknown_key_is_named() {
    let err = load_str("[dicom]\nae_titel = \"X\"\n").expect_err("must fail");
    assert!(err.to_string().contains("ae_titel"), "{err}");
}

#[test]
fn bad_value_is_named() {
    let err = load_str("[dicom]\nport = \"eleven\"\n").expect_err("must fail");
    assert!(err.to_string().contains("port"), "{err}");
    let err =
        load_str("[dicom]\nae_title = \"THIS_AE_TITLE_IS_TOO_LONG\"\n").expect_err("must fail");
    assert!(err.to_string().contains("ae_title"), "{err}");
}

#[test]
fn device_profiles_and_uid_root_are_checked_and_named() {
    let c = load_str(
        "[station]\nuid_root = \"1.2.156.1\"\n[[watch]]\npath = \"/srv/ecg\"\n\
         device = { modality = \"ECG\", writes = [\"pdf\", \"aecg\"] }\n",
    )
    .expect("load");
    let device = c.watch[0].device.as_ref().expect("profile");
    assert_eq!(
        (device.modality.as_str(), device.exam_gap_secs),
        ("ECG", 300)
    );
    assert_eq!(c.station.uid_root.as_deref(), Some("1.2.156.1"));
    let err = load_str(
        "[[watch]]\npath = \"/srv/ecg\"\ndevice = { modality = \"ECG\", writes = [\"tiff\"] }\n",
    )
    .expect_err("tiff is not converted");
    assert!(
        err.to_string().contains("watch.device") && err.to_string().contains("tiff"),
        "{err}"
    );
    let err = load_str("[station]\nuid_root = \"1.02.3\"\n").expect_err("leading zero");
    assert!(err.to_string().contains("uid_root"), "{err}");
}

#[test]
fn command_line_wins_over_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("station.toml");
    std::fs::write(&path, "[dicom]\nport = 104\n").expect("write");
    let o = Overrides {
        dicom_port: Some(4242),
        ae_title: Some("CLI".into()),
        ..Default::default()
    };
    let c = Config::load(Some(&path), &o).expect("load");
    assert_eq!(c.dicom.port, 4242);
    assert_eq!(c.dicom.ae_title, "CLI");
}

#[test]
fn report_targets_replace_the_defaults_and_bad_ones_are_named() {
    let c = load_str(
        "[reports]\nclinic_name = \"某某镇卫生院\"\n\
         [[reports.targets]]\nmodality = \"ECG\"\npriority = \"*\"\nminutes = 15\n",
    )
    .expect("load");
    assert_eq!(c.reports.clinic_name, "某某镇卫生院");
    assert_eq!(
        c.reports.targets.len(),
        1,
        "a file's targets replace the defaults"
    );
    assert_eq!(
        c.reports.urgent_poll_secs, 30,
        "other keys keep their defaults"
    );
    let c = load_str(
        "[[destinations]]\nname = \"hub\"\nurl = \"http://h/dicom-web\"\n\
         [[destinations]]\nname = \"archive\"\nurl = \"http://a/dicom-web\"\npoll_reports = false\n",
    )
    .expect("load");
    let polled: Vec<bool> = c.destinations.iter().map(|d| d.poll_reports).collect();
    assert_eq!(
        polled,
        [true, false],
        "reports are looked for unless turned off"
    );
    let err = load_str("[[reports.targets]]\nmodality = \"*\"\npriority = \"soon\"\nminutes = 5\n")
        .expect_err("must fail");
    assert!(err.to_string().contains("reports.targets"), "{err}");
}

#[test]
fn credentials_over_plain_http_to_another_computer_need_allow_insecure() {
    let hub = |url: &str, extra: &str| {
        load_str(&format!(
            "[[destinations]]\nname = \"hub\"\nurl = \"{url}\"\n{extra}"
        ))
    };
    let basic = "username = \"clinic\"\npassword = \"secret-1\"\n";
    let err = hub("http://hub.example:8042/dicom-web", basic).expect_err("refused");
    assert!(err.to_string().contains("allow_insecure"), "{err}");
    let err = hub("http://10.0.0.5/dicom-web", "bearer_token = \"t\"\n").expect_err("refused");
    assert!(err.to_string().contains("http://"), "{err}");
    let oauth = "[destinations.oauth2]\ntoken_url = \"http://auth.example/token\"\n\
                 client_id = \"c\"\nclient_secret = \"s\"\n";
    hub("https://hub.example/dicom-web", oauth).expect_err("a token server in clear is refused");

    // Allowed: said so, over TLS, without credentials, or to this computer.
    hub(
        "http://hub.example/dicom-web",
        &format!("allow_insecure = true\n{basic}"),
    )
    .expect("the admin said the link is trusted");
    hub("https://hub.example/dicom-web", basic).expect("TLS");
    hub("http://hub.example/dicom-web", "").expect("no credentials");
    hub("http://127.0.0.1:8042/dicom-web", basic).expect("loopback");
    hub("http://localhost:8042/dicom-web", basic).expect("loopback by name");
    hub("http://[::1]:8042/dicom-web", basic).expect("IPv6 loopback");
    hub("http://127.0.0.1.evil.example/dicom-web", basic).expect_err("not loopback");
}

#[test]
fn worklist_callers_are_titles_and_must_be_allowed_callers_when_those_are_listed() {
    let mut c = Config::defaults();
    assert!(
        c.dicom.worklist_callers.is_empty(),
        "private by default: no device reads the worklist until listed"
    );
    c.dicom.worklist_callers = vec!["US1".into()];
    assert!(c.validate().is_ok(), "anyone may call: US1 may be listed");
    c.dicom.allowed_callers = vec!["DR1".into()];
    let err = c.validate().expect_err("US1 cannot associate at all");
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: Setting::WorklistCallers,
            ..
        }
    ));
    c.dicom.allowed_callers.push("US1".into());
    assert!(c.validate().is_ok());
    c.dicom.reserved_associations = c.dicom.max_associations;
    assert!(c.validate().is_err(), "a reserve of every slot leaves none");
}

#[test]
fn tls_is_off_by_default_and_files_need_both_paths() {
    let c = Config::load(None, &Overrides::default()).expect("defaults load");
    assert_eq!(c.http.tls, TlsMode::Off);
    let c = load_str("[http]\ntls = \"self-signed\"\n").expect("self-signed");
    assert_eq!(c.http.tls, TlsMode::SelfSigned);
    let c = load_str("[http]\ntls = \"files\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n")
        .expect("files");
    assert_eq!(c.http.tls_key.as_deref(), Some(Path::new("k.pem")));
    for (text, named) in [
        ("tls = \"files\"\ntls_cert = \"c.pem\"\n", "tls_key"),
        ("tls = \"self-signed\"\ntls_key = \"k.pem\"\n", "tls_cert"),
        ("tls = \"on\"\n", "tls"),
    ] {
        let err = load_str(&format!("[http]\n{text}")).expect_err(text);
        assert!(err.to_string().contains(named), "{text}: {err}");
    }
}

#[test]
fn query_callers_and_move_destinations_are_checked_like_the_other_callers() {
    let mut c = Config::defaults();
    assert!(
        c.dicom.query_callers.is_empty() && c.dicom.move_destinations.is_empty(),
        "private by default: nobody queries or retrieves until listed"
    );
    c.dicom.query_callers = vec!["VIEWER".into()];
    c.dicom.allowed_callers = vec!["DR1".into()];
    let err = c.validate().expect_err("VIEWER cannot associate at all");
    assert!(matches!(
        err,
        ConfigError::Invalid {
            setting: Setting::QueryCallers,
            ..
        }
    ));
    c.dicom.allowed_callers.push("VIEWER".into());
    assert!(c.validate().is_ok());
    let dest = |ae: &str, port| super::MoveDestination {
        ae_title: ae.into(),
        host: "127.0.0.1".into(),
        port,
    };
    c.dicom.move_destinations = vec![dest("VIEWER", 104)];
    assert!(c.validate().is_ok());
    for bad in [
        vec![dest("", 104)],
        vec![dest("VIEWER", 0)],
        vec![dest("A\\B", 104)],
        vec![dest("VIEWER", 104), dest("VIEWER", 105)],
    ] {
        c.dicom.move_destinations = bad.clone();
        assert!(
            matches!(
                c.validate(),
                Err(ConfigError::Invalid {
                    setting: Setting::MoveDestinations,
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn transfer_syntax_is_one_of_three_words_and_defaults_to_jpeg_ls() {
    use crate::config::WireSyntax;
    let hub = |extra: &str| {
        load_str(&format!(
            "[[destinations]]\nname = \"hub\"\nurl = \"http://127.0.0.1/dicom-web\"\n{extra}"
        ))
    };
    let syntax = |extra: &str| hub(extra).expect("valid").destinations[0].transfer_syntax;
    assert_eq!(syntax(""), WireSyntax::JpegLsLossless);
    assert_eq!(
        syntax("transfer_syntax = \"jpeg-ls-lossless\""),
        WireSyntax::JpegLsLossless
    );
    assert_eq!(
        syntax("transfer_syntax = \"jpeg2000-lossless\""),
        WireSyntax::Jpeg2000Lossless
    );
    assert_eq!(
        syntax("transfer_syntax = \"as-received\""),
        WireSyntax::AsReceived
    );
    let err = hub("transfer_syntax = \"jpeg-lossy\"").expect_err("refused");
    assert!(err.to_string().contains("transfer_syntax"), "{err}");
}

#[test]
fn compression_is_auto_unless_always_and_auto_is_not_written_back() {
    use crate::config::WireCompression;
    let hub = |extra: &str| {
        load_str(&format!(
            "[[destinations]]\nname = \"hub\"\nurl = \"http://127.0.0.1/dicom-web\"\n{extra}"
        ))
    };
    let auto = hub("").expect("valid");
    assert_eq!(auto.destinations[0].compression, WireCompression::Auto);
    let written = serde_json::to_value(&auto.destinations[0]).expect("json");
    assert!(written.get("compression").is_none(), "{written}");
    let always = hub("compression = \"always\"").expect("valid");
    assert_eq!(always.destinations[0].compression, WireCompression::Always);
    let err = hub("compression = \"sometimes\"").expect_err("refused");
    assert!(err.to_string().contains("compression"), "{err}");
}
