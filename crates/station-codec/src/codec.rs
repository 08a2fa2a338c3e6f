//! The lossless codecs this crate writes, and their DICOM transfer syntaxes (PS3.5 A.4.3, A.4.4).

use std::fmt;

/// A lossless compressed transfer syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// JPEG-LS Lossless Image Compression, 1.2.840.10008.1.2.4.80.
    JpegLsLossless,
    /// JPEG 2000 Image Compression (Lossless Only), 1.2.840.10008.1.2.4.90.
    Jpeg2000Lossless,
}

impl Codec {
    /// Every codec, in the order settings and tests list them.
    pub const ALL: [Codec; 2] = [Codec::JpegLsLossless, Codec::Jpeg2000Lossless];

    /// The Transfer Syntax UID (0002,0010) a file written with this codec carries.
    pub const fn transfer_syntax_uid(self) -> &'static str {
        match self {
            Codec::JpegLsLossless => "1.2.840.10008.1.2.4.80",
            Codec::Jpeg2000Lossless => "1.2.840.10008.1.2.4.90",
        }
    }

    /// The name a destination's `transfer_syntax` setting uses for it.
    pub const fn setting_name(self) -> &'static str {
        match self {
            Codec::JpegLsLossless => "jpeg-ls-lossless",
            Codec::Jpeg2000Lossless => "jpeg2000-lossless",
        }
    }

    /// The codec a `transfer_syntax` setting names; `None` for `as-received` or an unknown name.
    pub fn from_setting_name(name: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.setting_name() == name)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::JpegLsLossless => "JPEG-LS lossless",
            Codec::Jpeg2000Lossless => "JPEG 2000 lossless",
        })
    }
}
