//! Logins: lockout after repeated wrong passwords (per username and computer, and per
//! computer), sessions that end after a time without use, a password change ending the user's
//! sessions.

use std::time::Duration;

use serde_json::json;

use crate::harness::api::audit;
use crate::harness::*;

fn now_ms() -> i64 {
    station::store::now_ms()
}

#[test]
fn repeated_wrong_passwords_lock_the_username_even_for_the_right_one() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().tweak(|c| {
            c.auth.max_failed_logins = 5;
            c.auth.lockout_secs = 3;
        }),
    );
    let client = Client::new(&station);
    let admin = client.admin();
    client.user(&admin, "li.tech", "technician");
    let login = |user: &str, pw: &str| {
        client.call(None, "login", json!({ "username": user, "password": pw }))
    };

    for i in 0..5 {
        let r = login("li.tech", "wrong-password");
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthenticated"),
            "attempt {i}: {r:?}"
        );
        assert_eq!(r.message(), "用户名或密码错误");
    }
    let r = login("li.tech", "li.tech-pw-1");
    assert_eq!((r.status, r.code()), (429, "throttled"), "locked: {r:?}");
    let wait: u64 = r
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=3).contains(&wait), "Retry-After {wait}");

    // An unknown username locks the same way: no telling which usernames exist.
    for _ in 0..5 {
        assert_eq!(login("nobody", "x-wrong-pw").status, 401);
    }
    assert_eq!(login("nobody", "x-wrong-pw").status, 429);
    // Other users are not affected, at the same computer either (10 failures there are under
    // the per-address limit).
    client.login("admin", ADMIN_PASSWORD);

    // The lockout ends.
    let token = poll(
        "the lockout to end",
        Duration::from_secs(30),
        Duration::from_millis(250),
        || {
            let r = login("li.tech", "li.tech-pw-1");
            (r.status == 200).then(|| r.body["token"].as_str().unwrap_or("").to_owned())
        },
    );
    assert_eq!(
        client.ok(&token, "me", json!({}))["user"]["role"],
        "technician"
    );

    let entries = audit(
        &client,
        &admin,
        json!({ "subject": "li.tech", "action_prefix": "login" }),
    );
    let count = |a: &str| entries.iter().filter(|e| e["action"] == a).count();
    assert_eq!(count("login.failed"), 5, "{entries:?}");
    assert!(count("login.throttled") >= 1, "{entries:?}");
    assert_eq!(
        count("login"),
        2,
        "first login by the test helper, then after the lockout"
    );
}

