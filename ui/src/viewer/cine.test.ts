import { describe, expect, it } from 'vitest'
import { FALLBACK_FPS, frameAt, frameRateOf } from './cine'

const attrs = (a: Record<string, unknown[]>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, { vr: 'DS', Value: v }]))

describe('cine frame rate', () => {
  it('plays at the recorded Frame Time: 40 ms is 25 frames a second', () => {
    expect(frameRateOf(attrs({ '00181063': [40], '00180040': [30] }))).toEqual({ fps: 25, source: 'frameTime' })
  })
  it('averages a Frame Time Vector, skipping its leading zero', () => {
    const r = frameRateOf(attrs({ '00181065': [0, 33, 34, 33] }))
    expect(r.source).toBe('frameTimeVector')
    expect(r.fps).toBeCloseTo(1000 / (100 / 3), 9)
  })
  it('falls back to Cine Rate, then Recommended Display Frame Rate, then says none was recorded', () => {
    expect(frameRateOf(attrs({ '00180040': ['30'] }))).toEqual({ fps: 30, source: 'cineRate' })
    expect(frameRateOf(attrs({ '00082144': [15] }))).toEqual({ fps: 15, source: 'recommended' })
    expect(frameRateOf(attrs({}))).toEqual({ fps: FALLBACK_FPS, source: 'none' })
  })
})

describe('cine timing', () => {
  it('keeps to the clock and loops', () => {
    expect(frameAt(0, 25, 30)).toBe(0)
    expect(frameAt(39, 25, 30)).toBe(0)
    expect(frameAt(40, 25, 30)).toBe(1)
    expect(frameAt(1200, 25, 30)).toBe(0)
    expect(frameAt(1240, 25, 30)).toBe(1)
  })
  it('continues from where playback started', () => {
    expect(frameAt(80, 25, 30, 28)).toBe(0)
    expect(frameAt(100, 25, 0)).toBe(0)
  })
})
