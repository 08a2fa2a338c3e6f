//! After a correction the station sends the same SOP Instance UIDs again with the corrected
//! patient. A hub that keeps the first copy of an instance (Orthanc's default,
//! `OverwriteInstances: false`) answers success and still shows the old patient, so a study
//! whose instances are all listed is delivered only once the hub also shows the corrected
//! Patient's Name and Patient ID for each of them.
//!
//! Must never: call a study delivered while the hub shows, for one of its instances, only a
//! patient other than the corrected one.

use std::collections::{BTreeMap, BTreeSet};

use crate::upstream::qido::HeldInstance;

/// Why the hub does not show the corrected patient, or None when every instance we sent has a
/// copy at the hub with the corrected name and ID. An attribute the hub leaves out of its
/// answer cannot be compared and is not held against it. `expected` is (name, ID).
pub(super) fn kept_earlier_copy(
    expected: &(String, String),
    sent: &BTreeMap<String, BTreeSet<String>>,
    held: &[HeldInstance],
) -> Option<String> {
    let (name, id) = expected;
    let shows = |h: &HeldInstance| {
        h.patient_name
            .as_deref()
            .is_none_or(|n| same_name(n, name, h.charset.as_deref()))
            && h.patient_id.as_deref().is_none_or(|i| i.trim_end() == id)
    };
    let sops: BTreeSet<&String> = sent.values().flatten().collect();
    let wrong = sops.into_iter().find_map(|sop| {
        let copies: Vec<&HeldInstance> =
            held.iter().filter(|h| &h.sop_instance_uid == sop).collect();
        match copies.iter().any(|h| shows(h)) {
            true => None,
            false => copies.first().copied(),
        }
    })?;
    let mut differs = Vec::new();
    let charset = wrong.charset.as_deref();
    if let Some(n) = wrong
        .patient_name
        .as_deref()
        .filter(|n| !same_name(n, name, charset))
    {
        differs.push(format!("patient name {n}, expected {name}"));
    }
    if let Some(i) = wrong.patient_id.as_deref().filter(|i| i.trim_end() != id) {
        differs.push(format!("patient ID {i}, expected {id}"));
    }
    Some(format!(
        "the hub kept its earlier copy ({}): set the hub to overwrite instances \
         (Orthanc: OverwriteInstances) and retry",
        differs.join("; ")
    ))
}

/// Person names equal as DICOM values: per `=` group, trailing spaces and empty components
/// (`^`) do not count, nor do trailing empty groups (PS3.5 6.2.1). A hub answering in a
/// single-byte character set (Orthanc's default `DefaultEncoding` is Latin-1) drops the
/// characters it cannot hold, so only the characters that set holds are compared.
fn same_name(hub: &str, expected: &str, charset: Option<&str>) -> bool {
    let holds = |c: &char| match charset {
        None => true,
        Some(cs)
            if ["192", "GB18030", "GBK", "2022"]
                .iter()
                .any(|m| cs.contains(m)) =>
        {
            true
        }
        Some(cs) if cs.contains("ISO_IR 100") => u32::from(*c) <= 0xFF,
        Some(_) => c.is_ascii(),
    };
    let kept = |name: &str| -> String { name.chars().filter(holds).collect() };
    normal_name(&kept(hub)) == normal_name(&kept(expected))
}

fn normal_name(name: &str) -> String {
    let groups: Vec<&str> = name
        .split('=')
        .map(|g| g.trim_end_matches(['\0', ' ', '^']))
        .collect();
    groups.join("=").trim_end_matches('=').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(sop: &str, name: &str, id: &str) -> HeldInstance {
        HeldInstance {
            sop_instance_uid: sop.into(),
            series_uid: "1.2".into(),
            patient_name: Some(name.into()),
            patient_id: Some(id.into()),
            charset: Some("ISO_IR 192".into()),
        }
    }

    fn sent(sops: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        [(
            "1.2".to_string(),
            sops.iter().map(|s| s.to_string()).collect(),
        )]
        .into()
    }

    #[test]
    fn an_earlier_copy_is_named_with_what_was_expected() {
        let expected = ("李^四".to_string(), "P1".to_string());
        let hub = [held("1.2.3", "王^小明", "P1"), held("1.2.4", "李^四", "P1")];
        let reason = kept_earlier_copy(&expected, &sent(&["1.2.3", "1.2.4"]), &hub);
        assert_eq!(
            reason.as_deref(),
            Some(
                "the hub kept its earlier copy (patient name 王^小明, expected 李^四): set the hub \
                 to overwrite instances (Orthanc: OverwriteInstances) and retry"
            )
        );
    }

    #[test]
    fn groups_and_trailing_components_compare_as_dicom_values() {
        let expected = ("Li^Si=李^四".to_string(), "P1".to_string());
        let hub = [held("1.2.3", "Li^Si^^=李^四=", "P1 ")];
        assert_eq!(kept_earlier_copy(&expected, &sent(&["1.2.3"]), &hub), None);
        let ideographic_differs = [held("1.2.3", "Li^Si=李^士", "P1")];
        assert!(kept_earlier_copy(&expected, &sent(&["1.2.3"]), &ideographic_differs).is_some());
    }

    #[test]
    fn a_hub_answering_in_latin1_is_compared_on_what_latin1_holds() {
        let expected = ("Li^Si=李^四".to_string(), "P1".to_string());
        let latin1 = |name: &str| HeldInstance {
            charset: Some("ISO_IR 100".into()),
            ..held("1.2.3", name, "P1")
        };
        let same = [latin1("Li^Si=^")];
        assert_eq!(kept_earlier_copy(&expected, &sent(&["1.2.3"]), &same), None);
        let other = [latin1("Wang^Xiaoming=^")];
        assert!(kept_earlier_copy(&expected, &sent(&["1.2.3"]), &other).is_some());
    }

    #[test]
    fn one_corrected_copy_among_others_is_enough_and_an_old_id_is_named() {
        let expected = ("李^四".to_string(), "P2".to_string());
        let both = [held("1.2.3", "王^小明", "P1"), held("1.2.3", "李^四", "P2")];
        assert_eq!(kept_earlier_copy(&expected, &sent(&["1.2.3"]), &both), None);
        let old = [held("1.2.3", "李^四", "P1")];
        let reason = kept_earlier_copy(&expected, &sent(&["1.2.3"]), &old).unwrap_or_default();
        assert!(reason.contains("(patient ID P1, expected P2)"), "{reason}");
    }
}
