// Who sees which screen: the navigation and route guard read this one table. The engine checks
// every operation's role again; this only keeps people away from screens they cannot use.
//
// Must never: be the only check (hiding a screen is not a permission).

export type Role = 'technician' | 'doctor' | 'manager' | 'admin'
export const ROLES: Role[] = ['technician', 'doctor', 'manager', 'admin']

export type Screen = 'today' | 'register' | 'studies' | 'reports' | 'dashboard' | 'settings'

const SCREENS: Record<Role, Screen[]> = {
  technician: ['today', 'register', 'studies'],
  doctor: ['reports', 'studies'],
  manager: ['dashboard', 'today', 'register', 'studies', 'reports'],
  admin: ['dashboard', 'today', 'register', 'studies', 'reports', 'settings'],
}

export function isRole(r: unknown): r is Role {
  return typeof r === 'string' && (ROLES as string[]).includes(r)
}

export function screensFor(role: string): Screen[] {
  return isRole(role) ? [...SCREENS[role]] : []
}

export function canOpen(role: string, screen: Screen): boolean {
  return screensFor(role).includes(screen)
}

/** Where a role lands after login: its first screen. */
export function homeFor(role: string): Screen | null {
  return screensFor(role)[0] ?? null
}
