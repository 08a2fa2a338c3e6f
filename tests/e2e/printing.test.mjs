// What a doctor prints and reads in the browser: the hub stores a signed SR and its PDF
// rendering (wrapped by DCMTK's pdf2dcm) into a study the station sent; the doctor opens the
// report, the print view carries the clinic's header, the patient and the report text in
// Chinese, and the PDF frame shows the very PDF the hub made.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage, urlsWithToken } from './browser.mjs'
import { encapsulatedPdf, finalSr, restudy } from './documents.mjs'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')
const CLINIC = '青山镇卫生院'
const NAME = '王小明'
const FINDINGS = '右下肺野见斑片状模糊影，边缘不清。'
const CONCLUSION = '右下肺炎症可能，建议抗炎治疗后复查。'

let station, browser, users, hub, hubDir, pdfPath, studyUid

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir)
  station = await Station.start({
    destinations: [{ name: 'radiology', url: hub.dicomweb, modalities: [] }],
    extraToml: ['[reports]', `clinic_name = "${CLINIC}"`, 'urgent_poll_secs = 1', 'recent_poll_secs = 1', 'idle_poll_secs = 1'].join('\n'),
  })
  users = await station.createRoleUsers()
  browser = await launch()
  mkdirSync(SHOTS, { recursive: true })

  // The device's study, delivered to the hub.
  const day = station.demoDay()
  const sent = restudy([join(day, 'P20260001', 'DX_PA.dcm')], join(station.dir, 'dx'), { accession: 'PRN-001' })
  studyUid = sent.studyUid
  station.storescu([join(station.dir, 'dx')])
  await waitFor('the study delivered to the hub', 120_000, async () => (await hub.studyUids()).includes(studyUid))

  // The hub's doctor signs an SR, and the hub's reporting system renders it as a PDF (here:
  // Chromium prints an HTML report), wrapped into the same study with pdf2dcm.
  const render = await browser.newPage()
  await render.setContent(`<html lang="zh-CN"><body><h1>区域影像诊断中心 影像诊断报告</h1><p>姓名：${NAME}</p><p>${FINDINGS}</p><p>${CONCLUSION}</p></body></html>`)
  pdfPath = join(station.dir, 'report.pdf')
  await render.pdf({ path: pdfPath, format: 'A4' })
  await render.close()
  await hub.store(
    finalSr(join(station.dir, 'report-sr.dcm'), {
      studyUid,
      patientId: 'P20260001',
      patientName: '王^小明',
      findings: FINDINGS,
      conclusion: CONCLUSION,
      doctor: '孙^主任',
    }),
  )
  await hub.store(encapsulatedPdf(pdfPath, join(station.dir, 'report-pdf.dcm'), { from: sent.files[0], title: '影像诊断报告（PDF）' }))
})

after(() => closeAll({ browser, station, hub, hubDir }))

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex')

describe('printing and the PDF report in the browser', () => {
  it("a doctor prints the report: the clinic's header, the patient and the text in Chinese", async () => {
    const doctor = await loginPage(browser, station, users.doctor)
    try {
      // Both the SR and the PDF come back; the SR carries the text.
      const rows = doctor.locator('[data-test="reports"] tr', { hasText: NAME })
      await waitFor('both reports listed', 90_000, async () => (await rows.count()) >= 2)
      await rows.filter({ hasNotText: 'PDF' }).first().click()
      await doctor.locator('[data-test="report-text"]', { hasText: FINDINGS }).waitFor({ timeout: 20_000 })

      const [print] = await Promise.all([doctor.waitForEvent('popup', { timeout: 20_000 }), doctor.locator('[data-test="print"]').click()])
      await print.waitForLoadState('load')
      await print.emulateMedia({ media: 'print' })
      const text = await print.locator('body').innerText()
      assert.ok(text.includes(CLINIC), `the clinic's name on the printed page:\n${text}`)
      assert.ok(text.includes(NAME), 'the patient on the printed page')
      assert.ok(text.includes(FINDINGS) && text.includes(CONCLUSION), 'the report text on the printed page')
      assert.match(text, /正式报告/)
      assert.match(text, /孙主任|孙 主任|孙\^主任/)
      // It prints to paper as a PDF too (what Chromium's print dialog would make).
      const printed = await print.pdf({ format: 'A4' })
      assert.equal(printed.subarray(0, 5).toString('latin1'), '%PDF-')
      await print.screenshot({ path: join(SHOTS, 'report-print.png') })
      await print.close()
    } finally {
      await doctor.context().close()
    }
  })

  it('the PDF frame shows the PDF the hub made, byte for byte', async () => {
    const doctor = await loginPage(browser, station, users.doctor)
    try {
      const row = doctor.locator('[data-test="reports"] tr', { hasText: NAME }).filter({ hasText: 'PDF' })
      await row.waitFor({ timeout: 60_000 })
      const pdfResponse = doctor.waitForResponse((r) => /\/api\/report\/\d+\/pdf/.test(r.url()), { timeout: 30_000 })
      await row.click()
      const frame = doctor.locator('iframe.pdf')
      await frame.waitFor({ timeout: 20_000 })
      const response = await pdfResponse
      assert.equal(response.status(), 200)
      assert.match(response.headers()['content-type'] ?? '', /^application\/pdf/)
      // The bytes the frame was given, fetched again from its own address (with the session cookie).
      const src = await frame.getAttribute('src')
      const bytes = Buffer.from(
        await doctor.evaluate(async (url) => Array.from(new Uint8Array(await (await fetch(url)).arrayBuffer())), src),
      )
      assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-')
      assert.equal(sha(bytes), sha(readFileSync(pdfPath)), 'the PDF as the hub wrapped it')
      await doctor.waitForLoadState('networkidle').catch(() => {})
      await doctor.screenshot({ path: join(SHOTS, 'report-pdf.png') })
    } finally {
      await doctor.context().close()
    }
  })

  it('no URL the browser opened carries the session token', () => {
    const { urls, tokens, bad } = urlsWithToken()
    assert.ok(tokens.length > 0, 'logins seen')
    for (const kind of [/\/api\/report\/\d+\/print/, /\/api\/report\/\d+\/pdf/]) assert.ok(urls.some((u) => kind.test(u)), `a request for ${kind} was made`)
    assert.deepEqual(bad, [])
  })
})
