//! C-MOVE and C-GET as a workstation sends them: `movescu` to `storescp` receivers listed as
//! move destinations (one taking implicit VR only), to an unknown one, `getscu`, and C-CANCEL.

use super::*;

#[test]
fn movescu_moves_a_study_to_listed_destinations_re_encoded_as_accepted_and_an_unknown_one_gets_a801(
) {
    let scratch = Scratch::new();
    let receiver = Receiver::start(&scratch.join("ws"), "WS1", &[]);
    // A receiver taking implicit VR only, writing files as received (+B).
    let implicit = Receiver::start(&scratch.join("ws2"), "WS2", &["+xi", "+B"]);
    let (port, port2) = (receiver.port, implicit.port);
    let (station, sent) = station_with_day(
        &scratch,
        Options::default().tweak(move |c| {
            let dest = |ae: &str, port| MoveDestination {
                ae_title: ae.into(),
                host: "127.0.0.1".into(),
                port,
            };
            c.dicom.move_destinations = vec![dest("WS1", port), dest("WS2", port2)]
        }),
    );
    let study = sent[0].study.clone();
    let movescu = |dest: &str| {
        run_tool(
            Command::new(dcmtk::MOVESCU)
                .args(["-v", "-S", "-to", "20", "-ta", "20", "-td", "60"])
                .args(["-aet", VIEWER, "-aec", AE_TITLE, "-aem", dest])
                .args(["-k", "QueryRetrieveLevel=STUDY"])
                .arg("-k")
                .arg(format!("StudyInstanceUID={study}"))
                .arg("127.0.0.1")
                .arg(station.dicom_port.to_string()),
        )
    };
    let run = movescu("WS1");
    run.assert_success("movescu to WS1");
    let n = sent.iter().filter(|s| s.study == study).count();
    wait_for("the moved files", Duration::from_secs(30), || {
        (files_under(&receiver.dir).len() >= n).then_some(())
    });
    assert_received_study(&receiver.dir, &sent, &study);
    assert!(
        run.log
            .contains(&format!("Completed Suboperations   : {n}"))
            || run.log.contains("Success"),
        "{}",
        run.log
    );

    // The stored explicit VR files re-encoded for a receiver that takes implicit VR only.
    movescu("WS2").assert_success("movescu to WS2");
    wait_for("the re-encoded files", Duration::from_secs(30), || {
        (files_under(&implicit.dir).len() >= n).then_some(())
    });
    assert_received_study(&implicit.dir, &sent, &study);
    for f in files_under(&implicit.dir) {
        assert_eq!(read_part10(&f).transfer_syntax, "1.2.840.10008.1.2");
    }

    let run = movescu("NOWHERE");
    assert!(
        run.log.contains("Refused: MoveDestinationUnknown"),
        "an unknown destination is answered A801:\n{}",
        run.log
    );
    assert_eq!(
        audited_reads(&station, "qr.move"),
        [("STUDY".to_string(), sent[0].patient_id.clone())],
        "the move is audited with its patient"
    );
}

#[test]
fn getscu_retrieves_a_study_with_identical_datasets() {
    let scratch = Scratch::new();
    let (station, sent) = station_with_day(&scratch, Options::default());
    let study = sent[0].study.clone();
    let getscu = |dir: &Path, extra: &[&str]| {
        std::fs::create_dir_all(dir).expect("get dir");
        run_tool(
            Command::new(dcmtk::GETSCU)
                .args(["-v", "-S", "-to", "20", "-ta", "20", "-td", "60"])
                .args(extra)
                .args(["-aet", VIEWER, "-aec", AE_TITLE, "-od"])
                .arg(dir)
                .args(["-k", "QueryRetrieveLevel=STUDY"])
                .arg("-k")
                .arg(format!("StudyInstanceUID={study}"))
                .arg("127.0.0.1")
                .arg(station.dicom_port.to_string()),
        )
    };
    let dir = scratch.join("get");
    getscu(&dir, &[]).assert_success("getscu");
    assert_received_study(&dir, &sent, &study);
    assert_eq!(
        audited_reads(&station, "qr.get"),
        [("STUDY".to_string(), sent[0].patient_id.clone())],
        "the retrieves are audited with their patient"
    );
}

