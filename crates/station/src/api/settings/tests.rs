use std::sync::Arc;

use serde_json::{json, Value};

use super::SettingsUpdate;
use crate::api::{Api, ErrorCode, Lang};
use crate::config::{Config, Overrides};
use crate::events::Events;
use crate::store::Store;

/// An API over a config file with one hub holding a password, and an admin's token.
fn api_with_file(dir: &std::path::Path) -> (Api, String, std::path::PathBuf) {
    let file = dir.join("station.toml");
    std::fs::write(
        &file,
        format!(
            "data_dir = {:?}\n[auth]\ninitial_admin_password = \"admin-pw-1234\"\n\n\
             # the county hub\n[[destinations]]\nname = \"hub\"\nurl = \"https://hub.example/dicom-web\"\n\
             username = \"clinic01\"\npassword = \"hub-password-secret\"\n",
            dir.join("data").display().to_string()
        ),
    )
    .expect("config");
    let config = Config::load(Some(&file), &Overrides::default()).expect("load");
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let store = Arc::new(Store::open(&config.db_path()).expect("store"));
    let api = Api::new(&config, store, Events::new()).expect("api");
    let token = admin_token(&api);
    (api, token, file)
}

fn admin_token(api: &Api) -> String {
    crate::api::tests::login(api, "admin-pw-1234")
}

/// The update the Settings page would send back unchanged.
fn as_shown(api: &Api) -> Value {
    serde_json::to_value(SettingsUpdate::unchanged(&api.config())).expect("json")
}

#[test]
fn a_saved_change_keeps_untyped_secrets_is_applied_and_audited_without_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, token, file) = api_with_file(dir.path());
    let mut update = as_shown(&api);
    assert_eq!(update["destinations"][0]["password"], "***");
    update["allowed_callers"] = json!(["DR1", "US2"]);
    update["destinations"][0]["url"] = json!("https://hub2.example:8042/dicom-web");
    update["targets"] = json!([{ "modality": "ECG", "priority": "*", "minutes": 15 }]);
    let applied = api
        .call(Some(&token), "settings_update", update)
        .expect("saved");
    assert_eq!(
        applied["changed"],
        json!(["allowed_callers", "destinations", "targets"])
    );
    assert!(!applied.to_string().contains("hub-password-secret"));

    let live = api.config();
    assert_eq!(live.dicom.allowed_callers, ["DR1", "US2"]);
    assert_eq!(
        live.destinations[0].url,
        "https://hub2.example:8042/dicom-web"
    );
    let text = std::fs::read_to_string(&file).expect("file");
    assert!(text.contains("# the county hub"), "{text}");
    let reloaded = Config::load(Some(&file), &Overrides::default()).expect("reload");
    assert_eq!(
        reloaded.destinations[0]
            .password
            .as_ref()
            .map(|s| s.0.as_str()),
        Some("hub-password-secret"),
        "*** kept the password"
    );
    assert_eq!(reloaded.reports.targets.len(), 1);

    let audit = api
        .call(Some(&token), "audit_list", json!({}))
        .expect("audit")
        .to_string();
    assert!(audit.contains("settings.update"), "{audit}");
    assert!(audit.contains("hub2.example"), "{audit}");
    assert!(!audit.contains("hub-password-secret"), "{audit}");
}

#[test]
fn a_bad_url_is_refused_naming_the_field_and_the_file_is_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, token, file) = api_with_file(dir.path());
    let before = std::fs::read_to_string(&file).expect("file");
    let mut update = as_shown(&api);
    update["destinations"][0]["url"] = json!("hub.example/dicom-web");
    let err = api
        .call(Some(&token), "settings_update", update)
        .expect_err("refused");
    assert_eq!(err.code, ErrorCode::Invalid);
    assert_eq!(err.field.as_deref(), Some("destinations[0].url"));
    assert!(err.message(Lang::Zh).contains("http://"), "{err}");
    assert!(err.message(Lang::En).contains("destinations.url"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).expect("file"), before);
    assert_eq!(
        api.config().destinations[0].url,
        "https://hub.example/dicom-web"
    );

    let mut update = as_shown(&api);
    update["destinations"][0]["name"] = json!("hub-renamed");
    let err = api
        .call(Some(&token), "settings_update", update)
        .expect_err("a renamed destination's *** has nothing to keep");
    assert_eq!(err.field.as_deref(), Some("destinations[0].password"));
    let mut update = as_shown(&api);
    update["targets"] = json!([{ "modality": "DX", "priority": "soon", "minutes": 5 }]);
    let err = api
        .call(Some(&token), "settings_update", update)
        .expect_err("bad priority");
    assert_eq!(err.field.as_deref(), Some("targets[0]"));
    assert_eq!(std::fs::read_to_string(&file).expect("file"), before);
}

