//! Who gets one of the listener's slots, and how long a connection may take to say who it is.
//!
//! A caller's AE title is known only once its A-ASSOCIATE-RQ has arrived, so slots are counted
//! from the TCP connect: at most `max_associations` connections at once, at most
//! `max_per_address` from one address, and connections that have not yet sent an acceptable
//! request hold at most `max_associations - reserved_associations` slots with the full ARTIM.
//! One arriving beyond that share is let into the reserve on a short leash
//! ([`RESERVE_ARTIM`]): a real device sends its request at once, a silent stranger is gone in
//! seconds, so a listed device still gets in while strangers hold the rest. The request itself
//! is read by peeking at the socket against a deadline (a trickle of bytes does not extend
//! it), and only then handed to dicom-ul, which finds it whole and waits for nothing.
//!
//! Must never: let a slot outlive its connection (a [`Ticket`] frees it when dropped, also by a
//! panic), or buffer more of a request than [`MAX_REQUEST`].

use std::collections::HashMap;
use std::net::{IpAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dicom_ul::pdu::Pdu;

/// How long a connection let into the reserve has to send its whole request.
pub const RESERVE_ARTIM: Duration = Duration::from_secs(3);

/// The largest A-ASSOCIATE-RQ read: about 500 presentation contexts with a few transfer
/// syntaxes each, far more than a device proposes. The advertised maximum PDU length does not
/// apply (it bounds P-DATA, and is only announced in our answer).
pub const MAX_REQUEST: u32 = 64 * 1024;

/// Between two looks at a request that has partly arrived (a peek returns at once then).
const PEEK_POLL: Duration = Duration::from_millis(50);

/// The slot limits, from `[dicom]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Associations open at once, all callers together.
    pub max: usize,
    /// Of those, slots a connection that has not yet said who it is holds only on a short
    /// leash ([`RESERVE_ARTIM`]), so silent strangers cannot keep a listed device out.
    pub reserved: usize,
    /// Associations open at once from one address.
    pub per_address: usize,
}

impl Limits {
    /// The limits `[dicom]` asks for.
    pub fn of(config: &crate::config::DicomConfig) -> Limits {
        Limits {
            max: config.max_associations,
            reserved: config.reserved_associations.min(config.max_associations),
            per_address: config.max_per_address,
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Connections that have not (yet) been accepted as an allowed caller.
    unnamed: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// The slots of one listener.
#[derive(Debug)]
pub struct Admission {
    limits: Limits,
    counts: Mutex<Counts>,
}

/// Why a connection got no slot; both are answered "local limit exceeded", a transient
/// refusal the device retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot this caller may take is in use.
    Full,
    /// This address already holds its share.
    AddressFull,
}

/// One connection's slot, freed when dropped.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    ip: IpAddr,
    named: bool,
    /// Admitted beyond the strangers' share: it has [`RESERVE_ARTIM`] to send its request.
    pub in_reserve: bool,
}

impl Admission {
    /// No association admitted yet.
    pub fn new(limits: Limits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent through a panic elsewhere: every change is one statement.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a connection from `ip`, or why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refused> {
        let mut c = self.counts();
        if c.total >= self.limits.max {
            return Err(Refused::Full);
        }
        let from_ip = c.per_address.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.limits.per_address {
            return Err(Refused::AddressFull);
        }
        c.total += 1;
        c.unnamed += 1;
        c.per_address.insert(ip, from_ip + 1);
        let in_reserve = c.unnamed > self.limits.max - self.limits.reserved;
        Ok(Ticket {
            admission: self.clone(),
            ip,
            named: false,
            in_reserve,
        })
    }

    /// Connections holding a slot now, and of them those not accepted as a caller.
    pub fn in_use(&self) -> (usize, usize) {
        let c = self.counts();
        (c.total, c.unnamed)
    }
}

impl Ticket {
    /// The connection is an allowed caller's association: it no longer counts against the
    /// share of connections that have not said who they are.
    pub fn named(&mut self) {
        if !self.named {
            self.named = true;
            let mut c = self.admission.counts();
            c.unnamed = c.unnamed.saturating_sub(1);
        }
    }

    /// How long this connection has, from its connect, to send its request.
    pub fn artim(&self, configured: Duration) -> Duration {
        if self.in_reserve {
            configured.min(RESERVE_ARTIM)
        } else {
            configured
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut c = self.admission.counts();
        c.total = c.total.saturating_sub(1);
        if !self.named {
            c.unnamed = c.unnamed.saturating_sub(1);
        }
        if let Some(n) = c.per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_address.remove(&self.ip);
            }
        }
    }
}

/// The titles of an A-ASSOCIATE-RQ that has wholly arrived (still unread on the socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The caller's AE title, as it sent it (trimmed).
    pub calling_ae: String,
    /// The AE title it asked for (ours, or not: checked later).
    pub called_ae: String,
}

