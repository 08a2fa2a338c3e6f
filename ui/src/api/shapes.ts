// What the screens read from the engine's answers. Only the fields the UI shows, all optional
// where the engine may leave them out. The engine's own types are generated into
// ./generated/ by the api part; these views of them stay narrow so a field added there
// changes nothing here.

export interface StudyRow {
  study_uid: string
  patient_name: string
  patient_id: string
  patient_sex?: string
  patient_birth_date?: string
  study_date: string
  study_time?: string
  accession?: string
  description?: string
  modalities?: string[]
  state: string
  urgent?: boolean
  instances?: number
  first_received_at?: number
  last_received_at?: number
  state_changed_at?: number
}

/** studies_list: one page of the matching studies and how many match in all. */
export interface StudiesList {
  total: number
  items: StudyRow[]
}

export interface InstanceRow {
  sop_instance_uid: string
  instance_number?: number | null
  charset_repaired?: string | null
  review_reason?: string | null
}

export interface SeriesRow {
  series_uid: string
  modality: string
  number?: number | null
  description?: string
  instances: InstanceRow[]
}

export interface SendRow {
  destination: string
  state: string
  attempts?: number
  /** Instances to send, confirmed by the hub, refused by it. */
  instances?: number
  stored?: number
  failed?: number
  failures?: Array<{ sop_instance_uid: string; error: string; attempts: number }>
  last_error?: string | null
  updated_at?: number
  next_attempt_at?: number | null
}

export interface StudyDetail {
  study: StudyRow
  series: SeriesRow[]
  sends: SendRow[]
}

export interface LinkRow {
  destination: string
  url?: string
  /** null until the station has talked to it once. */
  online: boolean | null
  backlog?: number
  failed?: number
  held?: number
  last_success_at?: number | null
  last_error?: string | null
  last_error_at?: number | null
}

export interface DeviceSeen {
  calling_ae: string
  instances?: number
  last_contact?: number
}

export interface Dashboard {
  counts: { studies_by_state: Record<string, number>; quarantined?: number; instances?: number }
  destinations: LinkRow[]
  free_disk_bytes?: number | null
  min_free_bytes?: number
  devices: DeviceSeen[]
  overdue?: number
}

/** settings_get: the configuration as TOML-shaped JSON, secrets masked. */
export interface Settings {
  config: {
    dicom?: { ae_title?: string; port?: number; allowed_callers?: string[] }
    destinations?: Array<{ name: string; url: string; modalities?: string[] }>
    watch?: Array<{ path: string }>
  }
}

export interface UserRow {
  username: string
  display_name?: string
  role: string
  active?: boolean
  last_login_at?: number | null
}

export interface AuditRow {
  id: number
  at: number
  actor: string
  action: string
  subject?: string
  detail?: string
}

export interface ReportRow {
  id: number
  study_uid: string
  patient_name?: string
  status?: string
  is_final?: boolean
  issued_at?: number
  acknowledged_at?: number | null
  text?: string
  findings?: string
  impression?: string
  author?: string
}

/** "20261130" → "2026-11-30"; anything else as it is. */
export function dicomDate(d: string | undefined): string {
  return d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : (d ?? '')
}

/** Unix milliseconds → local "YYYY-MM-DD HH:mm:ss". */
export function timeText(ms: number | null | undefined): string {
  if (!ms) return ''
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

export function bytesText(n: number | undefined): string {
  if (n === undefined) return ''
  const gb = n / 1024 ** 3
  return gb >= 1 ? `${gb.toFixed(1)} GB` : `${(n / 1024 ** 2).toFixed(0)} MB`
}

/**
 * A DICOM person name (PS3.5 6.2.1) as people write it: the ideographic group when there is
 * one ("Wang^Xiaoming=王^小明" → "王小明"), Chinese components joined without spaces, others
 * with spaces ("Zhang^San" → "Zhang San").
 */
export function personName(pn: string | undefined): string {
  if (!pn) return ''
  const groups = pn.split('=')
  const group = groups.find((g, i) => i > 0 && /[\u3400-\u9fff]/.test(g)) ?? groups[0]
  const parts = group.split('^').map((p) => p.trim()).filter(Boolean)
  return parts.join(/[\u3400-\u9fff]/.test(group) ? '' : ' ')
}
