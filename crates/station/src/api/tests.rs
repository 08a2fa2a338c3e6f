use std::sync::Arc;

use serde_json::json;

use super::account::{LoginRequest, LoginResponse};
use super::*;
use crate::config::{Config, Destination};

fn api_with_secrets(dir: &std::path::Path) -> Api {
    let mut config = Config::defaults();
    config.data_dir = dir.to_owned();
    config.auth.initial_admin_password = Some("first-admin-secret".into());
    let hub: Destination = toml::from_str(
        r#"
        name = "hub"
        url = "https://hub.example/dicom-web"
        username = "clinic01"
        password = "hub-password-secret"
        bearer_token = "hub-token-secret"
        [oauth2]
        token_url = "https://auth.example/token"
        client_id = "clinic01"
        client_secret = "oauth-client-secret"
        "#,
    )
    .expect("destination");
    config.destinations.push(hub);
    let store = Arc::new(Store::open(&dir.join("s.db")).expect("store"));
    Api::new(&config, store, Events::new()).expect("api")
}

/// The first-run admin's token, logging in with `password` (checked to be the admin's).
pub(super) fn login(api: &Api, password: &str) -> String {
    let login: LoginResponse = api
        .call_typed(
            None,
            Op::Login,
            &LoginRequest {
                username: "admin".into(),
                password: password.into(),
            },
        )
        .expect("the first-run admin logs in with the configured password");
    assert_eq!(login.user.role, Role::Admin);
    login.token
}

#[test]
fn settings_come_without_secrets_and_typed_calls_share_the_dispatcher() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = api_with_secrets(dir.path());
    let token = login(&api, "first-admin-secret");
    let settings = api
        .call(Some(&token), "settings_get", json!({}))
        .expect("settings")
        .to_string();
    for secret in [
        "first-admin-secret",
        "hub-password-secret",
        "hub-token-secret",
        "oauth-client-secret",
    ] {
        assert!(!settings.contains(secret), "{secret} leaked: {settings}");
    }
    assert!(
        settings.contains("clinic01") && settings.contains("***"),
        "{settings}"
    );

    let err = api.call(Some(&token), "no_such_op", json!({})).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = api
        .call(Some(&token), "study_get", json!({ "study": "1.2" }))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Invalid);
    assert!(err.message(Lang::En).contains("study"), "{err}");
}

/// A first run with no admin password configured: the generated one is also in a file only the
/// station's user can read (a desktop install has no console), and it logs in.
#[test]
fn a_generated_first_admin_password_is_left_in_a_private_file_that_logs_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::defaults();
    config.data_dir = dir.path().to_owned();
    config.auth.initial_admin_password = None;
    let store = Arc::new(Store::open(&dir.path().join("s.db")).expect("store"));
    let api = Api::new(&config, store, Events::new()).expect("api");
    let file = dir.path().join(INITIAL_ADMIN_PASSWORD_FILE);
    let password = std::fs::read_to_string(&file).expect("password file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the station's user reads it");
    }
    // The admin logs in with the password from the file.
    let token = login(&api, password.trim());

    // The admin sets a password of their own: the current one first, then the file goes.
    let change = |current: &str| {
        api.call(
            Some(&token),
            "password_change",
            serde_json::json!({ "current_password": current, "new_password": "clinic-admin-2026" }),
        )
    };
    let refused = change("not-the-password").expect_err("a wrong current password");
    assert_eq!(refused.field.as_deref(), Some("current_password"));
    assert!(file.exists(), "kept while the password is unchanged");
    change(password.trim()).expect("changed");
    assert!(!file.exists(), "the first-run password file is deleted");
    assert!(
        api.call(Some(&token), "me", serde_json::json!({})).is_err(),
        "the session that changed it ended too"
    );
    let relogin = |pw: &str| {
        api.call(
            None,
            "login",
            serde_json::json!({ "username": "admin", "password": pw }),
        )
    };
    assert!(
        relogin(password.trim()).is_err(),
        "the old password is over"
    );
    relogin("clinic-admin-2026").expect("the new password logs in");
}

/// Guessing a password through "change my password" on a session left open is held back like
/// guessing it at the login page: the same count, the same lock, for that computer.
#[test]
fn wrong_current_passwords_lock_like_failed_logins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::defaults();
    config.data_dir = dir.path().to_owned();
    config.auth.initial_admin_password = Some("first-admin-secret".into());
    config.auth.max_failed_logins = 3;
    let store = Arc::new(Store::open(&dir.path().join("s.db")).expect("store"));
    let api = Api::new(&config, store, Events::new()).expect("api");
    let token = login(&api, "first-admin-secret");
    let lan = crate::auth::Origin::network("192.168.1.20".parse().expect("ip"));
    let change = |current: &str| {
        api.call_from(
            lan,
            Some(&token),
            "password_change",
            json!({ "current_password": current, "new_password": "clinic-admin-2026" }),
        )
    };
    for guess in ["guess-1", "guess-2", "guess-3"] {
        let refused = change(guess).expect_err("a wrong current password");
        assert_eq!(
            refused.field.as_deref(),
            Some("current_password"),
            "{refused}"
        );
    }
    let held = change("first-admin-secret").expect_err("locked after three guesses");
    assert_eq!(held.code, ErrorCode::Throttled, "{held}");
    assert!(held.retry_after_secs.is_some_and(|s| s > 0));
    let login_there = api.call_from(
        lan,
        None,
        "login",
        json!({ "username": "admin", "password": "first-admin-secret" }),
    );
    assert_eq!(
        login_there.expect_err("the same lock").code,
        ErrorCode::Throttled,
        "the login page at that computer is held back too"
    );
    // The desktop window is another computer: it still works.
    login(&api, "first-admin-secret");
}

/// A request body as the OpenAPI document describes it: an object (absent is `{}`), `30.0` is
/// the integer 30, a number past i64 and an array are refused as not fitting (400); a value
/// the engine refuses in a request that fits is 422.
#[test]
fn a_request_is_read_as_its_document_describes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = api_with_secrets(dir.path());
    let token = login(&api, "first-admin-secret");
    let call = |op: &str, body: Value| api.call(Some(&token), op, body);
    let page = call("queue_list", json!({ "limit": 20.0, "offset": 0.0 })).expect("whole floats");
    let exact: Value = serde_json::from_str(r#"{ "until": 2251799813685247.0 }"#).expect("JSON");
    call("system_events", exact).expect("read exactly, so whole");
    assert!(page["rows"].is_array(), "{page}");
    call("status", Value::Null).expect("an absent body is {}");
    for body in [
        json!([null, null]),
        json!({ "limit": 1.5 }),
        json!({ "limit": 9_223_372_036_854_775_808u64 }),
    ] {
        let err = call("queue_list", body.clone()).expect_err("refused");
        assert_eq!(
            (err.code, err.http_status()),
            (ErrorCode::Invalid, 400),
            "{body}"
        );
    }
    let err = call("dashboard", json!({ "period_days": 0 })).expect_err("refused");
    assert_eq!((err.code, err.http_status()), (ErrorCode::Invalid, 422));
}
