// How engine values read on screen: DICOM dates and person names as people write them, times in
// the clinic's local time, sizes in MB or GB.
//
// Must never: show UTC, or a DICOM person name with its `^` and `=` delimiters.

/** "20261130" → "2026-11-30"; anything else as it is. */
export function dicomDate(d: string | null | undefined): string {
  return d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : (d ?? '')
}

/**
 * A DICOM date-time (DT, PS3.5 6.2: `YYYYMMDDHHMMSS.FFFFFF&ZZXX`, all but the year optional) as
 * "YYYY-MM-DD HH:mm" in the clinic's local time: with a UTC offset it names an instant, shown
 * in local time; without one it is already local. Anything else is shown as it is.
 */
export function dicomDateTime(dt: string | null | undefined): string {
  const m = dt?.trim().match(/^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,6})?([+-]\d{4})?$/)
  if (!m) return dt ?? ''
  const [, y, mo = '01', d = '01', h, mi = '00', s = '00', zone] = m
  const p = (n: number) => String(n).padStart(2, '0')
  if (zone) {
    const sign = zone[0] === '-' ? -1 : 1
    const offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3)))
    const at = new Date(Date.UTC(+y, +mo - 1, +d, +(h ?? 0), +mi, +s) - offsetMin * 60_000)
    return `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}`
  }
  return h === undefined ? `${y}-${mo}-${d}` : `${y}-${mo}-${d} ${h}:${mi}`
}

/** The clinic's date of a moment (now by default) as "YYYY-MM-DD": local, never UTC's, which
 * is yesterday between 00:00 and 08:00 in China. */
export function localDate(at: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())}`
}

/** An age as a number and the unit clinics write it in: years from one year up, months under
 * a year, days under a month (weeks only when a device sent them). */
export interface Age {
  n: number
  unit: 'y' | 'm' | 'w' | 'd'
}

/**
 * The age of a patient born on `birth` (DICOM DA "YYYYMMDD") on the local date of `on`, or a
 * DICOM Age String (AS, PS3.5 6.2: "045Y", "008M", "003W", "020D") as it is; null when neither.
 */
export function ageOf(birth: string | null | undefined, on: Date = new Date()): Age | null {
  const as = birth?.trim().match(/^(\d{3})([DWMY])$/)
  if (as) return { n: Number(as[1]), unit: as[2].toLowerCase() as Age['unit'] }
  const m = birth?.trim().match(/^(\d{4})(\d{2})(\d{2})$/)
  if (!m) return null
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  let months = (on.getFullYear() - y) * 12 + (on.getMonth() + 1 - mo)
  if (on.getDate() < d) months -= 1
  if (months < 0) return null
  if (months >= 12) return { n: Math.floor(months / 12), unit: 'y' }
  if (months >= 1) return { n: months, unit: 'm' }
  const born = new Date(y, mo - 1, d)
  const today = new Date(on.getFullYear(), on.getMonth(), on.getDate())
  return { n: Math.round((today.getTime() - born.getTime()) / 86_400_000), unit: 'd' }
}

/** vue-i18n's `t`, for the texts below that need words. */
type Translate = (key: string, values?: Record<string, unknown>) => string

/** An age as clinics write it: "76岁", "8月", "20天" ("76 y", "8 mo", "20 d"); '' if unknown. */
export function ageText(t: Translate, birth: string | null | undefined, on: Date = new Date()): string {
  const age = ageOf(birth, on)
  return age ? t(`age.${age.unit}`, { n: age.n }) : ''
}

/** Modality codes from a list or from the index's "DX\\CR" / "DX / CR" text. */
function codeList(codes: readonly string[] | string | null | undefined): string[] {
  return (typeof codes === 'string' ? codes.split(/[\\/,\s]+/) : [...(codes ?? [])]).filter(Boolean)
}

/** The words clinics use for a study's modalities: DR for both CR and DX, 超声, 心电 (once each,
 * in the order given); a code without a word of its own stays as it is. */
export function modalityText(t: Translate, codes: readonly string[] | string | null | undefined): string {
  const word = (code: string) => {
    const key = ({ CR: 'dr', DX: 'dr', DR: 'dr', US: 'us', ECG: 'ecg' } as Record<string, string>)[code.toUpperCase()]
    return key ? t(`modality.${key}`) : code
  }
  return [...new Set(codeList(codes).map(word))].join(' / ')
}

/**
 * Choices of modality for a form: each code with the clinic's word for it, the code added in
 * parentheses only where two codes of the list share a word ("DR (DX)", "DR (CR)", 超声, 心电).
 * The code is what is sent; the label is what a person picks.
 */
export function modalityChoices(t: Translate, codes: readonly string[]): Array<{ code: string; label: string }> {
  const words = codes.map((code) => modalityText(t, [code]))
  return codes.map((code, i) => ({
    code,
    label: words.filter((w) => w === words[i]).length > 1 && words[i] !== code ? `${words[i]} (${code})` : words[i],
  }))
}

/** The DICOM codes behind `modalityText`, for its tooltip ("DX / CR"). */
export function modalityCodes(codes: readonly string[] | string | null | undefined): string {
  return codeList(codes).join(' / ')
}

/** A DICOM sex code (M, F, O) in words; '' when not given. */
export function sexText(t: Translate, sex: string | null | undefined): string {
  const key = ({ M: 'register.male', F: 'register.female', O: 'register.other' } as Record<string, string>)[sex ?? '']
  return key ? t(key) : (sex ?? '')
}

/** Unix milliseconds → local "YYYY-MM-DD HH:mm:ss". */
export function timeText(ms: number | null | undefined): string {
  if (!ms) return ''
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** A size as people read it: "1.2 GB", "214 MB", "3.1 MB" (a tenth below 10 MB, where whole
 * megabytes say too little), "512 KB" below 1 MB. */
export function bytesText(n: number | null | undefined): string {
  if (n === undefined || n === null) return ''
  const [gb, mb] = [n / 1024 ** 3, n / 1024 ** 2]
  if (Math.abs(gb) >= 1) return `${gb.toFixed(1)} GB`
  if (Math.abs(mb) >= 10) return `${mb.toFixed(0)} MB`
  if (Math.abs(mb) >= 1) return `${mb.toFixed(1)} MB`
  return `${(n / 1024).toFixed(0)} KB`
}

/** Bytes on the wire (the engine's `WireBytes`): what was sent, and the originals'. */
export interface Wire {
  original_bytes: number
  sent_bytes: number
  saved_bytes: number
  ratio: number
}

/** "已发送 3.1 MB（原 9.4 MB，压缩比 0.33）" ("Sent 3.1 MB (originals 9.4 MB, ratio 0.33)"). */
export function wireText(t: Translate, w: Wire): string {
  return t('wire.sent', { sent: bytesText(w.sent_bytes), original: bytesText(w.original_bytes), ratio: w.ratio.toFixed(2) })
}

/**
 * A DICOM person name (PS3.5 6.2.1) as people write it: the ideographic group when there is
 * one ("Wang^Xiaoming=王^小明" → "王小明"), Chinese components joined without spaces, others
 * with spaces ("Zhang^San" → "Zhang San").
 */
export function personName(pn: string | null | undefined): string {
  if (!pn) return ''
  const groups = pn.split('=')
  const group = groups.find((g, i) => i > 0 && /[\u3400-\u9fff]/.test(g)) ?? groups[0]
  const parts = group.split('^').map((p) => p.trim()).filter(Boolean)
  return parts.join(/[\u3400-\u9fff]/.test(group) ? '' : ' ')
}
