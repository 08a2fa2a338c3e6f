//! Whether the patient a device sent is the patient registered for an order: the guard against
//! a study landing on the wrong patient (a worklist entry picked by mistake, an accession typed
//! into the wrong exam). Names are compared by their DICOM PN component groups
//! (alphabetic=ideographic=phonetic) and by pinyin, so `Wang^Xiaoming=王^小明` and `WANG^XIAOMING`
//! are both 王^小明; sex and birth date are compared when both sides have them.
//!
//! Must never: call a difference what only the device left out (a missing value is not a
//! mismatch), or let two different Chinese names pass because they sound alike (汪 is not 王
//! when both sides are written in characters).

use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};

/// Who a patient is, as far as the device and the registration can both say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    /// DICOM PN, decoded (`王^小明`, `Wang^Xiaoming=王^小明`).
    pub name: String,
    /// `M`, `F`, `O` or empty.
    pub sex: String,
    /// `YYYYMMDD` or empty.
    pub birth_date: String,
}

/// A field in which the device and the registration disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityField {
    /// Patient's Name (0010,0010).
    Name,
    /// Patient's Sex (0010,0040).
    Sex,
    /// Patient's Birth Date (0010,0030).
    BirthDate,
}

impl IdentityField {
    /// The field's name in English, for messages and the log.
    pub fn en(self) -> &'static str {
        match self {
            IdentityField::Name => "name",
            IdentityField::Sex => "sex",
            IdentityField::BirthDate => "birth date",
        }
    }

    /// The field's name in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            IdentityField::Name => "姓名",
            IdentityField::Sex => "性别",
            IdentityField::BirthDate => "出生日期",
        }
    }
}

/// One disagreement: the field, what the device sent and what is registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Difference {
    /// Which field.
    pub field: IdentityField,
    /// What the device sent.
    pub device: String,
    /// What the registration says.
    pub registered: String,
}

/// The fields in which `device` disagrees with `registered`; empty when they may be the same
/// patient.
pub fn differences(device: &Identity, registered: &Identity) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut differ = |field, d: &str, r: &str, same: bool| {
        if !same {
            out.push(Difference {
                field,
                device: d.to_owned(),
                registered: r.to_owned(),
            });
        }
    };
    let (d, r) = (&device.name, &registered.name);
    differ(IdentityField::Name, d, r, same_name(d, r));
    let (d, r) = (device.sex.trim(), registered.sex.trim());
    differ(
        IdentityField::Sex,
        d,
        r,
        d.is_empty() || r.is_empty() || d.eq_ignore_ascii_case(r),
    );
    let (d, r) = (device.birth_date.trim(), registered.birth_date.trim());
    differ(
        IdentityField::BirthDate,
        d,
        r,
        d.is_empty() || r.is_empty() || d == r,
    );
    out
}

