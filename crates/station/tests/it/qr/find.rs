//! C-FIND as a workstation sends it: `findscu` -S and -P at every level, in UTF-8 and GB18030,
//! and from a caller not listed.

use super::*;

#[test]
fn findscu_finds_patients_studies_series_and_images_in_both_models_and_charsets() {
    let scratch = Scratch::new();
    let (station, sent) = station_with_day(&scratch, Options::default());
    let li = sent
        .iter()
        .find(|s| s.patient_name == "李^秀英")
        .expect("the GB18030 patient")
        .clone();
    let study_of = |study: &str| sent.iter().filter(|s| s.study == study).collect::<Vec<_>>();
    let at = |name: &str| scratch.join(name);

    // PATIENT level (Patient Root): every patient once, with the instances each has.
    let (run, answers) = find(
        &station,
        &at("patients"),
        VIEWER,
        "-P",
        &keys(&[
            "SpecificCharacterSet=ISO_IR 192",
            "QueryRetrieveLevel=PATIENT",
            "PatientName",
            "PatientID",
            "NumberOfPatientRelatedInstances",
        ]),
    );
    run.assert_success("findscu -P PATIENT");
    let got: BTreeMap<String, (String, String)> = answers
        .iter()
        .map(|a| {
            (
                a.get(tags::PATIENT_ID),
                (
                    a.get(tags::PATIENT_NAME),
                    a.get(tags::NUMBER_OF_PATIENT_RELATED_INSTANCES),
                ),
            )
        })
        .collect();
    let mut want: BTreeMap<String, (String, String)> = BTreeMap::new();
    for s in &sent {
        let n = sent.iter().filter(|o| o.patient_id == s.patient_id).count();
        want.insert(
            s.patient_id.clone(),
            (s.patient_name.clone(), n.to_string()),
        );
    }
    assert_eq!(got, want);
    assert!(answers
        .iter()
        .all(|a| a.get(tags::SPECIFIC_CHARACTER_SET) == "ISO_IR 192"));

    // Patient Root down the levels for the GB18030 patient: studies, series, images.
    let (run, answers) = find(
        &station,
        &at("p-studies"),
        VIEWER,
        "-P",
        &keys(&[
            "QueryRetrieveLevel=STUDY",
            &format!("PatientID={}", li.patient_id),
            "StudyInstanceUID",
        ]),
    );
    run.assert_success("findscu -P STUDY");
    let studies = set(answers.iter().map(|a| a.get(tags::STUDY_INSTANCE_UID)));
    let want_studies = set(sent
        .iter()
        .filter(|s| s.patient_id == li.patient_id)
        .map(|s| s.study.as_str()));
    assert_eq!(studies, want_studies);
    let (run, answers) = find(
        &station,
        &at("p-series"),
        VIEWER,
        "-P",
        &keys(&[
            "QueryRetrieveLevel=SERIES",
            &format!("PatientID={}", li.patient_id),
            &format!("StudyInstanceUID={}", li.study),
            "SeriesInstanceUID",
        ]),
    );
    run.assert_success("findscu -P SERIES");
    let series: BTreeSet<String> = answers
        .iter()
        .map(|a| a.get(tags::SERIES_INSTANCE_UID))
        .collect();
    assert_eq!(
        series,
        study_of(&li.study)
            .iter()
            .map(|s| s.series.clone())
            .collect()
    );
    let (run, answers) = find(
        &station,
        &at("p-images"),
        VIEWER,
        "-P",
        &keys(&[
            "QueryRetrieveLevel=IMAGE",
            &format!("PatientID={}", li.patient_id),
            &format!("StudyInstanceUID={}", li.study),
            &format!("SeriesInstanceUID={}", li.series),
            "SOPInstanceUID",
        ]),
    );
    run.assert_success("findscu -P IMAGE");
    let sops: BTreeSet<String> = answers
        .iter()
        .map(|a| a.get(tags::SOP_INSTANCE_UID))
        .collect();
    let want_sops: BTreeSet<String> = sent
        .iter()
        .filter(|s| s.series == li.series)
        .map(|s| s.sop.clone())
        .collect();
    assert_eq!(sops, want_sops);

    // Study Root, asked in GB18030 with a wildcard name and a date range: answered in GB18030.
    let (gb_key, _, _) = encoding_rs::GB18030.encode("李*");
    let mut k = keys(&["SpecificCharacterSet=GB18030", "QueryRetrieveLevel=STUDY"]);
    k.push(raw_key("PatientName", &gb_key));
    k.extend(keys(&[
        "StudyDate=20261101-20261130",
        "StudyInstanceUID",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedInstances",
    ]));
    let (run, answers) = find(&station, &at("s-gb"), VIEWER, "-S", &k);
    run.assert_success("findscu -S STUDY in GB18030");
    assert_eq!(
        set(answers.iter().map(|a| a.get(tags::STUDY_INSTANCE_UID))),
        want_studies
    );
    let (gb_name, _, _) = encoding_rs::GB18030.encode("李^秀英");
    for a in &answers {
        assert_eq!(a.get(tags::SPECIFIC_CHARACTER_SET), "GB18030");
        assert_eq!(a.get(tags::PATIENT_NAME), "李^秀英");
        assert_eq!(a.raw_name, gb_name.to_vec(), "GB18030 on the wire");
        assert_eq!(
            a.get(tags::NUMBER_OF_STUDY_RELATED_INSTANCES),
            study_of(&a.get(tags::STUDY_INSTANCE_UID)).len().to_string()
        );
    }

    // Study Root in UTF-8 with `?`: the UTF-8 patient, answered in UTF-8.
    let (run, answers) = find(
        &station,
        &at("s-utf8"),
        VIEWER,
        "-S",
        &keys(&[
            "SpecificCharacterSet=ISO_IR 192",
            "QueryRetrieveLevel=STUDY",
            "PatientName=王^??",
            "StudyInstanceUID",
        ]),
    );
    run.assert_success("findscu -S STUDY in UTF-8");
    assert!(!answers.is_empty());
    for a in &answers {
        assert_eq!(a.get(tags::PATIENT_NAME), "王^小明");
        assert_eq!(a.raw_name, "王^小明".as_bytes(), "UTF-8 on the wire");
    }

    // A date range holding no study, and a UID list of two studies.
    let (run, answers) = find(
        &station,
        &at("s-none"),
        VIEWER,
        "-S",
        &keys(&[
            "QueryRetrieveLevel=STUDY",
            "StudyDate=20261201-",
            "StudyInstanceUID",
        ]),
    );
    run.assert_success("findscu -S STUDY by date");
    assert_eq!(answers.len(), 0);
    let all_studies: Vec<String> = set(sent.iter().map(|s| s.study.as_str()))
        .into_iter()
        .collect();
    let two = format!("StudyInstanceUID={}\\{}", all_studies[0], all_studies[1]);
    let (run, answers) = find(
        &station,
        &at("s-list"),
        VIEWER,
        "-S",
        &keys(&["QueryRetrieveLevel=STUDY", &two]),
    );
    run.assert_success("findscu -S STUDY by UID list");
    assert_eq!(answers.len(), 2);

    // Study Root SERIES and IMAGE levels under one study.
    let (run, answers) = find(
        &station,
        &at("s-series"),
        VIEWER,
        "-S",
        &keys(&[
            "QueryRetrieveLevel=SERIES",
            &format!("StudyInstanceUID={}", li.study),
            "SeriesInstanceUID",
            "Modality",
            "NumberOfSeriesRelatedInstances",
        ]),
    );
    run.assert_success("findscu -S SERIES");
    for a in &answers {
        let uid = a.get(tags::SERIES_INSTANCE_UID);
        let n = sent.iter().filter(|s| s.series == uid).count();
        assert!(n > 0, "a series that was sent: {uid}");
        assert_eq!(
            a.get(tags::NUMBER_OF_SERIES_RELATED_INSTANCES),
            n.to_string()
        );
        assert!(!a.get(tags::MODALITY).is_empty());
    }
    assert_eq!(answers.len(), series.len());
    let (run, answers) = find(
        &station,
        &at("s-images"),
        VIEWER,
        "-S",
        &keys(&[
            "QueryRetrieveLevel=IMAGE",
            &format!("StudyInstanceUID={}", li.study),
            &format!("SeriesInstanceUID={}", li.series),
            "SOPInstanceUID",
            "SOPClassUID",
            "InstanceNumber",
        ]),
    );
    run.assert_success("findscu -S IMAGE");
    assert_eq!(
        answers
            .iter()
            .map(|a| a.get(tags::SOP_INSTANCE_UID))
            .collect::<BTreeSet<_>>(),
        want_sops
    );

    // Each query is audited with the calling AE title, its level and the patients it showed
    // (repeats of one read coalesce, as the station's other reads do).
    let audited = audited_reads(&station, "qr.find");
    let levels: BTreeSet<&str> = audited.iter().map(|(level, _)| level.as_str()).collect();
    assert_eq!(
        levels,
        set(["IMAGE", "PATIENT", "SERIES", "STUDY"])
            .iter()
            .map(String::as_str)
            .collect()
    );
    let shown: BTreeSet<String> = audited.into_iter().map(|(_, p)| p).collect();
    assert_eq!(shown, set(sent.iter().map(|s| s.patient_id.as_str())));
}

