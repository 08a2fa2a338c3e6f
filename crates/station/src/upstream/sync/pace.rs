//! The fast-link rule (issue 15): a destination's images are compressed only while the encoder
//! outruns the link, so a station on a fast link (a LAN, a hub on the same computer) is never
//! slower end to end than one sending as received, and a clinic's slow uplink carries 2–3×
//! fewer bytes.
//!
//! Per destination, shared by its workers, two moving averages: the link's throughput (bytes a
//! request carried per second it took, times the requests in flight beside it, since they share
//! the link) and the encoders' (native pixel bytes per second of one encode, times the encoders
//! that may run at once). Copies are made while earlier requests upload, so compressing costs
//! nothing as long as the encoders make bytes faster than the link takes them; once the link is
//! faster, every copy would make the link wait. Until the link is measured (after a start) one
//! request at a time goes, compressed (a probe: its encodes measure the encoder, its answer the
//! link), and the others wait for its answer: a fast link pays for one request's copies, a slow
//! one loses nothing (one request keeps it busy) and sends nothing uncompressed. With the link
//! measured and not yet the encoder (nothing encodable sent so far) it compresses. Once it
//! stopped, the
//! encoder must outrun the link by [`RESUME_MARGIN`] before it compresses again, so a link near
//! the encoder's speed does not flip the choice at every request. A destination with
//! `compression = "always"` compresses whatever the link's speed.
//!
//! Must never: make a choice that changes what reaches the hub beyond as received or a verified
//! lossless copy (it only picks between them), or block: the state is a short-held mutex.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Weight of a new sample in each moving average.
const ALPHA: f64 = 0.3;
/// How much faster than the link the encoders must be before compression resumes.
pub(super) const RESUME_MARGIN: f64 = 1.25;
/// Samples from shorter spans than this say more about the clock than about the speed.
const SHORTEST_SAMPLE: Duration = Duration::from_micros(200);

/// The two throughputs, in bytes per second; None until measured.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Estimates {
    /// Bytes the link carries per second, all of the destination's requests together.
    pub link: Option<f64>,
    /// Native pixel bytes the encoders make per second, all of them together.
    pub encoder: Option<f64>,
}

/// Why the rule chose as it did (the debug log says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    /// `compression = "always"`.
    Forced,
    /// The link or the encoder is not measured yet.
    Unmeasured,
    /// The encoders outrun the link: copies are ready before the link is free.
    EncoderFaster,
    /// The link outruns the encoders: copies would make it wait.
    LinkFaster,
}

/// Whether to compress now, given the estimates and whether the last choice was to compress.
pub(super) fn decide(est: Estimates, compressing: bool, always: bool) -> (bool, Why) {
    if always {
        return (true, Why::Forced);
    }
    let (Some(link), Some(encoder)) = (est.link, est.encoder) else {
        return (true, Why::Unmeasured);
    };
    let needed = if compressing {
        link
    } else {
        link * RESUME_MARGIN
    };
    if encoder > needed {
        (true, Why::EncoderFaster)
    } else {
        (false, Why::LinkFaster)
    }
}

fn ewma(old: Option<f64>, sample: f64) -> Option<f64> {
    Some(old.map_or(sample, |o| o + ALPHA * (sample - o)))
}

struct State {
    est: Estimates,
    compressing: bool,
    why: Option<Why>,
}

/// One destination's pace, shared by its workers.
pub(super) struct Pace {
    destination: String,
    always: bool,
    /// Encoders that may run at once (the CPU permits).
    encoders: usize,
    /// This destination's requests being sent now.
    in_flight: AtomicUsize,
    /// A request is out, compressed, to measure the link (and the encoder) after a start.
    probing: AtomicBool,
    /// Wakes the requests waiting for the probe's answer.
    probe_done: Notify,
    state: Mutex<State>,
}