/// One line naming the differences, for audit entries, messages and the command line:
/// `name: 李^四 (registered 王^小明); sex: M (registered F)`.
pub fn describe(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(|d| {
            format!(
                "{}: {} (registered {})",
                d.field.en(),
                d.device,
                d.registered
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The same in Chinese: `姓名：李^四（登记为 王^小明）`.
pub fn describe_zh(differences: &[Difference]) -> String {
    differences
        .iter()
        .map(|d| format!("{}：{}（登记为 {}）", d.field.zh(), d.device, d.registered))
        .collect::<Vec<_>>()
        .join("；")
}

/// Whether two PN values may name the same person. When both are written in characters (in some
/// component group), the characters decide: homophones are other people. Otherwise some group
/// of one must read like some group of the other (pinyin against letters, case and spaces
/// aside). An empty device name says nothing, so it is the same.
pub fn same_name(device: &str, registered: &str) -> bool {
    let groups = |pn: &str| -> Vec<String> {
        pn.split('=')
            .map(|g| g.chars().filter(|c| !is_separator(*c)).collect::<String>())
            .filter(|g| !g.is_empty())
            .collect()
    };
    let (device, registered) = (groups(device), groups(registered));
    if device.is_empty() {
        return true;
    }
    let written = |groups: &[String]| -> Vec<String> {
        groups
            .iter()
            .filter(|g| has_ideographs(g))
            .cloned()
            .collect()
    };
    let (device_written, registered_written) = (written(&device), written(&registered));
    if !device_written.is_empty() && !registered_written.is_empty() {
        return device_written
            .iter()
            .any(|d| registered_written.contains(d));
    }
    device
        .iter()
        .any(|d| registered.iter().any(|r| reading(d) == reading(r)))
}

/// Component and word separators: `^`, spaces, and the dots and commas of romanized names.
fn is_separator(c: char) -> bool {
    c == '^' || c.is_whitespace() || matches!(c, '.' | ',' | '-' | '·' | '\u{3000}')
}

fn has_ideographs(group: &str) -> bool {
    group.chars().any(|c| c.to_pinyin().is_some())
}

/// How a group reads: lower-case pinyin without tones, letters as they are.
fn reading(group: &str) -> String {
    group
        .chars()
        .map(|c| match c.to_pinyin() {
            Some(p) => p.plain().to_owned(),
            None => c.to_lowercase().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: &str, sex: &str, birth_date: &str) -> Identity {
        Identity {
            name: name.into(),
            sex: sex.into(),
            birth_date: birth_date.into(),
        }
    }

    fn fields(device: &Identity, registered: &Identity) -> Vec<IdentityField> {
        differences(device, registered)
            .into_iter()
            .map(|d| d.field)
            .collect()
    }

    #[test]
    fn a_name_in_any_group_or_in_pinyin_is_the_same_name() {
        for device in [
            "王^小明",
            "Wang^Xiaoming=王^小明",
            "WANG^XIAOMING",
            "wang^xiao ming",
            "Wang Xiaoming",
            "=王^小明",
            "Wang^Xiaoming=王^小明=wang^xiao ming",
            "",
        ] {
            assert!(same_name(device, "王^小明"), "{device:?} is 王^小明");
        }
        assert!(same_name("王^小明", "Wang^Xiaoming=王^小明"));
    }

    #[test]
    fn another_name_or_a_homophone_in_characters_is_a_different_name() {
        for device in [
            "李^四",
            "Li^Si",
            "汪^小明",
            "Wang^Xiaoming=汪^小明",
            "Wang^Xiaohong",
        ] {
            assert!(!same_name(device, "王^小明"), "{device:?} is not 王^小明");
        }
    }

    #[test]
    fn names_decoded_from_gb18030_and_utf8_compare_alike() {
        use crate::dicom::charset;
        let gb = charset::decode(
            &["GB18030".to_string()],
            b"Wang^Xiaoming=\xcd\xf5^\xd0\xa1\xc3\xf7",
        );
        let utf8 = charset::decode(&["ISO_IR 192".to_string()], "王^小明".as_bytes());
        assert!(same_name(&gb.text, &utf8.text), "{gb:?} vs {utf8:?}");
        let other = charset::decode(&["GB18030".to_string()], b"\xc0\xee^\xcb\xc4");
        assert!(!same_name(&other.text, &utf8.text), "李^四 is not 王^小明");
    }

    #[test]
    fn sex_and_birth_date_differ_only_when_both_are_known() {
        let registered = who("王^小明", "M", "19800101");
        assert!(fields(&who("王^小明", "", ""), &registered).is_empty());
        assert!(fields(&who("WANG^XIAOMING", "m", "19800101"), &registered).is_empty());
        assert_eq!(
            fields(&who("王^小明", "F", "19800101"), &registered),
            [IdentityField::Sex]
        );
        assert_eq!(
            fields(&who("王^小明", "M", "19800102"), &registered),
            [IdentityField::BirthDate]
        );
        assert!(fields(&who("王^小明", "F", "19800102"), &who("王^小明", "", "")).is_empty());
        let all = differences(&who("李^四", "F", "19900101"), &registered);
        assert_eq!(
            describe(&all),
            "name: 李^四 (registered 王^小明); sex: F (registered M); \
             birth date: 19900101 (registered 19800101)"
        );
        assert!(describe_zh(&all).starts_with("姓名：李^四（登记为 王^小明）"));
    }
}
