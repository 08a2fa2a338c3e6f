//! Assembling Part-10 files (PS3.10 7.1: preamble, "DICM", meta group, then the dataset) around
//! native or encapsulated Pixel Data, as the engine will, so independent tools can read them.

use station_codec::ENCAPSULATED_PIXEL_DATA_HEADER;

use crate::images::Image;

pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
pub const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";
const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

fn padded(value: &[u8], pad: u8) -> Vec<u8> {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(pad);
    }
    v
}

/// One explicit-VR element; `big` writes it big-endian (tag, length and US values).
fn element(out: &mut Vec<u8>, tag: u32, vr: &[u8; 2], value: &[u8], big: bool) {
    let (group, elem) = ((tag >> 16) as u16, tag as u16);
    let u16b = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    out.extend(u16b(group));
    out.extend(u16b(elem));
    out.extend(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT" | b"OF") {
        out.extend([0, 0]);
        let len = value.len() as u32;
        out.extend(if big {
            len.to_be_bytes()
        } else {
            len.to_le_bytes()
        });
    } else {
        out.extend(u16b(value.len() as u16));
    }
    out.extend(value);
}

fn text(out: &mut Vec<u8>, tag: u32, vr: &[u8; 2], s: &str, big: bool) {
    let pad = if vr == b"UI" { 0 } else { b' ' };
    element(out, tag, vr, &padded(s.as_bytes(), pad), big);
}

fn us(out: &mut Vec<u8>, tag: u32, values: &[u16], big: bool) {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|v| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        })
        .collect();
    element(out, tag, b"US", &bytes, big);
}

fn meta(transfer_syntax: &str, sop_instance: &str) -> Vec<u8> {
    let mut group = Vec::new();
    element(&mut group, 0x0002_0001, b"OB", &[0, 1], false);
    text(&mut group, 0x0002_0002, b"UI", SECONDARY_CAPTURE, false);
    text(&mut group, 0x0002_0003, b"UI", sop_instance, false);
    text(&mut group, 0x0002_0010, b"UI", transfer_syntax, false);
    text(
        &mut group,
        0x0002_0012,
        b"UI",
        "1.2.826.0.1.3680043.10.1234.1",
        false,
    );
    let mut out = vec![0u8; 128];
    out.extend(b"DICM");
    element(
        &mut out,
        0x0002_0000,
        b"UL",
        &(group.len() as u32).to_le_bytes(),
        false,
    );
    out.extend(group);
    out
}

/// The dataset up to (not including) Pixel Data, with the pixel attributes of `image` as
/// overridden by the compressed form's changes.
fn header(
    image: &Image,
    photometric: &str,
    planar: Option<u16>,
    sop_instance: &str,
    big: bool,
) -> Vec<u8> {
    let d = &image.descriptor;
    let mut out = Vec::new();
    text(&mut out, 0x0008_0016, b"UI", SECONDARY_CAPTURE, big);
    text(&mut out, 0x0008_0018, b"UI", sop_instance, big);
    text(&mut out, 0x0010_0010, b"PN", "CODEC^TEST", big);
    text(
        &mut out,
        0x0020_000D,
        b"UI",
        "1.2.826.0.1.3680043.10.1234.2",
        big,
    );
    text(
        &mut out,
        0x0020_000E,
        b"UI",
        "1.2.826.0.1.3680043.10.1234.3",
        big,
    );
    us(&mut out, 0x0028_0002, &[d.samples_per_pixel], big);
    text(&mut out, 0x0028_0004, b"CS", photometric, big);
    if let Some(p) = planar {
        us(&mut out, 0x0028_0006, &[p], big);
    }
    if let Some(n) = d.number_of_frames {
        text(&mut out, 0x0028_0008, b"IS", &n.to_string(), big);
    }
    us(&mut out, 0x0028_0010, &[d.rows], big);
    us(&mut out, 0x0028_0011, &[d.columns], big);
    us(&mut out, 0x0028_0100, &[d.bits_allocated], big);
    us(&mut out, 0x0028_0101, &[d.bits_stored], big);
    us(&mut out, 0x0028_0102, &[d.high_bit], big);
    us(&mut out, 0x0028_0103, &[d.pixel_representation], big);
    if let Some(lut) = &image.palette {
        // PS3.3 C.7.6.3.1.5: entries, first mapped value, bits per entry; 16-bit entries.
        let descriptor = [lut.len() as u16, 0, 16];
        let data: Vec<u8> = lut.iter().flat_map(|v| v.to_le_bytes()).collect();
        for tag in [0x0028_1101, 0x0028_1102, 0x0028_1103] {
            us(&mut out, tag, &descriptor, big);
        }
        for tag in [0x0028_1201, 0x0028_1202, 0x0028_1203] {
            element(&mut out, tag, b"OW", &data, big);
        }
    }
    out
}

/// The image as the device sent it: native Pixel Data in the image's own transfer syntax.
pub fn native(image: &Image) -> Vec<u8> {
    let d = &image.descriptor;
    let big = d.transfer_syntax_uid == EXPLICIT_VR_BIG_ENDIAN;
    let mut out = meta(&d.transfer_syntax_uid, "1.2.826.0.1.3680043.10.1234.4");
    out.extend(header(
        image,
        &d.photometric_interpretation,
        d.planar_configuration,
        "1.2.826.0.1.3680043.10.1234.4",
        big,
    ));
    let vr = d.pixel_data_vr.expect("explicit VR");
    element(&mut out, 0x7FE0_0010, &vr, &padded(&image.pixels, 0), big);
    out
}

/// The compressed copy: the same attributes with the encoder's changes, then the encapsulated
/// value it wrote.
pub fn encapsulated(
    image: &Image,
    transfer_syntax: &str,
    photometric: Option<&str>,
    planar: Option<u16>,
    value: &[u8],
) -> Vec<u8> {
    let d = &image.descriptor;
    let mut out = meta(transfer_syntax, "1.2.826.0.1.3680043.10.1234.4");
    out.extend(header(
        image,
        photometric.unwrap_or(&d.photometric_interpretation),
        planar.or(d.planar_configuration),
        "1.2.826.0.1.3680043.10.1234.4",
        false,
    ));
    out.extend(ENCAPSULATED_PIXEL_DATA_HEADER);
    out.extend(value);
    out
}
