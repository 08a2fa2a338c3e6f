// How an API token reads in the admin's list: live, revoked (when) or expired (when), and which
// roles a token may be given. The engine refuses `admin` for a token, so the form never offers it.
import type { Schemas } from '../../api/generated/ops'
import { ROLES, type Role } from '../../roles'

export type TokenRecord = Schemas['TokenRecord']

/** Every role a token may have: all but admin (an admin acts in person, never by a token). */
export const TOKEN_ROLES: Role[] = ROLES.filter((r) => r !== 'admin')

export interface TokenState {
  /** i18n key under `tokens.` */
  key: 'active' | 'revoked' | 'expired'
  /** When it stopped working (unix ms), for revoked and expired ones. */
  at?: number
}

/** Whether a token still works at `now`; a revoked one says so even if it has expired since. */
export function tokenState(token: TokenRecord, now: number): TokenState {
  if (token.revoked_at) return { key: 'revoked', at: token.revoked_at }
  if (token.expires_at && token.expires_at <= now) return { key: 'expired', at: token.expires_at }
  return { key: 'active' }
}
