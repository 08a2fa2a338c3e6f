//! `[registration]`: the exam items the Register page offers per modality, with the defaults a
//! grassroots clinic orders most.
//!
//! Must never: restrict what may be typed (free text is always allowed; this is a pick list).

use serde::{Deserialize, Serialize};

/// What the Register page offers: per modality, the exam items a clinic orders most (free text
/// is still allowed). An admin edits them on the Settings page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Exam items by modality (e.g. "DX" → "胸部正侧位", ...).
    #[serde(default = "default_procedures")]
    pub procedures: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            procedures: default_procedures(),
        }
    }
}

/// The items a grassroots clinic orders most, until an admin changes them.
fn default_procedures() -> std::collections::BTreeMap<String, Vec<String>> {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let radiographs = [
        "胸部正位",
        "胸部正侧位",
        "腰椎正侧位",
        "颈椎正侧位",
        "膝关节正侧位",
        "腹部立位",
        "骨盆正位",
        "手正斜位",
        "足正斜位",
    ];
    [
        ("DX", list(&radiographs)),
        ("CR", list(&radiographs)),
        (
            "US",
            list(&[
                "腹部超声",
                "肝胆胰脾超声",
                "泌尿系超声",
                "甲状腺超声",
                "乳腺超声",
                "心脏超声",
                "妇科超声",
                "产科超声",
                "颈部血管超声",
            ]),
        ),
        (
            "ECG",
            list(&["常规十二导联心电图", "动态心电图", "运动负荷心电图"]),
        ),
    ]
    .into_iter()
    .map(|(m, items)| (m.to_owned(), items))
    .collect()
}
