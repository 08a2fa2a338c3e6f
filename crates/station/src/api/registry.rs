//! Registration for the Today screen: patients, orders, and studies that wait for a technician
//! to assign them. Thin wrappers over `crate::registry`, which validates and audits every
//! change in its own transaction; reads are audited here.
//!
//! Must never: audit a change a second time (the library does), or read patients without an
//! audit entry.

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty, ErrorCode};
use crate::actions;
pub use crate::actions::study::StudyAssigned;
use crate::registry::matching::{self, StudyFacts, Target};
use crate::registry::orders::{self, NewOrder, Order, OrderWithPatient};
use crate::registry::patients::{self, NewPatient, Patient};
use crate::registry::{today, Field, RegistryError};
use crate::store::{audit, OrderState};

/// A search of the registered patients, for the Register and Today pages.
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

/// Patients matching a search, most recently registered first (none for an empty query).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientList {
    /// At most `limit` of them.
    pub items: Vec<Patient>,
}

/// A correction of a registered patient's data.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientUpdate {
    /// The patient to change, by clinic patient ID.
    pub clinic_id: String,
    /// The patient's data as it should now be (all fields; the clinic ID stays).
    pub patient: NewPatient,
}

/// A patient corrected.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientUpdated {
    /// The patient as now registered.
    pub patient: Patient,
    /// Studies already matched to this patient that are corrected and sent again.
    pub studies_corrected: usize,
}

/// Which orders the Today page lists: by scheduled date (the station's local date) and state.
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
    pub states: Vec<OrderState>,
}

/// Orders in the period, by scheduled date and time, each with its patient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    /// The orders; listing them is audited.
    pub items: Vec<OrderWithPatient>,
}

/// Which order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRef {
    /// Its accession number (0008,0050), as the order answer gives it.
    pub accession: String,
}

/// Studies that wait for a technician to place them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnassignedList {
    /// Complete studies matched to no order, and those held for "check patient" (linked to an
    /// order: `order_ref` set), newest first.
    pub items: Vec<StudyFacts>,
}

/// Place a study with its order, and send it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyAssign {
    /// The study's Study Instance UID (0020,000D).
    pub study_uid: String,
    /// What to assign it to: an order (by accession), a new order for a registered patient, or
    /// a new patient and order made from the study.
    pub target: Target,
    /// The caller has seen how the device's patient differs from the target's and assigns it
    /// anyway; without it such an assignment is refused (`patient_mismatch`).
    #[serde(default)]
    pub confirm_mismatch: bool,
}

/// Field names the library's messages use, in Chinese.
pub(crate) fn field_zh(field: Field) -> &'static str {
    match field {
        Field::Name => "姓名",
        Field::Sex => "性别",
        Field::BirthDate => "出生日期",
        Field::Phone => "电话",
        Field::ClinicId => "患者编号",
        Field::Modality => "检查类型",
        Field::Priority => "优先级",
        Field::ScheduledDate => "预约日期",
        Field::ScheduledTime => "预约时间",
        Field::StationAe => "设备 AE 名称",
        Field::Accession => "检查号",
        Field::IdCard => "身份证号",
        Field::RegisteredPatient => "登记患者",
        Field::Patient => "患者",
        Field::Study => "检查",
        Field::Order | Field::OpenOrder => "检查申请",
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let en = e.to_string();
        match e {
            RegistryError::Store(s) => s.into(),
            RegistryError::IdCard(_) => super::invalid::field_sentence(Field::IdCard, en),
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
            RegistryError::Invalid { field, .. } => super::invalid::field_sentence(field, en),
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
            RegistryError::PatientMismatch(ref differences) => ApiError::new(
                ErrorCode::PatientMismatch,
                format!(
                    "设备发送的患者与所选患者不同：{}。请核对，确认为同一患者后再分配",
                    crate::registry::identity::describe_zh(differences)
                ),
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

pub(crate) fn patient_search(ctx: &Ctx<'_>, req: PatientSearch) -> Result<PatientList, ApiError> {
    let conn = ctx.api.store.lock();
    let items = patients::search(&conn, &req.query, req.limit.unwrap_or(20))?;
    let detail = serde_json::json!({ "query": req.query, "returned": items.len() }).to_string();
    audit::record(&conn, ctx.actor(), "patients.search", "", &detail)?;
    Ok(PatientList { items })
}

pub(crate) fn patient_add(ctx: &Ctx<'_>, req: NewPatient) -> Result<Patient, ApiError> {
    Ok(actions::patient::add(&ctx.acting(), &req)?)
}

pub(crate) fn patient_update(
    ctx: &Ctx<'_>,
    req: PatientUpdate,
) -> Result<PatientUpdated, ApiError> {
    let (patient, studies_corrected) =
        actions::patient::update(&ctx.acting(), &req.clinic_id, &req.patient)?;
    Ok(PatientUpdated {
        patient,
        studies_corrected,
    })
}

pub(crate) fn order_add(ctx: &Ctx<'_>, req: NewOrder) -> Result<Order, ApiError> {
    Ok(actions::order::add(&ctx.acting(), &req)?)
}

pub(crate) fn orders_list(ctx: &Ctx<'_>, req: OrdersQuery) -> Result<OrderList, ApiError> {
    let from = match req.date_from.as_deref() {
        Some(d) => super::studies::dicom_date("date_from", d)?,
        None => today(),
    };
    let to = match req.date_to.as_deref() {
        Some(d) => super::studies::dicom_date("date_to", d)?,
        None => from.clone(),
    };
    let conn = ctx.api.store.lock();
    let items = orders::list(&conn, &from, &to, &req.states)?;
    // Coalesced: the Today page refetches on live events (`audit::read`).
    let detail = serde_json::json!({ "query": req }).to_string();
    let patients: Vec<&str> = items.iter().map(|o| o.patient.clinic_id.as_str()).collect();
    audit::read(&conn, ctx.actor(), "orders.list", "", &detail, &patients)?;
    Ok(OrderList { items })
}

pub(crate) fn order_cancel(ctx: &Ctx<'_>, req: OrderRef) -> Result<Order, ApiError> {
    Ok(actions::order::cancel(&ctx.acting(), &req.accession)?)
}

pub(crate) fn studies_unassigned(ctx: &Ctx<'_>, _: Empty) -> Result<UnassignedList, ApiError> {
    let conn = ctx.api.store.lock();
    let items = matching::unassigned(&conn)?;
    let detail = format!("{} studies", items.len());
    audit::record(&conn, ctx.actor(), "studies.unassigned", "", &detail)?;
    Ok(UnassignedList { items })
}

pub(crate) fn study_assign(ctx: &Ctx<'_>, req: StudyAssign) -> Result<StudyAssigned, ApiError> {
    let routes = crate::lifecycle::routes(&ctx.api.config());
    Ok(actions::study::assign(
        &ctx.acting(),
        &req.study_uid,
        &req.target,
        &routes,
        req.confirm_mismatch,
    )?)
}

/// The exam items the Register page offers, per modality.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Procedures {
    /// Exam item names per modality (e.g. `DX`: `胸部正侧位`, …), in the order configured.
    pub procedures: std::collections::BTreeMap<String, Vec<String>>,
}

pub(crate) fn procedures(ctx: &Ctx<'_>, _: Empty) -> Result<Procedures, ApiError> {
    Ok(Procedures {
        procedures: ctx.api.config().registration.procedures.clone(),
    })
}
