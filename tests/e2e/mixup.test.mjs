// The patient mix-up guard in a real browser against a real station (its default
// `hold_on_mismatch = true`) and hub: a study that carries an order's accession but another
// patient's name is held as "check patient", its page shows the device's and the registered
// identities side by side with the name marked, and confirming it sends it; a device that writes
// the registered patient as `Wang^Xiaoming=王^小明` is not held.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'
import { restudy } from './documents.mjs'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')

let station, browser, users, hub, hubDir, day, tech
const orders = { wrong: '', same: '' }

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir)
  station = await Station.start({ destinations: [{ name: 'radiology', url: hub.dicomweb, modalities: [] }], holdOnMismatch: true })
  users = await station.createRoleUsers()
  browser = await launch()
  day = station.demoDay()
  // The demo day's first patient, 王^小明 (M, born 1958-03-12), registered with two DX orders.
  const token = await station.login(users.technician.username, users.technician.password)
  const call = async (op, body) => {
    const { status, json } = await station.call(op, body, token)
    assert.equal(status, 200, `${op}: ${JSON.stringify(json)}`)
    return json
  }
  const patient = await call('patient_add', { name: '王^小明', sex: 'M', birth_date: '19580312' })
  orders.wrong = (await call('order_add', { patient: patient.clinic_id, modality: 'DX', procedure: '胸部正位' })).accession
  orders.same = (await call('order_add', { patient: patient.clinic_id, modality: 'DX', procedure: '胸部侧位' })).accession
  tech = await loginPage(browser, station, users.technician)
})

after(() => closeAll({ page: tech, browser, station, hub, hubDir }))

const dx = (dir, accession, patientName) =>
  restudy([join(day, 'P20260001', 'DX_PA.dcm'), join(day, 'P20260001', 'DX_LL.dcm')], join(station.dir, dir), { accession, patientName })

describe('patient mix-up guard in the browser', () => {
  it("a study under an order's accession with another patient's name is held, shown beside the registered patient, and sent once confirmed", async () => {
    const sent = dx('wrong', orders.wrong, 'LI^SI')
    station.storescu([join(station.dir, 'wrong')])
    await tech.goto(`${station.url}/#/studies/${sent.studyUid}`)
    const tag = tech.locator('[data-test="check-patient"]')
    await waitFor('the study held for checking', 60_000, async () => {
      if ((await tag.count()) > 0) return true
      await tech.reload()
      await tech.locator('[data-test="study-patient"]').waitFor({ timeout: 10_000 }).catch(() => {})
      return false
    })
    assert.equal((await tag.innerText()).trim(), '核对患者')
    const name = tech.locator('[data-test="identity-name"]')
    assert.equal(await name.getAttribute('data-differs'), 'true', 'the name is marked as differing')
    assert.match(await name.locator('[data-test="device"]').innerText(), /LI SI/)
    assert.equal((await name.locator('[data-test="registered"]').innerText()).trim(), '王小明')
    for (const field of ['sex', 'birth_date']) {
      const row = tech.locator(`[data-test="identity-${field}"]`)
      assert.equal(await row.getAttribute('data-differs'), 'false', `${field} agrees`)
    }
    assert.match(await tech.locator('[data-test="identity-birth_date"] [data-test="registered"]').innerText(), /1958/)
    assert.ok(!(await hub.studyUids()).includes(sent.studyUid), 'held, not sent')
    // Nothing is queued to pause while it waits: no 暂停发送.
    assert.equal(await tech.locator('[data-test="hold"]').count(), 0, 'no 暂停发送 on a study held to check its patient')
    await tech.locator('[data-test="patient-check"]').scrollIntoViewIfNeeded()
    await tech.screenshot({ path: join(SHOTS, 'study-check-patient.png') })

    // The studies page lists it among the studies to place, saying why; 核对患者 leads back.
    await tech.locator('[data-nav="studies"]').click()
    const listed = tech.locator('[data-test="unassigned"] tr', { hasText: 'LI SI' })
    await listed.waitFor({ timeout: 20_000 })
    assert.equal((await listed.locator('[data-test="unassigned-reason"]').innerText()).trim(), '待核对患者')
    assert.equal(await listed.locator('[data-test="assign-open"]').count(), 0, 'checked on its page, not assigned from the list')
    await listed.locator('[data-test="check-open"]').click()
    await tag.waitFor({ timeout: 20_000 })

    await tech.locator('[data-test="confirm-patient"]').click()
    await tag.waitFor({ state: 'detached', timeout: 20_000 })
    await waitFor('the confirmed study at the hub', 90_000, async () => (await hub.studyUids()).includes(sent.studyUid))
    const names = (await hub.instanceTags()).filter((t) => t.StudyInstanceUID === sent.studyUid).map((t) => t.PatientName)
    assert.deepEqual(names, ['王^小明', '王^小明'], 'sent as the registered patient')
  })

  it('a device writing the registered patient as Wang^Xiaoming=王^小明 is not held', async () => {
    const sent = dx('same', orders.same, 'Wang^Xiaoming=王^小明')
    station.storescu([join(station.dir, 'same')])
    await waitFor('the study at the hub', 90_000, async () => (await hub.studyUids()).includes(sent.studyUid))
    // From the list, so the study page is opened afresh for this study.
    await tech.locator('[data-nav="studies"]').click()
    await tech.locator('.study-table').waitFor({ timeout: 20_000 })
    await tech.goto(`${station.url}/#/studies/${sent.studyUid}`)
    await tech.locator('[data-test="study-patient"]').waitFor({ timeout: 20_000 })
    await tech.locator('.state-chip', { hasText: '已送达' }).first().waitFor({ timeout: 60_000 })
    assert.equal(await tech.locator('[data-test="check-patient"]').count(), 0, 'no check-patient flag')
    assert.equal(await tech.locator('[data-test="patient-check"]').count(), 0, 'nothing differs to show')
  })
})
