//! Registered patients: name (Chinese, optional pinyin), sex, birth date, ID card number,
//! phone, and a clinic patient ID unique in the clinic. Search by name, ID card number, phone,
//! clinic ID or pinyin initials.
//!
//! Must never: store an ID card number that fails its check, or a birth date or sex that
//! contradicts it.

use pinyin::ToPinyin;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{idcard, invalid, Field, RegistryError};
pub use crate::store::patients::Patient;
use crate::store::{self, audit};

/// What a technician types; `None` or empty fields are not known.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewPatient {
    /// The patient's name (PN: family^given, at most 64 characters); required.
    pub name: String,
    /// The name's pinyin, if the technician gives it.
    pub pinyin: Option<String>,
    /// "M", "F" or "O".
    pub sex: Option<String>,
    /// YYYYMMDD.
    pub birth_date: Option<String>,
    /// The resident ID card number; checked, and must agree with sex and birth date.
    pub id_card: Option<String>,
    /// A phone number to reach the patient.
    pub phone: Option<String>,
    /// Generated when not given.
    pub clinic_id: Option<String>,
}

/// Lower-case pinyin initials of a name ("王^小明" → "wxm"); Latin letters are kept as they are.
pub fn initials(name: &str) -> String {
    name.chars()
        .zip(name.to_pinyin())
        .filter_map(|(c, p)| match p {
            Some(p) => p.first_letter().chars().next(),
            None if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            None => None,
        })
        .collect()
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The checked record to store: ID card upgraded and compared with what was typed.
fn validate(new: &NewPatient) -> Result<Patient, RegistryError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(invalid(Field::Name, "a name is required"));
    }
    // PN (PS3.5 §6.2): no backslash (value delimiter), at most 64 characters per group.
    if name.contains('\\') || name.chars().any(char::is_control) || name.chars().count() > 64 {
        return Err(invalid(
            Field::Name,
            "at most 64 characters, no backslash or control characters",
        ));
    }
    let mut sex = non_empty(&new.sex).unwrap_or("").to_ascii_uppercase();
    if !["", "M", "F", "O"].contains(&sex.as_str()) {
        return Err(invalid(Field::Sex, format!("{sex:?} is not M, F or O")));
    }
    let mut birth_date = non_empty(&new.birth_date).unwrap_or("").replace('-', "");
    if !birth_date.is_empty() && !idcard::valid_date(&birth_date) {
        return Err(invalid(
            Field::BirthDate,
            format!("{birth_date} is not a date (YYYYMMDD)"),
        ));
    }
    let id_card = match non_empty(&new.id_card) {
        Some(number) => {
            let card = idcard::parse(number)?;
            if birth_date.is_empty() {
                birth_date = card.birth_date.clone();
            } else if birth_date != card.birth_date {
                return Err(RegistryError::Mismatch {
                    field: Field::BirthDate,
                    typed: birth_date,
                    from_card: card.birth_date,
                });
            }
            if sex.is_empty() {
                sex = card.sex.to_string();
            } else if sex != card.sex {
                return Err(RegistryError::Mismatch {
                    field: Field::Sex,
                    typed: sex,
                    from_card: card.sex.to_string(),
                });
            }
            Some(card.number)
        }
        None => None,
    };
    let phone = non_empty(&new.phone).unwrap_or("").to_string();
    if !phone.is_empty()
        && (phone.len() > 20
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || "+- ".contains(c)))
    {
        return Err(invalid(
            Field::Phone,
            format!("{phone:?} is not a phone number"),
        ));
    }
    let clinic_id = non_empty(&new.clinic_id).unwrap_or("").to_string();
    // Sent as Patient ID (LO): 64 characters, no backslash.
    if clinic_id.len() > 64 || clinic_id.contains('\\') {
        return Err(invalid(
            Field::ClinicId,
            "at most 64 characters, no backslash",
        ));
    }
    Ok(Patient {
        id: 0,
        clinic_id,
        name: name.to_string(),
        pinyin: non_empty(&new.pinyin).unwrap_or("").to_string(),
        initials: initials(name),
        sex,
        birth_date,
        id_card,
        phone,
    })
}

