//! station-codec's tests: every supported layout round-trips and is confirmed by independent
//! decoders, every unsupported one is refused with its reason, and encoders run concurrently.

// A failed unwrap is a failed test, with the panic message saying where.
#![allow(clippy::unwrap_used)]

mod hayro;
mod images;
mod independent;
mod part10;
mod refusals;
mod roundtrip;
mod threads;

use std::io::Cursor;

use station_codec::{Codec, Encoded, PixelEncoder};

use images::Image;

/// Encodes `image` with `codec` into memory; panics if the encoder refuses it.
pub fn encode(image: &Image, codec: Codec) -> (PixelEncoder, Encoded, Vec<u8>) {
    let encoder = PixelEncoder::new(codec, &image.descriptor)
        .unwrap_or_else(|e| panic!("{} with {codec}: {e}", image.name));
    // The reader is positioned at the value, padding byte and all; the encoder reads the frames.
    let mut value = image.pixels.clone();
    if value.len() % 2 == 1 {
        value.push(0);
    }
    let mut out = Cursor::new(Vec::new());
    let encoded = encoder
        .encode(&value[..], &mut out)
        .unwrap_or_else(|e| panic!("{} with {codec}: {e}", image.name));
    (encoder, encoded, out.into_inner())
}
