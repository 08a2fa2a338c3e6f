use std::sync::Arc;

use serde_json::json;

use super::account::{LoginRequest, LoginResponse};
use super::*;
use crate::config::{Config, Destination};

fn api_with_secrets(dir: &std::path::Path) -> Api {
    let mut config = Config::defaults();
    config.data_dir = dir.to_owned();
    config.auth.initial_admin_password = Some("first-admin-secret".into());
    config.destinations.push(Destination {
        name: "hub".into(),
        url: "https://hub.example/dicom-web".into(),
        modalities: vec![],
        calling_aes: vec![],
        sop_classes: vec![],
        username: Some("clinic01".into()),
        password: Some("hub-password-secret".into()),
        bearer_token: Some("hub-token-secret".into()),
        timeout_secs: 30,
        batch_instances: 10,
        batch_mb: 50,
        retry_max_secs: 60,
    });
    let store = Arc::new(Store::open(&dir.join("s.db")).expect("store"));
    Api::new(&config, store, Events::new()).expect("api")
}

#[test]
fn settings_come_without_secrets_and_typed_calls_share_the_dispatcher() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = api_with_secrets(dir.path());
    let login: LoginResponse = api
        .call_typed(
            None,
            Op::Login,
            &LoginRequest {
                username: "admin".into(),
                password: "first-admin-secret".into(),
            },
        )
        .expect("first-run admin logs in with the configured password");
    assert_eq!(login.user.role, Role::Admin);
    let settings = api
        .call(Some(&login.token), "settings_get", json!({}))
        .expect("settings")
        .to_string();
    for secret in [
        "first-admin-secret",
        "hub-password-secret",
        "hub-token-secret",
    ] {
        assert!(!settings.contains(secret), "{secret} leaked: {settings}");
    }
    assert!(
        settings.contains("clinic01") && settings.contains("***"),
        "{settings}"
    );

    let err = api
        .call(Some(&login.token), "no_such_op", json!({}))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = api
        .call(Some(&login.token), "study_get", json!({ "study": "1.2" }))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid);
    assert!(err.message(Lang::En).contains("study"), "{err}");
}
