//! The desktop app runs the station in its own process and stops it on quit: an open browser
//! event stream must not keep it from stopping.

use std::time::Duration;

use crate::harness::*;

#[test]
fn an_open_event_stream_does_not_hold_up_shutdown() {
    let scratch = Scratch::new();
    let running = InProcess::start(scratch.path(), &Options::default());
    let client = Client::on_port(running.http_port());
    let token = client.admin();
    let mut stream = client.events(&token);

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        running.shutdown();
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the station stopped with an event stream open");
    assert!(
        client.stream_ends(&mut stream, Duration::from_secs(10)),
        "the event stream ended"
    );
}
