// Who sees which screen: the navigation and route guard read this one table. The engine checks
// every operation's role again; this only keeps people away from screens they cannot use.
//
// Must never: be the only check (hiding a screen is not a permission).

export type Role = 'technician' | 'doctor' | 'manager' | 'admin'
export const ROLES: Role[] = ['technician', 'doctor', 'manager', 'admin']

export type Screen = 'today' | 'register' | 'studies' | 'reports' | 'dashboard' | 'settings' | 'viewer'

// Every clinical role may view images: technicians check image quality too (issue 16).
const SCREENS: Record<Role, Screen[]> = {
  technician: ['today', 'register', 'studies', 'viewer'],
  doctor: ['reports', 'studies', 'viewer'],
  manager: ['dashboard', 'today', 'register', 'studies', 'reports', 'viewer'],
  admin: ['dashboard', 'today', 'register', 'studies', 'reports', 'settings', 'viewer'],
}

/** Screens opened from another one (a study, a report), not from the navigation bar. */
const OPENED_FROM_OTHERS: Screen[] = ['viewer']

export function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as string[]).includes(r)
}

export function screensFor(role: string): Screen[] {
  return isRole(role) ? [...SCREENS[role]] : []
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