#[test]
fn a_wrong_password_storm_from_one_computer_locks_that_computer_not_the_staff_elsewhere() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().tweak(|c| {
            c.auth.max_failed_logins = 3;
            c.auth.max_failed_logins_per_address = 7;
            c.auth.lockout_secs = 600;
        }),
    );
    let desk = Client::new(&station);
    let stranger_ip = Some("127.0.0.2".parse().expect("ip"));
    let stranger = Client::from_address(station.http_port, stranger_ip, &[]);
    let admin = desk.admin();
    desk.user(&admin, "li.tech", "technician");
    let login = |client: &Client, user: &str, pw: &str, lang: &str| {
        client.call_lang(
            None,
            "login",
            json!({ "username": user, "password": pw }),
            lang,
        )
    };

    // The stranger guesses li.tech's password until li.tech is locked at the stranger's PC.
    for i in 0..3 {
        let r = login(&stranger, "li.tech", &format!("guess-{i}"), "zh-CN");
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthenticated"),
            "guess {i}: {r:?}"
        );
    }
    let r = login(&stranger, "li.tech", "li.tech-pw-1", "zh-CN");
    assert_eq!((r.status, r.code()), (429, "throttled"), "{r:?}");
    assert!(
        r.message().contains("这台电脑") && r.message().contains("换一台电脑"),
        "says it is this computer and another one works: {}",
        r.message()
    );
    let wait: u64 = r
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds");
    assert!((500..=600).contains(&wait), "Retry-After {wait}");
    // li.tech at their own PC is not locked out.
    desk.login("li.tech", "li.tech-pw-1");

    // Spraying other usernames from the same PC locks the PC itself (3 + 4 = 7 failures),
    // even for an account whose password is right and that it never guessed at.
    for user in ["admin", "zhang", "wang"] {
        assert_eq!(
            login(&stranger, user, "spray-pw-1", "zh-CN").status,
            401,
            "{user}"
        );
    }
    let r = login(&stranger, "nobody", "spray-pw-1", "en");
    assert_eq!(
        r.status, 401,
        "the 7th failure is still answered as a wrong password"
    );
    let r = login(&stranger, "admin", ADMIN_PASSWORD, "en");
    assert_eq!((r.status, r.code()), (429, "throttled"), "{r:?}");
    assert_eq!(
        r.message(),
        format!(
            "too many failed logins from this computer: try again in {} s",
            r.retry_after.as_deref().unwrap_or("?")
        )
    );
    // Claiming in a header to be another computer changes nothing: the peer address decides.
    let forger = Client::from_address(
        station.http_port,
        stranger_ip,
        &[
            ("x-forwarded-for", "127.0.0.1"),
            ("x-real-ip", "127.0.0.1"),
            ("forwarded", "for=127.0.0.1"),
        ],
    );
    let r = login(&forger, "admin", ADMIN_PASSWORD, "zh-CN");
    assert_eq!((r.status, r.code()), (429, "throttled"), "{r:?}");

    // Hammering the locked computer's refusals (no password check, so they are cheap) does
    // not grow the audit trail a row at a time.
    for i in 0..30 {
        let r = login(&stranger, &format!("user{i}"), "spray-pw-1", "zh-CN");
        assert_eq!(r.status, 429, "{r:?}");
    }
    // Everyone at another computer still logs in, the admin included.
    desk.login("admin", ADMIN_PASSWORD);
    desk.login("li.tech", "li.tech-pw-1");

    // The admin sees where the guesses came from.
    let entries = audit(&desk, &admin, json!({ "action_prefix": "login" }));
    let from = |action: &str, addr: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action)
            .filter(|e| {
                e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(&format!("from {addr}"))
            })
            .count()
    };
    assert_eq!(from("login.failed", "127.0.0.2"), 7, "{entries:?}");
    assert_eq!(from("login.throttled", "127.0.0.2"), 2, "{entries:?}");
    let locked = entries
        .iter()
        .find(|e| e["action"] == "login.throttled" && e["subject"] == "127.0.0.2")
        .expect("the locked computer's entry");
    assert_eq!(locked["repeats"], 32, "{locked}");
    assert_eq!(from("login.failed", "127.0.0.1"), 0, "{entries:?}");
    assert!(from("login", "127.0.0.1") >= 4, "{entries:?}");
}

#[test]
fn a_session_ends_after_its_time_without_use_and_use_extends_it() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().tweak(|c| c.auth.session_ttl_secs = 6),
    );
    let client = Client::new(&station);
    let r = client.call(
        None,
        "login",
        json!({ "username": "admin", "password": ADMIN_PASSWORD }),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let token = r.body["token"].as_str().expect("token").to_owned();
    let first_end = r.body["expires_at"].as_i64().expect("expires_at");
    assert!(first_end > now_ms() && first_end <= now_ms() + 6_000);

    // Past half of its time, a use pushes the end back.
    wait_for(
        "half the session time to pass",
        Duration::from_secs(20),
        || (first_end - now_ms() < 2_500).then_some(()),
    );
    let me = client.ok(&token, "me", json!({}));
    let extended = me["expires_at"].as_i64().expect("expires_at");
    assert!(extended > first_end, "{extended} > {first_end}");

    // Unused until its end: over.
    wait_for("the session's end", Duration::from_secs(20), || {
        (now_ms() > extended + 50).then_some(())
    });
    let r = client.call(Some(&token), "me", json!({}));
    assert_eq!((r.status, r.code()), (401, "unauthenticated"), "{r:?}");
    let (status, _) = client.get_as(&token, "/api/events");
    assert_eq!(status, 401, "the event stream checks the session too");
}

