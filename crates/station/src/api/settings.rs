//! Settings (admin): the configuration as the Settings page shows it (with the devices whose
//! worklist queries were refused), and the sections an admin may change there (allowed callers,
//! worklist callers, studies' quiet period and hold, watched folders with their
//! device profile, destinations, turnaround targets). A change is checked by the same validation
//! a config file gets, written back into the station's config file, recorded in the audit
//! trail, and followed by the running station without a restart (`serve::groups`).
//!
//! Must never: return a secret (hub passwords, tokens, the initial admin password: they leave
//! as `***`, and `***` coming back means "unchanged"), write a secret to the audit trail, or
//! apply a change it could not write to the file (the next start would silently undo it).

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty, ErrorCode};
use crate::config::{
    self, Config, ConfigError, Destination, Secret, Setting, TurnaroundTarget, WatchFolder,
};
use crate::store::audit;

pub use crate::config::HIDDEN;

/// The configuration in force, shaped as its TOML file.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// Every section, secrets replaced by `"***"`.
    pub config: Config,
    /// The file saved settings are written to.
    pub file: String,
    /// Devices whose worklist queries were refused since the station started (not in
    /// `dicom.worklist_callers`), the latest first: the page offers to allow each.
    pub worklist_refused: Vec<crate::scp::refused::RefusedCaller>,
    /// Workstations whose Query/Retrieve requests (C-FIND, C-MOVE, C-GET) were refused since
    /// the station started (not in `dicom.query_callers`), the latest first: the page offers
    /// to allow each.
    pub query_refused: Vec<crate::scp::refused::RefusedCaller>,
    /// The certificate the LAN UI is served with over HTTPS; absent: plain HTTP (`[http] tls`).
    pub https: Option<HttpsCertificate>,
    /// Destinations whose hub refused a compressed transfer syntax: they get those images as
    /// received (shown on the destination's dialog).
    pub wire_refusals: Vec<crate::store::wire::WireRefusal>,
}

/// The certificate browsers on the LAN are shown, for a person to compare its fingerprint with
/// the one the browser displays before trusting it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HttpsCertificate {
    /// `self-signed` (made by the station at its first start) or `files` (the admin's).
    pub mode: config::TlsMode,
    /// SHA-256 of the certificate's DER, as browsers show it (uppercase hex pairs, colons).
    pub sha256: String,
    /// The certificate's PEM file.
    pub file: String,
}

/// The sections an admin edits; each replaces the one in force.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// `dicom.allowed_callers`: calling AE titles allowed to send; empty accepts any.
    pub allowed_callers: Vec<String>,
    /// `dicom.worklist_callers`: calling AE titles whose worklist queries are answered; empty
    /// answers nobody. Absent keeps the list in force (clients that predate it).
    #[serde(default)]
    pub worklist_callers: Option<Vec<String>>,
    /// `dicom.query_callers`: calling AE titles (viewing workstations) whose Query/Retrieve
    /// requests are answered; empty answers nobody. Absent keeps the list in force.
    #[serde(default)]
    pub query_callers: Option<Vec<String>>,
    /// `studies.quiet_period_secs`.
    pub quiet_period_secs: u64,
    /// `studies.hold_unmatched`.
    pub hold_unmatched: bool,
    /// `studies.hold_on_mismatch`; absent keeps the setting in force (clients that predate it).
    #[serde(default)]
    pub hold_on_mismatch: Option<bool>,
    /// `studies.send_while_receiving`.
    pub send_while_receiving: bool,
    /// `[[watch]]`: folders of devices that export files.
    pub watch: Vec<WatchFolder>,
    /// `[[destinations]]`; a secret sent as `***` keeps the value of the destination of the
    /// same name.
    pub destinations: Vec<Destination>,
    /// `reports.targets`: turnaround targets, the first match applies.
    pub targets: Vec<TurnaroundTarget>,
    /// `registration.procedures`: per modality, the exam items the Register page offers;
    /// absent keeps the list in force (clients that predate it).
    #[serde(default)]
    pub procedures: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// A saved change: the settings now in force, and which sections changed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettingsApplied {
    /// The configuration in force now, as `settings_get` gives it.
    pub settings: Settings,
    /// Sections that changed: `allowed_callers`, `worklist_callers`, `query_callers`, `studies`,
    /// `watch`, `destinations`, `targets`, `procedures`.
    pub changed: Vec<String>,
}