#[test]
fn a_cancel_stops_a_find_and_a_move_part_way() {
    let scratch = Scratch::new();
    let receiver = Receiver::start(&scratch.join("ws"), "WS1", &[]);
    let port = receiver.port;
    let options = Options::default().tweak(move |c| {
        c.dicom.query_callers = vec![VIEWER.into()];
        c.dicom.move_destinations = vec![MoveDestination {
            ae_title: "WS1".into(),
            host: "127.0.0.1".into(),
            port,
        }];
    });
    let station = Station::start(scratch.path(), &options);
    // One study of many images (so many that answering them all takes far longer than the
    // cancel takes to arrive): one demo radiograph under new SOP Instance UIDs.
    const COPIES: usize = 300;
    let day = demo_day(&scratch.join("day"), Scale::Small, 3);
    let dx = day.iter().find(|f| f.modality == "DX").expect("a DX image");
    let original = dicom_object::open_file(&dx.path).expect("the DX file");
    let many = scratch.join("many");
    std::fs::create_dir_all(&many).expect("dir");
    for n in 0..COPIES {
        let mut obj = original.clone().into_inner();
        obj.put(dicom_core::DataElement::new(
            tags::SOP_INSTANCE_UID,
            dicom_core::VR::UI,
            dicom_core::PrimitiveValue::from(format!("2.25.{}", 1_000_000 + n)),
        ));
        obj.with_meta(
            dicom_object::FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"),
        )
        .expect("meta")
        .write_to_file(many.join(format!("{n}.dcm")))
        .expect("write a copy");
    }
    station
        .storescu("US1", &[&many])
        .assert_success("storescu of the copies");

    let study = format!("StudyInstanceUID={}", dx.study_uid);
    let options = [OsStr::new("-S"), OsStr::new("--cancel"), OsStr::new("1")];
    let k = keys(&["QueryRetrieveLevel=IMAGE", &study, "SOPInstanceUID"]);
    let run = run_tool(&mut dcmtk::findscu(
        station.dicom_port,
        VIEWER,
        &options,
        &k,
    ));
    run.assert_success("findscu --cancel 1");
    // The station writes its answers without waiting for the workstation, so on a busy machine
    // all of them can be in the socket before findscu's C-CANCEL arrives (CI run 38): then the
    // search is over and the cancel has nothing to stop (PS3.7 9.1.2.1). Otherwise the answers
    // stop, and the final response says why. The move below, which takes far longer than a
    // cancel's trip, is where the cancel must always win.
    let pending = run.log.matches("(Pending)").count();
    if pending < COPIES {
        assert!(
            run.log.contains(
                "Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)"
            ),
            "{pending} pending answers, then the final response says cancelled:\n{}",
            &run.log[run.log.len().saturating_sub(2000)..]
        );
    } else {
        assert!(
            run.log.contains("Received Final Find Response (Success)"),
            "every answer sent before the cancel arrived, then success:\n{}",
            &run.log[run.log.len().saturating_sub(2000)..]
        );
    }

    let run = run_tool(
        Command::new(dcmtk::MOVESCU)
            .args([
                "-v", "-S", "--cancel", "1", "-to", "20", "-ta", "20", "-td", "60",
            ])
            .args(["-aet", VIEWER, "-aec", AE_TITLE, "-aem", "WS1"])
            .args(["-k", "QueryRetrieveLevel=STUDY", "-k", &study])
            .arg("127.0.0.1")
            .arg(station.dicom_port.to_string()),
    );
    assert!(
        run.log.contains(
            "Received Final Move Response (Cancel: SubOperationsTerminatedDueToCancelIndication)"
        ),
        "the final move response says cancelled:\n{}",
        &run.log[run.log.len().saturating_sub(2000)..]
    );
    let moved = files_under(&receiver.dir).len();
    assert!(
        moved < COPIES,
        "{moved} files moved: the cancel stopped the move"
    );
}
