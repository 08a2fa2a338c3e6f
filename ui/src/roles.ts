// Who sees which screen and which button, read from the engine's role table
// (crates/station/src/api/roles.rs, generated into ./api/generated/roles.ts): a button is for the
// roles that may call its operation, a screen for those that may call every operation that is
// its work. The navigation, the route guard and `can` all read this. The engine checks every call
// again; this only keeps people away from what would be refused.
//
// Must never: be the only check (hiding a screen is not a permission), or give a role a screen
// or an operation by name: the engine's table decides.
import type { OpName } from './api/generated/ops'
import { OP_ROLES, ROLES, type Role } from './api/generated/roles'

export { ROLES, type Role }

export type Screen =
  | 'dashboard'
  | 'today'
  | 'register'
  | 'studies'
  | 'reports'
  | 'settings'
  | 'upkeep'
  | 'viewer'

/** Each screen, in menu order, with the operations that are its work. */
const SCREENS: ReadonlyArray<readonly [Screen, readonly OpName[]]> = [
  // The station's overview is for those who oversee its set-up (who may read its settings) and
  // see its patients (it lists overdue studies): not the center's maintenance staff.
  ['dashboard', ['settings_get', 'dashboard']],
  // The day's arrivals, refused files and orders: for those who work the sending.
  ['today', ['quarantine_list']],
  ['register', ['patient_add']],
  ['studies', ['studies_list']],
  // The reports screen is where a report is read and acknowledged.
  ['reports', ['report_ack']],
  ['settings', ['settings_update']],
  // The station's health and its send queue, without patients: for the center's maintenance
  // staff, and the admin who looks after the station with them.
  ['upkeep', ['system_events', 'queue_list']],
  // Every clinical role views images (technicians check image quality too): whoever may list
  // studies may open them.
  ['viewer', ['studies_list']],
]

/** Where a role lands: the first of these it may open, which then heads its menu. */
const HOMES: Screen[] = ['dashboard', 'today', 'reports', 'upkeep']

/** Screens opened from another one (a study, a report), not from the navigation bar. */
const OPENED_FROM_OTHERS: Screen[] = ['viewer']

export function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as readonly string[]).includes(r)
}

/** Whether the engine lets `role` call `op` (it checks again on every call). */
export function mayCall(role: string, op: OpName): boolean {
  const who = OP_ROLES[op]
  return who === 'public' || (isRole(role) && who.includes(role))
}

/** The screens `role` may open, its home first, then in menu order. */
export function screensFor(role: string): Screen[] {
  const open = SCREENS.filter(([, ops]) => ops.every((op) => mayCall(role, op))).map(([screen]) => screen)
  const home = HOMES.find((s) => open.includes(s))
  return home ? [home, ...open.filter((s) => s !== home)] : open
}

/** The navigation bar's screens for a role. */
export function navFor(role: string): Screen[] {
  return screensFor(role).filter((s) => !OPENED_FROM_OTHERS.includes(s))
}

export function canOpen(role: string, screen: Screen): boolean {
  return screensFor(role).includes(screen)
}

/** Where a role lands after login: its first screen. */
export function homeFor(role: string): Screen | null {
  return screensFor(role)[0] ?? null
}
