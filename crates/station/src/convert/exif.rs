//! When a JPEG export was taken, from its Exif block (CIPA DC-008): DateTimeOriginal (0x9003)
//! in the Exif IFD, else DateTime (0x0132) in IFD0. Ultrasound and DR consoles that write Exif
//! record the acquisition there; the file's modification time is only when it was copied.
//!
//! Must never: read outside the Exif segment, whatever its offsets claim.

use chrono::NaiveDateTime;

/// The Exif APP1 payload (TIFF header onwards) of a JPEG stream, if it has one.
fn exif_segment(jpeg: &[u8]) -> Option<&[u8]> {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        let seg = jpeg.get(i + 4..i + 2 + len)?;
        if marker == 0xE1 && seg.starts_with(b"Exif\0\0") {
            return Some(&seg[6..]);
        }
        i += 2 + len;
    }
    None
}

struct Tiff<'a> {
    b: &'a [u8],
    le: bool,
}

impl Tiff<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s = self.b.get(at..at + 2)?;
        Some(if self.le {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let s = self.b.get(at..at + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
    /// The value field of `tag` in the IFD at `ifd`: (type, count, value or offset position).
    fn entry(&self, ifd: usize, tag: u16) -> Option<(u16, u32, usize)> {
        let n = self.u16(ifd)? as usize;
        (0..n.min(512)).find_map(|k| {
            let at = ifd + 2 + 12 * k;
            (self.u16(at)? == tag).then_some((self.u16(at + 2)?, self.u32(at + 4)?, at + 8))
        })
    }
    /// An ASCII "YYYY:MM:DD HH:MM:SS" value.
    fn time(&self, ifd: usize, tag: u16) -> Option<NaiveDateTime> {
        let (kind, count, field) = self.entry(ifd, tag)?;
        if kind != 2 || count < 19 {
            return None;
        }
        let at = self.u32(field)? as usize;
        let text = std::str::from_utf8(self.b.get(at..at + 19)?).ok()?;
        NaiveDateTime::parse_from_str(text, "%Y:%m:%d %H:%M:%S").ok()
    }
}

/// The time the JPEG says it was taken.
pub fn taken_at(jpeg: &[u8]) -> Option<NaiveDateTime> {
    let b = exif_segment(jpeg)?;
    let le = match b.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let t = Tiff { b, le };
    let ifd0 = t.u32(4)? as usize;
    let original = t
        .entry(ifd0, 0x8769)
        .and_then(|(_, _, field)| t.u32(field))
        .and_then(|exif_ifd| t.time(exif_ifd as usize, 0x9003));
    original.or_else(|| t.time(ifd0, 0x0132))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI + APP1 Exif (little endian): IFD0 with DateTime and an Exif IFD pointer, the Exif
    /// IFD with DateTimeOriginal.
    fn jpeg_with_exif(original: bool) -> Vec<u8> {
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes());
        // IFD0 at 8: 2 entries.
        tiff.extend_from_slice(&2u16.to_le_bytes());
        let ifd0_end = 8 + 2 + 24 + 4; // 38
        let exif_ifd = ifd0_end;
        let exif_end = exif_ifd + 2 + 12 + 4; // 56
        let (date0, date1) = (exif_end, exif_end + 20);
        tiff.extend_from_slice(&[0x32, 0x01, 2, 0]);
        tiff.extend_from_slice(&20u32.to_le_bytes());
        tiff.extend_from_slice(&(date0 as u32).to_le_bytes());
        tiff.extend_from_slice(&[0x69, 0x87, 4, 0]);
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&(exif_ifd as u32).to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&[0x03, if original { 0x90 } else { 0x91 }, 2, 0]);
        tiff.extend_from_slice(&20u32.to_le_bytes());
        tiff.extend_from_slice(&(date1 as u32).to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(b"2026:11:29 10:00:00\0");
        tiff.extend_from_slice(b"2026:11:29 09:41:07\0");
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
        out.extend_from_slice(b"Exif\0\0");
        out.extend_from_slice(&tiff);
        out.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        out
    }

    #[test]
    fn original_time_is_preferred_then_ifd0_time() {
        let t = |b: &[u8]| taken_at(b).map(|t| t.format("%H%M%S").to_string());
        assert_eq!(t(&jpeg_with_exif(true)), Some("094107".into()));
        assert_eq!(t(&jpeg_with_exif(false)), Some("100000".into()));
        assert_eq!(t(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), None);
        let mut cut = jpeg_with_exif(true);
        cut.truncate(40);
        assert_eq!(t(&cut), None);
    }
}
