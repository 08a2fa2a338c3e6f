//! The desktop app runs the station in its own process and stops it on quit: an open browser
//! event stream must not keep it from stopping.

use std::time::Duration;

use crate::harness::*;

#[test]
fn an_open_event_stream_does_not_hold_up_shutdown() {
    let scratch = Scratch::new();
    let mut config = station::config::Config::defaults();
    config.data_dir = scratch.join("data");
    config.dicom.bind = "127.0.0.1".into();
    config.dicom.port = 0;
    config.http.port = 0;
    config.auth.initial_admin_password = Some(ADMIN_PASSWORD.into());
    let running = station::serve::Station::start(&config).expect("station starts in-process");
    let base = format!("http://127.0.0.1:{}", running.http_addr.port());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let token = rt.block_on(async {
        let body = serde_json::json!({ "username": "admin", "password": ADMIN_PASSWORD });
        let resp = http
            .post(format!("{base}/api/login"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("login");
        let v: serde_json::Value =
            serde_json::from_str(&resp.text().await.expect("body")).expect("json");
        v["token"].as_str().expect("token").to_owned()
    });
    let mut stream = rt.block_on(async {
        http.get(format!("{base}/api/events?token={token}"))
            .send()
            .await
            .expect("event stream")
    });
    assert_eq!(stream.status().as_u16(), 200);

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        running.shutdown();
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the station stopped with an event stream open");
    // And the stream was ended, not cut.
    let ended = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), async {
            for _ in 0..1000 {
                match stream.chunk().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => return true,
                    Err(_) => return false,
                }
            }
            false
        })
        .await
    });
    assert_eq!(ended.ok(), Some(true), "the event stream ended cleanly");
}
