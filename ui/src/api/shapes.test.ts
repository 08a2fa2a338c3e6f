import { describe, expect, it } from 'vitest'
import { dicomDate, orderRow, personName, rowsOf } from './shapes'

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

describe('list answers', () => {
  it('reads rows under the name the operation gives them', () => {
    expect(rowsOf<number>({ reports: [1, 2] }, 'reports')).toEqual([1, 2])
    expect(rowsOf<number>({ items: [3] }, 'reports')).toEqual([3])
    expect(rowsOf<number>([4])).toEqual([4])
    expect(rowsOf<number>(null, 'orders')).toEqual([])
  })
  it('reads an order flat or with its patient', () => {
    const nested = orderRow({ order: { accession: 'A1', modality: 'DX', procedure: '胸片', state: 'scheduled' }, patient: { name: '王^小明' } })
    expect(nested).toEqual({ accession: 'A1', patient_name: '王小明', modality: 'DX', procedure: '胸片', state: 'scheduled' })
    expect(orderRow({ accession: 'A2', patient_name: '李^娜', modality: 'US' }).patient_name).toBe('李娜')
  })
})
