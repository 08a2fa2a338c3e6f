//! The `reg_patients` table: patients the clinic registered (`registry::patients` checks what
//! is typed before it lands here).
//!
//! Must never: write a row the caller did not check.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{is_unique_violation, now_ms, StoreError};

/// A registered patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Patient {
    /// Row id in `reg_patients`.
    pub id: i64,
    /// The clinic's patient ID, unique: Patient ID (0010,0020) in the worklist and the studies.
    pub clinic_id: String,
    /// Patient's Name as registered (PN, `family^given`, Chinese characters as typed).
    pub name: String,
    /// The name's pinyin as the technician gave it; may be empty.
    pub pinyin: String,
    /// Lower-case pinyin initials of the name ("王^小明" → "wxm"), for search.
    pub initials: String,
    /// "M", "F", "O", or empty when not given.
    pub sex: String,
    /// YYYYMMDD, or empty when not given.
    pub birth_date: String,
    /// The resident ID card number (18 characters, checked); `None` when not given.
    pub id_card: Option<String>,
    /// A phone number to reach the patient; may be empty.
    pub phone: String,
}

const COLUMNS: &str =
    "id, clinic_id, name, pinyin, initials, sex, birth_date, id_card, phone FROM reg_patients";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Patient> {
    Ok(Patient {
        id: r.get(0)?,
        clinic_id: r.get(1)?,
        name: r.get(2)?,
        pinyin: r.get(3)?,
        initials: r.get(4)?,
        sex: r.get(5)?,
        birth_date: r.get(6)?,
        id_card: r.get(7)?,
        phone: r.get(8)?,
    })
}

/// The highest row id so far (generated clinic IDs count up from it).
pub fn max_id(conn: &Connection) -> Result<i64, StoreError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM reg_patients", [], |r| {
            r.get(0)
        })?,
    )
}

/// Whether a patient already has this clinic ID (a new one must not).
pub fn clinic_id_taken(conn: &Connection, clinic_id: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM reg_patients WHERE clinic_id = ?1)",
        [clinic_id],
        |r| r.get(0),
    )?)
}

/// Whether a patient already has this ID card number (one person is registered once).
pub fn id_card_taken(conn: &Connection, id_card: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM reg_patients WHERE id_card = ?1",
            [id_card],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Adds `p` (its `id` is ignored); returns the new row's id, or `None` when its clinic ID or
/// ID card number is taken.
pub fn insert(conn: &Connection, p: &Patient) -> Result<Option<i64>, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO reg_patients (clinic_id, name, pinyin, initials, sex, birth_date, id_card, phone, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![p.clinic_id, p.name, p.pinyin, p.initials, p.sex, p.birth_date, p.id_card, p.phone, now_ms()],
    );
    match inserted {
        Err(e) if is_unique_violation(&e) => Ok(None),
        other => {
            other?;
            Ok(Some(conn.last_insert_rowid()))
        }
    }
}

/// Replaces the data of patient `p.id` (not its clinic ID); false when its ID card number is
/// another patient's.
pub fn update(conn: &Connection, p: &Patient) -> Result<bool, StoreError> {
    let updated = conn.execute(
        "UPDATE reg_patients SET name = ?2, pinyin = ?3, initials = ?4, sex = ?5, birth_date = ?6,
                id_card = ?7, phone = ?8, updated_at = ?9 WHERE id = ?1",
        params![
            p.id,
            p.name,
            p.pinyin,
            p.initials,
            p.sex,
            p.birth_date,
            p.id_card,
            p.phone,
            now_ms()
        ],
    );
    match updated {
        Err(e) if is_unique_violation(&e) => Ok(false),
        other => {
            other?;
            Ok(true)
        }
    }
}

/// The patient with this clinic ID (surrounding spaces ignored), if any.
pub fn by_clinic_id(conn: &Connection, clinic_id: &str) -> Result<Option<Patient>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} WHERE clinic_id = ?1"),
            [clinic_id.trim()],
            from_row,
        )
        .optional()?)
}

/// The patient of row `id`, if any.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Patient>, StoreError> {
    Ok(conn
        .query_row(&format!("SELECT {COLUMNS} WHERE id = ?1"), [id], from_row)
        .optional()?)
}

/// Patients whose name, ID card number, phone or clinic ID contains `query`, or whose pinyin
/// (initials or full) starts with it; at most `limit`, most recently registered first.
pub fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<Patient>, StoreError> {
    let q = query.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let escaped = super::like_escaped(q);
    let contains = format!("%{escaped}%");
    let starts = format!("{}%", escaped.to_lowercase());
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS}
         WHERE replace(name, '^', '') LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\'
            OR id_card LIKE ?1 ESCAPE '\\' OR phone LIKE ?1 ESCAPE '\\' OR clinic_id LIKE ?1 ESCAPE '\\'
            OR initials LIKE ?2 ESCAPE '\\' OR replace(lower(pinyin), ' ', '') LIKE replace(?2, ' ', '') ESCAPE '\\'
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(params![contains, starts, limit.clamp(1, 500)], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every name, clinic ID, ID card number and phone number registered: what a text leaving the
/// clinic (the diagnostics bundle) must not carry.
pub fn identifying_texts(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name FROM reg_patients UNION SELECT clinic_id FROM reg_patients
         UNION SELECT id_card FROM reg_patients WHERE id_card IS NOT NULL
         UNION SELECT phone FROM reg_patients WHERE phone <> ''",
    )?;
    let texts = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(texts)
}
