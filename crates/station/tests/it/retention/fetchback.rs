//! Fetch-back when the hub's copy is not the file that was deleted: a hub that answers in another
//! transfer syntax (accepted only with the same pixels), and a hub that holds the JPEG-LS copy the
//! station sent (asked again in Explicit VR Little Endian).

use super::*;

#[test]
fn a_file_the_hub_returns_in_another_syntax_comes_back_only_with_the_same_pixels() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let mut options = Options::sending_to(hub.dicomweb_url());
    options.poll_reports = Some(false);
    let station = Station::start(scratch.path(), &options);
    let (study, made) = make_study_sized(&scratch.join("s"), 1, 2, 64);
    send_study(&station, &made);
    station.wait_delivered(1);
    purge_as_of(&station, 31);
    assert_eq!(study_files(&station, &study), vec![(true, false); 2]);

    // The hub now holds both in implicit VR little endian; the second with one pixel changed.
    let implicit = |m: &Made, name: &str| {
        let out = scratch.join(name);
        run_tool(
            Command::new("/usr/bin/dcmconv")
                .arg("+ti")
                .arg(&m.path)
                .arg(&out),
        )
        .assert_success("dcmconv +ti");
        out
    };
    let same = implicit(&made[0], "same.dcm");
    let tampered = implicit(&made[1], "tampered.dcm");
    let mut bytes = std::fs::read(&tampered).expect("tampered");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&tampered, bytes).expect("tampered");
    hub.replace(&made[0].sop, &same);
    hub.replace(&made[1].sop, &tampered);

    let client = Client::new(&station);
    let admin = client.admin();
    let wado = |m: &Made| {
        client.get_bytes_as(
            &admin,
            &format!(
                "/dicom-web/studies/{study}/series/{}/instances/{}",
                m.series, m.sop
            ),
        )
    };
    let (status, _, body) = wado(&made[0]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let rows = station.instances();
    let back = row_of(&rows, &made[0].sop);
    assert_eq!(back.purged_at, None);
    assert_eq!(
        back.transfer_syntax, "1.2.840.10008.1.2",
        "the row describes the file now on disk"
    );
    assert_eq!(sha256_file(&station.data_dir.join(&back.path)), back.sha256);
    assert_eq!(
        sha256_file(&station.data_dir.join(&back.path)),
        sha256_file(&same)
    );

    let (status, _, body) = wado(&made[1]);
    assert_eq!(
        status,
        409,
        "other pixels are refused: {}",
        String::from_utf8_lossy(&body)
    );
    let rows = station.instances();
    assert!(
        row_of(&rows, &made[1].sop).purged_at.is_some(),
        "still kept at the center only"
    );
    assert_index_matches_files(&station.data_dir);
}

/// A study sent to a hub as JPEG-LS (the default `transfer_syntax`), purged, and opened again:
/// the hub's copy is compressed, not the file deleted, so the station asks it again in Explicit
/// VR Little Endian and puts the file back once its pixels are the ones it deleted.
#[test]
fn a_study_the_hub_holds_compressed_comes_back_with_its_pixels() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let mut options = Options::sending_to(hub.dicomweb_url());
    options.poll_reports = Some(false);
    // Orthanc on this computer is a fast link: compress whatever the link's speed.
    options.destinations[0].compression = station::config::WireCompression::Always;
    let station = Station::start(scratch.path(), &options);
    let (study, made) = make_study_sized(&scratch.join("s"), 1, 2, 64);
    send_study(&station, &made);
    station.wait_delivered(1);
    let held = hub.get("/instances?expand").expect("GET /instances?expand");
    let held = held.as_array().expect("instances");
    assert_eq!(held.len(), made.len());
    for instance in held {
        let id = instance["ID"].as_str().expect("ID");
        let (_, ts) = hub
            .get_bytes(&format!("/instances/{id}/metadata/TransferSyntax"))
            .expect("transfer syntax");
        assert_eq!(ts, b"1.2.840.10008.1.2.4.80", "the hub holds JPEG-LS");
    }
    purge_as_of(&station, 31);
    assert_eq!(study_files(&station, &study), vec![(true, false); 2]);

    let client = Client::new(&station);
    let admin = client.admin();
    for m in &made {
        let (status, _, body) = client.get_bytes_as(
            &admin,
            &format!(
                "/dicom-web/studies/{study}/series/{}/instances/{}",
                m.series, m.sop
            ),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let rows = station.instances();
        let back = row_of(&rows, &m.sop);
        assert_eq!(back.purged_at, None, "back in the index");
        assert_eq!(back.transfer_syntax, "1.2.840.10008.1.2.1");
        let path = station.data_dir.join(&back.path);
        assert_eq!(sha256_file(&path), back.sha256);
        assert_eq!(
            pixel_data(&path),
            pixel_data(&m.path),
            "the device's pixels, byte for byte"
        );
    }
    assert_index_matches_files(&station.data_dir);
}

/// The Pixel Data value of a native PS3.10 file.
fn pixel_data(path: &Path) -> Vec<u8> {
    let obj = dicom_object::open_file(path).expect("a PS3.10 file");
    let element = obj
        .element(dicom_dictionary_std::tags::PIXEL_DATA)
        .expect("pixel data");
    element.to_bytes().expect("native pixel data").into_owned()
}
