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

describe('keys used by the screens', () => {
  it('every literal t("...") key in the source exists', async () => {
    const fs = await import('node:fs')
    const path = await import('node:path')
    const root = path.resolve(__dirname, '..')
    const files: string[] = []
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (/\.(vue|ts)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) files.push(p)
      }
    }
    walk(root)
    const used = new Set<string>()
    for (const f of files) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z.]+)'/g)) used.add(m[1])
    }
    expect(used.size).toBeGreaterThan(50)
    const missing = [...used].filter((k) => leaf(zh, k) === undefined || leaf(en, k) === undefined)
    expect(missing).toEqual([])
  })
})

describe('words the engine sends', () => {
  it('has a sentence for every hub problem and every quarantine reason it names', async () => {
    const doc = (await import('../api/generated/openapi.json')).default as {
      components: { schemas: Record<string, { enum?: string[] }> }
    }
    for (const [schema, section] of [
      ['HubProblem', 'hubProblem'],
      ['QuarantineReason', 'today.reasons'],
    ] as const) {
      const words = doc.components.schemas[schema].enum ?? []
      expect(words.length, schema).toBeGreaterThan(3)
      for (const w of words) {
        expect(leaf(zh, `${section}.${w}`), `${section}.${w}`).toMatch(/[\u4e00-\u9fff]/)
        expect(leaf(en, `${section}.${w}`), `${section}.${w}`).toBeTruthy()
      }
    }
  })
})
