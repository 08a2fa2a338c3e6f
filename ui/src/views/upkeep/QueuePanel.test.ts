// The send queue on the maintenance screen with a stand-in transport: each row offers only the
// actions its state fits and the role may call, and the queue is read again after one.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { makeI18n } from '../../i18n'
import { session, setBackend } from '../../session'
import { standIn } from '../../testing/standIn'
import QueuePanel from './QueuePanel.vue'

const row = (study_uid: string, state: string) => ({
  study_uid, destination: 'hub', state, attempts: 2, last_error: state === 'failed' ? 'HTTP 503' : null, instances: 4, stored: 1, failed: 0,
})
const ROWS = [row('1.1', 'queued'), row('1.2', 'failed'), row('1.3', 'held')]

function mountAs(role: string, calls: Array<[string, Record<string, unknown>]>) {
  session.user = { username: 'ops', display_name: 'ops', role } as typeof session.user
  setBackend(standIn((op, body) => {
    calls.push([op, body])
    if (op === 'queue_list') return { total: 3, rows: ROWS }
    if (op.startsWith('study_')) return { study_uid: body.study_uid, state: 'sending', changed: 1, urgent: false }
    return new Error(`unexpected ${op}`)
  }))
  return mount(QueuePanel, { attachTo: document.body, global: { plugins: [makeI18n('zh-CN'), ElementPlus] } })
}

afterEach(() => {
  session.user = null
  document.body.innerHTML = ''
})

describe('QueuePanel', () => {
  it('offers hold, release and retry by state, and reloads after one', async () => {
    const calls: Array<[string, Record<string, unknown>]> = []
    const w = mountAs('maintenance', calls)
    await flushPromises()
    const rows = w.findAll('[data-test="queue"] tbody tr')
    const buttons = (i: number) => rows[i].findAll('button').map((b) => b.attributes('data-test'))
    expect(buttons(0)).toEqual(['hold'])
    expect(buttons(1)).toEqual(['retry', 'hold'])
    expect(buttons(2)).toEqual(['release'])
    expect(rows[0].text()).toContain('排队中')
    expect(rows[0].text()).toContain('1/4')
    expect(rows[1].text()).toContain('HTTP 503')

    await rows[1].find('button[data-test="retry"]').trigger('click')
    await flushPromises()
    expect(calls.slice(-2)).toEqual([['study_retry', { study_uid: '1.2' }], ['queue_list', { limit: 200 }]])
  })

  it('shows no buttons to a role that may not change the sending', async () => {
    const w = mountAs('doctor', [])
    await flushPromises()
    expect(w.findAll('[data-test="queue"] tbody tr')).toHaveLength(3)
    expect(w.findAll('[data-test="queue"] button')).toHaveLength(0)
  })
})
