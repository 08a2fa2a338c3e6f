// Cine playback timing: the rate the device recorded (PS3.3 C.7.6.5 Cine module) and which frame
// is due at a moment of playback. Playback keeps to the clock (a slow renderer skips frames
// rather than slowing the heart down).
//
// Must never: invent a rate without saying so (`source: 'none'`).
import { nums, num, TAG, type DicomJson } from './dicomweb'

export type RateSource = 'frameTime' | 'frameTimeVector' | 'cineRate' | 'recommended' | 'none'

export interface FrameRate {
  fps: number
  source: RateSource
}

/** Used when the object records no rate at all (and shown as such). */
export const FALLBACK_FPS = 25

/**
 * Frame Time (ms between frames, how the device recorded it) first, then the mean of the Frame
 * Time Vector, then Cine Rate, then Recommended Display Frame Rate.
 */
export function frameRateOf(ds: DicomJson): FrameRate {
  const ft = num(ds, TAG.FrameTime)
  if (ft && ft > 0) return { fps: 1000 / ft, source: 'frameTime' }
  // The vector's first value is the first frame's offset (0); the rest are increments.
  const vector = nums(ds, TAG.FrameTimeVector).slice(1).filter((v) => v > 0)
  if (vector.length) return { fps: 1000 / (vector.reduce((a, b) => a + b, 0) / vector.length), source: 'frameTimeVector' }
  const cine = num(ds, TAG.CineRate)
  if (cine && cine > 0) return { fps: cine, source: 'cineRate' }
  const rec = num(ds, TAG.RecommendedDisplayFrameRate)
  if (rec && rec > 0) return { fps: rec, source: 'recommended' }
  return { fps: FALLBACK_FPS, source: 'none' }
}

/** The frame (0-based) due `elapsedMs` after playback started at `startFrame`, looping. */
export function frameAt(elapsedMs: number, fps: number, frames: number, startFrame = 0): number {
  if (frames <= 0) return 0
  const advanced = Math.floor((Math.max(0, elapsedMs) * fps) / 1000)
  return (startFrame + advanced) % frames
}
