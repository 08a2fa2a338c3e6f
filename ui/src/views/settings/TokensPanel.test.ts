// The admin's API tokens with a stand-in transport: states in local time, revoke only on live
// ones, the role list without admin, and a new token shown once then gone.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { makeI18n } from '../../i18n'
import { setBackend } from '../../session'
import { standIn } from '../../testing/standIn'
import TokensPanel from './TokensPanel.vue'

const at = new Date(2026, 10, 28, 8, 0, 0).getTime()
const record = (name: string, over: Record<string, unknown> = {}) => ({ name, role: 'maintenance', created_by: 'admin', created_at: at, ...over })

afterEach(() => {
  document.body.innerHTML = ''
})

describe('TokensPanel', () => {
  it('lists tokens with their state and shows a new one once', async () => {
    const calls: Array<[string, Record<string, unknown>]> = []
    const tokens = [record('center-ops'), record('old', { revoked_at: at + 60_000 })]
    setBackend(standIn((op, body) => {
      calls.push([op, body])
      if (op === 'tokens_list') return { tokens }
      if (op === 'token_create') {
        tokens.unshift(record(String(body.name)))
        return { token: 'st_secret123', record: tokens[0] }
      }
      return new Error(`unexpected ${op}`)
    }))
    const w = mount(TokensPanel, { attachTo: document.body, global: { plugins: [makeI18n('zh-CN'), ElementPlus] } })
    await flushPromises()
    const rows = w.findAll('[data-test="tokens"] tbody tr')
    expect(rows[0].text()).toContain('中心运维')
    expect(rows[0].text()).toContain('2026-11-28 08:00:00')
    expect(rows[0].text()).toContain('直到吊销')
    expect(rows[0].find('[data-test="revoke-token"]').exists()).toBe(true)
    expect(rows[1].text()).toContain('已吊销（2026-11-28 08:01:00）')
    expect(rows[1].find('[data-test="revoke-token"]').exists()).toBe(false)

    await w.find('[data-test="new-token"]').trigger('click')
    await flushPromises()
    document.querySelector<HTMLElement>('[data-test="token-role"] .el-select__wrapper')?.click()
    await flushPromises()
    const offered = [...document.querySelectorAll('.el-select-dropdown__item')].map((o) => o.textContent?.trim())
    expect(offered).toContain('中心运维')
    expect(offered).not.toContain('系统管理员')

    const name = document.querySelector<HTMLInputElement>('input[name="token-name"]')!
    name.value = 'his'
    name.dispatchEvent(new Event('input'))
    document.querySelector<HTMLElement>('[data-test="create-token"]')!.click()
    await flushPromises()
    expect(calls.find(([op]) => op === 'token_create')?.[1]).toEqual({ name: 'his', role: 'maintenance', expires_days: null })
    expect(document.querySelector<HTMLInputElement>('input[data-test="made-token"]')?.value).toBe('st_secret123')
    expect(document.body.textContent).toContain('不会再显示')

    document.querySelector<HTMLElement>('[data-test="close-token"]')!.click()
    await flushPromises()
    expect(document.querySelector<HTMLInputElement>('input[data-test="made-token"]')?.value ?? '').toBe('')
  })
})