impl Pace {
    pub fn new(destination: &str, always: bool, encoders: usize) -> Pace {
        Pace {
            destination: destination.to_owned(),
            always,
            encoders: encoders.max(1),
            in_flight: AtomicUsize::new(0),
            probing: AtomicBool::new(false),
            probe_done: Notify::new(),
            state: Mutex::new(State {
                est: Estimates::default(),
                compressing: true,
                why: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two numbers and a flag: one a panicking thread left is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the next request's images are compressed (hold the answer until the request is
    /// answered: a probe ends when it is dropped); waits while a probe measures the link. A
    /// change of mind is logged.
    pub async fn choose(&self) -> Choice<'_> {
        loop {
            // Registered before the check, so a probe answered in between still wakes it.
            let done = self.probe_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if let Some(choice) = self.try_choose() {
                return choice;
            }
            done.await;
        }
    }

    /// Whether the next request would probe the link (it is not measured yet).
    pub fn probes(&self) -> bool {
        !self.always && self.state().est.link.is_none()
    }

    /// The choice now; None while another request probes the link.
    fn try_choose(&self) -> Option<Choice<'_>> {
        let mut s = self.state();
        if s.est.link.is_none() && !self.always {
            if self.probing.swap(true, Ordering::Relaxed) {
                return None;
            }
            tracing::debug!(destination = %self.destination, "compression on the wire: one request, compressed, measures the link");
            s.why = Some(Why::Unmeasured);
            return Some(Choice {
                compress: true,
                probe: Some(self),
            });
        }
        let (compress, why) = decide(s.est, s.compressing, self.always);
        let mb = |v: Option<f64>| v.map(|b| (b / 1e6 * 10.0).round() / 10.0);
        let (link_mb_s, encoder_mb_s) = (mb(s.est.link), mb(s.est.encoder));
        // A change of mind is news for whoever reads the log; a new reason for the same
        // choice (measured at last) is detail.
        if compress != s.compressing {
            let message = if compress {
                "the encoders outrun the link again: images go compressed"
            } else {
                "the link outruns the encoders: images go as received"
            };
            tracing::info!(destination = %self.destination, ?link_mb_s, ?encoder_mb_s, "{message}");
        } else if s.why != Some(why) {
            tracing::debug!(destination = %self.destination, compress, ?why, ?link_mb_s, ?encoder_mb_s, "compression on the wire");
        }
        (s.compressing, s.why) = (compress, Some(why));
        Some(Choice {
            compress,
            probe: None,
        })
    }

    /// The estimates now.
    #[cfg(test)]
    fn estimates(&self) -> Estimates {
        self.state().est
    }

    /// One encode of `native_bytes` took `took` (on one encoder).
    pub fn encoded(&self, native_bytes: u64, took: Duration) {
        if took < SHORTEST_SAMPLE || native_bytes == 0 {
            return;
        }
        let sample = native_bytes as f64 / took.as_secs_f64() * self.encoders as f64;
        let mut s = self.state();
        s.est.encoder = ewma(s.est.encoder, sample);
    }

    /// A request of `bytes` took `took`, `sharing` requests in flight at once.
    fn sent(&self, bytes: u64, took: Duration, sharing: usize) {
        if took < SHORTEST_SAMPLE || bytes == 0 {
            return;
        }
        let sample = bytes as f64 / took.as_secs_f64() * sharing.max(1) as f64;
        let mut s = self.state();
        s.est.link = ewma(s.est.link, sample);
    }

    /// A request is being sent; its answer's arrival is [`Request::answered`].
    pub fn request(&self) -> Request<'_> {
        let beside = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        Request {
            pace: self,
            started: Instant::now(),
            beside,
        }
    }
}

/// The rule's answer for one request.
pub(super) struct Choice<'a> {
    /// Whether its images are compressed.
    pub compress: bool,
    /// Set when it is the probe: the requests waiting go on once it is dropped.
    probe: Option<&'a Pace>,
}

impl Drop for Choice<'_> {
    fn drop(&mut self) {
        if let Some(pace) = self.probe {
            pace.probing.store(false, Ordering::Relaxed);
            pace.probe_done.notify_waiters();
        }
    }
}

/// A request in flight: counts for the requests beside later ones until dropped.
pub(super) struct Request<'a> {
    pace: &'a Pace,
    started: Instant,
    /// Requests in flight when it started, itself included.
    beside: usize,
}

