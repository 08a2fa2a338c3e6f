import { describe, expect, it } from 'vitest'
import { ageOf, bytesText, dicomDate, dicomDateTime, localDate, modalityChoices, modalityCodes, modalityText, personName, wireText } from './format'
import { makeI18n } from './i18n'

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

describe('the clinic\'s date and ages', () => {
  it('gives the local date between midnight and 08:00, when UTC is still on yesterday', () => {
    // 01:30 in Asia/Shanghai (the tests run there) is 17:30 UTC the day before.
    const early = new Date('2026-12-04T01:30:00+08:00')
    expect(early.toISOString().slice(0, 10)).toBe('2026-12-03')
    expect(localDate(early)).toBe('2026-12-04')
    expect(localDate(new Date('2026-12-04T23:59:00+08:00'))).toBe('2026-12-04')
  })
  it('says ages in years, months under a year and days under a month', () => {
    const on = new Date('2026-12-04T10:00:00+08:00')
    expect(ageOf('19491231', on)).toEqual({ n: 76, unit: 'y' })
    expect(ageOf('19491204', on)).toEqual({ n: 77, unit: 'y' })
    expect(ageOf('20251205', on)).toEqual({ n: 11, unit: 'm' })
    expect(ageOf('20260404', on)).toEqual({ n: 8, unit: 'm' })
    expect(ageOf('20261114', on)).toEqual({ n: 20, unit: 'd' })
    expect(ageOf('20261204', on)).toEqual({ n: 0, unit: 'd' })
    // As a device sends it (Patient's Age, AS).
    expect(ageOf('045Y', on)).toEqual({ n: 45, unit: 'y' })
    expect(ageOf('003W', on)).toEqual({ n: 3, unit: 'w' })
    expect(ageOf('', on)).toBeNull()
    expect(ageOf('20270101', on)).toBeNull()
  })
})

describe('modalities in the words clinics use', () => {
  const t = (key: string) => ({ 'modality.dr': 'DR', 'modality.us': '超声', 'modality.ecg': '心电' })[key] ?? key
  it('says DR for CR and DX alike, once, and keeps codes without a word', () => {
    expect(modalityText(t, ['DX'])).toBe('DR')
    expect(modalityText(t, ['CR', 'DX', 'US'])).toBe('DR / 超声')
    expect(modalityText(t, 'ECG')).toBe('心电')
    expect(modalityText(t, 'DX\\US')).toBe('DR / 超声')
    expect(modalityText(t, ['SR', 'OT'])).toBe('SR / OT')
    expect(modalityText(t, [])).toBe('')
    expect(modalityCodes('DX\\CR')).toBe('DX / CR')
  })

  it('offers modalities to pick in words, with the code only where two share a word', () => {
    expect(modalityChoices(t, ['DX', 'CR', 'US', 'ECG'])).toEqual([
      { code: 'DX', label: 'DR (DX)' },
      { code: 'CR', label: 'DR (CR)' },
      { code: 'US', label: '超声' },
      { code: 'ECG', label: '心电' },
    ])
    expect(modalityChoices(t, ['DX', 'US'])).toEqual([
      { code: 'DX', label: 'DR' },
      { code: 'US', label: '超声' },
    ])
    expect(modalityChoices(t, ['CT'])).toEqual([{ code: 'CT', label: 'CT' }])
  })
})

describe('sizes and bytes on the wire', () => {
  const MB = 1024 ** 2
  it('shows sizes with the precision they need', () => {
    expect(bytesText(1.2 * 1024 ** 3)).toBe('1.2 GB')
    expect(bytesText(214 * MB)).toBe('214 MB')
    expect(bytesText(3.1 * MB)).toBe('3.1 MB')
    expect(bytesText(512 * 1024)).toBe('512 KB')
    expect(bytesText(null)).toBe('')
  })
  it('says what was sent beside the originals, in Chinese by default', () => {
    const w = { original_bytes: 9.4 * MB, sent_bytes: 3.1 * MB, saved_bytes: 6.3 * MB, ratio: 3.1 / 9.4 }
    const zh = makeI18n('zh-CN').global.t
    const en = makeI18n('en').global.t
    expect(wireText(zh, w)).toBe('已发送 3.1 MB（原 9.4 MB，压缩比 0.33）')
    expect(wireText(en, w)).toBe('Sent 3.1 MB (originals 9.4 MB, ratio 0.33)')
  })
})
