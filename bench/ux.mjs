#!/usr/bin/env node
// Clicks, key presses and seconds for three clinic tasks (issue 17, "Measure"), scripted in
// Debian's Chromium as a person would do them, against the station binary STATION_BIN (its UI
// is the one embedded at build time):
//   a. register a new patient from an ID card (a reader types the number and Enter) and order
//      a chest DR (胸部正位), from the technician's home screen to "registered";
//   b. find and acknowledge the new reports (two, come back from the hub), from the doctor's
//      home screen to none unread;
//   c. assign a study that matched no order to its patient's order, from the technician's
//      home screen to the study gone from the unassigned box.
// Counted: every click and every key press a user makes. The card reader's keystrokes are the
// reader's, counted as one swipe; Chinese text is counted as its pinyin keys plus one to pick
// the characters (张伟: "zhangwei" + space = 9). "Scripted s" is the wall time of the scripted
// steps: what the UI and the engine make a person wait plus Playwright's own steps, text put in
// at once and no thinking time. "Person s" adds a person's clicks and keys at the
// keystroke-level model's times (below), an estimate, not a stopwatch.
// Older UIs (before the registration work) need other steps: the script looks at what the page
// offers and takes the shortest path a person would there, counting it the same way.
// Usage: STATION_BIN=target/debug/station node bench/ux.mjs [label] [rounds=3]
//   (needs tests/e2e's npm packages, Orthanc with its DICOMweb plugin, DCMTK, /usr/bin/chromium)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Orthanc, Station, waitFor } from '../tests/e2e/station.mjs'
import { launch, loginPage } from '../tests/e2e/browser.mjs'
import { finalSr, restudy } from '../tests/e2e/documents.mjs'

const label = process.argv[2] ?? 'station'
const rounds = Number(process.argv[3] ?? 3)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** A valid GB 11643 ID card number for a woman born in 1961, the `n`th of the run. */
function idCard(n) {
  const body = `1101051961${String(3 + (n % 9)).padStart(2, '0')}${String(10 + n).padStart(2, '0')}02${(2 * n) % 10}`.slice(0, 17)
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = [...body].reduce((s, d, i) => s + Number(d) * weights[i], 0)
  return body + '10X98765432'[sum % 11]
}

/** What a person does, counted: clicks, key presses, card swipes. */
function counter(page) {
  const c = { clicks: 0, keys: 0, swipes: 0 }
  return {
    c,
    click: async (locator) => {
      c.clicks += 1
      await locator.click({ timeout: 20_000 })
    },
    press: async (key) => {
      c.keys += 1
      await page.keyboard.press(key)
    },
    /** Chinese text typed with a pinyin input method: its pinyin keys and one to pick. */
    chinese: async (text, pinyin) => {
      c.keys += pinyin.length + 1
      await page.keyboard.insertText(text)
    },
    /** The card reader types the number and Enter where the focus is. */
    swipe: async (number) => {
      c.swipes += 1
      await page.keyboard.type(number, { delay: 5 })
      await page.keyboard.press('Enter')
    },
  }
}

async function registerTask(page, card) {
  const u = counter(page)
  const t0 = performance.now()
  await u.click(page.locator('[data-nav="register"]'))
  await page.locator('input[data-test="patient-search"]').waitFor({ timeout: 20_000 })
  const searchFocused = await page.evaluate(() => document.activeElement?.getAttribute('data-test') === 'patient-search')
  if (searchFocused) {
    // The reader's Enter looks the card up and, nobody having it, starts the patient with it.
    await u.swipe(card)
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'patient-name', null, { timeout: 10_000 })
  } else {
    // The card goes into the ID card field (which fills birth date and sex); the name first
    // would let the reader's Enter submit the form without the exam.
    await u.click(page.locator('input[name="id-card"]'))
    await u.swipe(card)
    await u.click(page.locator('input[name="patient-name"]'))
  }
  await u.chinese('张伟', 'zhangwei')
  const common = page.locator('[data-test="procedure"]')
  await u.click(page.locator('input[name="procedure"]'))
  if ((await common.count()) > 0) {
    // The common DR items open on focus: one click picks 胸部正位.
    await u.click(page.locator('.el-autocomplete-suggestion li').filter({ hasText: /^\s*胸部正位\s*$/ }))
  } else {
    await u.chinese('胸部正位', 'xiongbuzhengwei')
  }
  await u.click(page.locator('[data-test="register-submit"]'))
  await page.locator('[data-test="register-done"]').waitFor({ timeout: 20_000 })
  return { ...u.c, ms: performance.now() - t0 }
}

