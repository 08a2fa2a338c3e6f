//! Reading PDUs of an established association against a deadline and the PDU length we
//! advertised. dicom-ul's own `receive` waits per read (one byte every so often keeps an
//! association forever) and, outside strict mode, buffers whatever length a PDU declares
//! (4 GB declared, 300 MB sent: 300 MB resident). Here the 6-byte header is read first, its
//! length checked against our maximum before any body byte is buffered, and the whole PDU must
//! arrive by the deadline; only then does dicom-ul parse it.
//!
//! Must never: buffer more than one PDU of at most the advertised length, or wait past the
//! deadline however the bytes trickle in.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dicom_ul::association::SyncAssociation;
use dicom_ul::pdu::Pdu;
use dicom_ul::ServerAssociation;

/// The header of every PDU: type, reserved, length (PS3.8 §9.3.1).
const HEADER: usize = 6;

/// Read at most this much per system call.
const CHUNK: usize = 64 * 1024;

/// Why a PDU could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Nothing whole arrived within the deadline: the peer stalled.
    #[error("no whole PDU within {0:?} (idle deadline)")]
    Idle(Duration),
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    Closed,
    /// The PDU is larger than the maximum length we advertised (PS3.8 D.1).
    #[error("a PDU of {length} bytes, more than the {max} we advertised")]
    TooLarge {
        /// The length the PDU claims.
        length: u32,
        /// What we advertised.
        max: u32,
    },
    /// The PDU could not be parsed.
    #[error("an unreadable PDU: {0}")]
    Malformed(String),
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// How PDUs of one association are read.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    /// Each whole PDU must arrive within this long of the call.
    pub idle: Duration,
    /// The maximum PDU length we advertised (the length field, header not counted).
    pub max_pdu: u32,
}

impl Reader {
    /// The next PDU, whole, within [`Reader::idle`].
    pub fn receive(&self, assoc: &mut ServerAssociation<TcpStream>) -> Result<Pdu, WireError> {
        let started = Instant::now();
        let deadline = started + self.idle;
        // dicom-ul's buffer: bytes it read past the association request stay first in line.
        let (socket, buffer) = SyncAssociation::get_mut(assoc);
        let mut chunk = vec![0u8; CHUNK];
        let mut fill = |buffer: &mut Vec<u8>, want: usize| -> Result<(), WireError> {
            while buffer.len() < want {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(WireError::Idle(started.elapsed()));
                }
                socket.set_read_timeout(Some(left))?;
                let take = (want - buffer.len()).min(CHUNK);
                match socket.read(&mut chunk[..take]) {
                    Ok(0) => return Err(WireError::Closed),
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        };
        // Our own buffer of this one PDU, so that nothing is read ahead of it.
        let mut pdu: Vec<u8> = Vec::new();
        let carried = buffer.len().min(HEADER);
        pdu.extend_from_slice(&buffer.split_to(carried));
        fill(&mut pdu, HEADER)?;
        let length = u32::from_be_bytes([pdu[2], pdu[3], pdu[4], pdu[5]]);
        if length > self.max_pdu {
            return Err(WireError::TooLarge {
                length,
                max: self.max_pdu,
            });
        }
        let whole = HEADER + length as usize;
        let carried = buffer.len().min(whole - HEADER);
        pdu.extend_from_slice(&buffer.split_to(carried));
        fill(&mut pdu, whole)?;
        match dicom_ul::read_pdu(&pdu[..], self.max_pdu, true) {
            Ok(Some(pdu)) => Ok(pdu),
            Ok(None) => Err(WireError::Malformed("incomplete".into())),
            Err(e) => Err(WireError::Malformed(e.to_string())),
        }
    }
}
