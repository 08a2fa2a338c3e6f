// The assign dialog with a stand-in transport: when the engine refuses a patient who differs
// from the one the device sent (patient_mismatch), the dialog shows the engine's words on the
// differences and assigns only on a second, explicit press, which says confirm_mismatch.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { ApiError } from '../api/backend'
import { makeI18n } from '../i18n'
import { setBackend } from '../session'
import { standIn } from '../testing/standIn'
import AssignDialog from './AssignDialog.vue'

const STUDY = { study_uid: '1.2.3', patient_name: 'ZHANG^SAN', patient_id: 'X1', study_date: '20261130', modalities: ['DX'] }
const ORDER = { accession: 'A1', modality: 'DX', procedure: '胸部正位' }
const DIFFERS = '设备发送的患者与所选患者不同：姓名：ZHANG^SAN（登记为 王^小明）。请核对，确认为同一患者后再分配'

function backend(calls: Array<[string, Record<string, unknown>]>) {
  return standIn((op, body) => {
    calls.push([op, body])
    if (op === 'orders_list') return { items: [{ order: ORDER, patient: { name: '王^小明' } }] }
    if (op === 'study_assign') {
      if (!body.confirm_mismatch) return new ApiError('patient_mismatch', DIFFERS, 409)
      return { study_uid: STUDY.study_uid, order: ORDER, state: 'complete', differences: [] }
    }
    return new Error(`unexpected ${op}`)
  })
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('assign dialog', () => {
  it('shows how the patient differs and assigns only once confirmed', async () => {
    const calls: Array<[string, Record<string, unknown>]> = []
    setBackend(backend(calls))
    const w = mount(AssignDialog, { props: { study: STUDY }, attachTo: document.body, global: { plugins: [makeI18n('zh-CN'), ElementPlus] } })
    await flushPromises()
    // The order picked in the select, as a person clicks it.
    document.querySelector<HTMLElement>('[data-test="assign-order"] .el-select__wrapper')?.click()
    await flushPromises()
    document.querySelector<HTMLElement>('.el-select-dropdown__item')?.click()
    await flushPromises()
    document.querySelector<HTMLButtonElement>('[data-test="assign-submit"]')?.click()
    await flushPromises()
    expect(document.querySelector('[data-test="assign-mismatch"]')?.textContent).toContain('姓名：ZHANG^SAN（登记为 王^小明）')
    expect(w.emitted('assigned')).toBeUndefined()
    const confirm = document.querySelector<HTMLButtonElement>('[data-test="assign-confirm-mismatch"]')
    expect(confirm?.textContent).toContain('确认为同一患者并关联')
    confirm?.click()
    await flushPromises()
    const assigns = calls.filter(([op]) => op === 'study_assign').map(([, b]) => b.confirm_mismatch)
    expect(assigns).toEqual([false, true])
    expect(w.emitted('assigned')).toHaveLength(1)
  })
})
