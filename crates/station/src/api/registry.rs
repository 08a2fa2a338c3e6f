//! Registration for the Today screen: patients, orders, and studies that wait for a technician
//! to assign them. Thin wrappers over `crate::registry`, which validates and audits every
//! change in its own transaction; reads are audited here.
//!
//! Must never: audit a change a second time (the library does), or read patients without an
//! audit entry.

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty, ErrorCode};
use crate::events::Event;
use crate::registry::matching::{self, StudyFacts, Target};
use crate::registry::orders::{self, NewOrder, Order, OrderWithPatient};
use crate::registry::patients::{self, NewPatient, Patient};
use crate::registry::{today, RegistryError};
use crate::store::{self, audit};

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientSearch {
    /// Part of the name, ID card number, phone or clinic patient ID, or the pinyin (initials).
    #[serde(default)]
    pub query: String,
    /// 20 when absent; at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientList {
    pub items: Vec<Patient>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientUpdate {
    /// The patient to change, by clinic patient ID.
    pub clinic_id: String,
    /// The patient's data as it should now be (all fields; the clinic ID stays).
    pub patient: NewPatient,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientUpdated {
    pub patient: Patient,
    /// Studies already matched to this patient that are corrected and sent again.
    pub studies_corrected: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    /// First scheduled date, `YYYYMMDD` or `YYYY-MM-DD`; today when absent.
    #[serde(default)]
    pub date_from: Option<String>,
    /// Last scheduled date (inclusive); `date_from` when absent.
    #[serde(default)]
    pub date_to: Option<String>,
    /// Any of scheduled, in_progress, completed, cancelled; empty: all.
    #[serde(default)]
    pub states: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderWithPatient>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRef {
    pub accession: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnassignedList {
    /// Complete studies matched to no order, newest first.
    pub items: Vec<StudyFacts>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyAssign {
    pub study_uid: String,
    pub target: Target,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudyAssigned {
    pub study_uid: String,
    /// The order the study now belongs to.
    pub order: Order,
    /// The study's state afterwards (an unassigned study is queued for sending).
    pub state: String,
}

const STATES: [&str; 4] = ["scheduled", "in_progress", "completed", "cancelled"];

/// Field names the library's messages use, in Chinese.
fn field_zh(field: &str) -> &str {
    match field {
        "name" => "姓名",
        "sex" => "性别",
        "birth date" => "出生日期",
        "phone" => "电话",
        "clinic patient ID" => "患者编号",
        "modality" => "检查类型",
        "priority" => "优先级",
        "scheduled date" => "预约日期",
        "scheduled time" => "预约时间",
        "station AE title" => "设备 AE 名称",
        "accession number" => "检查号",
        "ID card number" => "身份证号",
        "registered patient" => "登记患者",
        "patient" => "患者",
        "study" => "检查",
        "order with accession number" | "open order with accession number" => "检查申请",
        other => other,
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let en = e.to_string();
        match e {
            RegistryError::Store(s) => s.into(),
            RegistryError::IdCard(_) => {
                ApiError::new(ErrorCode::Invalid, format!("身份证号无效：{en}"), en)
            }
            RegistryError::Mismatch {
                field, from_card, ..
            } => ApiError::new(
                ErrorCode::Invalid,
                format!(
                    "{}与身份证号不符（身份证号为 {from_card}）",
                    field_zh(field)
                ),
                en,
            ),
            RegistryError::Invalid { field, ref reason } => ApiError::new(
                ErrorCode::Invalid,
                format!("{}无效：{reason}", field_zh(field)),
                en,
            ),
            RegistryError::Duplicate { what, ref value } => ApiError::new(
                ErrorCode::Conflict,
                format!("{} {value} 已登记", field_zh(what)),
                en,
            ),
            RegistryError::NotFound { what, ref key } => ApiError::new(
                ErrorCode::NotFound,
                format!("找不到{} {key}", field_zh(what)),
                en,
            ),
            RegistryError::State(_) => {
                ApiError::new(ErrorCode::Conflict, format!("当前状态不允许：{en}"), en)
            }
            RegistryError::Correction(c) => {
                tracing::error!(error = %c, "correction failed");
                ApiError::internal()
            }
        }
    }
}

pub fn patient_search(ctx: &Ctx<'_>, req: PatientSearch) -> Result<PatientList, ApiError> {
    let conn = ctx.api.store.lock();
    let items = patients::search(&conn, &req.query, req.limit.unwrap_or(20))?;
    let detail = serde_json::json!({ "query": req.query, "returned": items.len() }).to_string();
    audit::record(&conn, ctx.actor(), "patients.search", "", &detail)?;
    Ok(PatientList { items })
}

pub fn patient_add(ctx: &Ctx<'_>, req: NewPatient) -> Result<Patient, ApiError> {
    Ok(patients::add(&mut ctx.api.store.lock(), ctx.actor(), &req)?)
}

pub fn patient_update(ctx: &Ctx<'_>, req: PatientUpdate) -> Result<PatientUpdated, ApiError> {
    let (patient, studies_corrected) = matching::update_patient(
        &mut ctx.api.store.lock(),
        ctx.actor(),
        &req.clinic_id,
        &req.patient,
    )?;
    Ok(PatientUpdated {
        patient,
        studies_corrected,
    })
}

pub fn order_add(ctx: &Ctx<'_>, req: NewOrder) -> Result<Order, ApiError> {
    Ok(orders::add(&mut ctx.api.store.lock(), ctx.actor(), &req)?)
}

pub fn orders_list(ctx: &Ctx<'_>, req: OrdersQuery) -> Result<OrderList, ApiError> {
    let from = match req.date_from.as_deref() {
        Some(d) => super::studies::dicom_date("date_from", d)?,
        None => today(),
    };
    let to = match req.date_to.as_deref() {
        Some(d) => super::studies::dicom_date("date_to", d)?,
        None => from.clone(),
    };
    if let Some(bad) = req.states.iter().find(|s| !STATES.contains(&s.as_str())) {
        return Err(ApiError::invalid(format!(
            "state {bad:?} is not one of {}",
            STATES.join(", ")
        )));
    }
    let states: Vec<&str> = req.states.iter().map(String::as_str).collect();
    let conn = ctx.api.store.lock();
    let items = orders::list(&conn, &from, &to, &states)?;
    // Coalesced: the Today page refetches on live events (`audit::read`).
    let detail = serde_json::json!({ "query": req }).to_string();
    let patients: Vec<&str> = items.iter().map(|o| o.patient.clinic_id.as_str()).collect();
    audit::read(&conn, ctx.actor(), "orders.list", "", &detail, &patients)?;
    Ok(OrderList { items })
}

pub fn order_cancel(ctx: &Ctx<'_>, req: OrderRef) -> Result<Order, ApiError> {
    Ok(orders::cancel(
        &ctx.api.store.lock(),
        ctx.actor(),
        &req.accession,
    )?)
}

pub fn studies_unassigned(ctx: &Ctx<'_>, _: Empty) -> Result<UnassignedList, ApiError> {
    let conn = ctx.api.store.lock();
    let items = matching::unassigned(&conn)?;
    let detail = format!("{} studies", items.len());
    audit::record(&conn, ctx.actor(), "studies.unassigned", "", &detail)?;
    Ok(UnassignedList { items })
}

pub fn study_assign(ctx: &Ctx<'_>, req: StudyAssign) -> Result<StudyAssigned, ApiError> {
    let routes = store::routes(&ctx.api.config());
    let mut conn = ctx.api.store.lock();
    let order = matching::assign(&mut conn, ctx.actor(), &req.study_uid, &req.target, &routes)?;
    let state: String = conn
        .query_row(
            "SELECT state FROM studies WHERE study_uid = ?1",
            [req.study_uid.trim()],
            |r| r.get(0),
        )
        .map_err(store::StoreError::from)?;
    drop(conn);
    ctx.api.emit(Event::StudyChanged {
        study_uid: req.study_uid.clone(),
        state: state.clone(),
    });
    Ok(StudyAssigned {
        study_uid: req.study_uid,
        order,
        state,
    })
}
