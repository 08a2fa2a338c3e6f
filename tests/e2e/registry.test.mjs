// The clinic's registry and reports in a real browser against a real station and hub: a
// technician registers a patient and orders, the device's study lands under the registered
// name, a study that matched nothing is assigned through the dialog, the hub's report is read
// and acknowledged by a doctor, and the manager's dashboard shows the study still unreported.
// One station for the file, tests in order like a clinic's morning.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage, urlsWithToken } from './browser.mjs'
import { finalSr, restudy } from './documents.mjs'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')
const NAME = '李秀英'
// GB 11643: born 1949-12-31, a woman (17th digit even), check character X.
const ID_CARD = '11010519491231002X'

let station, browser, users, hub, hubDir, day, tech
// What the tests learn as they go.
const clinic = { patientId: '', dxAccession: '', ecgAccession: '', dxStudy: '', ecgStudy: '' }

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir)
  station = await Station.start({
    destinations: [{ name: 'radiology', url: hub.dicomweb, modalities: [] }],
    holdUnmatched: true,
    // Reports are looked for every second, and a study is overdue a minute after it was sent.
    extraToml: [
      '[reports]',
      'urgent_poll_secs = 1',
      'recent_poll_secs = 1',
      'idle_poll_secs = 1',
      '[[reports.targets]]',
      'modality = "*"',
      'priority = "*"',
      'minutes = 1',
    ].join('\n'),
  })
  users = await station.createRoleUsers()
  browser = await launch()
  day = station.demoDay()
  mkdirSync(SHOTS, { recursive: true })
})

after(() => closeAll({ page: tech, browser, station, hub, hubDir }))

async function shot(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {})
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
}

const accessionOf = async (page) => {
  const done = await page.locator('[data-test="register-done"]').innerText({ timeout: 20_000 })
  const m = /检查号\s*([^\s。，]+)/.exec(done)
  assert.ok(m, `an accession number in: ${done}`)
  return m[1]
}

async function techToken() {
  return station.login(users.technician.username, users.technician.password)
}