/// One save at a time: two admins saving at once must not interleave file writes.
static SAVING: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl SettingsUpdate {
    /// The update that changes nothing: `config`'s editable sections as the Settings page
    /// shows them (secrets as `***`).
    pub fn unchanged(config: &Config) -> SettingsUpdate {
        let config = config.redacted();
        SettingsUpdate {
            allowed_callers: config.dicom.allowed_callers,
            worklist_callers: Some(config.dicom.worklist_callers),
            query_callers: Some(config.dicom.query_callers),
            quiet_period_secs: config.studies.quiet_period_secs,
            hold_unmatched: config.studies.hold_unmatched,
            hold_on_mismatch: Some(config.studies.hold_on_mismatch),
            send_while_receiving: config.studies.send_while_receiving,
            watch: config.watch,
            destinations: config.destinations,
            targets: config.reports.targets,
            procedures: Some(config.registration.procedures),
        }
    }
}

fn settings_of(ctx: &Ctx<'_>, config: &Config) -> Result<Settings, ApiError> {
    let wire_refusals = crate::store::wire::refusals(&ctx.api.store.lock())?;
    Ok(Settings {
        file: config.settings_file().display().to_string(),
        config: config.redacted(),
        worklist_refused: ctx
            .api
            .refused
            .worklist
            .list(&config.dicom.worklist_callers),
        query_refused: ctx.api.refused.query.list(&config.dicom.query_callers),
        https: ctx.api.https.get().cloned(),
        wire_refusals,
    })
}

pub(crate) fn settings_get(ctx: &Ctx<'_>, _: Empty) -> Result<Settings, ApiError> {
    settings_of(ctx, &ctx.api.config())
}

pub(crate) fn settings_update(
    ctx: &Ctx<'_>,
    req: SettingsUpdate,
) -> Result<SettingsApplied, ApiError> {
    let _saving = SAVING.lock().unwrap_or_else(|p| p.into_inner());
    let current = ctx.api.config();
    let mut next = (*current).clone();
    next.dicom.allowed_callers = req
        .allowed_callers
        .iter()
        .map(|c| c.trim().to_owned())
        .collect();
    if let Some(callers) = req.worklist_callers {
        next.dicom.worklist_callers = callers.iter().map(|c| c.trim().to_owned()).collect();
    }
    if let Some(callers) = req.query_callers {
        next.dicom.query_callers = callers.iter().map(|c| c.trim().to_owned()).collect();
    }
    next.studies.quiet_period_secs = req.quiet_period_secs;
    next.studies.hold_unmatched = req.hold_unmatched;
    if let Some(hold) = req.hold_on_mismatch {
        next.studies.hold_on_mismatch = hold;
    }
    next.studies.send_while_receiving = req.send_while_receiving;
    next.watch = req.watch;
    next.reports.targets = req.targets;
    if let Some(procedures) = req.procedures {
        next.registration.procedures = tidy_procedures(procedures);
    }
    next.destinations = req.destinations;
    for (i, d) in next.destinations.iter_mut().enumerate() {
        keep_secrets(i, d, current.destinations.iter().find(|o| o.name == d.name))?;
    }
    check(&next)?;
    let file = next.settings_file();
    config::write_editable(&file, &next).map_err(|e| not_saved(&file, e))?;
    let changed = changed_sections(&current, &next);
    let conn = ctx.api.store.lock();
    if changed.iter().any(|c| c == "targets") {
        // Studies already waiting for a report get the new targets too (the overdue list).
        crate::reports::store::retarget(&conn, &next.reports)?;
    }
    audit::record(
        &conn,
        ctx.actor(),
        "settings.update",
        &file.display().to_string(),
        &describe(&next, &changed),
    )?;
    drop(conn);
    let applied = settings_of(ctx, &next)?;
    ctx.api.config.set(next);
    Ok(SettingsApplied {
        settings: applied,
        changed,
    })
}

/// The connection test of a destination as the dialog holds it (saved or not): each step's
/// verdict, time and raw detail. Secrets shown as `***` are the saved destination's.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct HubTestRequest {
    /// The destination as the dialog holds it; a secret left as `***` is taken from the saved
    /// destination of the same name.
    pub destination: Destination,
}

