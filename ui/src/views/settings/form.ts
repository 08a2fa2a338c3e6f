// The Settings page's form logic: the engine's configuration (settings_get) turned into what the
// forms edit, and back into the one `settings_update` request; checks done before sending; the
// engine's `field` of an error turned into the place on the page to mark.
//
// Must never: send a secret the admin did not type (an untouched secret goes back as `***`,
// which the engine reads as "unchanged"), or drop a destination setting the forms do not show
// (timeouts, batching, TLS files, rate windows are carried through as they were).
import type { Schemas } from '../../api/generated/ops'

export type Destination = Schemas['Destination']
export type WireSyntax = Schemas['WireSyntax']
/** What a destination's images received uncompressed are sent as, in the dialog's order. */
export const WIRE_SYNTAXES: WireSyntax[] = ['as-received', 'jpeg-ls-lossless', 'jpeg2000-lossless']
export type WatchFolder = Schemas['WatchFolder']
export type Target = Schemas['TurnaroundTarget']
export type SettingsUpdate = Schemas['SettingsUpdate']

/** What the engine shows in place of a secret, and takes back as "keep it". */
export const HIDDEN = '***'

export const AUTH_KINDS = ['none', 'basic', 'bearer', 'oauth2'] as const
export type AuthKind = (typeof AUTH_KINDS)[number]

export const EXPORT_FORMATS = ['pdf', 'jpeg', 'png', 'bmp', 'aecg'] as const
export const PRIORITIES = ['*', 'urgent', 'routine'] as const

/** The configuration as settings_get answers it: every section, secrets as `***`. */
export type Config = Schemas['Config']

/** Everything the page edits, saved together. */
export interface SettingsForm {
  allowedCallers: string[]
  /** Devices whose worklist queries are answered; empty: none. */
  worklistCallers: string[]
  queryCallers: string[]
  quietPeriodSecs: number
  holdUnmatched: boolean
  holdOnMismatch: boolean
  sendWhileReceiving: boolean
  destinations: Destination[]
  watch: WatchFolder[]
  targets: Target[]
  /** The Register page's exam items per modality, one per line. */
  procedures: Record<string, string>
}

/** The modalities whose exam items the Settings page always offers to edit. */
export const PROCEDURE_MODALITIES = ['DX', 'CR', 'US', 'ECG']

/** A deep copy of plain JSON (works on Vue's reactive proxies, which structuredClone refuses). */
function copy<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T
}

/** What the forms start from: the edited sections of the shown configuration. */
export type EditedConfig = Pick<Config, 'destinations' | 'watch'> & {
  dicom?: Partial<Config['dicom']>
  studies?: Partial<Config['studies']>
  reports?: Partial<Config['reports']>
  registration?: Partial<Config['registration']>
}

export function toForm(c: EditedConfig): SettingsForm {
  return {
    allowedCallers: [...(c.dicom?.allowed_callers ?? [])],
    worklistCallers: [...(c.dicom?.worklist_callers ?? [])],
    queryCallers: [...(c.dicom?.query_callers ?? [])],
    quietPeriodSecs: c.studies?.quiet_period_secs ?? 120,
    holdUnmatched: c.studies?.hold_unmatched ?? false,
    holdOnMismatch: c.studies?.hold_on_mismatch ?? true,
    sendWhileReceiving: c.studies?.send_while_receiving ?? true,
    destinations: copy(c.destinations ?? []),
    watch: copy(c.watch ?? []),
    targets: copy(c.reports?.targets ?? []),
    procedures: Object.fromEntries(
      [...new Set([...PROCEDURE_MODALITIES, ...Object.keys(c.registration?.procedures ?? {})])].map((m) => [
        m,
        (c.registration?.procedures?.[m] ?? []).join('\n'),
      ]),
    ),
  }
}

export function toUpdate(f: SettingsForm): SettingsUpdate {
  return {
    allowed_callers: f.allowedCallers,
    worklist_callers: f.worklistCallers,
    query_callers: f.queryCallers,
    quiet_period_secs: f.quietPeriodSecs,
    hold_unmatched: f.holdUnmatched,
    hold_on_mismatch: f.holdOnMismatch,
    send_while_receiving: f.sendWhileReceiving,
    destinations: f.destinations,
    watch: f.watch,
    targets: f.targets,
    // The engine trims, drops empty lines and repeats, and forgets a modality left empty.
    procedures: Object.fromEntries(Object.entries(f.procedures).map(([m, text]) => [m, text.split('\n')])),
  }
}

