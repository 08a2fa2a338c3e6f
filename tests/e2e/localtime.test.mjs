// The clinic's local time in the browser: a clinic PC at 01:30 in Asia/Shanghai is at 17:30 UTC
// the day before. Today's orders must still be today's there: the assign dialog offers the order
// registered today, and ages are the patient's today. The station runs in Asia/Shanghai too
// (`TZ`), so its "today" is the clinic's; the page's clock is set to 01:30 of that day.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Station } from './station.mjs'
import { launch, loginPage } from './browser.mjs'
import { restudy } from './documents.mjs'

const ZONE = 'Asia/Shanghai'
let station, browser, users, tech, accession

/** Today's date in Shanghai, "YYYY-MM-DD", as the station sees it. */
function shanghaiToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date())
}

before(async () => {
  station = await Station.start({ holdUnmatched: true, env: { TZ: ZONE } })
  users = await station.createRoleUsers()
  browser = await launch()
  const token = await station.login(users.technician.username, users.technician.password)
  const call = async (op, body) => {
    const { status, json } = await station.call(op, body, token)
    assert.equal(status, 200, `${op}: ${JSON.stringify(json)}`)
    return json
  }
  const patient = await call('patient_add', { name: '赵^桂兰', sex: 'F', birth_date: '19580312' })
  accession = (await call('order_add', { patient: patient.clinic_id, modality: 'DX', procedure: '胸部正位' })).accession
  const order = (await call('orders_list', {})).items.find((o) => o.order.accession === accession)
  assert.equal(order?.order.scheduled_date.replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3'), shanghaiToday(), "the order is the station's today")
  const day = station.demoDay()
  restudy([join(day, 'P20260003', 'DX_PA.dcm')], join(station.dir, 'night'), { accession: 'NOT-AN-ORDER' })
  station.storescu([join(station.dir, 'night')])
  const at = new Date(`${shanghaiToday()}T01:30:00+08:00`)
  tech = await loginPage(browser, station, users.technician, 'zh-CN', undefined, { timezoneId: ZONE, at })
})

after(async () => {
  await tech?.context().close()
  await browser?.close()
  await station?.stopAndClean()
})

describe('local time on a clinic PC between midnight and 08:00', () => {
  it("offers today's order in the assign dialog at 01:30", async () => {
    // The page really is at a moment whose UTC date is yesterday.
    const [utc, local] = await tech.evaluate(() => {
      const d = new Date()
      const p = (n) => String(n).padStart(2, '0')
      return [d.toISOString().slice(0, 10), `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`]
    })
    assert.equal(local, `${shanghaiToday()} 01:30`)
    assert.notEqual(utc, shanghaiToday())

    await tech.locator('[data-nav="studies"]').click()
    const held = tech.locator('[data-test="unassigned"] tr', { hasText: 'NOT-AN-ORDER' })
    await held.waitFor({ timeout: 60_000 })
    await held.locator('[data-test="assign-open"]').click()
    const dialog = tech.locator('[data-test="assign-dialog"]')
    await dialog.locator('[data-test="assign-order"]').click()
    await tech.locator('.el-select-dropdown__item', { hasText: accession }).waitFor({ timeout: 15_000 })
    await tech.keyboard.press('Escape')
    await dialog.locator('button', { hasText: '取消' }).click()
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 })
  })

  it("shows the patient's age as clinics write it", async () => {
    await tech.locator('[data-nav="register"]').click()
    await tech.locator('input[data-test="patient-search"]').fill('zgl')
    await tech.locator('input[data-test="patient-search"]').press('Enter')
    const row = tech.locator('[data-test="patients-found"] tr', { hasText: '赵桂兰' })
    await row.waitFor({ timeout: 15_000 })
    const [y, m, d] = shanghaiToday().split('-').map(Number)
    const age = y - 1958 - (m < 3 || (m === 3 && d < 12) ? 1 : 0)
    assert.match(await row.innerText(), new RegExp(`1958-03-12\\s+${age}岁`))
  })
})
