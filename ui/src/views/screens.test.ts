// Screens mounted with a stand-in transport (the engine itself is exercised by tests/e2e):
// what a person sees when the engine lacks an operation, and chips in Chinese.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { ApiError, type Backend } from '../api/backend'
import { makeI18n } from '../i18n'
import { session, setBackend } from '../session'
import RegisterView from './RegisterView.vue'
import StateChip from '../components/StateChip.vue'

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
