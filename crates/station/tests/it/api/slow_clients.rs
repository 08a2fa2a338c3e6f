//! A computer on the LAN that opens hundreds of HTTP connections and trickles a request header
//! one byte at a time (slowloris) must not keep anyone else out: the station closes what it
//! cannot take at once and the rest when their header is late, while another computer's
//! requests are answered as usual. Default `[http]` limits.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::harness::*;

const SLOW_CONNECTIONS: usize = 400;
/// One header byte this often: far below any real client, above any per-read timeout.
const TRICKLE: Duration = Duration::from_secs(2);
/// The default `header_read_timeout_secs` (10) with room for a loaded machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(16);

/// One slow connection from `local`: how long after the start the station closed it, or
/// `None` if it was still open at `CLOSED_WITHIN`.
async fn trickle(local: SocketAddr, station: SocketAddr, start: Instant) -> Option<Duration> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(local).ok()?;
    let mut stream = socket.connect(station).await.ok()?;
    let _ = stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await;
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::from_std(start + CLOSED_WITHIN);
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                // Closed (or reset): what the station must do.
                Ok(0) | Err(_) => return Some(start.elapsed()),
                // The station's own 408, or an answer it should not give: keep reading to EOF.
                Ok(_) => {}
            },
            _ = tokio::time::sleep(TRICKLE) => {
                if stream.write_all(b"a").await.is_err() {
                    return Some(start.elapsed());
                }
            }
            _ = tokio::time::sleep_until(deadline) => return None,
        }
    }
}

#[test]
fn a_slowloris_computer_is_closed_while_another_computer_is_answered() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let station_addr: SocketAddr = ([127, 0, 0, 1], station.http_port).into();
    let attacker: SocketAddr = ([127, 0, 0, 2], 0).into();

    let start = Instant::now();
    let attack = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let tasks: Vec<_> = (0..SLOW_CONNECTIONS)
                .map(|_| tokio::spawn(trickle(attacker, station_addr, start)))
                .collect();
            let mut closed = Vec::with_capacity(tasks.len());
            for t in tasks {
                closed.push(t.await.ok().flatten());
            }
            closed
        })
    });

    // Meanwhile the front desk's computer asks again and again, and is answered each time.
    let client = Client::new(&station);
    let mut asked = 0;
    while start.elapsed() < Duration::from_secs(12) && asked < 20 {
        let t = Instant::now();
        let (status, body) = client.get("/healthz");
        let took = t.elapsed();
        assert_eq!(status, 200, "healthz during the attack: {body}");
        assert!(
            took < Duration::from_secs(3),
            "healthz took {took:?} during the attack"
        );
        asked += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(asked >= 5, "asked {asked} times");

    let closed = attack.join().expect("attack thread");
    let open: Vec<_> = closed.iter().filter(|c| c.is_none()).collect();
    assert!(
        open.is_empty(),
        "{} of {SLOW_CONNECTIONS} slow connections still open after {CLOSED_WITHIN:?}",
        open.len()
    );
    // Past the per-computer cap (64), connections are closed at once, not held until late.
    let at_once = closed
        .iter()
        .flatten()
        .filter(|d| **d < Duration::from_secs(5))
        .count();
    assert!(
        at_once >= SLOW_CONNECTIONS - 64,
        "only {at_once} closed at once"
    );
    let (status, _) = client.get("/healthz");
    assert_eq!(status, 200);
}
