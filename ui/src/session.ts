// The logged-in user and the backend they talk through, shared by every screen. In a browser
// the session is an HttpOnly cookie the engine sets at login (page scripts never hold it, and
// it never goes in a URL); a reload asks `me` whether it is still good. The desktop window,
// which calls the engine in-process, keeps its token in sessionStorage so a reload keeps the
// login.
//
// Must never: keep a password, keep a token in localStorage (it would outlive the tab), or
// keep a browser's token at all.
import { reactive } from 'vue'
import { ApiError, type Backend } from './api/backend'
import type { OpName, Schemas } from './api/generated/ops'
import { mayCall } from './roles'

export type User = Schemas['UserInfo']

const KEY = 'station.session'

export const session = reactive({
  user: null as User | null,
  token: null as string | null,
})

/** Whether the engine lets this user call `op` (its role table; it checks again on every call). */
export function can(op: OpName): boolean {
  return !!session.user && mayCall(session.user.role, op)
}

let backend: Backend | null = null

export function useBackend(): Backend {
  if (!backend) throw new Error('backend not set')
  return backend
}

export function setBackend(b: Backend) {
  backend = b
}

/** Restores a login kept in this tab, checking with `me` that the engine still knows it. */
export async function restore(storage: Storage | null = globalThis.sessionStorage ?? null) {
  if (!backend) return
  const web = backend.kind === 'web'
  const saved = storage?.getItem(KEY)
  if (!saved && !web) return
  try {
    // A browser's session is its cookie: `me` says whether it is still good.
    const token = web ? null : (JSON.parse(saved ?? '') as { token: string }).token
    if (token) await backend.setToken(token)
    const me = await backend.call('me')
    if (web) await backend.setToken('')
    session.user = me.user
    session.token = token
  } catch {
    storage?.removeItem(KEY)
    await backend.setToken(null)
  }
}

export async function login(username: string, password: string) {
  const b = useBackend()
  const ans = await b.call('login', { username, password })
  // In a browser the answer also set the HttpOnly cookie: the token is not kept here.
  const token = b.kind === 'web' ? null : ans.token
  await b.setToken(token ?? '')
  session.token = token
  session.user = ans.user
  if (token) globalThis.sessionStorage?.setItem(KEY, JSON.stringify({ token }))
  return ans.user
}

export async function logout() {
  try {
    await useBackend().call('logout')
  } catch {
    // Logging out of a session the engine already forgot is still logging out.
  }
  forget()
}

/** Drops the login on this side (after logout, or when the engine says the session ended). */
export function forget() {
  void backend?.setToken(null)
  session.token = null
  session.user = null
  globalThis.sessionStorage?.removeItem(KEY)
}

/** The message to show for a failed call, in the user's language. */
export function errorText(e: unknown, t: (k: string, p?: Record<string, unknown>) => string) {
  if (e instanceof ApiError) {
    // The engine tells an invalid request in a sentence of the user's language (the field
    // named, its own words apart as `detail`).
    if (e.code === 'invalid' && e.message) return e.message
    if (e.code === 'invalid' || e.code === 'internal')
      return t(`error.${e.code}`, { message: e.message })
    // The engine says, in the asked language, how long to wait and whether another computer
    // would do: more use to a person locked out than a generic line.
    if (e.code === 'throttled' && e.message) return e.message
    return t(`error.${e.code}`)
  }
  return t('error.internal', { message: String(e) })
}
