// The correction dialog with a stand-in transport: it says before saving that studies already
// at the hub are sent again, and saves what the technician typed for that patient.
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { makeI18n } from '../i18n'
import { setBackend } from '../session'
import { standIn } from '../testing/standIn'
import PatientEditDialog from './PatientEditDialog.vue'

const PATIENT = { id: 1, clinic_id: 'P0001', name: '李秀英', pinyin: 'li xiu ying', initials: 'lxy', sex: 'F', birth_date: '19491231', id_card: null, phone: '13800138000' }

function backend(states: string[], calls: Array<[string, unknown]>) {
  return standIn((op, body) => {
    calls.push([op, body])
    if (op === 'patient_search') return { items: [{ ...PATIENT, clinic_id: 'P00010' }, PATIENT] }
    if (op === 'studies_list') return { items: states.map((state, i) => ({ study_uid: `1.${i}`, state, order_accession: `A${i}` })), total: states.length }
    if (op === 'patient_update') return { patient: { ...PATIENT, name: '李秀英' }, studies_corrected: 1 }
    return new Error(`unexpected ${op}`)
  })
}

const open = (locale: 'zh-CN' | 'en' = 'zh-CN') =>
  mount(PatientEditDialog, { props: { clinicId: 'P0001' }, attachTo: document.body, global: { plugins: [makeI18n(locale), ElementPlus] } })

afterEach(() => {
  document.body.innerHTML = ''
})

describe('patient correction dialog', () => {
  it('warns that studies already sent go to the hub again, and saves that patient', async () => {
    const calls: Array<[string, unknown]> = []
    setBackend(backend(['delivered', 'ready'], calls))
    const w = open()
    await flushPromises()
    const warning = document.querySelector('[data-test="patient-edit-resend"]')
    expect(warning?.textContent).toContain('1 个检查已发送到诊断中心')
    const name = document.querySelector<HTMLInputElement>('input[name="edit-name"]')
    expect(name?.value).toBe('李秀英')
    expect(document.querySelector('[data-test="patient-edit-save"]')?.textContent).toContain('保存并重新发送')
    document.querySelector<HTMLButtonElement>('[data-test="patient-edit-save"]')?.click()
    await flushPromises()
    const update = calls.find(([op]) => op === 'patient_update')
    expect(update?.[1]).toMatchObject({ clinic_id: 'P0001', patient: { name: '李秀英', sex: 'F', birth_date: '19491231', phone: '13800138000' } })
    expect(w.emitted('saved')).toHaveLength(1)
  })

  it('says nothing about sending again when nothing was sent', async () => {
    setBackend(backend(['ready'], []))
    open('en')
    await flushPromises()
    expect(document.querySelector('input[name="edit-name"]')).not.toBeNull()
    expect(document.querySelector('[data-test="patient-edit-resend"]')).toBeNull()
    expect(document.querySelector('[data-test="patient-edit-save"]')?.textContent?.trim()).toBe('Save')
  })
})
