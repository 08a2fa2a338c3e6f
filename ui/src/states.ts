// How a study's state looks: one label key and one colour per state of the engine's lifecycle
// (receiving → complete → (unassigned →) ready → sending → delivered → reported; failed, held).
// An unknown state from a newer engine is shown as itself, never hidden.
//
// Must never: show a state the engine did not report (no guessing "delivered" from a send).

export type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

export const STUDY_STATES = [
  'receiving',
  'complete',
  'unassigned',
  'ready',
  'sending',
  'delivered',
  'reported',
  'failed',
  'held',
] as const

export type StudyState = (typeof STUDY_STATES)[number]

const TAGS: Record<StudyState, TagType> = {
  receiving: 'primary',
  complete: 'info',
  unassigned: 'warning',
  ready: 'info',
  sending: 'primary',
  delivered: 'success',
  reported: 'success',
  failed: 'danger',
  held: 'warning',
}

/** Per-destination send states (send_queue.state). */
const SEND_TAGS: Record<string, TagType> = {
  queued: 'info',
  sending: 'primary',
  delivered: 'success',
  failed: 'danger',
  held: 'warning',
}

export interface Chip {
  /** i18n key, or null when the state is unknown (show `raw`). */
  key: string | null
  raw: string
  type: TagType
}

export function isStudyState(s: string): s is StudyState {
  return (STUDY_STATES as readonly string[]).includes(s)
}

export function stateChip(state: string): Chip {
  if (isStudyState(state)) return { key: `state.${state}`, raw: state, type: TAGS[state] }
  return { key: null, raw: state, type: 'info' }
}

export function sendChip(state: string): Chip {
  const type = SEND_TAGS[state]
  if (type) return { key: `send.${state}`, raw: state, type }
  return { key: null, raw: state, type: 'info' }
}

/** States a person must act on: shown first and in red/orange on Today. */
export function needsAttention(state: string): boolean {
  return state === 'failed' || state === 'unassigned' || state === 'held'
}

/**
 * Why a study waits on the list of studies to place: linked to an order but held because the
 * device's patient differs ("check patient", fixed on the study page), or matched to no order
 * (fixed by assigning it).
 */
export function unassignedReason(study: { order_ref?: number | null }): 'checkPatient' | 'noOrder' {
  return study.order_ref === null || study.order_ref === undefined ? 'noOrder' : 'checkPatient'
}

/** Which actions make sense in a state (the engine checks again; this only hides buttons). */
export function studyActions(state: string): Array<'retry' | 'hold' | 'release'> {
  const out: Array<'retry' | 'hold' | 'release'> = []
  if (state === 'failed') out.push('retry')
  if (state === 'held') out.push('release')
  // An unassigned study (no order, or its patient to be checked) has no send to pause yet.
  else if (!['delivered', 'reported', 'unassigned'].includes(state)) out.push('hold')
  return out
}

/**
 * What a person may do with one send queue row (a study to one destination), by its send state:
 * pause what is still to go, resume what is paused, send again what failed. The engine acts on
 * the whole study and checks again; this only hides buttons.
 */
export function sendActions(state: string): Array<'retry' | 'hold' | 'release'> {
  if (state === 'failed') return ['retry', 'hold']
  if (state === 'held') return ['release']
  if (state === 'queued' || state === 'sending') return ['hold']
  return []
}
