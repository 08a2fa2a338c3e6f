import { describe, expect, it } from 'vitest'
import zh from './zh-CN'
import en from './en'
import { savedLocale } from '.'

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}

function leaf(o: object, key: string): unknown {
  return key.split('.').reduce<unknown>((a, k) => (a as Record<string, unknown>)?.[k], o)
}

describe('translations', () => {
  it('every zh-CN key has an en key and vice versa', () => {
    const z = keys(zh).sort()
    const e = keys(en).sort()
    expect(z.filter((k) => !e.includes(k))).toEqual([])
    expect(e.filter((k) => !z.includes(k))).toEqual([])
  })

  it('no text is empty, and Chinese text is Chinese', () => {
    for (const k of keys(zh)) {
      expect(String(leaf(zh, k)).trim(), k).not.toBe('')
      expect(String(leaf(en, k)).trim(), k).not.toBe('')
    }
    expect(zh.app.title).toMatch(/[\u4e00-\u9fff]/)
    expect(zh.error.network).toMatch(/[\u4e00-\u9fff]/)
  })

  it('placeholders match between languages', () => {
    const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort()
    for (const k of keys(zh)) expect(ph(String(leaf(en, k))), k).toEqual(ph(String(leaf(zh, k))))
  })

  it('Chinese is the default language', () => {
    expect(savedLocale(null)).toBe('zh-CN')
    expect(savedLocale({ getItem: () => 'en' })).toBe('en')
    expect(savedLocale({ getItem: () => 'fr' })).toBe('zh-CN')
  })
})
