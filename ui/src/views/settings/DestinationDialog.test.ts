// The destination dialog says, beside the compression chosen, that this center refused it and
// its images go as received; not for another center, nor for another compression. The admin
// can forget the refusal there, so the next study tries the compression again.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { makeI18n } from '../../i18n'
import { setBackend } from '../../session'
import { standIn } from '../../testing/standIn'
import DestinationDialog from './DestinationDialog.vue'
import type { Destination } from './form'

const HUB = {
  name: 'hub',
  url: 'https://hub.example/dicom-web',
  modalities: [],
  parallel_requests: 4,
  poll_reports: true,
  transfer_syntax: 'jpeg-ls-lossless',
} as unknown as Destination
const REFUSED = { destination: 'hub', transfer_syntax: 'jpeg-ls-lossless', refused_at: Date.UTC(2026, 11, 4, 2, 30), reason: 'HTTP 415 Unsupported Media Type' }

afterEach(() => {
  document.body.innerHTML = ''
})

async function open(destination: Destination, locale: 'zh-CN' | 'en' = 'zh-CN') {
  setBackend(standIn(() => new Error('no call expected')))
  mount(DestinationDialog, {
    props: { open: true, destination, others: [], serverError: null, wireRefusals: [REFUSED] },
    attachTo: document.body,
    global: { plugins: [makeI18n(locale), ElementPlus] },
  })
  await flushPromises()
  return document.querySelector('[data-test="wire-refused"]')
}

describe('destination dialog', () => {
  it("says the center refused the compression chosen, with the hub's words one click away", async () => {
    const shown = await open(HUB)
    expect(shown?.textContent).toContain('拒收了这种压缩格式的影像，此后发往它的影像都按原样发送')
    expect(shown?.querySelector('details pre')?.textContent).toBe('HTTP 415 Unsupported Media Type')
    document.body.innerHTML = ''
    expect((await open(HUB, 'en'))?.textContent).toContain('since then its images are sent as received')
  })

  it('says nothing for another center or another compression', async () => {
    expect(await open({ ...HUB, name: 'other' } as Destination)).toBeNull()
    document.body.innerHTML = ''
    expect(await open({ ...HUB, transfer_syntax: 'jpeg2000-lossless' } as unknown as Destination)).toBeNull()
  })

  it('forgets the refusal on request: the engine is asked, the warning goes, the page reloads', async () => {
    const calls: [string, Record<string, unknown>][] = []
    setBackend(
      standIn((op, body) => {
        calls.push([op, body])
        return { destination: 'hub', forgotten: ['jpeg-ls-lossless'] }
      }),
    )
    const wrapper = mount(DestinationDialog, {
      props: { open: true, destination: HUB, others: [], serverError: null, wireRefusals: [REFUSED] },
      attachTo: document.body,
      global: { plugins: [makeI18n('en'), ElementPlus] },
    })
    await flushPromises()
    const button = document.querySelector<HTMLButtonElement>('[data-test="wire-forget"]')
    expect(button?.textContent).toContain('try the compression again')
    button?.click()
    await flushPromises()
    expect(calls).toEqual([['wire_refusal_forget', { destination: 'hub' }]])
    expect(document.querySelector('[data-test="wire-refused"]')).toBeNull()
    expect(wrapper.emitted('refusalForgotten')).toHaveLength(1)
  })
})