async function reportsTask(page, expected) {
  const u = counter(page)
  const t0 = performance.now()
  const table = page.locator('[data-test="reports"]')
  if (!(await table.isVisible())) await u.click(page.locator('[data-nav="reports"]'))
  const unread = page.locator('[data-test="reports"] tbody tr')
  await unread.first().waitFor({ timeout: 20_000 })
  for (let i = 0; i < expected; i += 1) {
    await u.click(unread.first())
    const ack = page.locator('[data-test="ack"]')
    await u.click(ack)
    await ack.waitFor({ state: 'detached', timeout: 20_000 })
    await u.press('Escape')
    await page.locator('.el-drawer').waitFor({ state: 'hidden', timeout: 20_000 })
    // The unread tab counts down as each is acknowledged.
    await page.locator('.el-tabs__item', { hasText: `(${expected - i - 1})` }).waitFor({ timeout: 20_000 })
  }
  return { ...u.c, ms: performance.now() - t0 }
}

async function assignTask(page, name, accession) {
  const u = counter(page)
  const t0 = performance.now()
  await u.click(page.locator('[data-nav="studies"]'))
  const row = page.locator('[data-test="unassigned"] tr', { hasText: name })
  await row.waitFor({ timeout: 20_000 })
  await u.click(row.locator('[data-test="assign-open"]'))
  const dialog = page.locator('[data-test="assign-dialog"]')
  await u.click(dialog.locator('[data-test="assign-order"]'))
  await u.click(page.locator('.el-select-dropdown__item', { hasText: accession }))
  await u.click(dialog.locator('[data-test="assign-submit"]'))
  await row.waitFor({ state: 'detached', timeout: 20_000 })
  return { ...u.c, ms: performance.now() - t0 }
}

