// Screens mounted with a stand-in transport (the engine itself is exercised by tests/e2e):
// what a person sees when the engine lacks an operation, chips in Chinese, and the bytes sent
// on the study page and the dashboard.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { ApiError, type Backend } from '../api/backend'
import { makeI18n } from '../i18n'
import { session, setBackend } from '../session'
import RegisterView from './RegisterView.vue'
import StateChip from '../components/StateChip.vue'
import StudyView from './StudyView.vue'
import DashboardView from './DashboardView.vue'

function backendAnswering(answer: (op: string) => unknown): Backend {
  return {
    kind: 'web',
    async call<T>(op: string, _body?: unknown) {
      const a = answer(op)
      if (a instanceof Error) throw a
      return a as T
    },
    subscribe: () => () => {},
    previewUrl: (uid) => `/p/${uid}`,
    fileUrl: (path) => path,
    setToken: () => {},
    setLanguage: () => {},
  }
}

const plugins = (locale: 'zh-CN' | 'en' = 'zh-CN') => ({ global: { plugins: [makeI18n(locale), ElementPlus] } })

afterEach(() => {
  session.user = null
})

describe('screens', () => {
  it('Register says "not available yet" when the engine has no patient operations', async () => {
    setBackend(backendAnswering(() => new ApiError('not_found', 'no such operation', 404)))
    const w = mount(RegisterView, plugins())
    await flushPromises()
    expect(w.find('.not-available').exists()).toBe(true)
    expect(w.text()).toContain('此功能尚未开放')
    expect(w.find('form').exists()).toBe(false)
  })

  it('Register shows its form once the engine has them', async () => {
    setBackend(backendAnswering(() => ({ patients: [] })))
    const w = mount(RegisterView, plugins())
    await flushPromises()
    expect(w.find('.not-available').exists()).toBe(false)
    expect(w.find('input[name="patient-name"]').exists()).toBe(true)
  })

  it('state chips speak the chosen language', () => {
    expect(mount(StateChip, { props: { state: 'delivered' }, ...plugins() }).text()).toBe('已送达')
    expect(mount(StateChip, { props: { state: 'delivered' }, ...plugins('en') }).text()).toBe('Delivered')
    expect(mount(StateChip, { props: { state: 'queued', kind: 'send' }, ...plugins() }).text()).toBe('排队中')
  })
})

const MB = 1024 ** 2

/** A send of the study page to `destination`, with bytes on the wire or without (`null`: sent
 * before the station recorded sizes). */
function send(destination: string, wire: object | null) {
  return { destination, state: 'delivered', priority: 0, attempts: 1, last_error: null, last_error_kind: null, next_attempt_at: null, created_at: 1, updated_at: 2, instances: 2, stored: 2, failed: 0, failures: [], wire }
}

const study = {
  study_uid: '1.2.3',
  patient_name: '王^小明',
  patient_id: 'P1',
  study_date: '20261204',
  study_time: '',
  description: '',
  modalities: 'DX',
  instances: 2,
  state: 'delivered',
  priority: 0,
  urgent: false,
  unrouted: false,
  purged_instances: 0,
  keep: false,
  first_received_at: 1,
  last_received_at: 1,
  state_changed_at: 1,
}

describe('bytes on the wire', () => {
  it('the study page says per destination what was sent beside the originals, and nothing for older sends', async () => {
    const wire = { instances: 2, original_bytes: 9.4 * MB, sent_bytes: 3.1 * MB, saved_bytes: 6.3 * MB, ratio: 3.1 / 9.4 }
    const detail = { study, series: [], sends: [send('center', wire), send('old', null)], patient_check: null, fetch: null }
    setBackend(backendAnswering((op) => (op === 'study_get' ? detail : op === 'links_list' ? { links: [] } : {})))
    const w = mount(StudyView, { props: { uid: '1.2.3' }, ...plugins() })
    await flushPromises()
    const rows = w.findAll('[data-test="sends"] tbody tr')
    expect(rows).toHaveLength(2)
    expect(rows[0].text()).toContain('已发送 3.1 MB（原 9.4 MB，压缩比 0.33）')
    expect(rows[1].find('[data-test="send-wire"]').exists()).toBe(false)
    expect(rows[1].text()).not.toContain('已发送')
  })

  it('the dashboard says how much was saved this month, and nothing when nothing was measured', async () => {
    const saved = { instances: 40, original_bytes: 2 * 1024 ** 3, sent_bytes: 0.8 * 1024 ** 3, saved_bytes: 1.2 * 1024 ** 3, ratio: 0.4 }
    const dashboard = (wire_month: object | null) => ({
      counts: { studies_by_state: {}, instances: 0, instances_for_review: 0, instances_charset_repaired: 0, quarantined: 0, send_queue_by_state: {} },
      destinations: [],
      free_disk_bytes: null,
      min_free_bytes: 0,
      devices: [],
      period_days: 30,
      turnaround: [],
      overdue_total: 0,
      overdue: [],
      unread_reports: 0,
      unacknowledged_reports: 0,
      last_backup: null,
      last_verify: null,
      storage: { delivered_bytes: 0, undelivered_bytes: 0, reports_bytes: 0, purged_bytes: 0, total_disk_bytes: null, days_left: null, daily_intake_bytes: null, keep_days_after_delivery: 30, high_water_percent: 90, next_purge_at: 0, last_purge_at: null, last_purge_studies: null, last_purge_bytes: null, only_protected_left: false },
      wire_month,
    })
    setBackend(backendAnswering(() => dashboard(saved)))
    // Charts draw on a canvas, which the test DOM lacks.
    const options = { global: { ...plugins().global, stubs: { EChart: true } } }
    const w = mount(DashboardView, options)
    await flushPromises()
    expect(w.find('[data-test="saved-month"]').text()).toBe('本月节省 1.2 GB')
    setBackend(backendAnswering(() => dashboard(null)))
    const older = mount(DashboardView, options)
    await flushPromises()
    expect(older.find('[data-test="saved-month"]').exists()).toBe(false)
  })
})