impl Request<'_> {
    /// The hub answered the request that carried `bytes`.
    pub fn answered(self, bytes: u64) {
        // The requests in flight shared the link: the most seen at either end of this one.
        let sharing = self.beside.max(self.pace.in_flight.load(Ordering::Relaxed));
        self.pace.sent(bytes, self.started.elapsed(), sharing);
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        self.pace.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    const MB: f64 = 1e6;

    fn est(link: f64, encoder: f64) -> Estimates {
        Estimates {
            link: Some(link * MB),
            encoder: Some(encoder * MB),
        }
    }

    /// A clinic uplink (4 Mbit/s = 0.5 MB/s) against an encoder at 35 MB/s per core: compress.
    /// A hub on the LAN or this computer taking 200 MB/s against 70 MB/s of encoders: not.
    #[test]
    fn a_slow_link_gets_compressed_images_and_a_fast_one_as_received() {
        assert_eq!(
            decide(est(0.5, 70.0), true, false),
            (true, Why::EncoderFaster)
        );
        assert_eq!(
            decide(est(200.0, 70.0), true, false),
            (false, Why::LinkFaster)
        );
        assert_eq!(decide(est(200.0, 70.0), false, true), (true, Why::Forced));
    }

    #[test]
    fn before_both_are_measured_it_compresses() {
        assert_eq!(
            decide(Estimates::default(), false, false),
            (true, Why::Unmeasured)
        );
        let link_only = Estimates {
            link: Some(500.0 * MB),
            encoder: None,
        };
        assert_eq!(decide(link_only, true, false), (true, Why::Unmeasured));
    }

    /// Near the encoder's speed the choice holds: it stops once the link is faster, and starts
    /// again only once the encoders are faster by the margin.
    #[test]
    fn hysteresis_keeps_the_choice_near_the_boundary() {
        // Compressing: stops only once the link is faster.
        assert!(decide(est(69.0, 70.0), true, false).0);
        assert!(!decide(est(71.0, 70.0), true, false).0);
        // Not compressing: the encoders at 70 must beat 1.25 × the link.
        assert!(!decide(est(60.0, 70.0), false, false).0);
        assert!(decide(est(50.0, 70.0), false, false).0);
    }

    /// The estimates from measurements: an encode of 35 MB in one second on one of two encoders
    /// is 70 MB/s; a request of 50 MB that took one second beside another is 100 MB/s; the
    /// pace then stops compressing, and a much slower link later (a rate window) brings it back.
    #[test]
    fn measurements_move_the_choice() {
        let pace = Pace::new("hub", false, 2);
        assert!(now(&pace).compress, "unmeasured: a probe");
        pace.encoded(35_000_000, Duration::from_secs(1));
        pace.sent(50_000_000, Duration::from_secs(1), 2);
        assert_eq!(pace.estimates(), est(100.0, 70.0));
        assert!(!now(&pace).compress, "the link outruns the encoders");
        let mut rounds = 0;
        while !now(&pace).compress {
            pace.sent(1_000_000, Duration::from_secs(1), 1);
            rounds += 1;
            assert!(rounds < 20, "{:?}", pace.estimates());
        }
        // 100 → 1 MB/s by 30 % a request: 100·0.7ⁿ + 1·(1 − 0.7ⁿ) < 70 / 1.25 after two.
        assert_eq!(rounds, 2);
        assert!(pace.estimates().link.unwrap() * RESUME_MARGIN < 70.0 * MB);
    }

    /// A forced pace compresses, measured or not.
    #[test]
    fn always_compresses_on_a_fast_link() {
        let pace = Pace::new("hub", true, 1);
        pace.encoded(1_000_000, Duration::from_secs(1));
        pace.sent(1_000_000_000, Duration::from_secs(1), 1);
        assert!(now(&pace).compress);
    }

    /// Until the link is measured one request goes, compressed; the others wait for its
    /// answer, then follow the rule (here: a slow link, every request compressed). A probe
    /// that ends without measuring (a failed request) lets the next one probe.
    #[test]
    fn until_the_link_is_measured_one_request_probes_and_the_others_wait() {
        let pace = Pace::new("hub", false, 2);
        let probe = now(&pace);
        assert!(probe.compress);
        assert!(
            pace.choose().now_or_never().is_none(),
            "waits for the probe"
        );
        drop(probe);
        let probe = now(&pace);
        assert!(probe.compress, "the failed probe's follower probes");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let waiting = std::thread::scope(|scope| {
            let waiter = scope.spawn(|| rt.block_on(async { pace.choose().await.compress }));
            pace.encoded(70_000_000, Duration::from_secs(1));
            pace.sent(1_000_000, Duration::from_secs(1), 1);
            drop(probe);
            waiter.join().unwrap()
        });
        assert!(waiting, "answered: a slow link, compressed");
        assert!(
            now(&pace).compress && now(&pace).compress,
            "no probe any more"
        );
    }

    /// The choice without waiting (a test knows no probe is out).
    fn now(pace: &Pace) -> Choice<'_> {
        pace.choose().now_or_never().expect("no probe is out")
    }

    #[test]
    fn a_request_counts_the_requests_beside_it() {
        let pace = Pace::new("hub", false, 1);
        let a = pace.request();
        let b = pace.request();
        assert_eq!((a.beside, b.beside), (1, 2));
        drop(a);
        let c = pace.request();
        assert_eq!(c.beside, 2);
        drop((b, c));
        assert_eq!(pace.in_flight.load(Ordering::Relaxed), 0);
    }
}