describe('registry, assignment and reports in the browser', () => {
  it('a technician registers a patient with an order; the ID card fills birth date and sex', async () => {
    tech = await loginPage(browser, station, users.technician)
    await tech.locator('[data-nav="register"]').click()
    await tech.locator('input[name="patient-name"]').fill(NAME)
    // One digit off: flagged while typing, before anything is sent.
    await tech.locator('input[name="id-card"]').fill('110105194912310021')
    await tech.locator('.el-form-item__error', { hasText: '校验位' }).waitFor({ timeout: 10_000 })
    await tech.locator('input[name="id-card"]').fill(ID_CARD)
    await waitFor('the birth date from the card', 10_000, async () => (await tech.locator('.el-date-editor input').inputValue()).includes('1949'))
    assert.equal(await tech.locator('.el-radio-button.is-active', { hasText: '女' }).count(), 1, 'sex F from the card')
    await tech.locator('input[name="phone"]').fill('13800138000')
    await tech.locator('input[name="procedure"]').fill('胸部正位')
    await tech.locator('input[name="body-part"]').fill('胸部')
    await tech.locator('input[name="referring"]').fill('王医生')
    await shot(tech, 'register')
    await tech.locator('[data-test="register-submit"]').click()
    clinic.dxAccession = await accessionOf(tech)

    // The engine holds what the form sent.
    const { json } = await station.call('patient_search', { query: NAME }, await techToken())
    assert.equal(json.items.length, 1)
    assert.equal(json.items[0].birth_date, '19491231')
    assert.equal(json.items[0].sex, 'F')
    clinic.patientId = json.items[0].clinic_id

    // Found again by pinyin initials; an ECG order for the same patient, not a second patient.
    await tech.locator('input[data-test="patient-search"]').fill('lxy')
    await tech.locator('input[data-test="patient-search"]').press('Enter')
    await tech.locator('[data-test="patients-found"] tr', { hasText: NAME }).click({ timeout: 15_000 })
    await tech.locator('[data-test="patient-chosen"]', { hasText: NAME }).waitFor({ timeout: 10_000 })
    // The modalities in the clinic's words; the two DR codes told apart by theirs.
    const choices = await tech.locator('[data-test="modality"] .el-radio-button').allInnerTexts()
    assert.deepEqual(choices.map((c) => c.trim()), ['DR (DX)', 'DR (CR)', '超声', '心电'])
    await tech.locator('[data-test="modality"] .el-radio-button', { hasText: '心电' }).click()
    await tech.locator('input[name="procedure"]').fill('十二导联心电图')
    await tech.locator('[data-test="register-submit"]').click()
    clinic.ecgAccession = await accessionOf(tech)
    const listed = await station.call('orders_list', {}, await techToken())
    const ecg = listed.json.items.find((o) => o.order.accession === clinic.ecgAccession)
    assert.equal(ecg?.order.modality, 'ECG', 'the worklist gets the exact code')
    assert.notEqual(clinic.ecgAccession, clinic.dxAccession)
    const again = await station.call('patient_search', { query: NAME }, await techToken())
    assert.equal(again.json.items.length, 1, 'no duplicate patient')

    await tech.locator('[data-nav="today"]').click()
    for (const acc of [clinic.dxAccession, clinic.ecgAccession]) {
      const row = tech.locator('[data-test="orders"] tr', { hasText: acc })
      await row.waitFor({ timeout: 15_000 })
      assert.match(await row.innerText(), new RegExp(`${NAME}[\\s\\S]*已预约`))
    }
  })

  it("the device's study with the order's accession shows under the registered name", async () => {
    // The technician typed the name differently at the device.
    const sent = restudy([join(day, 'P20260003', 'DX_PA.dcm'), join(day, 'P20260003', 'DX_LL.dcm')], join(station.dir, 'dx'), {
      accession: clinic.dxAccession,
      patientName: 'LI^XIUYING',
    })
    clinic.dxStudy = sent.studyUid
    station.storescu([join(station.dir, 'dx')])
    await tech.locator('[data-nav="studies"]').click()
    const row = tech.locator('.study-table tr', { hasText: clinic.patientId }).filter({ hasText: 'DR' })
    await row.waitFor({ timeout: 60_000 })
    assert.equal((await row.locator('[data-test="patient-name"]').innerText()).trim(), NAME)
    assert.match(await row.locator('[data-test="received-name"]').innerText(), /LI XIUYING/)
    await waitFor('the DX study delivered', 90_000, async () => (await row.locator('.state-chip').innerText()) === '已送达')
    assert.ok((await hub.studyUids()).includes(clinic.dxStudy))
  })

  it('a study that matched no order is assigned to the ECG order through the dialog', async () => {
    const sent = restudy([join(day, 'P20260005', 'ECG.dcm')], join(station.dir, 'ecg'), { accession: 'NO-SUCH-ORDER' })
    clinic.ecgStudy = sent.studyUid
    station.storescu([join(station.dir, 'ecg')])
    const held = tech.locator('[data-test="unassigned"] tr', { hasText: 'NO-SUCH-ORDER' })
    await held.waitFor({ timeout: 60_000 })
    assert.ok(!(await hub.studyUids()).includes(clinic.ecgStudy), 'held, not sent')
    assert.equal((await held.locator('[data-test="unassigned-reason"]').innerText()).trim(), '未关联申请')
    await held.locator('[data-test="assign-open"]').click()
    const dialog = tech.locator('[data-test="assign-dialog"]')
    await dialog.locator('[data-test="assign-order"]').click()
    await tech.locator('.el-select-dropdown__item', { hasText: clinic.ecgAccession }).click({ timeout: 15_000 })
    await dialog.locator('[data-test="assign-submit"]').click()
    // The ECG machine sent another patient's name: the dialog names the differences and asks.
    await dialog.locator('[data-test="assign-mismatch"]', { hasText: '姓名' }).waitFor({ timeout: 20_000 })
    await dialog.locator('[data-test="assign-confirm-mismatch"]').click()
    await tech.locator('[data-test="unassigned"]').waitFor({ state: 'detached', timeout: 20_000 })
    const row = tech.locator('.study-table tr', { hasText: clinic.patientId }).filter({ hasText: '心电' })
    await row.waitFor({ timeout: 20_000 })
    assert.equal((await row.locator('[data-test="patient-name"]').innerText()).trim(), NAME)
    await waitFor('the assigned study sent to the hub', 90_000, async () => (await hub.studyUids()).includes(clinic.ecgStudy))

    // Its page draws the twelve leads on ECG paper.
    await row.click()
    const ecg = tech.locator('[data-test="ecg"]')
    await ecg.waitFor({ timeout: 30_000 })
    assert.ok((await ecg.locator('path[stroke="#000"]').count()) >= 12, 'twelve traces and a rhythm strip')
    assert.ok((await ecg.locator('text').allTextContents()).includes('V6'), 'leads labelled')
    await shot(tech, 'study-ecg')
    // A DX study's page shows its series previews, fetched with the session cookie.
    await tech.locator('[data-nav="studies"]').click()
    await tech.locator('.study-table tr', { hasText: clinic.patientId }).filter({ hasText: 'DR' }).click()
    const thumb = tech.locator('img.thumb').first()
    await thumb.waitFor({ timeout: 20_000 })
    await waitFor('a preview drawn', 20_000, () => thumb.evaluate((img) => img.complete && img.naturalWidth > 0))
    await shot(tech, 'study-previews')
  })

  it("the hub's report is shown to a doctor, who acknowledges it", async () => {
    const sr = finalSr(join(station.dir, 'report.dcm'), {
      studyUid: clinic.dxStudy,
      patientId: clinic.patientId,
      patientName: '李^秀英',
      findings: '双肺纹理清晰，心影不大。',
      conclusion: '心肺未见明显异常。',
      doctor: '孙^主任',
    })
    await hub.store(sr)
    const doctor = await loginPage(browser, station, users.doctor)
    try {
      const row = doctor.locator('[data-test="reports"] tr', { hasText: NAME })
      await row.waitFor({ timeout: 60_000 })
      assert.match(await row.innerText(), /正式报告/)
      await row.click()
      const text = doctor.locator('[data-test="report-text"]')
      await text.waitFor({ timeout: 20_000 })
      assert.match(await text.innerText(), /双肺纹理清晰，心影不大。/)
      assert.match(await text.innerText(), /心肺未见明显异常。/)
      const meta = await doctor.locator('[data-test="report-meta"]').innerText()
      assert.match(meta, /2026-11-30 09:00/, `the signing time as people write it: ${meta}`)
      assert.doesNotMatch(meta, /20261130090000/, 'never the raw DICOM date-time')
      await shot(doctor, 'reports')
      await doctor.locator('[data-test="ack"]').click()
      await doctor.locator('[data-test="ack"]').waitFor({ state: 'detached', timeout: 20_000 })
      const token = await station.login(users.doctor.username, users.doctor.password)
      const { json } = await station.call('reports_list', { unread_only: true }, token)
      assert.equal(json.unread, 0, 'nothing left unread for the doctor')
    } finally {
      await doctor.context().close()
    }
    // A technician reads reports' studies but may not acknowledge: no button.
    const { json } = await station.call('me', {}, await techToken())
    assert.ok(!json.allowed_ops.includes('report_ack'), 'technicians do not acknowledge')
  })

  it('the dashboard lists the ECG study as overdue, and not the reported one', async () => {
    const manager = await loginPage(browser, station, users.manager)
    try {
      const overdue = manager.locator('[data-test="overdue"] tr', { hasText: clinic.ecgAccession })
      // The target is one minute after sending.
      await waitFor('the ECG study overdue', 150_000, async () => {
        if ((await overdue.count()) > 0) return true
        await manager.locator('[data-test="period"] .el-radio-button', { hasText: '30' }).click()
        return false
      })
      assert.match(await overdue.innerText(), new RegExp(NAME))
      assert.equal(await manager.locator('[data-test="overdue"] tr', { hasText: clinic.dxAccession }).count(), 0)
      assert.match(await manager.locator('[data-test="turnaround"]').innerText(), /DX/)
      await overdue.scrollIntoViewIfNeeded()
      await shot(manager, 'dashboard-turnaround')
    } finally {
      await manager.context().close()
    }
  })

  it('no URL the browser opened carries the session token', () => {
    const { urls, tokens, bad } = urlsWithToken()
    assert.ok(tokens.length > 0, 'logins seen')
    for (const kind of [/\/api\/preview\/.+\.png/, /\/api\/events/]) assert.ok(urls.some((u) => kind.test(u)), `a request for ${kind} was made`)
    assert.deepEqual(bad, [])
  })
})
