// What the screens read from the engine's answers. The engine's own types are generated into
// ./generated/ from its OpenAPI document (scripts/gen-api-types.sh): the names here are those
// types, never a second copy.
import type { Schemas } from './generated/ops'

export type StudyRow = Schemas['StudySummary']
export type StudiesList = Schemas['StudyPage']
export type InstanceRow = Schemas['InstanceInfo']
export type SeriesRow = Schemas['SeriesInfo']
export type SendRow = Schemas['SendInfo']
export type StudyDetail = Schemas['StudyDetail']
export type LinkRow = Schemas['LinkInfo']
export type DeviceSeen = Schemas['DeviceSeen']
export type Dashboard = Schemas['Dashboard']
export type UserRow = Schemas['UserRecord']
export type AuditRow = Schemas['AuditEntry']

export type ReportRow = Schemas['ReportSummary']
export type ReportDetail = Schemas['ReportDetail']

/** A list answer, whichever name the operation gives its rows. */
export function rowsOf<T>(answer: unknown, ...keys: string[]): T[] {
  if (Array.isArray(answer)) return answer as T[]
  const o = (answer ?? {}) as Record<string, unknown>
  for (const k of [...keys, 'items']) if (Array.isArray(o[k])) return o[k] as T[]
  return []
}

/** An order as the registry lists it: flat, or `{order, patient}`. */
export interface OrderRow {
  accession: string
  patient_name: string
  modality: string
  procedure: string
  state: string
}
export function orderRow(x: Record<string, unknown>): OrderRow {
  const o = (x.order ?? x) as Record<string, string | undefined>
  const p = (x.patient ?? {}) as Record<string, string | undefined>
  return {
    accession: o.accession ?? '',
    patient_name: personName(p.name ?? o.patient_name ?? ''),
    modality: o.modality ?? '',
    procedure: o.procedure ?? o.description ?? '',
    state: o.state ?? '',
  }
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

export type QuarantinePage = Schemas['QuarantinePage']
export type StatusAnswer = Schemas['StatusResponse']