/// The connection test's verdict, step by step.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HubTestResult {
    /// In order: DNS, TCP, TLS, OAuth2 token, one QIDO-RS search; a step not reached (after a
    /// failure) or not needed (plain HTTP, no credentials) is listed as skipped, with why.
    pub steps: Vec<crate::upstream::probe::StepResult>,
    /// Every step that ran passed.
    pub ok: bool,
}

pub(crate) fn hub_test(ctx: &Ctx<'_>, req: HubTestRequest) -> Result<HubTestResult, ApiError> {
    let mut dest = req.destination;
    let config = ctx.api.config();
    let saved = config
        .destinations
        .iter()
        .find(|o| o.name == dest.name)
        .cloned();
    keep_secrets(0, &mut dest, saved.as_ref()).map_err(|e| e.at("destination"))?;
    dest.validate().map_err(ApiError::invalid)?;
    let steps = crate::upstream::probe::probe_blocking(&[&dest])
        .map_err(|e| {
            tracing::error!(error = %e, "hub test runtime");
            ApiError::internal()
        })?
        .pop()
        .unwrap_or_default();
    let ok = crate::upstream::probe::passed(&steps);
    Ok(HubTestResult { steps, ok })
}

/// A destination named as in `[[destinations]] name`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationRef {
    /// The destination's configured name.
    pub destination: String,
}

/// Forgets that a configured destination's hub refused compressed images: its next request
/// tries the codec again.
pub(crate) fn wire_refusal_forget(
    ctx: &Ctx<'_>,
    req: DestinationRef,
) -> Result<crate::actions::destination::RefusalsForgotten, ApiError> {
    let configured = ctx
        .api
        .config()
        .destinations
        .iter()
        .any(|d| d.name == req.destination);
    if !configured {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("没有名为 {:?} 的目的地", req.destination),
            format!("no destination {:?}", req.destination),
        )
        .at("destination"));
    }
    Ok(crate::actions::destination::forget_refusals(
        &ctx.acting(),
        &req.destination,
    )?)
}

/// Replaces each `***` by the secret the destination of the same name has now.
fn keep_secrets(i: usize, d: &mut Destination, old: Option<&Destination>) -> Result<(), ApiError> {
    let retype = |field: &str| {
        ApiError::new(
            ErrorCode::Invalid,
            format!(
                "目的地 {}：请重新输入{field}（改名后原密码不再沿用）",
                d.name
            ),
            format!(
                "destination {}: type the {field} again (a renamed destination does not keep it)",
                d.name
            ),
        )
        .at(format!("destinations[{i}].{field}"))
    };
    let hidden = |s: &Option<Secret>| s.as_ref().is_some_and(|s| s.0 == HIDDEN);
    if hidden(&d.password) {
        d.password = Some(
            old.and_then(|o| o.password.clone())
                .ok_or_else(|| retype("password"))?,
        );
    }
    if hidden(&d.bearer_token) {
        d.bearer_token = Some(
            old.and_then(|o| o.bearer_token.clone())
                .ok_or_else(|| retype("bearer_token"))?,
        );
    }
    if let Some(o) = &mut d.oauth2 {
        if o.client_secret.0 == HIDDEN {
            o.client_secret = old
                .and_then(|old| old.oauth2.as_ref())
                .map(|old| old.client_secret.clone())
                .ok_or_else(|| retype("oauth2.client_secret"))?;
        }
    }
    Ok(())
}

