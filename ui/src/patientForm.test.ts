import { describe, expect, it } from 'vitest'
import { emptyPatientForm, fillFromIdCard, newPatient } from './patientForm'

describe('patient form', () => {
  it('an ID card number fills birth date and sex; a wrong one leaves them', () => {
    const form = { ...emptyPatientForm(), id_card: '11010519491231002X' }
    fillFromIdCard(form)
    expect([form.birth_date, form.sex]).toEqual(['19491231', 'F'])
    const typo = { ...emptyPatientForm(), id_card: '110105194912310021', sex: 'M' }
    fillFromIdCard(typo)
    expect([typo.birth_date, typo.sex]).toEqual(['', 'M'])
  })

  it('sends trimmed text, the card in upper case, and leaves out what is empty', () => {
    const body = newPatient({ name: ' 张伟 ', id_card: '11010519491231002x', sex: '', birth_date: '', phone: ' ' })
    expect(body).toEqual({ name: '张伟', id_card: '11010519491231002X', sex: undefined, birth_date: undefined, phone: undefined })
    expect(JSON.parse(JSON.stringify(body))).toEqual({ name: '张伟', id_card: '11010519491231002X' })
  })
})
