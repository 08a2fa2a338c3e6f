//! Failed-login throttling that a stranger on the clinic LAN cannot turn against the staff.
//!
//! A login comes from an [`Origin`]: the desktop window (in-process) or a computer on the
//! network, known by the address of its TCP connection. Two limits:
//!
//! - **A username at one origin**: `max_failed_logins` wrong passwords in a row for a username
//!   from one computer lock that username *at that computer* for `lockout_secs`. Guessing the
//!   admin's password at another PC does not lock the admin out at theirs, nor in the desktop
//!   window.
//! - **One origin, any usernames**: `max_failed_logins_per_address` failures within
//!   `lockout_secs` lock every login from that computer for `lockout_secs`, so trying a few
//!   passwords on each of many usernames is stopped too.
//!
//! In memory on purpose: a restart clears lockouts, which an attacker cannot trigger.
//!
//! Must never: take the origin from anything a client can write (a header), only from the
//! connection; or grow without bound under a scan of usernames.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::AuthConfig;

/// Where a login comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The desktop window, calling the engine in-process.
    Desktop,
    /// A browser or program on the network, by the peer address of its connection.
    Network(IpAddr),
}

impl Origin {
    /// The origin of a connection from `ip` (an IPv4 address seen through an IPv6 socket counts
    /// as the IPv4 address, so one computer is one origin).
    pub fn network(ip: IpAddr) -> Origin {
        Origin::Network(ip.to_canonical())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Desktop => f.write_str("desktop"),
            Origin::Network(ip) => write!(f, "{ip}"),
        }
    }
}

/// Which limit refused a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This username from this origin.
    User,
    /// Every username from this origin.
    Origin,
}

/// Wrong passwords in a row for one username at one origin.
#[derive(Debug, Default)]
struct Run {
    count: u32,
    locked_until: Option<Instant>,
}

/// Recent failures from one origin, newest last (at most the limit's worth).
#[derive(Debug, Default)]
struct Recent {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    runs: HashMap<(String, Origin), Run>,
    origins: HashMap<Origin, Recent>,
}

/// Entries kept before the ones that lock nothing are dropped.
const MAX_ENTRIES: usize = 10_000;

pub struct Throttle {
    per_user: u32,
    per_origin: u32,
    lockout: Duration,
    state: Mutex<State>,
}

fn remaining(until: Option<Instant>, now: Instant) -> Option<Duration> {
    until.filter(|u| *u > now).map(|u| u - now)
}

impl Throttle {
    pub fn new(config: &AuthConfig) -> Throttle {
        Throttle {
            per_user: config.max_failed_logins.max(1),
            per_origin: config.max_failed_logins_per_address.max(1),
            lockout: Duration::from_secs(config.lockout_secs),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long logins of `user` (lowercased) from `origin` are refused, and by which limit;
    /// `None` when they may try.
    pub fn locked(&self, user: &str, origin: Origin) -> Option<(Duration, Scope)> {
        let now = Instant::now();
        let mut state = self.state();
        if let Some(wait) = state
            .origins
            .get(&origin)
            .and_then(|r| remaining(r.locked_until, now))
        {
            return Some((wait, Scope::Origin));
        }
        let key = (user.to_owned(), origin);
        let run = state.runs.get(&key)?;
        if let Some(wait) = remaining(run.locked_until, now) {
            return Some((wait, Scope::User));
        }
        if run.locked_until.is_some() {
            // The lockout is over: a fresh run of attempts.
            state.runs.remove(&key);
        }
        None
    }

    /// Counts a wrong password; returns the limit it reached, if any.
    pub fn failed(&self, user: &str, origin: Origin) -> Option<Scope> {
        let now = Instant::now();
        let mut state = self.state();
        if state.runs.len() > MAX_ENTRIES || state.origins.len() > MAX_ENTRIES {
            state
                .runs
                .retain(|_, r| remaining(r.locked_until, now).is_some());
            let window = self.lockout;
            state.origins.retain(|_, r| {
                remaining(r.locked_until, now).is_some()
                    || r.failures.back().is_some_and(|t| now - *t < window)
            });
        }
        let mut reached = None;
        let run = state.runs.entry((user.to_owned(), origin)).or_default();
        run.count += 1;
        if run.count >= self.per_user {
            run.locked_until = Some(now + self.lockout);
            run.count = 0;
            reached = Some(Scope::User);
        }
        let recent = state.origins.entry(origin).or_default();
        while recent
            .failures
            .front()
            .is_some_and(|t| now - *t >= self.lockout)
        {
            recent.failures.pop_front();
        }
        recent.failures.push_back(now);
        if recent.failures.len() >= self.per_origin as usize {
            recent.locked_until = Some(now + self.lockout);
            recent.failures.clear();
            reached = Some(Scope::Origin);
        }
        reached
    }

    /// A right password ends the username's run at that origin. The origin's recent failures
    /// stay: one account known at a computer must not reset the count of guesses at others.
    pub fn succeeded(&self, user: &str, origin: Origin) {
        self.state().runs.remove(&(user.to_owned(), origin));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_user: u32, per_origin: u32) -> Throttle {
        let mut config = crate::config::Config::defaults().auth;
        config.max_failed_logins = per_user;
        config.max_failed_logins_per_address = per_origin;
        Throttle::new(&config)
    }

    #[test]
    fn a_username_locked_at_one_origin_is_free_at_another() {
        let t = throttle(3, 100);
        let stranger = Origin::network("192.168.1.66".parse().expect("ip"));
        let colleague = Origin::network("192.168.1.20".parse().expect("ip"));
        assert_eq!(t.failed("admin", stranger), None);
        assert_eq!(t.failed("admin", stranger), None);
        assert_eq!(t.failed("admin", stranger), Some(Scope::User));
        assert!(matches!(
            t.locked("admin", stranger),
            Some((_, Scope::User))
        ));
        assert_eq!(t.locked("admin", colleague), None);
        assert_eq!(t.locked("admin", Origin::Desktop), None);
    }

    #[test]
    fn many_usernames_from_one_origin_lock_that_origin_only() {
        let t = throttle(5, 4);
        let stranger = Origin::network("::ffff:10.0.0.9".parse().expect("ip"));
        assert_eq!(stranger.to_string(), "10.0.0.9", "one computer, one origin");
        for user in ["a", "b", "c"] {
            assert_eq!(t.failed(user, stranger), None);
        }
        assert_eq!(t.failed("d", stranger), Some(Scope::Origin));
        assert!(matches!(t.locked("e", stranger), Some((_, Scope::Origin))));
        assert_eq!(t.locked("e", Origin::Desktop), None);
        // A success elsewhere does not unlock the stranger.
        t.succeeded("e", Origin::Desktop);
        assert!(t.locked("a", stranger).is_some());
    }
}