/// The next free generated clinic patient ID: "P" and six digits.
fn next_clinic_id(conn: &Connection) -> Result<String, RegistryError> {
    let max = store::patients::max_id(conn)?;
    for n in (max + 1)..(max + 1000) {
        let candidate = format!("P{n:06}");
        if !store::patients::clinic_id_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    Err(RegistryError::State(
        "cannot find a free clinic patient ID".into(),
    ))
}

/// Registers a patient; audited as `patient.add`.
pub fn add(conn: &mut Connection, actor: &str, new: &NewPatient) -> Result<Patient, RegistryError> {
    let mut p = validate(new)?;
    let tx = super::write_transaction(conn)?;
    if p.clinic_id.is_empty() {
        p.clinic_id = next_clinic_id(&tx)?;
    }
    let Some(id) = store::patients::insert(&tx, &p)? else {
        let id_card_taken = match &p.id_card {
            Some(card) => store::patients::id_card_taken(&tx, card)?,
            None => false,
        };
        return Err(if id_card_taken {
            RegistryError::Duplicate {
                what: Field::IdCard,
                value: p.id_card.unwrap_or_default(),
            }
        } else {
            RegistryError::Duplicate {
                what: Field::ClinicId,
                value: p.clinic_id,
            }
        });
    };
    p.id = id;
    audit::record(
        &tx,
        actor,
        "patient.add",
        &p.clinic_id,
        &serde_json::to_string(&p).unwrap_or_default(),
    )?;
    tx.commit()?;
    Ok(p)
}

/// Replaces a patient's data (same checks as registering); audited as `patient.update` with
/// the old and new values. Studies already matched to this patient's orders are corrected by
/// [`super::matching::correct_patient_studies`], which the caller runs in the same transaction.
pub fn update(
    tx: &rusqlite::Transaction<'_>,
    actor: &str,
    clinic_id: &str,
    new: &NewPatient,
) -> Result<(Patient, Patient), RegistryError> {
    let old = by_clinic_id(tx, clinic_id)?.ok_or_else(|| RegistryError::NotFound {
        what: Field::Patient,
        key: clinic_id.to_string(),
    })?;
    let mut p = validate(new)?;
    p.id = old.id;
    p.clinic_id = old.clinic_id.clone();
    if !store::patients::update(tx, &p)? {
        return Err(RegistryError::Duplicate {
            what: Field::IdCard,
            value: p.id_card.unwrap_or_default(),
        });
    }
    audit::record(
        tx,
        actor,
        "patient.update",
        &p.clinic_id,
        &serde_json::json!({ "old": old, "new": p }).to_string(),
    )?;
    Ok((old, p))
}

/// The patient with this clinic patient ID, if any.
pub fn by_clinic_id(conn: &Connection, clinic_id: &str) -> Result<Option<Patient>, RegistryError> {
    Ok(store::patients::by_clinic_id(conn, clinic_id)?)
}

/// The patient with this row id, if any.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Patient>, RegistryError> {
    Ok(store::patients::by_id(conn, id)?)
}

/// Patients whose name, ID card number, phone or clinic ID contains `query`, or whose pinyin
/// (initials or full) starts with it; at most `limit`, most recently registered first.
pub fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<Patient>, RegistryError> {
    Ok(store::patients::search(conn, query, limit)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn patient(name: &str, id_card: Option<&str>, birth: Option<&str>) -> NewPatient {
        NewPatient {
            name: name.into(),
            id_card: id_card.map(Into::into),
            birth_date: birth.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn id_card_fills_birth_date_and_sex_and_a_mismatch_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut conn = store.lock();
        let p = add(
            &mut conn,
            "li",
            &patient("王^小明", Some("110105491231002"), None),
        )
        .expect("legacy card accepted");
        assert_eq!(p.id_card.as_deref(), Some("11010519491231002X"));
        assert_eq!((p.birth_date.as_str(), p.sex.as_str()), ("19491231", "F"));
        assert_eq!(p.initials, "wxm");
        assert_eq!(p.clinic_id, "P000001");
        let err = add(
            &mut conn,
            "li",
            &patient("李^四", Some("440524188001010014"), Some("18800102")),
        )
        .expect_err("birth date contradicts the card");
        assert!(
            matches!(
                err,
                RegistryError::Mismatch {
                    field: Field::BirthDate,
                    ..
                }
            ),
            "{err}"
        );
        let err = add(
            &mut conn,
            "li",
            &patient("李^四", Some("440524188001010015"), None),
        )
        .expect_err("bad check digit");
        assert!(matches!(err, RegistryError::IdCard(_)), "{err}");
        let err = add(
            &mut conn,
            "li",
            &patient("王^小明", Some("11010519491231002X"), None),
        )
        .expect_err("same card twice");
        assert!(matches!(err, RegistryError::Duplicate { .. }), "{err}");
        let entries = audit::list(&conn, &audit::AuditFilter::default()).expect("audit");
        assert_eq!(
            entries.len(),
            1,
            "only the successful registration is audited"
        );
        assert_eq!(entries[0].action, "patient.add");
    }

    #[test]
    fn search_by_name_initials_phone_and_card() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut conn = store.lock();
        let mut wang = patient("王^小明", None, None);
        wang.phone = Some("13800138000".into());
        add(&mut conn, "li", &wang).expect("add");
        add(
            &mut conn,
            "li",
            &patient("张伟", Some("440524188001010014"), None),
        )
        .expect("add");
        let names = |q: &str| -> Vec<String> {
            search(&conn, q, 10)
                .expect("search")
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(names("小明"), ["王^小明"]);
        assert_eq!(names("王小明"), ["王^小明"]);
        assert_eq!(names("wx"), ["王^小明"]);
        assert_eq!(names("ZW"), ["张伟"]);
        assert_eq!(names("138001"), ["王^小明"]);
        assert_eq!(names("1880"), ["张伟"]);
        assert!(names("%").is_empty(), "LIKE wildcards are escaped");
    }
}
