// A token's state as the admin's list shows it, and the roles a new token may have.
import { describe, expect, it } from 'vitest'
import { TOKEN_ROLES, tokenState, type TokenRecord } from './tokens'

const now = new Date(2026, 10, 28, 8, 0, 0).getTime()
const day = 86_400_000
const token = (over: Partial<TokenRecord> = {}): TokenRecord => ({
  name: 'center-ops', role: 'maintenance', created_by: 'admin', created_at: now - 10 * day, ...over,
})

describe('tokenState', () => {
  it('is active until revoked or past its end', () => {
    expect(tokenState(token(), now)).toEqual({ key: 'active' })
    expect(tokenState(token({ expires_at: now + day }), now)).toEqual({ key: 'active' })
    expect(tokenState(token({ expires_at: now - day }), now)).toEqual({ key: 'expired', at: now - day })
    expect(tokenState(token({ expires_at: now }), now).key).toBe('expired')
  })
  it('says revoked, with when, even once it has expired too', () => {
    expect(tokenState(token({ revoked_at: now - 2 * day, expires_at: now - day }), now)).toEqual({ key: 'revoked', at: now - 2 * day })
  })
})

describe('TOKEN_ROLES', () => {
  it('offers every role but admin, which the engine refuses for a token', () => {
    expect(TOKEN_ROLES).not.toContain('admin')
    expect(TOKEN_ROLES).toEqual(expect.arrayContaining(['technician', 'doctor', 'manager', 'maintenance']))
  })
})
