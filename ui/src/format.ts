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
