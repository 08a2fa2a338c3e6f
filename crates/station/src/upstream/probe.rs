//! The connection test of one destination (`station hub test NAME`): each step the link needs,
//! in order — name lookup, TCP connection, TLS handshake (with the client certificate's
//! validity), OAuth2 token, a QIDO-RS query — with how long it took and, when it fails, the
//! detail. A step after a failed one is skipped: its verdict would only repeat the first.
//!
//! Must never: send or change anything at the hub (the one request is a search asking for a
//! single study), or put a credential in a step's detail.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::certificate;
use super::hub::{Auth, Hub};
use crate::config::Destination;

/// One step of the test, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Name lookup of the URL's host (also carries a destination that cannot form a client).
    Dns,
    /// A TCP connection to one of the looked-up addresses, within the connect timeout.
    Tcp,
    /// An HTTPS request completes the handshake, and the client certificate file is readable.
    Tls,
    /// OAuth2 only: the token server hands out an access token.
    Auth,
    /// A QIDO-RS study search (limit 1) is answered: URL path and credentials are right.
    Qido,
}

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It worked; `detail` says what was found.
    Passed,
    /// It did not; `detail` has the error, and every later step is skipped.
    Failed,
    /// Not needed (plain HTTP has no TLS; no token server) or not reached.
    Skipped,
}

/// Why a step did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// An earlier step failed.
    NotReached,
    /// Plain HTTP: there is no TLS to test.
    PlainHttp,
    /// A password or a fixed token: the hub checks it with the search (the last step).
    CheckedByTheSearch,
    /// No credentials configured.
    NoCredentials,
}

/// What one step found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StepResult {
    /// Which step.
    pub step: Step,
    /// Whether it passed, failed or was skipped.
    pub verdict: Verdict,
    /// How long the step took, in milliseconds (0 when skipped).
    pub millis: u64,
    /// The raw detail: addresses, the error as the system or the hub said it.
    pub detail: String,
    /// Why it was skipped, when it was.
    pub skipped: Option<Skip>,
    /// TLS: when the client certificate the station presents stops being valid (Unix ms),
    /// for a screen to show in the clinic's local time.
    pub certificate_expires_at_ms: Option<i64>,
}

/// Whether every step that ran passed.
pub fn passed(steps: &[StepResult]) -> bool {
    steps.iter().all(|s| s.verdict != Verdict::Failed)
}

/// [`probe`] of each destination in turn, for a caller outside the async runtime (the CLI, the
/// diagnostics bundle, an API handler on a blocking thread). Fails only when no runtime can be
/// made.
pub fn probe_blocking(dests: &[&Destination]) -> std::io::Result<Vec<Vec<StepResult>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(dests.iter().map(|d| runtime.block_on(probe(d))).collect())
}

