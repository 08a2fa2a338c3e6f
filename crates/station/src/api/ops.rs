//! The list of operations: name, request type, response type, handler, and a one-line summary
//! for the OpenAPI document. One macro turns it into the `Op` enum, the dispatcher's `match`
//! and the schema list, so none of them can drift from the others.
//!
//! Must never: call a handler without going through `Api::run` (which checks the role first).

use serde_json::Value;
use utoipa::openapi::{RefOr, Schema};

use super::{
    account, admin, dashboard, file_keys, registry, reports, routing, run_handler, settings,
    station, storage, studies, ApiError, Ctx, Empty,
};

/// One operation as the OpenAPI document describes it.
pub(crate) struct OpSpec {
    pub(crate) op: Op,
    /// The one-line summary, in English.
    pub(crate) summary: &'static str,
    /// The request type's schema name.
    pub(crate) request: String,
    /// The response type's schema name.
    pub(crate) response: String,
    /// Whether the request may be left out: the body is optional (`null` counts as `{}`)
    /// exactly when the request type accepts `{}`.
    pub(crate) body_optional: fn() -> bool,
    /// Adds the request and response schemas (and those they use) to a list.
    pub(crate) schemas: fn(&mut Vec<(String, RefOr<Schema>)>),
}

pub(crate) fn collect<T: utoipa::ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

macro_rules! operations {
    ($( $variant:ident = $name:literal : $req:ty => $resp:ty, $handler:path, $summary:literal; )*) => {
        /// Every operation, by its wire name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op { $(#[doc = $summary] $variant),* }

        impl Op {
            /// Every operation, in the order of the list below (and of the OpenAPI document).
            pub const ALL: &'static [Op] = &[$(Op::$variant),*];

            /// The wire name (snake_case): `POST /api/{name}`; refused calls are audited by it.
            pub fn name(self) -> &'static str {
                match self { $(Op::$variant => $name),* }
            }

            /// The operation called `name` on the wire; `None` for an unknown name.
            pub fn from_name(name: &str) -> Option<Op> {
                match name { $($name => Some(Op::$variant),)* _ => None }
            }
        }

        pub(crate) fn dispatch(op: Op, ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
            match op { $(Op::$variant => run_handler::<$req, $resp>(ctx, body, $handler)),* }
        }

        /// Every operation with its types, for the OpenAPI document.
        pub(crate) fn specs() -> Vec<OpSpec> {
            use utoipa::ToSchema;
            vec![$(OpSpec {
                op: Op::$variant,
                summary: $summary,
                request: <$req>::name().into_owned(),
                response: <$resp>::name().into_owned(),
                body_optional: || serde_json::from_value::<$req>(Value::Object(Default::default())).is_ok(),
                schemas: |out| { collect::<$req>(out); collect::<$resp>(out); },
            }),*]
        }
    };
}