const hubDir = mkdtempSync(join(tmpdir(), 'bench-ux-hub-'))
const hub = await Orthanc.start(hubDir)
const station = await Station.start({
  destinations: [{ name: 'radiology', url: hub.dicomweb, modalities: [] }],
  holdUnmatched: true,
  extraToml: ['[reports]', 'urgent_poll_secs = 1', 'recent_poll_secs = 1', 'idle_poll_secs = 1'].join('\n'),
})
const browser = await launch()
const results = { a: [], b: [], c: [] }
try {
  const users = await station.createRoleUsers()
  const tech = await station.login(users.technician.username, users.technician.password)
  const doctor = await station.login(users.doctor.username, users.doctor.password)
  const call = async (op, body, token = tech) => {
    const { status, json } = await station.call(op, body, token)
    if (status !== 200) throw new Error(`${op}: HTTP ${status} ${JSON.stringify(json)}`)
    return json
  }
  const day = station.demoDay()
  const dx = join(day, 'P20260001', 'DX_PA.dcm')
  for (let r = 0; r < rounds; r += 1) {
    // b's two reports: two registered patients' studies delivered, the hub's SR for each.
    for (const k of [0, 1]) {
      const p = await call('patient_add', { name: `刘^${'一二三四五六七八'[r * 2 + k] ?? r}明`, sex: 'M', birth_date: '19700101' })
      const o = await call('order_add', { patient: p.clinic_id, modality: 'DX', procedure: '胸部正位' })
      const sent = restudy([dx], join(station.dir, `b${r}${k}`), { accession: o.accession, patientName: p.name, patientId: p.clinic_id })
      station.storescu([join(station.dir, `b${r}${k}`)])
      await waitFor('the study at the hub', 120_000, async () => (await hub.studyUids()).includes(sent.studyUid))
      await hub.store(finalSr(join(station.dir, `sr${r}${k}.dcm`), { studyUid: sent.studyUid, patientId: p.clinic_id, patientName: p.name, findings: '双肺纹理清晰。', conclusion: '心肺未见异常。', doctor: '孙^主任' }))
    }
    await waitFor('two unread reports', 120_000, async () => (await call('reports_list', { unread_only: true }, doctor)).unread >= 2)
    // c's study: its patient has an order; the device sent it under a number nobody knows.
    const name = `赵^${'甲乙丙丁戊己庚辛'[r] ?? r}国`
    // Sex and birth date as the device sends them (the demo day's first patient), so the
    // assignment needs no mismatch confirmation.
    const p = await call('patient_add', { name, sex: 'M', birth_date: '19580312' })
    const o = await call('order_add', { patient: p.clinic_id, modality: 'DX', procedure: '胸部正位' })
    restudy([dx], join(station.dir, `c${r}`), { accession: `NO-ORDER-${r}`, patientName: name, patientId: p.clinic_id })
    station.storescu([join(station.dir, `c${r}`)])
    await waitFor('the study unassigned', 120_000, async () => (await call('studies_unassigned', {})).items.length > 0)

    const techPage = await loginPage(browser, station, users.technician)
    results.a.push(await registerTask(techPage, idCard(r)))
    // Registered as asked: the card's patient, one chest DR order.
    const made = (await call('patient_search', { query: idCard(r) })).items
    if (made.length !== 1 || made[0].name !== '张伟') throw new Error(`registered: ${JSON.stringify(made)}`)
    const ordered = (await call('orders_list', {})).items.filter((x) => x.patient.clinic_id === made[0].clinic_id)
    if (ordered.length !== 1 || ordered[0].order.procedure !== '胸部正位' || ordered[0].order.modality !== 'DX') throw new Error(`ordered: ${JSON.stringify(ordered)}`)
    await techPage.goto(`${station.url}/`)
    await techPage.locator('[data-test="user"]').waitFor({ timeout: 20_000 })
    results.c.push(await assignTask(techPage, name.replace('^', ''), o.accession))
    await techPage.context().close()
    const doctorPage = await loginPage(browser, station, users.doctor)
    results.b.push(await reportsTask(doctorPage, 2))
    await doctorPage.context().close()
  }
} finally {
  await browser.close()
  await station.stopAndClean()
  hub.stop()
  rmSync(hubDir, { recursive: true, force: true })
}

// A person's time, estimated by the keystroke-level model (Card, Moran and Newell): 1.2 s a
// click (point 1.1 s + press 0.1 s), 0.28 s a key (an average typist), plus the waiting
// measured; the reader's swipe takes the same in both and is left out.
const person = (x) => x.clicks * 1.2 + x.keys * 0.28 + x.ms / 1000
const tasks = { a: 'register from an ID card + chest DR order', b: 'find and acknowledge 2 new reports', c: 'assign an unassigned study' }
console.log(`${label} (${process.env.STATION_BIN ?? 'target/debug/station'}), ${rounds} rounds, medians`)
console.log('| task | clicks | keys | card swipes | scripted s | person s (estimate) |')
console.log('|---|---|---|---|---|---|')
for (const [k, rows] of Object.entries(results)) {
  const m = (f) => median(rows.map(f))
  console.log(`| ${k}. ${tasks[k]} | ${m((x) => x.clicks)} | ${m((x) => x.keys)} | ${m((x) => x.swipes)} | ${(m((x) => x.ms) / 1000).toFixed(2)} | ${m(person).toFixed(1)} |`)
}
