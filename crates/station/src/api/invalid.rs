//! Invalid requests told in the user's words: a plain sentence (Chinese, or English) naming the
//! field at fault as a person knows it (出生日期, not `birth_date`), with what the engine found
//! (often serde's English) kept as the error's `detail`, for the UI's 详细信息 toggle.
//!
//! Must never: put the raw detail in the sentence, or drop it.

use super::errors::{ApiError, ErrorCode};
use crate::registry::Field;

/// A request body that does not fit its operation's type, as `serde_path_to_error` saw it:
/// it does not fit the document either (HTTP 400).
pub fn bad_request(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    misfit(e).malformed()
}

fn misfit(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let detail = match path.as_str() {
        "." | "" => e.inner().to_string(),
        _ => format!("{path}: {}", e.inner()),
    };
    let message = e.inner().to_string();
    // serde names a missing key in its message, not in the path (which stops at the object
    // holding it).
    let (kind, key) = if let Some(key) = quoted_after(&message, "missing field `") {
        (Kind::Missing, join(&path, key))
    } else if let Some(key) = quoted_after(&message, "unknown field `") {
        (Kind::Unknown, join(&path, key))
    } else {
        (Kind::Wrong, path.trim_start_matches('.').to_owned())
    };
    let w = words(&key);
    let (zh, en) = match kind {
        Kind::Wrong if key.is_empty() => return ApiError::invalid(detail),
        Kind::Wrong => return invalid_field(&key, detail),
        Kind::Missing => (
            format!("缺少「{}」，请填写后重试。", w.zh),
            format!("“{}” is missing: please fill it in and try again.", w.en),
        ),
        Kind::Unknown => (
            format!(
                "工作站不认识请求中的「{}」：本页面可能比工作站新，请刷新页面后重试。",
                w.zh
            ),
            format!(
                "The station does not know “{}” in the request: this page may be newer than \
                 the station; reload it and try again.",
                w.en
            ),
        ),
    };
    ApiError::new(ErrorCode::Invalid, zh, en)
        .at(key)
        .with_detail(detail)
}

/// A value the engine refuses for field `key` (e.g. `date_from`, `patient.birth_date`), with
/// what is wrong with it in the engine's words as the detail.
pub fn invalid_field(key: &str, detail: impl std::fmt::Display) -> ApiError {
    not_valid(&words(key), detail).at(key)
}

/// The registry refused a value of `field` (its English `detail` says why).
pub fn field_sentence(field: Field, detail: impl std::fmt::Display) -> ApiError {
    not_valid(&registry_words(field), detail)
}

fn not_valid(w: &Words, detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Invalid,
        format!("「{}」填写有误，请检查后重试。", w.zh),
        format!("“{}” is not valid: please check it and try again.", w.en),
    )
    .with_detail(detail.to_string())
}

fn registry_words(field: Field) -> Words {
    Words {
        zh: super::registry::field_zh(field).to_owned(),
        en: field.name().to_owned(),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Missing,
    Unknown,
    Wrong,
}

/// A field's name in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// In Chinese, for the UI's default language.
    pub zh: String,
    /// In English.
    pub en: String,
}

/// The text between `prefix` and the next backtick in `message`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    rest.split('`').next()
}

/// A key under an object's path (`.` is the body itself); an unknown key is in the path
/// already.
fn join(path: &str, key: &str) -> String {
    match path {
        "." | "" => key.to_owned(),
        _ if path.rsplit('.').next() == Some(key) => path.to_owned(),
        _ => format!("{path}.{key}"),
    }
}

/// The words a person knows for a request field, by its last key (`patient.birth_date` is
/// 出生日期; `items[2].name` is 姓名); a key with no words of its own stays as it is.
pub fn words(key: &str) -> Words {
    let last = key
        .rsplit('.')
        .next()
        .unwrap_or(key)
        .split('[')
        .next()
        .unwrap_or(key);
    if let Some(field) = registry_field(last) {
        return registry_words(field);
    }
    let (zh, en) = match last {
        "query" | "text" => ("搜索内容", "search text"),
        "limit" => ("显示数量", "number of results"),
        "offset" => ("起始位置", "starting position"),
        "date_from" => ("开始日期", "start date"),
        "date_to" => ("结束日期", "end date"),
        "period_days" => ("统计天数", "number of days"),
        "username" => ("用户名", "user name"),
        "password" => ("密码", "password"),
        "procedure" => ("检查项目", "exam item"),
        "body_part" => ("检查部位", "body part"),
        "referring" => ("申请医生", "referring doctor"),
        "note" => ("备注", "note"),
        "pinyin" => ("拼音", "pinyin"),
        "state" | "states" => ("状态", "state"),
        "role" => ("角色", "role"),
        "target" => ("关联到", "where to assign"),
        "urgent" => ("加急", "urgent"),
        "expires_days" => ("有效天数", "valid for (days)"),
        _ => {
            return Words {
                zh: last.to_owned(),
                en: last.to_owned(),
            }
        }
    };
    Words {
        zh: zh.to_owned(),
        en: en.to_owned(),
    }
}

/// The registration field a request key is, whose words `registry` messages already use.
fn registry_field(key: &str) -> Option<Field> {
    Some(match key {
        "name" => Field::Name,
        "sex" => Field::Sex,
        "birth_date" => Field::BirthDate,
        "phone" => Field::Phone,
        "clinic_id" | "patient_id" => Field::ClinicId,
        "id_card" => Field::IdCard,
        "modality" => Field::Modality,
        "priority" => Field::Priority,
        "scheduled_date" => Field::ScheduledDate,
        "scheduled_time" => Field::ScheduledTime,
        "station_ae" => Field::StationAe,
        "accession" => Field::Accession,
        "patient" => Field::Patient,
        "study_uid" => Field::Study,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        patient: Inner,
        limit: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        birth_date: Option<String>,
    }

    fn refuse(body: serde_json::Value) -> ApiError {
        let e = serde_path_to_error::deserialize::<_, Req>(body).expect_err("refused");
        bad_request(e)
    }

    #[test]
    fn names_the_field_in_the_users_words_and_keeps_serdes_text_as_detail() {
        let e = refuse(serde_json::json!({ "patient": { "birth_date": "x" } }));
        assert_eq!(e.field.as_deref(), Some("patient.name"));
        assert_eq!(e.zh, "缺少「姓名」，请填写后重试。");
        assert_eq!(e.en, "“name” is missing: please fill it in and try again.");
        assert!(e
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("missing field `name`"));

        let e = refuse(serde_json::json!({ "patient": { "name": "王^小明", "birth_date": 5 } }));
        assert_eq!(e.field.as_deref(), Some("patient.birth_date"));
        assert_eq!(e.zh, "「出生日期」填写有误，请检查后重试。");
        assert!(e.en.contains("“birth date”"), "{}", e.en);
        assert!(e.detail.as_deref().unwrap_or("").contains("invalid type"));

        let e = refuse(serde_json::json!({ "patient": { "name": "a" }, "colour": 1 }));
        assert_eq!(e.field.as_deref(), Some("colour"));
        assert!(e.zh.contains("「colour」"), "{}", e.zh);
        assert!(!e.zh.contains("unknown field"), "{}", e.zh);
    }
}
