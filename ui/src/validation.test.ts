import { describe, expect, it } from 'vitest'
import { parseIdCard, checkIdCard, checkPassword, checkPatientName, checkPhone, checkUsername, idCardFacts } from './validation'
import zh from './i18n/zh-CN'

describe('ID card number (GB 11643)', () => {
  it('accepts a valid number, X check digit included, and reads birth date and sex', () => {
    expect(checkIdCard('11010519491231002X')).toBeNull()
    expect(checkIdCard('11010519491231002x')).toBeNull()
    expect(idCardFacts('11010519491231002X')).toEqual({ birthDate: '19491231', sex: 'F' })
  })
  it('rejects a wrong check digit, a wrong length and an impossible birth date', () => {
    expect(checkIdCard('110105194912310021')).toBe('validation.idCardChecksum')
    expect(checkIdCard('1101051949123100')).toBe('validation.idCardFormat')
    // 1949-02-30 with its check digit recomputed: the format passes, the date does not.
    const body = '11010519490230002'
    const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    const sum = [...body].reduce((a, c, i) => a + Number(c) * w[i], 0)
    expect(checkIdCard(body + '10X98765432'[sum % 11])).toBe('validation.idCardBirth')
  })
  it('upgrades a legacy 15-digit card to 18 as the engine does (born 19xx)', () => {
    expect(parseIdCard('110105491231002')).toEqual({ number: '11010519491231002X', birthDate: '19491231', sex: 'F' })
    expect(checkIdCard('11010549123100A')).toBe('validation.idCardFormat')
  })
  it('is optional', () => {
    expect(checkIdCard('')).toBeNull()
  })
})

describe('other fields', () => {
  it('patient names: required, no DICOM PN delimiters, Chinese fine', () => {
    expect(checkPatientName('张三')).toBeNull()
    expect(checkPatientName('  ')).toBe('validation.required')
    expect(checkPatientName('Zhang^San')).toBe('validation.nameChars')
  })
  it('phone numbers: mobile or landline with area code', () => {
    expect(checkPhone('138 0013 8000')).toBeNull()
    expect(checkPhone('010-12345678')).toBeNull()
    expect(checkPhone('12345')).toBe('validation.phone')
    expect(checkPhone('')).toBeNull()
  })
  it('user names and passwords', () => {
    expect(checkUsername('tech1')).toBeNull()
    expect(checkUsername('张')).toBe('validation.username')
    expect(checkPassword('short')).toBe('validation.passwordShort')
    expect(checkPassword('long enough')).toBeNull()
  })
  it('every message key exists in the translations', () => {
    const v = zh.validation as Record<string, string>
    for (const k of ['idCardFormat', 'idCardChecksum', 'idCardBirth', 'required', 'nameChars', 'phone', 'username', 'passwordShort'])
      expect(v[k], k).toBeTruthy()
  })
})