/// The checks a config file gets, each mapped to the request field it is about, then the hub
/// settings a sync worker would build (CA and client certificate files readable).
fn check(next: &Config) -> Result<(), ApiError> {
    for (modality, items) in &next.registration.procedures {
        if items.len() > 100 || items.iter().any(|i| i.chars().count() > 64) {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                format!("{modality} 的常用检查项目最多 100 项，每项最多 64 个字"),
                format!("procedures.{modality}: at most 100 items of at most 64 characters"),
            )
            .at(format!("procedures.{modality}")));
        }
    }
    for (i, c) in next.dicom.allowed_callers.iter().enumerate() {
        config::validate_caller(c).map_err(|e| {
            invalid(
                e,
                format!("allowed_callers[{i}]"),
                "AE 名称须为 1 到 16 个字符",
            )
        })?;
    }
    for (i, c) in next.dicom.worklist_callers.iter().enumerate() {
        config::validate_worklist_caller(c, &next.dicom.allowed_callers).map_err(|e| {
            invalid(
                e,
                format!("worklist_callers[{i}]"),
                "AE 名称须为 1 到 16 个字符，且须在允许的设备之列",
            )
        })?;
    }
    for (i, c) in next.dicom.query_callers.iter().enumerate() {
        config::validate_query_caller(c, &next.dicom.allowed_callers).map_err(|e| {
            invalid(
                e,
                format!("query_callers[{i}]"),
                "AE 名称须为 1 到 16 个字符，且须在允许的设备之列",
            )
        })?;
    }
    if next.studies.quiet_period_secs == 0 {
        return Err(ApiError::new(
            ErrorCode::Invalid,
            "静默期至少为 1 秒",
            "studies.quiet_period_secs must be at least 1",
        )
        .at("quiet_period_secs"));
    }
    for (i, w) in next.watch.iter().enumerate() {
        w.validate().map_err(|e| {
            let (field, zh) = match setting_of(&e) {
                Some(Setting::WatchDevice) => ("device", "设备类型无效"),
                Some(Setting::WatchRescan) => ("rescan_secs", "重新扫描间隔至少为 1 秒"),
                _ => ("path", "请填写文件夹路径"),
            };
            invalid(e, format!("watch[{i}].{field}"), zh)
        })?;
    }
    let mut names = std::collections::HashSet::new();
    for (i, d) in next.destinations.iter().enumerate() {
        if d.name.trim().is_empty() || !names.insert(d.name.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Invalid,
                format!("目的地名称 {:?} 不能为空，也不能重复", d.name),
                format!(
                    "destinations.name {:?}: each destination needs a unique, non-empty name",
                    d.name
                ),
            )
            .at(format!("destinations[{i}].name")));
        }
        d.validate().map_err(|e| {
            let (field, zh) = match setting_of(&e) {
                Some(Setting::DestinationUrl) => ("url", "地址须以 http:// 或 https:// 开头"),
                Some(Setting::InsecureCredentials) => (
                    "url",
                    "登录信息不能经未加密的 http:// 发送：请改用 https://，或确认线路可信后勾选“允许不加密”",
                ),
                Some(Setting::DestinationDisplayName) => ("display_name", "显示名称最多 64 个字"),
                Some(Setting::ParallelRequests) => ("parallel_requests", "并行请求数须为 1 到 16"),
                Some(Setting::RateWindows) => ("rate_windows", "限速时段须写作 HH:MM"),
                _ => ("timeout_secs", "批量、超时与重试间隔须至少为 1"),
            };
            invalid(e, format!("destinations[{i}].{field}"), zh)
        })?;
        crate::upstream::Hub::for_destination(d).map_err(|e| {
            ApiError::new(
                ErrorCode::Invalid,
                format!("目的地 {} 的连接设置无效：{e}", d.name),
                format!("destination {}: {e}", d.name),
            )
            .at(format!("destinations[{i}]"))
        })?;
    }
    for (i, t) in next.reports.targets.iter().enumerate() {
        t.validate().map_err(|e| {
            invalid(
                e,
                format!("targets[{i}]"),
                "优先级须为 urgent、routine 或 *，时限至少 1 分钟",
            )
        })?;
    }
    // Anything else the whole-file validation finds (there should be nothing left).
    next.validate()
        .map_err(|e| invalid(e, String::new(), "设置无效"))
}

/// The setting a validation error is about.
fn setting_of(e: &ConfigError) -> Option<Setting> {
    match e {
        ConfigError::Invalid { setting, .. } => Some(*setting),
        _ => None,
    }
}

fn invalid(e: ConfigError, field: String, zh: &str) -> ApiError {
    let en = match e {
        ConfigError::Invalid { message, .. } => message,
        other => other.to_string(),
    };
    let err = ApiError::new(ErrorCode::Invalid, format!("{zh}（{en}）"), en);
    if field.is_empty() {
        err
    } else {
        err.at(field)
    }
}

