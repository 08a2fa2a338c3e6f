import { describe, expect, it } from 'vitest'
import { canOpen, homeFor, navFor, ROLES, screensFor } from './roles'

describe('navigation by role', () => {
  it('gives each role its screens', () => {
    expect(navFor('technician').sort()).toEqual(['register', 'studies', 'today'])
    expect(navFor('doctor').sort()).toEqual(['reports', 'studies'])
    expect(screensFor('manager')).toContain('dashboard')
    expect(screensFor('manager')).not.toContain('settings')
    expect(screensFor('admin')).toEqual(expect.arrayContaining(['settings', 'dashboard', 'today', 'register', 'studies', 'reports']))
  })
  it('keeps technicians out of settings and unknown roles out of everything', () => {
    expect(canOpen('technician', 'settings')).toBe(false)
    expect(canOpen('admin', 'settings')).toBe(true)
    expect(screensFor('intruder')).toEqual([])
    expect(homeFor('intruder')).toBeNull()
  })
  it('lets every clinical role open the image viewer, which the navigation bar does not list', () => {
    for (const role of ROLES.filter((r) => r !== 'maintenance')) {
      expect(canOpen(role, 'viewer'), role).toBe(true)
      expect(navFor(role), role).not.toContain('viewer')
    }
    expect(canOpen('intruder', 'viewer')).toBe(false)
  })
  it('keeps the center\'s maintenance staff away from every screen that shows patients', () => {
    for (const screen of ['dashboard', 'today', 'register', 'studies', 'reports', 'viewer'] as const) {
      expect(canOpen('maintenance', screen), screen).toBe(false)
    }
  })
  it('lands each role on its first screen', () => {
    expect(homeFor('technician')).toBe('today')
    expect(homeFor('doctor')).toBe('reports')
    expect(homeFor('manager')).toBe('dashboard')
    expect(homeFor('admin')).toBe('dashboard')
    expect(homeFor('maintenance')).toBe('upkeep')
  })
  it('gives the center\'s maintenance staff the maintenance screen alone, and admins it too', () => {
    expect(navFor('maintenance')).toEqual(['upkeep'])
    expect(screensFor('maintenance')).toEqual(['upkeep'])
    expect(canOpen('admin', 'upkeep')).toBe(true)
    expect(navFor('admin')).toContain('upkeep')
    for (const role of ['technician', 'doctor', 'manager'] as const) {
      expect(canOpen(role, 'upkeep'), role).toBe(false)
    }
  })
})
