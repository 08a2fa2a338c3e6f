import { describe, expect, it } from 'vitest'
import { percentileRange, presetVoi, rangeToVoi, voiToRange, type ImageFacts } from './presets'

const dx: ImageFacts = { modality: 'DX', rescaleType: '', monochrome1: false, range: [1000, 3000] }

describe('window/level presets', () => {
  it('gives lung the low (least dense) part of a MONOCHROME2 radiograph and bone the high', () => {
    const lung = voiToRange(presetVoi('lung', dx))
    const bone = voiToRange(presetVoi('bone', dx))
    const soft = voiToRange(presetVoi('softTissue', dx))
    expect(lung).toEqual({ lower: 1000, upper: 2100 })
    expect(bone).toEqual({ lower: 2100, upper: 3000 })
    expect(soft.lower).toBeCloseTo(1600, 9)
    expect(soft.upper).toBeCloseTo(2600, 9)
  })
  it('turns them round for MONOCHROME1, where dense structures are stored as low values', () => {
    const m1 = { ...dx, monochrome1: true }
    expect(voiToRange(presetVoi('lung', m1))).toEqual({ lower: 1900, upper: 3000 })
    expect(voiToRange(presetVoi('bone', m1))).toEqual({ lower: 1000, upper: 1900 })
  })
  it('uses Hounsfield windows for CT', () => {
    expect(presetVoi('lung', { ...dx, modality: 'CT' })).toEqual({ width: 1500, center: -600 })
    expect(presetVoi('softTissue', { ...dx, rescaleType: 'HU' })).toEqual({ width: 400, center: 40 })
  })
  it('defaults to the image own window, else its range', () => {
    expect(presetVoi('default', { ...dx, fileVoi: { center: 2048, width: 4096 } })).toEqual({ center: 2048, width: 4096 })
    expect(voiToRange(presetVoi('default', dx))).toEqual({ lower: 1000, upper: 3000 })
  })
  it('converts between window and VOI range by the linear function of PS3.3 C.11.2.1.2.1', () => {
    // Window 4096 / level 2048 over 12 bits: 0 is black, 4095 white.
    expect(voiToRange({ center: 2048, width: 4096 })).toEqual({ lower: 0, upper: 4095 })
    expect(rangeToVoi({ lower: 0, upper: 4095 })).toEqual({ center: 2048, width: 4096 })
    expect(rangeToVoi(voiToRange({ center: 40, width: 400 }))).toEqual({ center: 40, width: 400 })
  })
})

describe('robust value range', () => {
  it('ignores the few extreme pixels (marks, collimator edges)', () => {
    const px = new Uint16Array(10_000)
    for (let i = 0; i < px.length; i++) px[i] = 1000 + (i % 1000)
    px[0] = 0
    px[1] = 4095
    const [lo, hi] = percentileRange(px, 0.005, 0.995)
    expect(lo).toBeGreaterThan(990)
    expect(lo).toBeLessThan(1020)
    expect(hi).toBeGreaterThan(1980)
    expect(hi).toBeLessThan(2010)
  })
  it('applies the modality LUT (slope, intercept), keeping low ≤ high', () => {
    const px = Int16Array.from({ length: 1000 }, (_, i) => i)
    const [lo, hi] = percentileRange(px, 0, 1, -1, 0)
    expect(lo).toBeCloseTo(-999, 0)
    expect(hi).toBeCloseTo(0, 0)
  })
  it('copes with a flat image', () => {
    expect(percentileRange(new Uint8Array(10).fill(7))).toEqual([7, 8])
  })
})
