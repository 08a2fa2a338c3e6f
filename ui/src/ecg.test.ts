import { describe, expect, it } from 'vitest'
import { caliper, ecgSheet, toPx, tracePath, withDerivedLeads } from './ecg'

const LABELS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6']

describe('ECG on the standard grid', () => {
  it('draws 1 s as 25 mm and 1 mV as 10 mm', () => {
    // 500 Hz, 4 px/mm: sample 500 is 1 s = 25 mm = 100 px; 1000 µV is 10 mm = 40 px up.
    expect(toPx(500, 500, 1000, 4)).toEqual([100, 40])
    expect(toPx(250, 500, -500, 2)).toEqual([25, -10])
  })
  it('puts positive voltage above the baseline (SVG y grows downwards)', () => {
    expect(tracePath([0, 1000], 500, 0, 2, 10, 50, 4)).toBe('M10.0 50.0L10.2 10.0')
  })
  it('lays twelve standard leads out 3 × 4 with a lead II rhythm strip, 250 mm wide', () => {
    const hz = 100
    const leads = LABELS.map((label) => ({ label, microvolts: new Array(10 * hz).fill(0) }))
    const sheet = ecgSheet(leads, hz, 4)
    expect(sheet.width).toBe(1000)
    expect(sheet.panels.map((p) => p.label)).toEqual(['I', 'aVR', 'V1', 'V4', 'II', 'aVL', 'V2', 'V5', 'III', 'aVF', 'V3', 'V6', 'II'])
    // V4 starts at 7.5 s = 187.5 mm.
    expect(sheet.panels[3].x).toBe(750)
    expect(sheet.panels[3].path.startsWith('M750.0 ')).toBe(true)
  })
  it('shows a short recording from its start in every column, still at 25 mm/s', () => {
    const hz = 500
    const leads = LABELS.map((label) => ({ label, microvolts: new Array(hz).fill(0) }))
    const sheet = ecgSheet(leads, hz, 4)
    // 1 s per column: 4 columns of 25 mm = 100 mm = 400 px.
    expect(sheet.width).toBe(400)
    expect(sheet.panels[1].x).toBe(100)
    expect(sheet.panels).toHaveLength(13)
  })
  it('falls back to one row per lead when the leads are not the standard twelve', () => {
    const sheet = ecgSheet([{ label: 'II', microvolts: [0, 0, 0, 0] }], 2, 4)
    expect(sheet.panels).toHaveLength(1)
    expect(sheet.width).toBe(200)
  })
})

describe('leads derived from I and II', () => {
  const I = [100, 300, -200]
  const II = [400, 500, 100]
  it('computes III, aVR, aVL and aVF by Einthoven and Goldberger, marked derived', () => {
    const all = withDerivedLeads([
      { label: 'I', microvolts: I },
      { label: 'II', microvolts: II },
    ])
    const by = Object.fromEntries(all.map((l) => [l.label, l]))
    expect(by.III.microvolts).toEqual([300, 200, 300])
    expect(by.aVR.microvolts).toEqual([-250, -400, 50])
    expect(by.aVL.microvolts).toEqual([-100, 50, -250])
    expect(by.aVF.microvolts).toEqual([350, 350, 200])
    expect(['III', 'aVR', 'aVL', 'aVF'].every((l) => by[l].derived)).toBe(true)
    expect(by.I.derived).toBeFalsy()
  })
  it('keeps recorded leads and derives only the missing ones', () => {
    const all = withDerivedLeads([
      { label: 'Lead I', microvolts: I },
      { label: 'II', microvolts: II },
      { label: 'III', microvolts: [1, 2, 3] },
    ])
    expect(all.find((l) => l.label === 'III')).toEqual({ label: 'III', microvolts: [1, 2, 3] })
    expect(all.filter((l) => l.derived).map((l) => l.label)).toEqual(['aVR', 'aVL', 'aVF'])
  })
  it('derives nothing without both I and II', () => {
    const leads = [{ label: 'II', microvolts: II }]
    expect(withDerivedLeads(leads)).toBe(leads)
  })
  it('lays an eight-lead recording out as twelve, the derived ones marked', () => {
    const eight = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'].map((label) => ({ label, microvolts: new Array(1000).fill(0) }))
    const sheet = ecgSheet(eight, 100, 4)
    expect(sheet.panels).toHaveLength(13)
    expect(sheet.panels.filter((p) => p.derived).map((p) => p.label)).toEqual(['aVR', 'aVL', 'III', 'aVF'])
  })
})

describe('calipers', () => {
  it('reads 25 mm (one second) as 1000 ms and 60 bpm', () => {
    expect(caliper(100, 4)).toEqual({ ms: 1000, bpm: 60 })
    expect(caliper(-20, 4).ms).toBe(200)
    expect(caliper(0, 4).bpm).toBeNull()
  })
})
