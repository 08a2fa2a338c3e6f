// The admin's audit view: a read a live screen repeated is one row saying how often, and the
// patient filter asks the engine who saw that patient.
import { describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import type { Backend } from '../../api/backend'
import { makeI18n } from '../../i18n'
import { setBackend } from '../../session'
import { standIn } from '../../testing/standIn'
import AuditPanel from './AuditPanel.vue'

const at = new Date(2026, 10, 28, 8, 0, 0).getTime()
const entry = (id: number, action: string, repeats: number, lastAt: number) => ({
  id, at, actor: 'li.tech', action, subject: '', detail: '{}', repeats, last_at: lastAt,
})

describe('AuditPanel', () => {
  it('shows a repeated read once with its span and count, and filters by patient', async () => {
    const asked: unknown[] = []
    const backend: Backend = {
      kind: 'web',
      async call<T>(_op: string, body?: unknown) {
        asked.push(body)
        return { entries: [entry(2, 'studies.list', 12, at + 45 * 60_000), entry(1, 'study.read', 1, at)] } as T
      },
      subscribe: () => () => {},
      previewUrl: (uid) => `/p/${uid}`,
      fileUrl: (path) => path,
      setToken: () => {},
      setLanguage: () => {},
    }
    setBackend(backend)
    const w = mount(AuditPanel, { global: { plugins: [makeI18n('zh-CN'), ElementPlus] } })
    await flushPromises()
    const rows = w.findAll('[data-test="audit"] tbody tr').map((r) => r.text())
    expect(rows[0]).toContain('2026-11-28 08:00:00 – 08:45:00（12 次）')
    expect(rows[1]).toContain('2026-11-28 08:00:00')
    expect(rows[1]).not.toContain('次')

    await w.find('input[data-test="audit-patient"]').setValue(' P0001 ')
    await w.find('input[data-test="audit-patient"]').trigger('keyup.enter')
    await flushPromises()
    expect(asked.at(-1)).toMatchObject({ patient_id: 'P0001' })
  })

  it('as the maintenance screen\'s system events: asks system_events, without the patient filter', async () => {
    const asked: Array<[string, Record<string, unknown>]> = []
    setBackend(standIn((op, body) => {
      asked.push([op, body])
      return { entries: [entry(3, 'login', 1, at)] }
    }))
    const w = mount(AuditPanel, { props: { system: true }, global: { plugins: [makeI18n('zh-CN'), ElementPlus] } })
    await flushPromises()
    expect(asked).toEqual([['system_events', { actor: undefined, limit: 100 }]])
    expect(w.find('input[data-test="audit-patient"]').exists()).toBe(false)
    expect(w.find('[data-test="system-events"] tbody tr').text()).toContain('login')
  })
})
