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

/// Failed logins counted per username and origin and per origin, in memory: past a limit,
/// logins from there wait out the lockout.
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
    /// A throttle with `[auth]`'s limits and lockout, nothing counted yet.
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

    /// Starts a login attempt of `user` (lowercased) from `origin`, or says how long such
    /// attempts are refused and by which limit. The attempt counts as a failure from now on,
    /// before its password is checked, so guesses sent in parallel cannot outrun the limits;
    /// [`Throttle::succeeded`] takes it back.
    pub fn begin(&self, user: &str, origin: Origin) -> Result<Attempt, (Duration, Scope)> {
        let now = Instant::now();
        let mut state = self.state();
        if state.runs.len() > MAX_ENTRIES || state.origins.len() > MAX_ENTRIES {
            let window = self.lockout;
            state
                .runs
                .retain(|_, r| remaining(r.locked_until, now).is_some());
            state.origins.retain(|_, r| {
                remaining(r.locked_until, now).is_some()
                    || r.failures.back().is_some_and(|t| now - *t < window)
            });
        }
        let recent = state.origins.entry(origin).or_default();
        if let Some(wait) = remaining(recent.locked_until, now) {
            return Err((wait, Scope::Origin));
        }
        while recent
            .failures
            .front()
            .is_some_and(|t| now - *t >= self.lockout)
        {
            recent.failures.pop_front();
        }
        let key = (user.to_owned(), origin);
        let run = state.runs.entry(key.clone()).or_default();
        if let Some(wait) = remaining(run.locked_until, now) {
            return Err((wait, Scope::User));
        }
        if run.locked_until.is_some() {
            // The lockout is over: a fresh run of attempts.
            *run = Run::default();
        }
        let mut locks = None;
        run.count += 1;
        if run.count >= self.per_user {
            run.locked_until = Some(now + self.lockout);
            locks = Some(Scope::User);
        }
        let recent = state.origins.entry(origin).or_default();
        recent.failures.push_back(now);
        if recent.failures.len() >= self.per_origin as usize {
            recent.locked_until = Some(now + self.lockout);
            locks = Some(Scope::Origin);
        }
        Ok(Attempt {
            user: key.0,
            origin,
            locks,
        })
    }

    /// The attempt's password was right: it ends the username's run at that origin and is
    /// taken back from the origin's count (with the lock it set, if any). The origin's other
    /// failures stay: an account known at a computer must not wipe the count of guesses there.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.state();
        state.runs.remove(&(attempt.user, attempt.origin));
        if let Some(recent) = state.origins.get_mut(&attempt.origin) {
            recent.failures.pop_back();
            if attempt.locks == Some(Scope::Origin) {
                recent.locked_until = None;
            }
        }
    }
}

/// A login attempt in progress, counted as a failure unless [`Throttle::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    user: String,
    origin: Origin,
    locks: Option<Scope>,
}

impl Attempt {
    /// The limit this attempt reaches if its password is wrong.
    pub fn locks(&self) -> Option<Scope> {
        self.locks
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

    /// A wrong password: the attempt simply stays counted.
    fn fail(t: &Throttle, user: &str, origin: Origin) -> Option<Scope> {
        t.begin(user, origin).expect("may try").locks()
    }

    fn refused(t: &Throttle, user: &str, origin: Origin) -> Option<Scope> {
        t.begin(user, origin).err().map(|(_, scope)| scope)
    }

    #[test]
    fn a_username_locked_at_one_origin_is_free_at_another() {
        let t = throttle(3, 100);
        let stranger = Origin::network("192.168.1.66".parse().expect("ip"));
        let colleague = Origin::network("192.168.1.20".parse().expect("ip"));
        assert_eq!(fail(&t, "admin", stranger), None);
        assert_eq!(fail(&t, "admin", stranger), None);
        assert_eq!(fail(&t, "admin", stranger), Some(Scope::User));
        assert_eq!(refused(&t, "admin", stranger), Some(Scope::User));
        let at_their_pc = t.begin("admin", colleague).expect("not locked there");
        t.succeeded(at_their_pc);
        t.succeeded(
            t.begin("admin", Origin::Desktop)
                .expect("nor in the window"),
        );
    }

    #[test]
    fn many_usernames_from_one_origin_lock_that_origin_only() {
        let t = throttle(5, 4);
        let stranger = Origin::network("::ffff:10.0.0.9".parse().expect("ip"));
        assert_eq!(stranger.to_string(), "10.0.0.9", "one computer, one origin");
        for user in ["a", "b", "c"] {
            assert_eq!(fail(&t, user, stranger), None);
        }
        assert_eq!(fail(&t, "d", stranger), Some(Scope::Origin));
        assert_eq!(refused(&t, "e", stranger), Some(Scope::Origin));
        assert_eq!(refused(&t, "e", Origin::Desktop), None);
    }

    #[test]
    fn guesses_in_parallel_cannot_outrun_the_limit_and_a_right_password_is_taken_back() {
        let t = throttle(3, 100);
        let origin = Origin::Desktop;
        // Three guesses in flight at once (their passwords not yet checked): the fourth waits.
        let guesses: Vec<Attempt> = (0..3)
            .map(|_| t.begin("admin", origin).expect("may try"))
            .collect();
        assert_eq!(refused(&t, "admin", origin), Some(Scope::User));
        // The last of them had the right password: the run ends, the lock it set with it.
        let mut guesses = guesses;
        t.succeeded(guesses.pop().expect("an attempt"));
        assert_eq!(fail(&t, "admin", origin), None, "a fresh run");

        // A right password at the per-origin limit takes its own count back, not the others'.
        let t = throttle(10, 3);
        assert_eq!(fail(&t, "a", origin), None);
        assert_eq!(fail(&t, "b", origin), None);
        let right = t.begin("c", origin).expect("may try");
        assert_eq!(right.locks(), Some(Scope::Origin));
        t.succeeded(right);
        assert_eq!(
            fail(&t, "d", origin),
            Some(Scope::Origin),
            "two failures stayed"
        );
    }
}
