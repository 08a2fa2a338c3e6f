//! Accepting connections within bounds: at most `max_connections` open, at most
//! `max_connections_per_address` from one computer, and a request header that must arrive
//! whole within `header_read_timeout_secs` (a slow client that trickles bytes, or sends none,
//! is closed and frees its slot). Request bodies are bounded by the routes. Over TLS the
//! handshake has the same deadline before the header's, so a client that connects and never
//! says hello frees its slot as a silent plain one does.
//!
//! Must never: let one computer hold the slots every other computer needs, or keep the station
//! from stopping (open connections are asked to finish when it stops, and waited for briefly).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::config::HttpConfig;

/// How long a stopping station waits for open connections to finish their answer.
const DRAIN: Duration = Duration::from_secs(5);

/// The bounds, from `[http]`.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    header_read_timeout: Duration,
    max_connections: usize,
    per_address: usize,
}

impl Limits {
    pub(super) fn from_config(config: &HttpConfig) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.max(1)),
            max_connections: config.max_connections.max(1),
            per_address: config.max_connections_per_address.max(1),
        }
    }
}

/// Open connections per computer; a slot is given back when its [`AddressSlot`] drops.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` (over TLS when given an acceptor) until `stopping` turns `true`,
/// then lets open connections finish (for at most [`DRAIN`]).
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    stopping: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let mut stop = stopping.clone();
    loop {
        // Full: wait for a slot before accepting, so the next connection queues in the
        // kernel's backlog instead of being refused.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let Some(address_slot) = per_address.take(peer.ip(), limits.per_address) else {
            tracing::debug!(peer = %peer.ip(), "HTTP connection refused: too many from there");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stopping = stopping.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection(stream, peer, app, limits, OverTls(false), stopping).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(stream)) => {
                            connection(stream, peer, app, limits, OverTls(true), stopping).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "TLS handshake too slow: closed"),
                    }
                }
            }
            drop(address_slot);
            drop(permit);
        });
    }
    // Every slot back means every connection has finished.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, slots.acquire_many(all)).await;
}

/// Whether a request came over TLS (its session cookie is then `Secure`).
#[derive(Clone, Copy)]
pub(crate) struct OverTls(pub bool);

/// One HTTP/1.1 connection, plain or TLS (ALPN offers nothing else).
async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    tls: OverTls,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Each request knows its peer address (login throttling is per computer) and whether it
    // came over TLS.
    let app = app
        .layer(axum::Extension(ConnectInfo(peer)))
        .layer(axum::Extension(tls));
    let service = TowerToHyperService::new(app);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "HTTP connection ended");
            }
        }
        _ = async { stopping.wait_for(|s| *s).await.map(|_| ()) } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
