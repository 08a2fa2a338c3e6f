// What the screens read from the engine's answers. Only the fields the UI shows, all optional
// where the engine may leave them out. The engine's own types are generated into
// ./generated/ by the api part; these views of them stay narrow so a field added there
// changes nothing here.

export interface StudyRow {
  study_uid: string
  patient_name: string
  patient_id: string
  study_date: string
  study_time?: string
  accession?: string
  description?: string
  modalities?: string[]
  state: string
  priority?: number
  urgent?: boolean
  instances?: number
  last_received_at?: number
}

export interface StudiesList {
  studies: StudyRow[]
  total?: number
}

export interface SeriesRow {
  series_uid: string
  modality: string
  number?: number | null
  description?: string
  instances?: number | Array<{ sop_instance_uid: string }>
  sop_instance_uids?: string[]
}

export interface SendRow {
  destination: string
  state: string
  attempts?: number
  stored?: number
  total?: number
  last_error?: string | null
  updated_at?: number
  next_attempt_at?: number | null
}

export interface StudyDetail {
  study: StudyRow
  series?: SeriesRow[]
  sends?: SendRow[]
}

export interface DestinationStatus {
  name?: string
  destination?: string
  online: boolean
  backlog?: number
  last_success_at?: number | null
  last_error?: string | null
  last_error_at?: number | null
}

export interface DeviceSeen {
  source: string
  instances?: number
  last_seen_at?: number
}

export interface Dashboard {
  by_state?: Record<string, number>
  destinations?: DestinationStatus[]
  free_disk_bytes?: number
  min_free_bytes?: number
  devices?: DeviceSeen[]
  overdue?: number
  turnaround_hours?: number[]
}

export interface Settings {
  dicom?: { ae_title?: string; port?: number; allowed_callers?: string[] }
  destinations?: Array<{ name: string; url: string; modalities?: string[] }>
  watch?: Array<{ path: string }>
}

export interface UserRow {
  username: string
  display_name?: string
  role: string
  disabled?: boolean
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

/** The UIDs of a series' instances, whichever way the engine lists them. */
export function instanceUids(s: SeriesRow): string[] {
  if (s.sop_instance_uids) return s.sop_instance_uids
  if (Array.isArray(s.instances)) return s.instances.map((i) => i.sop_instance_uid)
  return []
}

export function instanceCount(s: SeriesRow): number {
  return Array.isArray(s.instances) ? s.instances.length : (s.instances ?? 0)
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
