// Distances and angles on a projection image in millimetres (PS3.3 10.7.1.3): from Pixel
// Spacing when the image has it, else from Imager Pixel Spacing (a size at the detector, which a
// doctor must know is magnified), and in pixels when it has neither. Points are image
// coordinates: [column, row], fractional.
//
// Must never: show millimetres the image does not support, or hide which spacing they came from.
import { nums, TAG, type DicomJson } from './dicomweb'

export type SpacingSource = 'pixel' | 'imager' | 'none'

export interface Spacing {
  /** Distance between adjacent rows (vertical), mm. */
  row: number
  /** Distance between adjacent columns (horizontal), mm. */
  col: number
  source: SpacingSource
}

export type Point = [number, number]

function pair(ds: DicomJson, tag: string): [number, number] | null {
  const v = nums(ds, tag)
  // One value is tolerated as square pixels; zero or negative spacing is no spacing.
  const row = v[0]
  const col = v[1] ?? v[0]
  return row > 0 && col > 0 ? [row, col] : null
}

/** The spacing measurements on this image use, and where it comes from. */
export function spacingOf(ds: DicomJson): Spacing {
  const pixel = pair(ds, TAG.PixelSpacing)
  if (pixel) return { row: pixel[0], col: pixel[1], source: 'pixel' }
  const imager = pair(ds, TAG.ImagerPixelSpacing)
  if (imager) return { row: imager[0], col: imager[1], source: 'imager' }
  return { row: 1, col: 1, source: 'none' }
}

/** Length between two points: mm, or pixels when the source is `none`. */
export function length(a: Point, b: Point, s: Spacing): number {
  return Math.hypot((b[0] - a[0]) * s.col, (b[1] - a[1]) * s.row)
}

/** Angle at `vertex` between the rays to `a` and `b`, degrees (0–180), in physical space. */
export function angle(a: Point, vertex: Point, b: Point, s: Spacing): number {
  const u = [(a[0] - vertex[0]) * s.col, (a[1] - vertex[1]) * s.row]
  const v = [(b[0] - vertex[0]) * s.col, (b[1] - vertex[1]) * s.row]
  const nu = Math.hypot(u[0], u[1])
  const nv = Math.hypot(v[0], v[1])
  if (nu === 0 || nv === 0) return 0
  const cos = Math.min(1, Math.max(-1, (u[0] * v[0] + u[1] * v[1]) / (nu * nv)))
  return (Math.acos(cos) * 180) / Math.PI
}

/**
 * The camera's parallel scale (half the world height shown, in mm of Cornerstone's world) for
 * one image pixel per device pixel: `canvasPx` is the canvas height in device pixels.
 */
export function oneToOneParallelScale(canvasPx: number, rowSpacing: number): number {
  return (canvasPx * rowSpacing) / 2
}