/// Why no request was read.
#[derive(Debug, thiserror::Error)]
pub enum Early {
    /// The caller closed the connection first.
    #[error("closed before an association request")]
    Closed,
    /// The ARTIM timer ran out (PS3.8 9.1.5): a silent or trickling caller.
    #[error("no whole association request within {0:?} of connecting (ARTIM)")]
    Artim(Duration),
    /// The first PDU was not an A-ASSOCIATE-RQ.
    #[error("a PDU of type {0:#04x} where an association request belongs")]
    NotARequest(u8),
    /// The request claims more bytes than any real one needs.
    #[error("an association request of {0} bytes, more than the {MAX_REQUEST} read")]
    TooLarge(u32),
    /// The request could not be parsed.
    #[error("an unreadable association request: {0}")]
    Malformed(String),
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Waits until a whole A-ASSOCIATE-RQ is on `stream`, without taking it off, by `deadline`.
pub fn await_request(stream: &TcpStream, deadline: Instant) -> Result<Request, Early> {
    let started = Instant::now();
    let mut want = 6usize;
    let mut buf = vec![0u8; want];
    let mut seen = 0usize;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Early::Artim(started.elapsed()));
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.peek(&mut buf[..want]) {
            Ok(0) => return Err(Early::Closed),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(e) => return Err(e.into()),
        };
        if want == 6 && n == 6 {
            if buf[0] != 0x01 {
                return Err(Early::NotARequest(buf[0]));
            }
            let len = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]);
            if len > MAX_REQUEST {
                return Err(Early::TooLarge(len));
            }
            want = 6 + len as usize;
            buf.resize(want, 0);
            continue;
        }
        if n >= want {
            return match dicom_ul::read_pdu(&buf[..], MAX_REQUEST, false) {
                Ok(Some(Pdu::AssociationRQ(rq))) => Ok(Request {
                    calling_ae: rq.calling_ae_title,
                    called_ae: rq.called_ae_title,
                }),
                Ok(_) => Err(Early::Malformed("not a whole request".into())),
                Err(e) => Err(Early::Malformed(e.to_string())),
            };
        }
        if n == seen {
            // Part of it is there and nothing more came: a peek would return at once.
            std::thread::sleep(PEEK_POLL.min(left));
        }
        seen = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn silent_connections_hold_only_the_strangers_share_and_the_rest_is_on_a_short_leash() {
        let slots = Admission::new(Limits {
            max: 4,
            reserved: 2,
            per_address: 8,
        });
        let a = slots.admit(ip(2)).expect("first");
        let b = slots.admit(ip(3)).expect("second");
        assert!(!a.in_reserve && !b.in_reserve);
        let mut c = slots.admit(ip(1)).expect("into the reserve");
        assert!(c.in_reserve);
        assert_eq!(c.artim(Duration::from_secs(30)), RESERVE_ARTIM);
        c.named();
        // A named caller leaves the strangers' count: the next one is in the reserve still
        // (two strangers hold the share), and then the station is full.
        let d = slots.admit(ip(4)).expect("fourth");
        assert!(d.in_reserve);
        assert_eq!(slots.admit(ip(5)).err(), Some(Refused::Full));
        drop(a);
        assert_eq!(slots.in_use(), (3, 2));
        drop((b, c, d));
        assert_eq!(slots.in_use(), (0, 0));
    }

    #[test]
    fn one_address_holds_at_most_its_cap() {
        let slots = Admission::new(Limits {
            max: 16,
            reserved: 4,
            per_address: 2,
        });
        let held = [
            slots.admit(ip(9)).expect("1"),
            slots.admit(ip(9)).expect("2"),
        ];
        assert_eq!(slots.admit(ip(9)).err(), Some(Refused::AddressFull));
        assert!(slots.admit(ip(1)).is_ok(), "another address still gets in");
        drop(held);
        assert!(slots.admit(ip(9)).is_ok());
    }

    #[test]
    fn a_panic_while_holding_a_slot_frees_it() {
        let slots = Admission::new(Limits {
            max: 1,
            reserved: 0,
            per_address: 1,
        });
        let ticket = slots.admit(ip(1)).expect("slot");
        let died = std::thread::spawn(move || {
            let _ticket = ticket;
            panic!("an association's bug");
        })
        .join();
        assert!(died.is_err());
        assert_eq!(slots.in_use(), (0, 0));
        assert!(slots.admit(ip(1)).is_ok(), "the slot is free again");
    }
}
