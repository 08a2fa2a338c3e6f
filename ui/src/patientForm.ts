// The patient form as Register and the correction dialog both hold it: its rules, what an ID
// card number fills in, and the engine's NewPatient made from it.
import type { Schemas } from './api/generated/ops'
import { checkIdCard, checkPatientName, checkPhone, idCardFacts, rule } from './validation'

export interface PatientForm {
  name: string
  id_card: string
  sex: string
  birth_date: string
  phone: string
}

export const emptyPatientForm = (): PatientForm => ({ name: '', id_card: '', sex: '', birth_date: '', phone: '' })

export function patientRules(t: (k: string) => string) {
  return { name: [rule(checkPatientName, t)], id_card: [rule(checkIdCard, t)], phone: [rule(checkPhone, t)] }
}

/** A valid card number fills birth date and sex (GB 11643); anything else leaves them. */
export function fillFromIdCard(form: PatientForm) {
  const facts = idCardFacts(form.id_card)
  if (!facts) return
  form.birth_date = facts.birthDate
  form.sex = facts.sex
}

/** What the engine's patient_add / patient_update take: trimmed, empty fields left out. */
export function newPatient(form: PatientForm): Partial<Schemas['NewPatient']> & { name: string } {
  return {
    name: form.name.trim(),
    sex: form.sex || undefined,
    birth_date: form.birth_date || undefined,
    id_card: form.id_card.trim().toUpperCase() || undefined,
    phone: form.phone.trim() || undefined,
  }
}
