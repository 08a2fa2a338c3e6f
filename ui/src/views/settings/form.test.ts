import { describe, expect, it } from 'vitest'
import { reactive } from 'vue'
import {
  HIDDEN,
  checkAeTitle,
  checkDraft,
  checkTarget,
  checkWatch,
  credentialsInClear,
  fieldPlace,
  fromDraft,
  toDraft,
  toForm,
  toUpdate,
  type Destination,
} from './form'

const hub: Destination = {
  name: 'hub',
  url: 'http://hub:8042/dicom-web',
  username: 'clinic01',
  password: HIDDEN,
  timeout_secs: 300,
  batch_mb: 8,
  rate_windows: [{ from: '08:00', to: '18:00', kbit: 1000 }],
  modalities: ['DX'],
}

describe('settings form', () => {
  it('round-trips the shown configuration into the update, keeping what the forms do not show', () => {
    const form = toForm({
      dicom: { ae_title: 'STATION', allowed_callers: ['DR1', 'PACS1'], worklist_callers: ['DR1'], query_callers: ['PACS1'] },
      studies: { quiet_period_secs: 60, hold_unmatched: true, hold_on_mismatch: false, send_while_receiving: false },
      destinations: [hub],
      reports: { targets: [{ modality: '*', priority: 'urgent', minutes: 30 }] },
      registration: { procedures: { DX: ['胸部正位', '腰椎正侧位'], MR: ['头颅平扫'] } },
    })
    // Every usual modality is offered for editing, and any other the station has.
    expect(form.procedures).toEqual({ DX: '胸部正位\n腰椎正侧位', CR: '', US: '', ECG: '', MR: '头颅平扫' })
    form.procedures.US = '腹部超声\n\n甲状腺超声'
    const update = toUpdate(form)
    expect(update).toEqual({
      allowed_callers: ['DR1', 'PACS1'],
      worklist_callers: ['DR1'],
      query_callers: ['PACS1'],
      quiet_period_secs: 60,
      hold_unmatched: true,
      hold_on_mismatch: false,
      send_while_receiving: false,
      destinations: [hub],
      watch: [],
      targets: [{ modality: '*', priority: 'urgent', minutes: 30 }],
      procedures: { DX: ['胸部正位', '腰椎正侧位'], CR: [''], US: ['腹部超声', '', '甲状腺超声'], ECG: [''], MR: ['头颅平扫'] },
    })
    form.destinations[0].url = 'changed'
    expect(hub.url).toBe('http://hub:8042/dicom-web')
    // The page keeps the shown configuration in a ref: its reactive proxy copies too.
    expect(toForm(reactive({ destinations: [hub] })).destinations).toEqual([hub])
  })

  it('the transfer syntax defaults to JPEG-LS, as the engine does, and goes back as chosen', () => {
    const draft = toDraft(hub)
    expect(draft.transferSyntax).toBe('jpeg-ls-lossless')
    draft.transferSyntax = 'as-received'
    expect(fromDraft(draft).transfer_syntax).toBe('as-received')
    expect(toDraft(fromDraft(draft)).transferSyntax).toBe('as-received')
  })

  it('a compression setting the dialog does not show is carried through', () => {
    const draft = toDraft({ ...hub, compression: 'always' } as Destination)
    expect(fromDraft(draft).compression).toBe('always')
  })

  it('an untouched secret goes back as *** and a typed one as typed', () => {
    const draft = toDraft(hub)
    expect(draft.auth).toBe('basic')
    expect(draft.password).toBe('')
    expect(fromDraft(draft).password).toBe(HIDDEN)
    draft.password = 'new-secret'
    draft.url = ' http://hub2:8042/dicom-web '
    const d = fromDraft(draft)
    expect(d.password).toBe('new-secret')
    expect(d.url).toBe('http://hub2:8042/dicom-web')
    expect(d.rate_windows).toEqual(hub.rate_windows)
    expect(d.timeout_secs).toBe(300)
  })

  it('warns of credentials sent in clear to another computer, and carries the leave', () => {
    const draft = toDraft(hub)
    expect(credentialsInClear(draft)).toBe(true)
    expect(fromDraft(draft).allow_insecure).toBe(false)
    draft.allowInsecure = true
    expect(fromDraft(draft).allow_insecure).toBe(true)
    for (const url of ['https://hub:8042/dicom-web', 'http://127.0.0.1:8042/dicom-web', 'http://localhost/x', 'http://[::1]:80/x'])
      expect(credentialsInClear({ ...draft, url }), url).toBe(false)
    expect(credentialsInClear({ ...draft, url: 'http://127.0.0.1.evil.example/x' })).toBe(true)
    expect(credentialsInClear({ ...draft, auth: 'none' })).toBe(false)
    expect(credentialsInClear({ ...draft, url: 'https://hub/x', auth: 'oauth2', tokenUrl: 'http://auth.example/token' })).toBe(true)
  })

  it('keeps a display name, trimmed, and sends none for an empty one', () => {
    const draft = toDraft({ ...hub, display_name: '市医院影像中心' })
    expect(draft.displayName).toBe('市医院影像中心')
    draft.displayName = '  县医院影像科 '
    expect(fromDraft(draft).display_name).toBe('县医院影像科')
    draft.displayName = '   '
    expect(fromDraft(draft).display_name).toBeNull()
  })

  it('changing the authentication drops the other kinds and asks for the new secret', () => {
    const draft = toDraft(hub)
    draft.auth = 'bearer'
    expect(checkDraft(draft, [])).toEqual([['bearerToken', 'validation.required']])
    draft.bearerToken = 'tok'
    const d = fromDraft(draft)
    expect([d.username, d.password, d.bearer_token, d.oauth2]).toEqual([null, null, 'tok', null])
    draft.auth = 'none'
    expect(authless(fromDraft(draft))).toBe(true)
  })

  it('checks names, URLs and parallel requests before sending', () => {
    const draft = toDraft()
    draft.name = 'hub'
    draft.url = 'hub.example/dicom-web'
    draft.parallelRequests = 0
    expect(checkDraft(draft, ['hub']).map(([f]) => f)).toEqual(['name', 'url', 'parallelRequests'])
    draft.name = 'ecg'
    draft.url = 'https://ecg.example/dicom-web'
    draft.parallelRequests = 4
    expect(checkDraft(draft, ['hub'])).toEqual([])
    expect(fromDraft(draft).modalities).toEqual([])
  })

  it('checks AE titles, targets and watched folders as the engine does', () => {
    expect(checkAeTitle('US2')).toBeNull()
    expect(checkAeTitle(' ')).toBe('validation.required')
    expect(checkAeTitle('THIS_AE_TITLE_IS_TOO_LONG')).toBe('settingsEdit.aeTitle')
    expect(checkAeTitle('超声')).toBe('settingsEdit.aeTitle')
    expect(checkAeTitle('DR1', ['DR1'])).toBe('settingsEdit.aeTaken')
    expect(checkTarget({ modality: 'ECG', priority: '*', minutes: 15 })).toBeNull()
    expect(checkTarget({ modality: 'ECG', priority: 'soon', minutes: 15 })).toBe('settingsEdit.priorityBad')
    expect(checkTarget({ modality: 'ECG', priority: 'urgent', minutes: 0 })).toBe('settingsEdit.minutesBad')
    expect(checkWatch({ path: '' })).toBe('validation.required')
    expect(checkWatch({ path: '/srv/ecg', device: { modality: 'ECG', writes: [] } })).toBe('settingsEdit.writesNone')
  })

  it('reads the engine field of an error as a place on the page', () => {
    expect(fieldPlace('destinations[2].url')).toEqual({ section: 'destinations', index: 2, key: 'url' })
    expect(fieldPlace('destinations[0].oauth2.client_secret')).toEqual({
      section: 'destinations',
      index: 0,
      key: 'oauth2.client_secret',
    })
    expect(fieldPlace('quiet_period_secs')).toEqual({ section: 'quiet_period_secs', index: null, key: '' })
    expect(fieldPlace(undefined)).toBeNull()
  })
})

function authless(d: Destination) {
  return !d.username && !d.password && !d.bearer_token && !d.oauth2
}
