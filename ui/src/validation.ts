// Form checks done before a request is sent, so a technician sees what to fix next to the field.
// The engine validates again; these return i18n keys (null = fine), never translated text.
//
// Must never: refuse what the engine would accept for a reason the user cannot see.

/**
 * GB 11643 resident ID, as the engine reads it (registry/idcard.rs): 17 digits + check
 * character (0-9 or X, ISO 7064 MOD 11-2), or a legacy 15-digit card (born 19xx) upgraded to 18.
 */
export function parseIdCard(id: string): { number: string; birthDate: string; sex: 'M' | 'F' } | string {
  const v = id.trim().toUpperCase()
  let number: string
  if (v.length === 18) {
    if (!/^\d{17}[\dX]$/.test(v)) return 'validation.idCardFormat'
    if (checkChar(v.slice(0, 17)) !== v[17]) return 'validation.idCardChecksum'
    number = v
  } else if (v.length === 15) {
    if (!/^\d{15}$/.test(v)) return 'validation.idCardFormat'
    const body = `${v.slice(0, 6)}19${v.slice(6)}`
    number = body + checkChar(body)
  } else return 'validation.idCardFormat'
  const birthDate = number.slice(6, 14)
  if (!isDate(birthDate)) return 'validation.idCardBirth'
  return { number, birthDate, sex: Number(number[16]) % 2 === 1 ? 'M' : 'F' }
}

function checkChar(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i]
  return '10X98765432'[sum % 11]
}

export function checkIdCard(id: string): string | null {
  if (id.trim() === '') return null
  const r = parseIdCard(id)
  return typeof r === 'string' ? r : null
}

/** The birth date (YYYYMMDD) and sex ('M'/'F') an ID card number encodes. */
export function idCardFacts(id: string): { birthDate: string; sex: 'M' | 'F' } | null {
  const r = parseIdCard(id)
  return typeof r === 'string' ? null : { birthDate: r.birthDate, sex: r.sex }
}

/** A real calendar date YYYYMMDD in 1880..2099, the engine's range. */
function isDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4))
  const m = Number(yyyymmdd.slice(4, 6))
  const d = Number(yyyymmdd.slice(6, 8))
  const date = new Date(Date.UTC(y, m - 1, d))
  return y >= 1880 && y <= 2099 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

export function checkPatientName(name: string): string | null {
  const v = name.trim()
  if (v === '') return 'validation.required'
  // DICOM PN components are at most 64 characters; `^` and `\` are delimiters in PN.
  if (v.length > 64) return 'validation.tooLong'
  if (/[\\^=]/.test(v)) return 'validation.nameChars'
  return null
}

/** Mainland mobile (1xx xxxx xxxx) or a landline with area code; empty is allowed. */
export function checkPhone(phone: string): string | null {
  const v = phone.replace(/[\s-]/g, '')
  if (v === '') return null
  if (/^1[3-9]\d{9}$/.test(v) || /^0\d{2,3}\d{7,8}$/.test(v)) return null
  return 'validation.phone'
}

export function checkUsername(u: string): string | null {
  if (u.trim() === '') return 'validation.required'
  if (!/^[A-Za-z0-9_.-]{2,32}$/.test(u)) return 'validation.username'
  return null
}

export const MIN_PASSWORD = 8

export function checkPassword(p: string): string | null {
  if (p === '') return 'validation.required'
  if (p.length < MIN_PASSWORD) return 'validation.passwordShort'
  return null
}

/** Adapts a check to an Element Plus form rule, translating its key with `t`. */
export function rule(check: (v: string) => string | null, t: (k: string) => string) {
  return {
    trigger: 'blur',
    validator: (_r: unknown, value: string, cb: (e?: Error) => void) => {
      const key = check(value ?? '')
      if (key) cb(new Error(t(key)))
      else cb()
    },
  }
}
