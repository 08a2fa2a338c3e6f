//! A fault-injecting TCP proxy between the station and a hub, for testing bad links honestly:
//! each new connection takes the next fault from a plan, and once the plan is used up
//! connections pass through untouched.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward this many bytes of the request, then cut both sides: a link dropping mid-body.
    DropAfter(usize),
    /// Read the whole request, answer 503 with `Retry-After: 1`, close.
    Unavailable,
    /// Read the whole request, answer 200 with an empty body: nothing stored, whatever it says.
    EmptyOk,
    /// Wait, then pass through: a stalled link that recovers.
    Stall(Duration),
}

pub struct ChaosProxy {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub faults_used: Arc<Mutex<Vec<Fault>>>,
    /// Connections ended (both directions closed): a stalled request has reached the hub and
    /// its answer the station.
    pub finished: Arc<AtomicUsize>,
}

impl ChaosProxy {
    pub fn start(upstream_port: u16, plan: Vec<Fault>) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let faults_used = Arc::new(Mutex::new(Vec::new()));
        let finished = Arc::new(AtomicUsize::new(0));
        let (stop2, used, ended) = (stop.clone(), faults_used.clone(), finished.clone());
        std::thread::spawn(move || {
            let mut plan = plan.into_iter();
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let fault = plan.next();
                        if let Some(f) = &fault {
                            used.lock().expect("lock").push(f.clone());
                        }
                        let ended = ended.clone();
                        std::thread::spawn(move || {
                            handle(client, upstream_port, fault);
                            ended.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        ChaosProxy {
            port,
            stop,
            faults_used,
            finished,
        }
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(mut client: TcpStream, upstream_port: u16, fault: Option<Fault>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    match fault {
        Some(Fault::Unavailable) => {
            drain_request(&mut client);
            let _ = client.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(Fault::EmptyOk) => {
            drain_request(&mut client);
            let _ = client.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(Fault::DropAfter(n)) => {
            let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                return;
            };
            let mut left = n;
            let mut buf = [0u8; 16384];
            while left > 0 {
                match client.read(&mut buf[..left.min(16384)]) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => {
                        if upstream.write_all(&buf[..k]).is_err() {
                            break;
                        }
                        left -= k;
                    }
                }
            }
            let _ = upstream.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
        }
        Some(Fault::Stall(d)) => {
            std::thread::sleep(d);
            pipe(client, upstream_port);
        }
        None => pipe(client, upstream_port),
    }
}

fn pipe(client: TcpStream, upstream_port: u16) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
        return;
    };
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let (mut c1, mut u1) = (client, upstream);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c1, &mut u1);
        let _ = u1.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut u2, &mut c2);
    let _ = c2.shutdown(Shutdown::Write);
    let _ = up.join();
}

/// Reads one HTTP request to its end: Content-Length or chunked (reqwest streams bodies chunked).
fn drain_request(client: &mut TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    let mut header_end = None;
    for _ in 0..1_000_000 {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => data.extend_from_slice(&buf[..k]),
        }
        if header_end.is_none() {
            header_end = data
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4);
        }
        let Some(start) = header_end else { continue };
        let head = String::from_utf8_lossy(&data[..start]).to_ascii_lowercase();
        if let Some(len) = head.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        }) {
            if data.len() >= start + len {
                return;
            }
        } else if head.contains("transfer-encoding: chunked") {
            if data.ends_with(b"\r\n0\r\n\r\n") || data[start..].starts_with(b"0\r\n\r\n") {
                return;
            }
        } else {
            return;
        }
    }
}
