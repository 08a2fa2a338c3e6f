use super::*;
use crate::convert::patient::Assignment;

pub const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <id root="2.16.840.1.113883.3.1"/>
  <code code="93000" codeSystem="2.16.840.1.113883.6.12"/>
  <effectiveTime><low value="20261129081502.000+0800"/><high value="20261129081512"/></effectiveTime>
  <componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>
    <id extension="P0042"/>
    <subjectDemographicPerson>
      <name><family>王</family><given>小明</given></name>
      <administrativeGenderCode code="M" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="19650304"/>
    </subjectDemographicPerson>
  </trialSubject></subject></subjectAssignment></componentOf></timepointEvent></componentOf>
  <component><series>
    <code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>
    <component><sequenceSet>
      <component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>
        <value xsi:type="GLIST_TS"><head value="20261129081502.000"/><increment value="2" unit="ms"/></value></sequence></component>
      <component><sequence><code code="MDC_ECG_LEAD_II" codeSystem="2.16.840.1.113883.6.24"/>
        <value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/><scale value="4.88" unit="uV"/><digits>1 -2 300 -32768 32767</digits></value></sequence></component>
      <component><sequence><code code="MDC_ECG_LEAD_I" codeSystem="2.16.840.1.113883.6.24"/>
        <value xsi:type="SLIST_PQ"><origin value="0.01" unit="mV"/><scale value="5" unit="uV"/><digits>0 10 20 30 40</digits></value></sequence></component>
    </sequenceSet></component>
    <derivation><derivedSeries><component><sequenceSet>
      <component><sequence><code code="MDC_ECG_LEAD_V1"/><value><origin value="0" unit="uV"/><scale value="1" unit="uV"/><digits>9</digits></value></sequence></component>
    </sequenceSet></component></derivedSeries></derivation>
  </series></component>
</AnnotatedECG>"#;

#[test]
fn rhythm_leads_patient_and_time_are_read() {
    let ecg = parse(SAMPLE.as_bytes()).expect("parses");
    assert_eq!(ecg.sampling_hz, 500.0);
    assert_eq!(ecg.leads.len(), 2, "derived series ignored");
    assert_eq!(LEADS[ecg.leads[0].lead].0, "I", "stored in standard order");
    assert_eq!(
        ecg.leads[0].origin, 10.0,
        "origin converted to the scale's unit"
    );
    assert_eq!(ecg.leads[1].digits, vec![1, -2, 300, -32768, 32767]);
    let p = ecg.patient.as_ref().expect("patient");
    assert_eq!((p.id.as_str(), p.name.as_str()), ("P0042", "王^小明"));
    assert_eq!((p.sex.as_str(), p.birth_date.as_str()), ("M", "19650304"));
    assert_eq!(
        ecg.acquired.map(|t| t.format("%Y%m%d%H%M%S").to_string()),
        Some("20261129081502".into())
    );
}

/// What the converter passes for one instance: the sample's UIDs, its patient as assigned.
pub(super) fn context(ecg: &Ecg) -> Context {
    let t = ecg.acquired.unwrap_or_default();
    Context {
        sop_class_uid: sop_class(ecg),
        sop_instance_uid: "2.25.1".into(),
        study_uid: "2.25.2".into(),
        series_uid: "2.25.3".into(),
        series_number: 1,
        instance_number: 1,
        modality: "ECG".into(),
        assignment: Assignment {
            patient: ecg.patient.clone().unwrap_or_default(),
            ..Assignment::default()
        },
        acquired: t,
        study_started: t,
        device_name: String::new(),
        series_description: String::new(),
    }
}

#[test]
fn waveform_written_reads_back_as_the_file_says() {
    let ecg = parse(SAMPLE.as_bytes()).expect("parses");
    assert!(ecg.patient.is_some() && ecg.acquired.is_some());
    let ctx = context(&ecg);
    let obj = build(&ctx, &ecg);
    let w = crate::dicom::waveform::from_object(&obj, ctx.sop_class_uid.into()).expect("reads");
    assert_eq!(w.sampling_hz, 500.0);
    let labels: Vec<&str> = w.leads.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["I", "II"]);
    assert_eq!(w.leads[0].microvolts, vec![10.0, 60.0, 110.0, 160.0, 210.0]);
    let expect: Vec<f32> = [1.0, -2.0, 300.0, -32768.0, 32767.0]
        .iter()
        .map(|d| (d * 4.88) as f32)
        .collect();
    for (a, b) in w.leads[1].microvolts.iter().zip(&expect) {
        assert!((a - b).abs() < 1e-2, "{a} vs {b}");
    }
}

#[test]
fn broken_files_say_why() {
    assert!(parse(b"<AnnotatedECG").unwrap_err().contains("malformed"));
    let no_time = SAMPLE.replace("TIME_ABSOLUTE", "SOMETHING");
    assert!(parse(no_time.as_bytes()).is_err());
    let big = SAMPLE.replace("32767", "40000");
    assert!(parse(big.as_bytes()).unwrap_err().contains("16-bit"));
    let uneven = SAMPLE.replace("0 10 20 30 40", "0 10");
    assert!(parse(uneven.as_bytes())
        .unwrap_err()
        .contains("different lengths"));
}

#[test]
fn long_or_unusual_recordings_are_general_ecg() {
    let mut ecg = parse(SAMPLE.as_bytes()).expect("parses");
    assert_eq!(sop_class(&ecg), modules::TWELVE_LEAD_ECG);
    for l in &mut ecg.leads {
        l.digits = vec![0; 20_000];
    }
    assert_eq!(sop_class(&ecg), GENERAL_ECG, "more than 16384 samples");
    ecg.leads.iter_mut().for_each(|l| l.digits.truncate(100));
    ecg.sampling_hz = 2000.0;
    assert_eq!(sop_class(&ecg), GENERAL_ECG, "sampled above 1000 Hz");
}

#[test]
fn leads_beyond_the_twelve_are_left_out_and_ds_values_fit() {
    let extra = SAMPLE.replace(r#"code="MDC_ECG_LEAD_I" "#, r#"code="MDC_ECG_LEAD_V4R" "#);
    let ecg = parse(extra.as_bytes()).expect("parses");
    let labels: Vec<&str> = ecg.leads.iter().map(|l| LEADS[l.lead].0).collect();
    assert_eq!(labels, ["II"], "V4R is not one of the twelve");
    assert_eq!(ds(500.0), "500");
    assert_eq!(ds(1.0 / 0.003), "333.33333333");
    assert!(ds(1.0 / 3.0).len() <= 16);
}