operations! {
    Login = "login": account::LoginRequest => account::LoginResponse, account::login,
        "Log in with username and password; returns a bearer token.";
    Logout = "logout": Empty => Empty, account::logout,
        "End the caller's session.";
    Me = "me": Empty => account::MeResponse, account::me,
        "The logged-in user, the session's end and the operations the role may call.";
    PasswordChange = "password_change": account::PasswordChange => Empty, account::password_change,
        "Change one's own password (the current one first); every session of the user ends.";
    FileKey = "file_key": Empty => file_keys::FileKeyAnswer, file_keys::file_key,
        "A key for the session's file URLs (`?key=`), for the desktop window, whose page cannot send the browser's cookie.";
    Status = "status": Empty => station::StatusResponse, station::status,
        "Station status for the header bar: studies per state, links, problems.";
    Dashboard = "dashboard": dashboard::DashboardQuery => dashboard::Dashboard, dashboard::dashboard,
        "Counts per stage, links, free disk, devices, report turnaround per modality, overdue studies, unread reports, bytes compression saved this month.";
    StudiesList = "studies_list": studies::StudiesQuery => studies::StudyPage, studies::list,
        "Search studies by name, patient ID, date, modality, state; paged. Audited.";
    StudyGet = "study_get": studies::StudyRef => studies::StudyDetail, studies::get,
        "One study: series, instances, per-destination send history with the hub's errors and bytes sent. Audited.";
    StudyHold = "study_hold": studies::StudyRef => studies::StudyActionResult, studies::hold,
        "Pause sending a study to every destination.";
    StudyRelease = "study_release": studies::StudyRef => studies::StudyActionResult, studies::release,
        "Resume sending a held study.";
    StudyRetry = "study_retry": studies::StudyRef => studies::StudyActionResult, studies::retry,
        "Send a failed study again (refused instances included).";
    StudyMarkUrgent = "study_mark_urgent": studies::UrgentRequest => studies::StudyActionResult, studies::mark_urgent,
        "Mark a study urgent (sent first) or normal.";
    StudiesUnrouted = "studies_unrouted": routing::UnroutedQuery => routing::UnroutedList, routing::studies_unrouted,
        "Complete studies no destination took (未发送（无目的地）) in the last days, and how many a destination configured now accepts. Audited.";
    StudiesRoute = "studies_route": routing::UnroutedQuery => crate::actions::study::StudiesRouted, routing::studies_route,
        "Send the complete studies no destination took in the last days to the destinations configured now that accept them.";
    StudyKeep = "study_keep": storage::KeepRequest => studies::StudyActionResult, storage::study_keep,
        "Keep a study's files on this station whatever retention says (or let it decide again).";
    StudyFetch = "study_fetch": studies::StudyRef => crate::storage::fetchback::FetchProgress, storage::study_fetch,
        "Fetch a purged study's files back from the hub that holds them (中心存档); its progress. Audited.";
    StoragePlan = "storage_plan": Empty => crate::storage::purge::Plan, storage::storage_plan,
        "What retention would delete now and why, what it keeps and why; the disk and its marks.";
    QuarantineList = "quarantine_list": station::PageRequest => station::QuarantinePage, station::quarantine_list,
        "Files refused at arrival, with the reason. Audited.";
    LinksList = "links_list": Empty => station::LinksResponse, station::links_list,
        "Each destination: link state, last success, last error, backlog.";
    QueueList = "queue_list": station::QueueQuery => station::QueuePage, station::queue_list,
        "The send queue by study and destination: state, attempts, instances stored and refused, last error; no patient data (names in errors replaced).";
    UsersList = "users_list": Empty => admin::UsersResponse, admin::users_list,
        "All users (admin).";
    UserCreate = "user_create": admin::UserCreate => crate::auth::users::UserRecord, admin::user_create,
        "Create a user (admin).";
    UserUpdate = "user_update": admin::UserUpdate => crate::auth::users::UserRecord, admin::user_update,
        "Change a user's name, role, password or active flag (admin).";
    AuditList = "audit_list": admin::AuditQuery => admin::AuditPage, admin::audit_list,
        "Browse the audit trail, newest first (admin).";
    SystemEvents = "system_events": admin::AuditQuery => admin::AuditPage, admin::system_events,
        "The audit trail's system events only (logins, refusals, users, settings, tokens, sends held, released or retried), newest first; never a patient read.";
    TokensList = "tokens_list": Empty => admin::TokensResponse, admin::tokens_list,
        "API tokens with role, maker, end, last use and revocation; never the token (admin).";
    TokenCreate = "token_create": admin::TokenCreate => admin::TokenCreated, admin::token_create,
        "Make a long-lived API token for a script or a HIS, any role but admin; the token is in this answer only (admin).";
    TokenRevoke = "token_revoke": admin::TokenRef => crate::auth::tokens::TokenRecord, admin::token_revoke,
        "Revoke an API token: its next call is refused (admin).";
    SettingsGet = "settings_get": Empty => settings::Settings, settings::settings_get,
        "The station's configuration, without secrets.";
    SettingsUpdate = "settings_update": settings::SettingsUpdate => settings::SettingsApplied, settings::settings_update,
        "Change allowed callers, quiet period, watched folders, destinations, turnaround targets (admin); saved to the config file and applied without a restart.";
    HubTest = "hub_test": settings::HubTestRequest => settings::HubTestResult, settings::hub_test,
        "Test the link to a destination as the dialog holds it: DNS, TCP, TLS, OAuth2 token, one QIDO-RS search; each step's verdict, time and detail.";
    WireRefusalForget = "wire_refusal_forget": settings::DestinationRef => crate::actions::destination::RefusalsForgotten, settings::wire_refusal_forget,
        "Forget that a destination's hub refused compressed images (shown on its dialog): its next request tries the codec again (admin, maintenance).";
    PatientSearch = "patient_search": registry::PatientSearch => registry::PatientList, registry::patient_search,
        "Find registered patients by name, pinyin initials, ID card number, phone or clinic ID. Audited.";
    PatientAdd = "patient_add": crate::registry::patients::NewPatient => crate::registry::patients::Patient, registry::patient_add,
        "Register a patient; birth date and sex come from the ID card number when not typed.";
    PatientUpdate = "patient_update": registry::PatientUpdate => registry::PatientUpdated, registry::patient_update,
        "Correct a registered patient; studies already matched to them are corrected and sent again.";
    Procedures = "procedures": Empty => registry::Procedures, registry::procedures,
        "The exam items the Register page offers per modality ([registration] procedures, edited on the Settings page).";
    OrderAdd = "order_add": crate::registry::orders::NewOrder => crate::registry::orders::Order, registry::order_add,
        "Order an exam for a registered patient (served to devices on the worklist).";
    OrdersList = "orders_list": registry::OrdersQuery => registry::OrderList, registry::orders_list,
        "Orders by scheduled date (today by default) and state, with their patients. Audited.";
    OrderCancel = "order_cancel": registry::OrderRef => crate::registry::orders::Order, registry::order_cancel,
        "Cancel a scheduled or in-progress order.";
    StudiesUnassigned = "studies_unassigned": Empty => registry::UnassignedList, registry::studies_unassigned,
        "Complete studies a technician must place: matched to no order, or held for \"check patient\" (order_ref set). Audited.";
    StudyAssign = "study_assign": registry::StudyAssign => registry::StudyAssigned, registry::study_assign,
        "Assign a study to an order (existing, new for a patient, or made from the study) and queue it; a patient who differs from the device's needs confirm_mismatch.";
    StudyConfirmPatient = "study_confirm_patient": studies::StudyRef => crate::actions::study::PatientConfirmed, studies::confirm_patient,
        "Confirm that a study held for \"check patient\" is its order's patient, and send it.";
    ReportsList = "reports_list": reports::ReportsQuery => reports::ReportList, reports::reports_list,
        "Reports from the hub (all or the caller's unread), with the caller's unread count. Audited.";
    ReportGet = "report_get": reports::ReportRef => reports::ReportDetail, reports::report_get,
        "One report: text, versions, the study's PDFs, key images, turnaround. Audited.";
    ReportAck = "report_ack": reports::ReportRef => reports::ReportAcked, reports::report_ack,
        "The caller has read the report (the first acknowledgement is kept).";
    WaveformGet = "waveform_get": reports::InstanceRef => crate::dicom::waveform::EcgWaveform, reports::waveform_get,
        "An ECG instance's leads in microvolts, for the plot. Audited.";
}
