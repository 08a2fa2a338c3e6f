// A resting ECG drawn the way it is printed: paper speed 25 mm/s, gain 10 mm/mV, 1 mm minor and
// 5 mm major grid; the twelve leads in the usual 3 × 4 layout (2.5 s each, or what a shorter recording has) with lead II as a
// full-length rhythm strip below. Limb leads a cart did not record are derived from I and II
// (Einthoven's and Goldberger's relations) and marked as derived. A recording without the twelve
// standard leads gets one row per lead instead. Calipers turn a horizontal distance on the paper
// into an interval (ms) and a rate (bpm). Pure geometry, so the scaling is unit-tested.
//
// Must never: rescale a lead to fit its box (a doctor reads amplitude off the grid), or show a
// derived lead as if it had been recorded.

export const MM_PER_S = 25
export const MM_PER_MV = 10

export interface EcgLead {
  label: string
  microvolts: number[]
  /** Computed from other leads, not recorded. */
  derived?: boolean
}

export interface EcgPanel {
  label: string
  /** Top-left of the label, in px. */
  x: number
  y: number
  /** SVG path of the trace. */
  path: string
  derived: boolean
}

export interface EcgSheet {
  width: number
  height: number
  pxPerMm: number
  panels: EcgPanel[]
}

const LAYOUT = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
]
/** Height of one row: ±1.25 mV around its baseline. */
const ROW_MM = 25

/** Sample `i` at `hz` → px right of the trace start; µV → px above the baseline. */
export function toPx(i: number, hz: number, microvolts: number, pxPerMm: number): [number, number] {
  return [(i / hz) * MM_PER_S * pxPerMm, (microvolts / 1000) * MM_PER_MV * pxPerMm]
}

/** The path of samples [from, to) of one lead, starting at (x0, baseline). */
export function tracePath(uv: number[], hz: number, from: number, to: number, x0: number, baseline: number, pxPerMm: number): string {
  const parts: string[] = []
  for (let i = from; i < Math.min(to, uv.length); i++) {
    const [dx, dy] = toPx(i - from, hz, uv[i], pxPerMm)
    parts.push(`${parts.length ? 'L' : 'M'}${(x0 + dx).toFixed(1)} ${(baseline - dy).toFixed(1)}`)
  }
  return parts.join('')
}

function norm(label: string): string {
  return label.replace(/^lead\s*/i, '').trim().toUpperCase()
}

/** Limb leads from I and II: III = II − I, aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2. */
const DERIVED: Record<string, (i: number, ii: number) => number> = {
  III: (i, ii) => ii - i,
  AVR: (i, ii) => -(i + ii) / 2,
  AVL: (i, ii) => i - ii / 2,
  AVF: (i, ii) => ii - i / 2,
}
const DERIVED_LABEL: Record<string, string> = { III: 'III', AVR: 'aVR', AVL: 'aVL', AVF: 'aVF' }

/**
 * The recorded leads plus those of III, aVR, aVL and aVF that were not recorded, derived from
 * I and II and marked `derived`. Without both I and II nothing is derived.
 */
export function withDerivedLeads(leads: EcgLead[]): EcgLead[] {
  const byLabel = new Map(leads.map((l) => [norm(l.label), l]))
  const i = byLabel.get('I')
  const ii = byLabel.get('II')
  if (!i || !ii) return leads
  const n = Math.min(i.microvolts.length, ii.microvolts.length)
  const added = Object.entries(DERIVED)
    .filter(([label]) => !byLabel.has(label))
    .map(([label, f]) => ({
      label: DERIVED_LABEL[label],
      derived: true,
      microvolts: Array.from({ length: n }, (_, k) => f(i.microvolts[k], ii.microvolts[k])),
    }))
  return [...leads, ...added]
}

/** A caliper between two points `dxPx` apart on the paper: the interval and the rate it means. */
export function caliper(dxPx: number, pxPerMm: number): { ms: number; bpm: number | null } {
  const ms = (Math.abs(dxPx) / pxPerMm / MM_PER_S) * 1000
  return { ms, bpm: ms > 0 ? 60_000 / ms : null }
}

export function ecgSheet(recorded: EcgLead[], hz: number, pxPerMm = 4): EcgSheet {
  const leads = withDerivedLeads(recorded)
  const byLabel = new Map(leads.map((l) => [norm(l.label), l]))
  const standard = LAYOUT.flat().every((l) => byLabel.has(l.toUpperCase()))
  const samples = Math.max(0, ...leads.map((l) => l.microvolts.length))
  const seconds = hz > 0 ? samples / hz : 0
  const rowPx = ROW_MM * pxPerMm
  const panels: EcgPanel[] = []
  if (standard && seconds > 0) {
    // 3 × 4, 2.5 s per column: from a 10 s recording each column shows its own 2.5 s; a shorter
    // one is shown from its start in every column.
    const colSeconds = Math.min(2.5, seconds)
    const colSamples = Math.round(colSeconds * hz)
    const ownWindow = seconds >= 10
    LAYOUT.forEach((row, r) =>
      row.forEach((label, c) => {
        const lead = byLabel.get(label.toUpperCase())!
        const x = c * colSeconds * MM_PER_S * pxPerMm
        const base = r * rowPx + rowPx / 2
        const from = ownWindow ? c * colSamples : 0
        panels.push({ label, x, y: r * rowPx, path: tracePath(lead.microvolts, hz, from, from + colSamples, x, base, pxPerMm), derived: !!lead.derived })
      }),
    )
    const ii = byLabel.get('II')!
    const stripSeconds = Math.min(10, seconds)
    const base = 3 * rowPx + rowPx / 2
    panels.push({ label: 'II', x: 0, y: 3 * rowPx, path: tracePath(ii.microvolts, hz, 0, Math.round(stripSeconds * hz), 0, base, pxPerMm), derived: false })
    const width = Math.max(4 * colSeconds, stripSeconds) * MM_PER_S * pxPerMm
    return { width, height: 4 * rowPx, pxPerMm, panels }
  }
  leads.forEach((lead, r) => {
    const base = r * rowPx + rowPx / 2
    panels.push({ label: lead.label, x: 0, y: r * rowPx, path: tracePath(lead.microvolts, hz, 0, lead.microvolts.length, 0, base, pxPerMm), derived: !!lead.derived })
  })
  return { width: Math.max(seconds, 1) * MM_PER_S * pxPerMm, height: Math.max(leads.length, 1) * rowPx, pxPerMm, panels }
}