#[test]
fn a_busy_session_still_ends_at_its_absolute_limit_after_login() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().tweak(|c| {
            c.auth.session_ttl_secs = 4;
            c.auth.session_max_secs = 6;
        }),
    );
    let client = Client::new(&station);
    let logged_in = now_ms();
    let token = client.login("admin", ADMIN_PASSWORD);
    // Used every half second: never idle, yet over six seconds after the login.
    let mut last_ok = logged_in;
    let step = Duration::from_millis(500);
    let ended = poll("the session to end", Duration::from_secs(30), step, || {
        let r = client.call(Some(&token), "me", json!({}));
        if r.status == 200 {
            let end = r.body["expires_at"].as_i64().expect("expires_at");
            assert!(end <= logged_in + 6_000 + 1_000, "end {end} past the limit");
            last_ok = now_ms();
            return None;
        }
        assert_eq!(r.code(), "unauthenticated", "{r:?}");
        Some(now_ms())
    });
    assert!(
        last_ok - logged_in > 4_000,
        "it was extended past its idle time"
    );
    assert!(
        ended - logged_in < 6_000 + 1_500,
        "ended {} ms after login",
        ended - logged_in
    );
}

#[test]
fn a_new_password_role_or_a_disabled_account_ends_sessions_and_the_last_admin_stays() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);
    let admin = client.admin();
    let doctor = client.user(&admin, "dr.wang", "doctor");
    let mut events = client.events(&doctor);
    client.ok(
        &admin,
        "user_update",
        json!({ "username": "dr.wang", "password": "a-new-password" }),
    );
    assert_eq!(client.call(Some(&doctor), "me", json!({})).status, 401);
    assert!(
        client.stream_ends(&mut events, Duration::from_secs(40)),
        "the ended session's event stream closes"
    );
    let r = client.call(
        None,
        "login",
        json!({ "username": "dr.wang", "password": "dr.wang-pw-1" }),
    );
    assert_eq!(r.status, 401, "the old password no longer works");
    // A new role: the open window must not keep what the old role could see.
    let doctor = client.login("dr.wang", "a-new-password");
    client.ok(
        &admin,
        "user_update",
        json!({ "username": "dr.wang", "role": "maintenance" }),
    );
    assert_eq!(client.call(Some(&doctor), "me", json!({})).status, 401);
    let doctor = client.login("dr.wang", "a-new-password");
    client.ok(
        &admin,
        "user_update",
        json!({ "username": "dr.wang", "active": false }),
    );
    assert_eq!(client.call(Some(&doctor), "me", json!({})).status, 401);
    let r = client.call(
        None,
        "login",
        json!({ "username": "dr.wang", "password": "a-new-password" }),
    );
    assert_eq!(r.status, 401, "a disabled account cannot log in");

    let r = client.call(
        Some(&admin),
        "user_update",
        json!({ "username": "admin", "role": "doctor" }),
    );
    assert_eq!((r.status, r.code()), (409, "conflict"), "{r:?}");
    let r = client.call(
        Some(&admin),
        "user_create",
        json!({ "username": "short", "role": "doctor", "password": "1234" }),
    );
    assert_eq!((r.status, r.code()), (422, "invalid"), "{r:?}");
    let users = client.ok(&admin, "users_list", json!({}));
    let text = users.to_string();
    assert!(
        !text.contains("argon2"),
        "no password hash leaves the station: {text}"
    );
}

#[test]
fn station_user_cli_manages_users_the_running_station_accepts() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);
    let cli = |args: &[&str]| {
        let run = run_tool(
            std::process::Command::new(STATION_BIN)
                .args(["user"])
                .args(args)
                .arg("--config")
                .arg(&station.config)
                .env_remove("STATION_USER_PASSWORD"),
        );
        run.assert_success(&format!("station user {args:?}"));
        run.log
    };
    cli(&[
        "add",
        "zhang.mgr",
        "--role",
        "manager",
        "--display-name",
        "张经理",
        "--password",
        "manager-pw-1",
    ]);
    let token = client.login("zhang.mgr", "manager-pw-1");
    let me = client.ok(&token, "me", json!({}));
    assert_eq!(me["user"]["role"], "manager");
    assert_eq!(me["user"]["display_name"], "张经理");
    let list = cli(&["list"]);
    assert!(
        list.contains("zhang.mgr") && list.contains("manager"),
        "{list}"
    );

    // A reset without --password prints a new random one; the old one and its session end.
    let out = cli(&["passwd", "zhang.mgr"]);
    let new_pw = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("the new password is printed")
        .trim()
        .to_owned();
    assert_eq!(client.call(Some(&token), "me", json!({})).status, 401);
    client.login("zhang.mgr", &new_pw);

    let admin = client.admin();
    let entries = audit(&client, &admin, json!({ "actor": "cli" }));
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["user.update", "user.create"], "{entries:?}");
}
