import { describe, expect, it } from 'vitest'
import { ApiError } from './api/backend'
import { errorText } from './session'

const t = (key: string, p?: Record<string, unknown>) => (p ? `${key}:${p.message}` : key)

describe('error text', () => {
  it("shows the engine's lockout message, which says how long and where", () => {
    const locked = new ApiError('throttled', '这台电脑登录失败次数过多，请 60 秒后再试', 429)
    expect(errorText(locked, t)).toBe('这台电脑登录失败次数过多，请 60 秒后再试')
    expect(errorText(new ApiError('throttled', '', 429), t)).toBe('error.throttled')
  })
  it("uses the screen text for refusals and the engine's sentence for invalid requests", () => {
    expect(errorText(new ApiError('forbidden', 'no', 403), t)).toBe('error.forbidden')
    // The engine names the field in the user's words; its raw words are the detail, not the text.
    const invalid = new ApiError('invalid', '「出生日期」填写有误，请检查后重试。', 400, 'birth_date', 'invalid type: integer')
    expect(errorText(invalid, t)).toBe('「出生日期」填写有误，请检查后重试。')
    expect(errorText(new ApiError('invalid', '', 400), t)).toBe('error.invalid:')
  })
})