#[test]
fn on_embedded_defaults_settings_go_to_the_data_directory_and_are_read_at_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let overrides = Overrides {
        data_dir: Some(data_dir.clone()),
        ..Default::default()
    };
    let mut config = Config::load(None, &overrides).expect("defaults");
    config.auth.initial_admin_password = Some("admin-pw-1234".into());
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let store = Arc::new(Store::open(&config.db_path()).expect("store"));
    let api = Api::new(&config, store, Events::new()).expect("api");
    let token = admin_token(&api);
    let mut update = as_shown(&api);
    update["allowed_callers"] = json!(["ECG1"]);
    update["send_while_receiving"] = json!(false);
    api.call(Some(&token), "settings_update", update)
        .expect("saved");
    assert!(data_dir.join("station.toml").is_file());
    let next_start = Config::load(None, &overrides).expect("next start");
    assert_eq!(next_start.dicom.allowed_callers, ["ECG1"]);
    assert!(!next_start.studies.send_while_receiving);
    assert_eq!(next_start.file, Some(data_dir.join("station.toml")));
}

#[test]
fn a_hub_password_over_plain_http_needs_allow_insecure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, token, _) = api_with_file(dir.path());
    // The hub's password over plain http:// to another computer: refused unless said so.
    let mut update = as_shown(&api);
    update["destinations"][0]["url"] = json!("http://hub.example/dicom-web");
    let err = api
        .call(Some(&token), "settings_update", update.clone())
        .expect_err("refused");
    assert_eq!(err.field.as_deref(), Some("destinations[0].url"));
    assert!(err.message(Lang::Zh).contains("允许不加密"), "{err}");
    update["destinations"][0]["allow_insecure"] = json!(true);
    api.call(Some(&token), "settings_update", update)
        .expect("the admin said the link is trusted");
    assert!(api.config().destinations[0].allow_insecure);
}

/// The admin forgets that the hub refused JPEG-LS: the settings no longer show it, the audit
/// trail says who did it, and the sync's next look finds no refusal. An unknown destination is
/// refused by name.
#[test]
fn a_remembered_refusal_is_forgotten_by_the_admin_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, token, _) = api_with_file(dir.path());
    crate::store::wire::record_refusal(&api.store.lock(), "hub", "jpeg-ls-lossless", "HTTP 415")
        .expect("remembered");
    let shown = api
        .call(Some(&token), "settings_get", json!({}))
        .expect("settings");
    assert_eq!(shown["wire_refusals"].as_array().map(Vec::len), Some(1));

    let forgot = api
        .call(
            Some(&token),
            "wire_refusal_forget",
            json!({ "destination": "hub" }),
        )
        .expect("forgotten");
    assert_eq!(
        forgot,
        json!({ "destination": "hub", "forgotten": ["jpeg-ls-lossless"] })
    );
    let shown = api
        .call(Some(&token), "settings_get", json!({}))
        .expect("settings");
    assert_eq!(shown["wire_refusals"], json!([]));
    let refusal =
        crate::store::wire::refusal(&api.store.lock(), "hub", "jpeg-ls-lossless").expect("read");
    assert_eq!(refusal, None);
    let audit = api
        .call(Some(&token), "audit_list", json!({}))
        .expect("audit")
        .to_string();
    assert!(audit.contains("destination.refusal_forget"), "{audit}");

    let err = api
        .call(
            Some(&token),
            "wire_refusal_forget",
            json!({ "destination": "nowhere" }),
        )
        .expect_err("unknown");
    assert_eq!(err.code, ErrorCode::NotFound);
    assert_eq!(err.field.as_deref(), Some("destination"));
}
