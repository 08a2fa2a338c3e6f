//! What a DICOMweb viewer or workstation asks beyond frames one at a time: several frames in one
//! request, rendered images through a window of its own, and thumbnails of a study, a series
//! or an instance (PS3.18 8.3.5, 10.4), behind the login like every other read.

use dicom_dictionary_std::tags;

use super::{sent_frame, sent_frames, station_with_a_day, BOUNDARY};
use crate::harness::*;

/// The parts of a multipart/related answer: each one's Content-Type and body, in order.
fn parts(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("{BOUNDARY}\r\n");
    let close = format!("\r\n{BOUNDARY}--\r\n");
    assert!(body.ends_with(close.as_bytes()), "closed by the boundary");
    let mut found = Vec::new();
    let mut rest = &body[..body.len() - close.len() + 2];
    for _ in 0..10_000 {
        if rest.is_empty() {
            return found;
        }
        assert!(rest.starts_with(delimiter.as_bytes()), "a part starts");
        let headers_end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("part headers");
        let kind = String::from_utf8_lossy(&rest[delimiter.len()..headers_end])
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: ").map(str::to_owned))
            .expect("part type");
        let value = &rest[headers_end + 4..];
        let next = format!("\r\n{BOUNDARY}");
        let end = value
            .windows(next.len())
            .position(|w| w == next.as_bytes())
            .map_or(value.len() - 2, |p| p);
        found.push((kind, value[..end].to_vec()));
        rest = &value[end + 2..];
    }
    panic!("more parts than any answer here has");
}

fn png_grey(bytes: &[u8]) -> image::GrayImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8()
}

#[test]
fn several_frames_rendered_images_and_thumbnails_are_served() {
    let scratch = Scratch::new();
    let (station, day) = station_with_a_day(&scratch, 53);
    let client = Client::new(&station);
    let admin = client.admin();
    let get = |path: &str, accept: &str| {
        client.get_bytes_accepting(&admin, &format!("/dicom-web{path}"), accept)
    };
    let series_of = |sop: &str| {
        station
            .instances()
            .into_iter()
            .find(|i| i.sop_instance_uid == sop)
            .expect("indexed")
            .series_uid
    };

    // Several frames of the cine in one request, each part what the device sent, in the order asked.
    let cine = day
        .iter()
        .find(|f| f.modality == "US" && sent_frames(&f.path) > 2)
        .expect("a cine in the day");
    let last = sent_frames(&cine.path);
    let cine_at = format!(
        "/studies/{}/series/{}/instances/{}",
        cine.study_uid,
        series_of(&cine.sop_instance_uid),
        cine.sop_instance_uid
    );
    let (status, kind, body) = get(&format!("{cine_at}/frames/1,{last},2"), "*/*");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(kind.contains("application/octet-stream"), "{kind}");
    let got = parts(&body);
    assert_eq!(got.len(), 3, "one part per frame asked");
    for ((part_kind, bytes), n) in got.iter().zip([1, last, 2]) {
        assert!(part_kind.contains("transfer-syntax="), "{part_kind}");
        assert!(*bytes == sent_frame(&cine.path, n), "frame {n} as sent");
    }
    for bad in ["0", "1,x", ""] {
        let (status, _, _) = get(&format!("{cine_at}/frames/{bad}"), "*/*");
        assert!(status == 400 || status == 404, "frames/{bad}: {status}");
    }

    // A cine frame rendered through the window that maps 8-bit values onto themselves: the
    // grey levels are the stored ones, and frame 2 is frame 2.
    let (status, kind, body) = get(
        &format!("{cine_at}/frames/2/rendered?window=128,256"),
        "image/png",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(kind, "image/png");
    let grey = png_grey(&body);
    assert!(
        grey.as_raw() == &sent_frame(&cine.path, 2),
        "frame 2's pixels"
    );
    assert!(grey.as_raw() != &sent_frame(&cine.path, 1), "not frame 1's");
    let (status, _, _) = get(&format!("{cine_at}/frames/{}/rendered", last + 1), "*/*");
    assert!(
        status == 404 || status == 409,
        "no frame past the last: {status}"
    );

    // The radiograph: JPEG by default at its full size, its own window or the caller's,
    // scaled to a viewport.
    let dx = day
        .iter()
        .find(|f| f.modality == "DX")
        .expect("a radiograph");
    let sent = dicom_object::open_file(&dx.path).expect("sent file");
    let side = |tag| {
        sent.element(tag)
            .expect("size")
            .to_int::<u32>()
            .expect("int")
    };
    let (rows, cols) = (side(tags::ROWS), side(tags::COLUMNS));
    let dx_at = format!(
        "/studies/{}/series/{}/instances/{}",
        dx.study_uid,
        series_of(&dx.sop_instance_uid),
        dx.sop_instance_uid
    );
    let (status, kind, body) = get(&format!("{dx_at}/rendered"), "image/jpeg, */*");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(kind, "image/jpeg");
    let mut decoder = jpeg_decoder::Decoder::new(&body[..]);
    decoder.decode().expect("a JPEG");
    let info = decoder.info().expect("JPEG header");
    assert_eq!(
        (u32::from(info.height), u32::from(info.width)),
        (rows, cols)
    );
    let all_white = png_grey(&get(&format!("{dx_at}/rendered?window=-100000,2"), "image/png").2);
    assert!(
        all_white.pixels().all(|p| p.0[0] == 255),
        "every value above the window"
    );
    let all_black = png_grey(&get(&format!("{dx_at}/rendered?window=100000,2"), "image/png").2);
    assert!(
        all_black.pixels().all(|p| p.0[0] == 0),
        "every value below the window"
    );
    let small = png_grey(&get(&format!("{dx_at}/rendered?viewport=64,64"), "image/png").2);
    assert!(
        small.width().max(small.height()) == 64,
        "{}×{}",
        small.width(),
        small.height()
    );
    let (status, _, body) = get(&format!("{dx_at}/rendered?window=40"), "*/*");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert_eq!(get(&format!("{dx_at}/rendered"), "image/gif").0, 400);

    // Thumbnails: of the study, of a series, of an instance; an ECG has no image.
    let (status, kind, body) = get(&format!("/studies/{}/thumbnail", dx.study_uid), "*/*");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(kind, "image/jpeg");
    let (status, kind, body) = get(&format!("{cine_at}/thumbnail"), "image/png");
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert!(png_grey(&body).width() <= 512, "a thumbnail is small");
    let series_thumb = format!(
        "/studies/{}/series/{}/thumbnail?viewport=32,32",
        dx.study_uid,
        series_of(&dx.sop_instance_uid)
    );
    let thumb = png_grey(&get(&series_thumb, "image/png").2);
    assert!(thumb.width().max(thumb.height()) == 32);
    let ecg = day.iter().find(|f| f.modality == "ECG").expect("an ECG");
    let ecg_at = format!(
        "/studies/{}/series/{}/instances/{}/thumbnail",
        ecg.study_uid,
        series_of(&ecg.sop_instance_uid),
        ecg.sop_instance_uid
    );
    let (status, _, body) = get(&ecg_at, "*/*");
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));

    // Behind the login.
    let (status, _, _) = client.get_bytes(&format!("/dicom-web{dx_at}/rendered"));
    assert_eq!(status, 401);
}
