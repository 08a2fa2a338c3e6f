import { describe, expect, it } from 'vitest'
import { dicomDate, personName } from './format'

describe('display formats', () => {
  it('shows DICOM person names as people write them', () => {
    expect(personName('王^小明')).toBe('王小明')
    expect(personName('Wang^Xiaoming=王^小明=おう^しょうめい')).toBe('王小明')
    expect(personName('Zhang^San')).toBe('Zhang San')
    expect(personName('欧阳^娜娜^^')).toBe('欧阳娜娜')
    expect(personName('')).toBe('')
  })
  it('shows DICOM dates with dashes', () => {
    expect(dicomDate('20261130')).toBe('2026-11-30')
    expect(dicomDate('')).toBe('')
  })
})