/// Runs every step against `dest`; never fails as a whole (a failure is a step's verdict).
pub async fn probe(dest: &Destination) -> Vec<StepResult> {
    let mut results = Vec::new();
    let hub = match Hub::for_destination(dest) {
        Ok(hub) => hub,
        Err(e) => {
            record(&mut results, Step::Dns, Instant::now(), Err(e.to_string()));
            return skip_rest(results);
        }
    };
    let url = match reqwest::Url::parse(&dest.url) {
        Ok(url) => url,
        Err(e) => {
            record(
                &mut results,
                Step::Dns,
                Instant::now(),
                Err(format!("url: {e}")),
            );
            return skip_rest(results);
        }
    };
    let connect_timeout = Duration::from_secs(10).min(Duration::from_secs(dest.timeout_secs));

    let started = Instant::now();
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let lookup = tokio::time::timeout(
        connect_timeout,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("{host}: no answer within {connect_timeout:?}"))
    .and_then(|r| r.map_err(|e| format!("{host}: {e}")))
    .map(|addrs| addrs.collect::<Vec<SocketAddr>>());
    let addrs = match lookup {
        Ok(addrs) if !addrs.is_empty() => addrs,
        Ok(_) => {
            record(
                &mut results,
                Step::Dns,
                started,
                Err(format!("{host}: no address")),
            );
            return skip_rest(results);
        }
        Err(e) => {
            record(&mut results, Step::Dns, started, Err(e));
            return skip_rest(results);
        }
    };
    if record(&mut results, Step::Dns, started, Ok(list(&addrs))) {
        return skip_rest(results);
    }

    let started = Instant::now();
    let mut last_error = String::new();
    let mut connected = None;
    for addr in &addrs {
        match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                connected = Some(*addr);
                break;
            }
            Ok(Err(e)) => last_error = format!("{addr}: {e}"),
            Err(_) => last_error = format!("{addr}: no answer within {connect_timeout:?}"),
        }
    }
    let tcp = connected.map(|a| a.to_string()).ok_or(last_error);
    if record(&mut results, Step::Tcp, started, tcp) {
        return skip_rest(results);
    }

    let started = Instant::now();
    if url.scheme() == "https" {
        let handshake = hub
            .client
            .get(url.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| super::error::transport_error(e).to_string());
        let tls = handshake.and_then(|()| client_certificate(dest));
        let expires = tls.as_ref().ok().and_then(|(_, at)| *at);
        let failed = record(&mut results, Step::Tls, started, tls.map(|(text, _)| text));
        if let Some(last) = results.last_mut() {
            last.certificate_expires_at_ms = expires.map(|secs| secs.saturating_mul(1000));
        }
        if failed {
            return skip_rest(results);
        }
    } else {
        results.push(skipped(Step::Tls, Skip::PlainHttp));
    }

    let started = Instant::now();
    match &hub.options.auth {
        Auth::OAuth2(source) => {
            let token = source
                .token(&hub.client)
                .await
                .map(|_| "token received".to_string())
                .map_err(|e| e.to_string());
            if record(&mut results, Step::Auth, started, token) {
                return skip_rest(results);
            }
        }
        Auth::Basic { .. } | Auth::Bearer(_) => {
            results.push(skipped(Step::Auth, Skip::CheckedByTheSearch))
        }
        Auth::None => results.push(skipped(Step::Auth, Skip::NoCredentials)),
    }

    let started = Instant::now();
    let query = hub
        .answers_queries()
        .await
        .map(|()| "the hub answered a study search".to_string())
        .map_err(|e| e.to_string());
    record(&mut results, Step::Qido, started, query);
    results
}

/// Adds a passed or failed step; true when it failed.
fn record(
    results: &mut Vec<StepResult>,
    step: Step,
    started: Instant,
    outcome: Result<String, String>,
) -> bool {
    let (verdict, detail) = match outcome {
        Ok(detail) => (Verdict::Passed, detail),
        Err(detail) => (Verdict::Failed, detail),
    };
    results.push(StepResult {
        step,
        verdict,
        millis: started.elapsed().as_millis() as u64,
        detail,
        skipped: None,
        certificate_expires_at_ms: None,
    });
    verdict == Verdict::Failed
}

/// The client certificate's validity, when the destination presents one: the step's text
/// (its end in the station's local time) and the end in Unix seconds.
fn client_certificate(dest: &Destination) -> Result<(String, Option<i64>), String> {
    let Some(path) = &dest.client_identity_file else {
        return Ok(("handshake done".into(), None));
    };
    let expires = certificate::earliest_expiry(path).map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp();
    let until = chrono::DateTime::from_timestamp(expires, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    if expires <= now {
        Err(format!("client certificate expired {until}"))
    } else {
        Ok((
            format!("handshake done; client certificate valid until {until}"),
            Some(expires),
        ))
    }
}

fn list(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn skipped(step: Step, why: Skip) -> StepResult {
    StepResult {
        step,
        verdict: Verdict::Skipped,
        millis: 0,
        detail: String::new(),
        skipped: Some(why),
        certificate_expires_at_ms: None,
    }
}

/// The steps after the last one recorded, each skipped as not reached.
fn skip_rest(mut results: Vec<StepResult>) -> Vec<StepResult> {
    let all = [Step::Dns, Step::Tcp, Step::Tls, Step::Auth, Step::Qido];
    let done = results.len();
    for step in all.into_iter().skip(done) {
        results.push(skipped(step, Skip::NotReached));
    }
    results
}
