// A technician's second thoughts, in a real browser against a real station and hub: an order
// cancelled on the Today screen leaves the devices' worklist (asked with DCMTK's findscu), and
// a patient's name corrected after the study was delivered is sent again, so the hub ends up
// holding the corrected name. The dialog says so before saving.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'
import { restudy } from './documents.mjs'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')
const TYPO = '张玮'
const NAME = '张伟'

let station, browser, users, hub, hubDir, tech, token
const clinic = { patientId: '', dxAccession: '', usAccession: '' }
let queries = 0

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir, { overwrite: true })
  station = await Station.start({ destinations: [{ name: 'radiology', url: hub.dicomweb, modalities: [] }], worklistCallers: ['DR1'] })
  users = await station.createRoleUsers()
  browser = await launch()
  mkdirSync(SHOTS, { recursive: true })
  // Registered at the desk with a typo in the name, a DX and an ultrasound ordered.
  token = await station.login(users.technician.username, users.technician.password)
  const call = async (op, body) => {
    const { status, json } = await station.call(op, body, token)
    assert.equal(status, 200, `${op}: ${JSON.stringify(json)}`)
    return json
  }
  const patient = await call('patient_add', { name: TYPO, sex: 'M', birth_date: '19800101', phone: '13900139000' })
  clinic.patientId = patient.clinic_id
  clinic.dxAccession = (await call('order_add', { patient: patient.clinic_id, modality: 'DX', procedure: '胸部正位' })).accession
  clinic.usAccession = (await call('order_add', { patient: patient.clinic_id, modality: 'US', procedure: '腹部超声' })).accession
  tech = await loginPage(browser, station, users.technician)
})

after(() => closeAll({ page: tech, browser, station, hub, hubDir }))

/** Accession numbers the station's worklist offers a device, asked as a DR asks (findscu -W). */
function worklist() {
  const dir = join(station.dir, `mwl-${++queries}`)
  mkdirSync(dir)
  const keys = ['AccessionNumber', 'PatientName', '(0040,0100)[0].Modality', '(0040,0100)[0].ScheduledProcedureStepStartDate']
  execFileSync('/usr/bin/findscu', ['-W', '-X', '-od', dir, '-aet', 'DR1', '-aec', 'STATION', ...keys.flatMap((k) => ['-k', k]), '127.0.0.1', String(station.dicomPort)], {
    timeout: 60_000,
  })
  return readdirSync(dir).map((f) => {
    const dump = execFileSync('/usr/bin/dcmdump', ['+P', '0008,0050', join(dir, f)], { encoding: 'utf8', timeout: 30_000 })
    return /\[([^\]]*)\]/.exec(dump)?.[1] ?? ''
  })
}

const hubNames = async () => (await hub.instanceTags()).map((t) => String(t.PatientName ?? '').replaceAll('^', ''))

describe('cancelling an order and correcting a patient in the browser', () => {
  it("a technician cancels an order on Today; the devices' worklist no longer offers it", async () => {
    const before = worklist()
    assert.ok(before.includes(clinic.usAccession) && before.includes(clinic.dxAccession), `both orders on the worklist: ${before}`)

    await tech.locator('[data-nav="today"]').click()
    const row = tech.locator('[data-test="orders"] tr', { hasText: clinic.usAccession })
    await row.waitFor({ timeout: 20_000 })
    await row.locator('[data-test="order-cancel"]').click()
    const box = tech.locator('.el-message-box')
    await box.waitFor({ timeout: 10_000 })
    assert.match(await box.innerText(), new RegExp(`${TYPO}[\\s\\S]*${clinic.usAccession}`))
    await box.locator('button', { hasText: '确认取消' }).click()
    await waitFor('the order shown cancelled', 20_000, async () => (await row.locator('[data-test="order-state"]').innerText()) === '已取消')
    assert.equal(await row.locator('[data-test="order-cancel"]').count(), 0, 'a cancelled order cannot be cancelled again')
    // The other order is untouched and can still be cancelled.
    const dx = tech.locator('[data-test="orders"] tr', { hasText: clinic.dxAccession })
    assert.equal(await dx.locator('[data-test="order-state"]').innerText(), '已预约')

    const after = worklist()
    assert.ok(!after.includes(clinic.usAccession), `the cancelled order left the worklist: ${after}`)
    assert.ok(after.includes(clinic.dxAccession), 'the other order stays')
  })

  it('the name corrected after delivery is sent again and the hub holds the corrected name', async () => {
    const day = station.demoDay()
    const sent = restudy([join(day, 'P20260001', 'DX_PA.dcm'), join(day, 'P20260001', 'DX_LL.dcm')], join(station.dir, 'dx'), {
      accession: clinic.dxAccession,
      patientName: 'ZHANG^WEI',
    })
    station.storescu([join(station.dir, 'dx')])
    await waitFor('the study at the hub under the registered name', 120_000, async () => {
      const names = await hubNames()
      return names.length === 2 && names.every((n) => n === TYPO)
    })

    await tech.locator('[data-nav="studies"]').click()
    const row = tech.locator('.study-table tr', { hasText: clinic.patientId })
    await waitFor('the study delivered', 60_000, async () => (await row.locator('.state-chip').innerText()) === '已送达')
    await row.click()
    await tech.locator('[data-test="patient-edit"]').click()
    const dialog = tech.locator('[data-test="patient-edit-dialog"]')
    const warning = dialog.locator('[data-test="patient-edit-resend"]')
    await warning.waitFor({ timeout: 20_000 })
    assert.match(await warning.innerText(), /1 个检查已发送到诊断中心/)
    const name = dialog.locator('input[name="edit-name"]')
    assert.equal(await name.inputValue(), TYPO)
    await name.fill(NAME)
    await tech.screenshot({ path: join(SHOTS, 'patient-correct.png') })
    await dialog.locator('[data-test="patient-edit-save"]', { hasText: '保存并重新发送' }).click()
    await tech.locator('.el-message--success', { hasText: '1 个检查将以更正后的信息重新发送' }).waitFor({ timeout: 20_000 })
    await tech.locator('[data-test="study-patient"]', { hasText: NAME }).waitFor({ timeout: 20_000 })

    await waitFor('the corrected name at the hub', 120_000, async () => {
      const names = await hubNames()
      return names.length === 2 && names.every((n) => n === NAME)
    })
    // The same instances, replaced: no second copy of the study at the hub.
    const uids = (await hub.instanceTags()).map((t) => t.StudyInstanceUID)
    assert.deepEqual(uids, [sent.studyUid, sent.studyUid])
  })
})
