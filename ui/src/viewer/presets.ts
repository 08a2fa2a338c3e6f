// Window/level (PS3.3 C.11.2 VOI LUT) presets. CT values are Hounsfield units, so its presets are
// the usual fixed windows. DX/CR pixel values are not calibrated (every detector and exposure
// differs), so their presets are parts of the image's own value range: lung shows the
// low-attenuation part, bone the high, soft tissue the middle. Which end is "low attenuation"
// depends on the photometric interpretation: MONOCHROME1 stores dense structures as low values.
//
// Must never: depend on the viewer library (pure maths, unit-tested).

export interface Voi {
  center: number
  width: number
}

export type PresetName = 'default' | 'lung' | 'softTissue' | 'bone'
export const PRESETS: PresetName[] = ['default', 'lung', 'softTissue', 'bone']

/** Parts of the robust value range, in attenuation order (0 = least dense, 1 = densest). */
const PROJECTION: Record<Exclude<PresetName, 'default'>, [number, number]> = {
  lung: [0, 0.55],
  softTissue: [0.3, 0.8],
  bone: [0.55, 1],
}

/** Hounsfield-unit windows (width, centre). */
const HOUNSFIELD: Record<Exclude<PresetName, 'default'>, Voi> = {
  lung: { width: 1500, center: -600 },
  softTissue: { width: 400, center: 40 },
  bone: { width: 1800, center: 400 },
}

export interface ImageFacts {
  modality: string
  /** Rescale Type (0028,1054), e.g. "HU". */
  rescaleType: string
  monochrome1: boolean
  /** Robust [low, high] of the modality-LUT values (e.g. 0.5th and 99.5th percentiles). */
  range: [number, number]
  /** The image's own first window, when it has one. */
  fileVoi?: Voi
}

export function isHounsfield(f: Pick<ImageFacts, 'modality' | 'rescaleType'>): boolean {
  return f.rescaleType.toUpperCase() === 'HU' || f.modality === 'CT'
}

export function presetVoi(name: PresetName, f: ImageFacts): Voi {
  const [lo, hi] = f.range
  if (name === 'default') return f.fileVoi && f.fileVoi.width > 0 ? f.fileVoi : fromRange(lo, hi)
  if (isHounsfield(f)) return HOUNSFIELD[name]
  let [a, b] = PROJECTION[name]
  if (f.monochrome1) [a, b] = [1 - b, 1 - a]
  const span = hi - lo
  return fromRange(lo + a * span, lo + b * span)
}

/** The window whose linear VOI function maps `lo` to black and `hi` to white. */
function fromRange(lo: number, hi: number): Voi {
  return rangeToVoi({ lower: lo, upper: Math.max(lo, hi) })
}

/**
 * The window as Cornerstone's VOI range [lower, upper]: the values the linear VOI LUT function
 * (PS3.3 C.11.2.1.2.1) takes to the lowest and highest output.
 */
export function voiToRange(v: Voi): { lower: number; upper: number } {
  return { lower: v.center - 0.5 - (v.width - 1) / 2, upper: v.center - 0.5 + (v.width - 1) / 2 }
}

export function rangeToVoi(r: { lower: number; upper: number }): Voi {
  return { center: (r.lower + r.upper + 1) / 2, width: r.upper - r.lower + 1 }
}

/**
 * Percentiles `lowP` and `highP` (0–1) of `pixels` after `slope`/`intercept`, from a histogram
 * of at most ~1 M sampled pixels (a 10 MB radiograph takes milliseconds, not a sort).
 */
export function percentileRange(pixels: ArrayLike<number>, lowP = 0.005, highP = 0.995, slope = 1, intercept = 0): [number, number] {
  const n = pixels.length
  if (n === 0) return [0, 1]
  const step = Math.max(1, Math.floor(n / 1_000_000))
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i += step) {
    const v = pixels[i]
    if (v < min) min = v
    if (v > max) max = v
  }
  if (min === max) return [min * slope + intercept, min * slope + intercept + 1]
  const bins = 4096
  const hist = new Uint32Array(bins)
  const scale = (bins - 1) / (max - min)
  let count = 0
  for (let i = 0; i < n; i += step) {
    hist[Math.round((pixels[i] - min) * scale)]++
    count++
  }
  const at = (p: number) => {
    const target = p * count
    let seen = 0
    for (let b = 0; b < bins; b++) {
      seen += hist[b]
      if (seen >= target) return min + b / scale
    }
    return max
  }
  let lo = at(lowP)
  let hi = at(highP)
  if (hi <= lo) [lo, hi] = [min, max]
  const a = lo * slope + intercept
  const b = hi * slope + intercept
  return a <= b ? [a, b] : [b, a]
}