/** One destination as its dialog edits it. Secrets start empty: empty = keep the one set. */
export interface DestinationDraft {
  name: string
  /** What the clinic calls it, shown in place of the name; '' for none. */
  displayName: string
  url: string
  auth: AuthKind
  username: string
  password: string
  bearerToken: string
  tokenUrl: string
  clientId: string
  clientSecret: string
  scope: string
  /** Which secrets are set now (shown as "unchanged" placeholders). */
  hasSecret: { password: boolean; bearerToken: boolean; clientSecret: boolean }
  modalities: string[]
  parallelRequests: number
  /** Upload limit in kbit/s; null = unlimited. */
  rateLimitKbit: number | null
  pollReports: boolean
  transferSyntax: WireSyntax
  /** Credentials to a plain http:// hub anyway (the engine refuses them otherwise). */
  allowInsecure: boolean
  /** The settings the dialog does not show, carried through. */
  rest: Destination
}

export function authKind(d: Destination): AuthKind {
  if (d.oauth2) return 'oauth2'
  if (d.bearer_token) return 'bearer'
  if (d.username || d.password) return 'basic'
  return 'none'
}

export function toDraft(d?: Destination): DestinationDraft {
  const base: Destination = d ?? { name: '', url: '' }
  return {
    name: base.name,
    displayName: base.display_name ?? '',
    url: base.url,
    auth: authKind(base),
    username: base.username ?? '',
    password: '',
    bearerToken: '',
    tokenUrl: base.oauth2?.token_url ?? '',
    clientId: base.oauth2?.client_id ?? '',
    clientSecret: '',
    scope: base.oauth2?.scope ?? '',
    hasSecret: {
      password: !!base.password,
      bearerToken: !!base.bearer_token,
      clientSecret: !!base.oauth2?.client_secret,
    },
    modalities: [...(base.modalities ?? [])],
    parallelRequests: base.parallel_requests ?? 2,
    rateLimitKbit: base.rate_limit_kbit ?? null,
    pollReports: base.poll_reports ?? true,
    transferSyntax: base.transfer_syntax ?? 'jpeg-ls-lossless',
    allowInsecure: base.allow_insecure ?? false,
    rest: base,
  }
}

/** The destination a draft describes; an untyped secret that is set goes back as `***`. */
export function fromDraft(d: DestinationDraft): Destination {
  const secret = (typed: string, isSet: boolean) => (typed !== '' ? typed : isSet ? HIDDEN : '')
  const out: Destination = {
    ...d.rest,
    name: d.name.trim(),
    display_name: d.displayName.trim() || null,
    url: d.url.trim(),
    modalities: d.modalities.map((m) => m.trim().toUpperCase()).filter((m) => m !== ''),
    parallel_requests: d.parallelRequests,
    rate_limit_kbit: d.rateLimitKbit,
    poll_reports: d.pollReports,
    transfer_syntax: d.transferSyntax,
    allow_insecure: d.allowInsecure,
    username: null,
    password: null,
    bearer_token: null,
    oauth2: null,
  }
  if (d.auth === 'basic') {
    out.username = d.username.trim()
    out.password = secret(d.password, d.hasSecret.password)
  } else if (d.auth === 'bearer') {
    out.bearer_token = secret(d.bearerToken, d.hasSecret.bearerToken)
  } else if (d.auth === 'oauth2') {
    out.oauth2 = {
      token_url: d.tokenUrl.trim(),
      client_id: d.clientId.trim(),
      client_secret: secret(d.clientSecret, d.hasSecret.clientSecret),
      scope: d.scope.trim() || null,
    }
  }
  return out
}

/**
 * Whether the draft would send its credentials in clear: a plain `http://` hub (or token
 * server) on another computer, as the engine judges it (`config::destination`).
 */
