// How engine values read on screen: DICOM dates and person names as people write them, times in
// the clinic's local time, sizes in MB or GB.
//
// Must never: show UTC, or a DICOM person name with its `^` and `=` delimiters.

/** "20261130" → "2026-11-30"; anything else as it is. */
export function dicomDate(d: string | null | undefined): string {
  return d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : (d ?? '')
}

/** Unix milliseconds → local "YYYY-MM-DD HH:mm:ss". */
export function timeText(ms: number | null | undefined): string {
  if (!ms) return ''
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

export function bytesText(n: number | null | undefined): string {
  if (n === undefined || n === null) return ''
  const gb = n / 1024 ** 3
  return gb >= 1 ? `${gb.toFixed(1)} GB` : `${(n / 1024 ** 2).toFixed(0)} MB`
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