/// Modalities upper-cased, items trimmed, empty and repeated ones dropped, modalities left
/// without items removed.
fn tidy_procedures(
    given: std::collections::BTreeMap<String, Vec<String>>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (modality, items) in given {
        let list = out.entry(modality.trim().to_uppercase()).or_default();
        for item in items {
            let item = item.trim().to_owned();
            if !item.is_empty() && !list.contains(&item) {
                list.push(item);
            }
        }
    }
    out.retain(|m, items| !m.is_empty() && !items.is_empty());
    out
}

/// The settings file could not be updated, so nothing was applied. The usual causes are the
/// file's state, not the request's: a hand edit made while the station ran that no longer parses
/// (the parser's words, with the line, are the detail), or a file the station's user cannot read
/// or write (the OS error is the detail). Settings that cannot be written as TOML would be the
/// station's own failure.
fn not_saved(file: &std::path::Path, e: ConfigError) -> ApiError {
    tracing::error!(file = %file.display(), error = %e, "cannot save settings");
    let file = file.display();
    match e {
        ConfigError::Parse { message, .. } => ApiError::new(
            ErrorCode::Conflict,
            format!("设置未保存：配置文件 {file} 已被手工改动且有错误，请先改正它（出错的行见详情）"),
            format!("settings not saved: the config file {file} was edited by hand and has an error; correct it first (the details name the line)"),
        )
        .with_detail(message),
        ConfigError::Read { source, .. } => ApiError::new(
            ErrorCode::Conflict,
            format!("设置未保存：工作站无法写入配置文件 {file}，请检查该文件的权限（应属于运行工作站的用户）"),
            format!("settings not saved: the station cannot write its config file {file}; check the file's permissions (it should belong to the user the station runs as)"),
        )
        .with_detail(source.to_string()),
        ConfigError::Invalid { .. } => ApiError::internal(),
    }
}

fn changed_sections(old: &Config, new: &Config) -> Vec<String> {
    [
        (
            "allowed_callers",
            old.dicom.allowed_callers != new.dicom.allowed_callers,
        ),
        (
            "worklist_callers",
            old.dicom.worklist_callers != new.dicom.worklist_callers,
        ),
        (
            "query_callers",
            old.dicom.query_callers != new.dicom.query_callers,
        ),
        ("studies", old.studies != new.studies),
        ("watch", old.watch != new.watch),
        ("destinations", old.destinations != new.destinations),
        ("targets", old.reports.targets != new.reports.targets),
        ("procedures", old.registration != new.registration),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name.to_owned())
    .collect()
}

/// The audit entry: what changed, with names and addresses but never a secret.
fn describe(next: &Config, changed: &[String]) -> String {
    let mut parts = vec![format!("changed: {}", changed.join(", "))];
    for section in changed {
        parts.push(match section.as_str() {
            "allowed_callers" => format!("allowed_callers = {:?}", next.dicom.allowed_callers),
            "worklist_callers" => {
                format!("worklist_callers = {:?}", next.dicom.worklist_callers)
            }
            "query_callers" => format!("query_callers = {:?}", next.dicom.query_callers),
            "studies" => format!(
                "quiet_period_secs = {}, hold_unmatched = {}, hold_on_mismatch = {}, \
                 send_while_receiving = {}",
                next.studies.quiet_period_secs,
                next.studies.hold_unmatched,
                next.studies.hold_on_mismatch,
                next.studies.send_while_receiving
            ),
            "watch" => format!(
                "watch = {:?}",
                next.watch
                    .iter()
                    .map(|w| w.path.display().to_string())
                    .collect::<Vec<_>>()
            ),
            "destinations" => format!(
                "destinations = {:?}",
                next.destinations
                    .iter()
                    .map(|d| format!("{} {}", d.name, d.url))
                    .collect::<Vec<_>>()
            ),
            "procedures" => format!(
                "procedures = {:?}",
                next.registration
                    .procedures
                    .iter()
                    .map(|(m, items)| format!("{m}: {} items", items.len()))
                    .collect::<Vec<_>>()
            ),
            _ => format!(
                "targets = {:?}",
                next.reports
                    .targets
                    .iter()
                    .map(|t| format!("{}/{} {} min", t.modality, t.priority, t.minutes))
                    .collect::<Vec<_>>()
            ),
        });
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests;