#[test]
fn a_caller_not_in_query_callers_is_refused_and_sees_nothing() {
    let scratch = Scratch::new();
    let (mut station, _sent) = station_with_day(&scratch, Options::default());
    let (run, answers) = find(
        &station,
        &scratch.join("refused"),
        "OTHER",
        "-S",
        &keys(&[
            "QueryRetrieveLevel=STUDY",
            "PatientName",
            "StudyInstanceUID",
        ]),
    );
    assert_eq!(answers.len(), 0, "{}", run.log);
    assert!(
        run.log
            .contains("Final Find Response (Unknown Status: 0x124)"),
        "findscu shows the refusal:\n{}",
        run.log
    );

    // The Settings page lists it under Query/Retrieve (not under the worklist), and the admin
    // lets it query there: answered at once, and after a restart (written to the config file).
    let client = Client::new(&station);
    let admin = client.admin();
    let shown = client.ok(&admin, "settings_get", serde_json::json!({}));
    let listed = &shown["query_refused"];
    assert_eq!(
        (
            listed[0]["calling_ae"].as_str(),
            listed[0]["address"].as_str(),
            listed[0]["count"].as_u64(),
            listed.as_array().map(Vec::len),
        ),
        (Some("OTHER"), Some("127.0.0.1"), Some(1), Some(1)),
        "{shown}"
    );
    assert_eq!(shown["worklist_refused"], serde_json::json!([]), "{shown}");
    let mut update = settings_as_shown(&client, &admin);
    update["query_callers"] = serde_json::json!([VIEWER, "OTHER"]);
    let applied = client.ok(&admin, "settings_update", update);
    assert_eq!(applied["changed"], serde_json::json!(["query_callers"]));
    assert_eq!(
        applied["settings"]["query_refused"],
        serde_json::json!([]),
        "allowed: no longer listed"
    );
    let study_keys = keys(&[
        "QueryRetrieveLevel=STUDY",
        "PatientName",
        "StudyInstanceUID",
    ]);
    let (run, answers) = find(
        &station,
        &scratch.join("allowed"),
        "OTHER",
        "-S",
        &study_keys,
    );
    assert!(!answers.is_empty(), "answered once allowed:\n{}", run.log);
    station.restart();
    let (run, again) = find(
        &station,
        &scratch.join("restarted"),
        "OTHER",
        "-S",
        &study_keys,
    );
    assert_eq!(
        again.len(),
        answers.len(),
        "still allowed after a restart:\n{}",
        run.log
    );
}
