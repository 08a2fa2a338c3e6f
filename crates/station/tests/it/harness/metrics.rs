//! `GET /metrics` as the center's Prometheus reads it: a station configured with a scrape token,
//! the scrape, and one series' value out of the text.

use station::config::Secret;

use super::{Client, Options, Station};

/// The token the center's Prometheus presents.
pub const SCRAPE_TOKEN: &str = "scrape-token-of-the-center-01";
/// Its `Authorization` header.
const SCRAPE_AUTH: &str = "Bearer scrape-token-of-the-center-01";

/// `options` with [`SCRAPE_TOKEN`] as the metrics token (no token: `/metrics` answers 404).
pub fn with_scrape_token(options: Options) -> Options {
    options.tweak(|c| c.metrics.token = Some(Secret(SCRAPE_TOKEN.into())))
}

/// `GET /metrics` with the scrape token: status and body.
pub fn scrape(station: &Station) -> (u16, String) {
    Client::from_address(station.http_port, None, &[("authorization", SCRAPE_AUTH)]).get("/metrics")
}

/// The value of one series in Prometheus text (`name{labels} value`), if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
