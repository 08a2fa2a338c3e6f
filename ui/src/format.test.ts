import { describe, expect, it } from 'vitest'
import { dicomDate, dicomDateTime, personName } from './format'

describe('display formats', () => {
  it('shows DICOM person names as people write them', () => {
    expect(personName('王^小明')).toBe('王小明')
    expect(personName('Wang^Xiaoming=王^小明=おう^しょうめい')).toBe('王小明')
    expect(personName('Zhang^San')).toBe('Zhang San')
    expect(personName('欧阳^娜娜^^')).toBe('欧阳娜娜')
    expect(personName('')).toBe('')
  })
  it('shows DICOM date-times as local minutes, never raw', () => {
    expect(dicomDateTime('20261130090000')).toBe('2026-11-30 09:00')
    expect(dicomDateTime('20261130090000.123456')).toBe('2026-11-30 09:00')
    expect(dicomDateTime('202611300905')).toBe('2026-11-30 09:05')
    expect(dicomDateTime('20261130')).toBe('2026-11-30')
    // With an offset: the same instant in the clinic's zone (the tests run in Asia/Shanghai).
    expect(dicomDateTime('20261130010000+0000')).toBe('2026-11-30 09:00')
    expect(dicomDateTime('20261130090000+0800')).toBe('2026-11-30 09:00')
    expect(dicomDateTime('not a date')).toBe('not a date')
    expect(dicomDateTime('')).toBe('')
  })
  it('shows DICOM dates with dashes', () => {
    expect(dicomDate('20261130')).toBe('2026-11-30')
    expect(dicomDate('')).toBe('')
  })
})