export function credentialsInClear(d: DestinationDraft): boolean {
  const inClear = (url: string) => {
    const m = /^http:\/\/([^/?#]*)/i.exec(url.trim())
    if (!m) return false
    const authority = m[1].replace(/^.*@/, '').toLowerCase()
    const v6 = /^\[([^\]]*)\]/.exec(authority)
    const host = v6 ? v6[1] : authority.replace(/:\d*$/, '')
    return !(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))
  }
  if (d.auth === 'none') return false
  return inClear(d.url) || (d.auth === 'oauth2' && inClear(d.tokenUrl))
}

/**
 * Checks before sending; each problem as `[field, i18n key]`, fields named like the draft's.
 * `others` are the names of the other destinations (a name must be unique).
 */
export function checkDraft(d: DestinationDraft, others: string[]): Array<[string, string]> {
  const problems: Array<[string, string]> = []
  const name = d.name.trim()
  if (name === '') problems.push(['name', 'validation.required'])
  else if (others.includes(name)) problems.push(['name', 'settingsEdit.nameTaken'])
  if (!/^https?:\/\/\S+$/.test(d.url.trim())) problems.push(['url', 'settingsEdit.urlScheme'])
  if (d.auth === 'basic') {
    if (d.username.trim() === '') problems.push(['username', 'validation.required'])
    if (d.password === '' && !d.hasSecret.password) problems.push(['password', 'validation.required'])
  }
  if (d.auth === 'bearer' && d.bearerToken === '' && !d.hasSecret.bearerToken)
    problems.push(['bearerToken', 'validation.required'])
  if (d.auth === 'oauth2') {
    if (!/^https?:\/\/\S+$/.test(d.tokenUrl.trim())) problems.push(['tokenUrl', 'settingsEdit.urlScheme'])
    if (d.clientId.trim() === '') problems.push(['clientId', 'validation.required'])
    if (d.clientSecret === '' && !d.hasSecret.clientSecret) problems.push(['clientSecret', 'validation.required'])
  }
  if (!(d.parallelRequests >= 1 && d.parallelRequests <= 16)) problems.push(['parallelRequests', 'settingsEdit.parallelRange'])
  return problems
}

/** A calling AE title as the engine accepts it: 1 to 16 characters, printable ASCII, no `\`. */
export function checkAeTitle(ae: string, taken: string[] = []): string | null {
  const v = ae.trim()
  if (v === '') return 'validation.required'
  if (v.length > 16 || !/^[\x20-\x7e]+$/.test(v) || v.includes('\\')) return 'settingsEdit.aeTitle'
  if (taken.includes(v)) return 'settingsEdit.aeTaken'
  return null
}

export function checkTarget(t: Target): string | null {
  if (t.modality.trim() === '') return 'validation.required'
  if (!(PRIORITIES as readonly string[]).includes(t.priority)) return 'settingsEdit.priorityBad'
  if (!(Number.isInteger(t.minutes) && t.minutes >= 1)) return 'settingsEdit.minutesBad'
  return null
}

export function checkWatch(w: WatchFolder): string | null {
  if (w.path.trim() === '') return 'validation.required'
  if (w.device && w.device.writes.length === 0) return 'settingsEdit.writesNone'
  return null
}

/** Where the engine's `field` points: `destinations[0].url` → {section, index, key}. */
export function fieldPlace(field: string | undefined): { section: string; index: number | null; key: string } | null {
  if (!field) return null
  const m = /^([a-z_]+)(?:\[(\d+)\])?(?:\.(.+))?$/.exec(field)
  if (!m) return null
  return { section: m[1], index: m[2] === undefined ? null : Number(m[2]), key: m[3] ?? '' }
}

/** The draft field an engine field key names (`bearer_token` → `bearerToken`). */
export function draftKey(engineKey: string): string {
  const map: Record<string, string> = {
    bearer_token: 'bearerToken',
    'oauth2.client_secret': 'clientSecret',
    'oauth2.token_url': 'tokenUrl',
    'oauth2.client_id': 'clientId',
    parallel_requests: 'parallelRequests',
    rate_windows: 'rateLimitKbit',
    timeout_secs: 'url',
  }
  return map[engineKey] ?? engineKey
}
