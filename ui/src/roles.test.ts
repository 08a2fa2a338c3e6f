import { describe, expect, it } from 'vitest'
import { canOpen, homeFor, screensFor } from './roles'

describe('navigation by role', () => {
  it('gives each role its screens', () => {
    expect(screensFor('technician').sort()).toEqual(['register', 'studies', 'today'])
    expect(screensFor('doctor').sort()).toEqual(['reports', 'studies'])
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
  it('lands each role on its first screen', () => {
    expect(homeFor('technician')).toBe('today')
    expect(homeFor('doctor')).toBe('reports')
    expect(homeFor('manager')).toBe('dashboard')
  })
})
