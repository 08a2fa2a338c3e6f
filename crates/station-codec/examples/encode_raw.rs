//! Encodes one image's native Pixel Data value from a file, as bench/codec.sh drives it:
//!
//!   encode_raw <jpeg-ls-lossless|jpeg2000-lossless> <descriptor> <pixel-data> <out>
//!
//! `descriptor` holds `key=value` lines named like [`PixelDescriptor`]'s fields (absent keys:
//! None); `pixel-data` is the value exactly as stored. Prints one line: `encoded frames=…
//! native_bytes=… encapsulated_bytes=… seconds=…`, or `refused code=… reason=…`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::time::Instant;

use station_codec::{Codec, EncodeError, PixelDescriptor, PixelElement, PixelEncoder};

fn descriptor(text: &str) -> Result<PixelDescriptor, String> {
    let fields: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let get = |k: &str| {
        fields
            .get(k)
            .copied()
            .ok_or(format!("descriptor lacks {k}"))
    };
    let num = |k: &str| -> Result<u64, String> { get(k)?.parse().map_err(|e| format!("{k}: {e}")) };
    let small = |k: &str| -> Result<u16, String> {
        u16::try_from(num(k)?).map_err(|e| format!("{k}: {e}"))
    };
    Ok(PixelDescriptor {
        transfer_syntax_uid: get("transfer_syntax_uid")?.to_string(),
        element: PixelElement::PixelData,
        pixel_data_vr: fields
            .get("pixel_data_vr")
            .and_then(|v| v.as_bytes().try_into().ok()),
        pixel_data_length: num("pixel_data_length")?,
        rows: small("rows")?,
        columns: small("columns")?,
        samples_per_pixel: small("samples_per_pixel")?,
        bits_allocated: small("bits_allocated")?,
        bits_stored: small("bits_stored")?,
        high_bit: small("high_bit")?,
        pixel_representation: small("pixel_representation")?,
        photometric_interpretation: get("photometric_interpretation")?.to_string(),
        planar_configuration: fields
            .get("planar_configuration")
            .and_then(|v| v.parse().ok()),
        number_of_frames: fields.get("number_of_frames").and_then(|v| v.parse().ok()),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, codec, desc, pixels, out] = &args[..] else {
        return Err("usage: encode_raw <codec> <descriptor> <pixel-data> <out>".into());
    };
    let codec = Codec::from_setting_name(codec).ok_or("unknown codec")?;
    let descriptor = descriptor(&std::fs::read_to_string(desc)?)?;
    let encoder = match PixelEncoder::new(codec, &descriptor) {
        Ok(e) => e,
        Err(reason) => {
            println!("refused code={} reason={reason}", reason.code());
            return Ok(());
        }
    };
    let source = BufReader::with_capacity(1 << 20, File::open(pixels)?);
    let mut sink = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let start = Instant::now();
    match encoder.encode(source, &mut sink) {
        Ok(done) => {
            sink.flush()?;
            println!(
                "encoded frames={} native_bytes={} encapsulated_bytes={} seconds={:.4}",
                done.frames,
                done.native_bytes,
                done.encapsulated_bytes,
                start.elapsed().as_secs_f64()
            );
        }
        Err(EncodeError::NotCompressible(reason)) => {
            println!("refused code={} reason={reason}", reason.code());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
