import { describe, expect, it } from 'vitest'
import { angle, length, oneToOneParallelScale, spacingOf } from './measure'

const ds = (attrs: Record<string, unknown[]>) => Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { vr: 'DS', Value: v }]))

describe('measurements in mm', () => {
  it('uses Pixel Spacing (row\\column) when present, over Imager Pixel Spacing', () => {
    expect(spacingOf(ds({ '00280030': [0.2, 0.1], '00181164': [0.15, 0.15] }))).toEqual({ row: 0.2, col: 0.1, source: 'pixel' })
  })
  it('falls back to Imager Pixel Spacing and says so', () => {
    expect(spacingOf(ds({ '00181164': ['0.139', '0.139'] }))).toEqual({ row: 0.139, col: 0.139, source: 'imager' })
  })
  it('has no mm without either (or with a zero spacing)', () => {
    expect(spacingOf(ds({})).source).toBe('none')
    expect(spacingOf(ds({ '00280030': [0, 0] })).source).toBe('none')
  })
  it('measures 800 pixels at 0.125 mm as 100 mm, and scales rows and columns apart', () => {
    const s = { row: 0.125, col: 0.125, source: 'pixel' as const }
    expect(length([200, 500], [1000, 500], s)).toBeCloseTo(100, 9)
    // 3-4-5 triangle in mm with anisotropic pixels: 30 columns × 0.1 = 3 mm, 20 rows × 0.2 = 4 mm.
    expect(length([0, 0], [30, 20], { row: 0.2, col: 0.1, source: 'pixel' })).toBeCloseTo(5, 9)
  })
  it('measures angles in physical space, not in pixels', () => {
    const square = { row: 1, col: 1, source: 'none' as const }
    expect(angle([10, 0], [0, 0], [0, 10], square)).toBeCloseTo(90, 9)
    expect(angle([10, 0], [0, 0], [10, 10], square)).toBeCloseTo(45, 9)
    // Columns twice as wide as rows are tall: the pixel diagonal (10,10) is 20 mm across, 10 down.
    expect(angle([10, 0], [0, 0], [10, 10], { row: 1, col: 2, source: 'pixel' })).toBeCloseTo((Math.atan(0.5) * 180) / Math.PI, 9)
    expect(angle([1, 1], [1, 1], [2, 2], square)).toBe(0)
  })
  it('shows one image pixel per device pixel at 1:1', () => {
    // 800 device pixels high, 0.125 mm rows: 100 mm shown, parallel scale is half of it.
    expect(oneToOneParallelScale(800, 0.125)).toBe(50)
  })
})
