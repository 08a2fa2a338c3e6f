// The web UI in a real browser against a real station: logins per role, role limits enforced
// by the engine, a study sent by a DICOM device showing up live, screenshots for the README.
// The tests share one station and run in order, like a clinic's morning: the live-list test
// sends the first patient (王小明), the tests after it work on that patient's studies.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ADMIN_PASSWORD, Orthanc, Station, closeAll, freePort, waitFor } from './station.mjs'
import { launch, loginPage, urlsWithToken } from './browser.mjs'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')
const NAV = {
  technician: ['today', 'register', 'studies'],
  doctor: ['reports', 'studies'],
  manager: ['dashboard', 'today', 'register', 'studies', 'reports'],
  admin: ['dashboard', 'today', 'register', 'studies', 'reports', 'settings', 'upkeep'],
}

let station
let browser
let users
let hub
let hubDir

before(async () => {
  // Images and ultrasound go to a real hub; the ECG room's hub is down (nothing listens there).
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir)
  const deadPort = await freePort()
  station = await Station.start({
    destinations: [
      { name: 'radiology', url: hub.dicomweb, modalities: ['DX', 'US'] },
      { name: 'ecg-room', url: `http://127.0.0.1:${deadPort}/dicom-web`, modalities: ['ECG'] },
    ],
  })
  users = await station.createRoleUsers()
  browser = await launch()
  mkdirSync(SHOTS, { recursive: true })
})

after(() => closeAll({ browser, station, hub, hubDir }))

async function shot(page, name) {
  // Charts and fonts settle after the data arrives.
  await page.waitForLoadState('networkidle').catch(() => {})
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
}

describe('web UI against a real station', () => {
  it('each role logs in and sees its own screens, landing on the first', async () => {
    for (const role of Object.keys(NAV)) {
      const page = await loginPage(browser, station, users[role])
      try {
        const nav = await page.locator('[data-nav]').evaluateAll((els) => els.map((e) => e.getAttribute('data-nav')))
        assert.deepEqual(nav, NAV[role], `navigation of ${role}`)
        await waitFor(`${role} lands on ${NAV[role][0]}`, 10_000, () => page.url().endsWith(`#/${NAV[role][0]}`))
        const who = await page.locator('[data-test="user"]').innerText()
        const roleName = { technician: '技师', doctor: '医生', manager: '管理者', admin: '系统管理员' }[role]
        assert.ok(who.includes(roleName), `${role} shown as ${who}`)
        if (users[role].display_name) assert.ok(who.includes(users[role].display_name), `${role} shown as ${who}`)
      } finally {
        await page.context().close()
      }
    }
  })

  it('a wrong password is refused with a message in Chinese', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' })
    const page = await context.newPage()
    try {
      await page.goto(`${station.url}/`)
      await page.locator('input[name="username"]').fill('admin')
      await page.locator('input[name="password"]').fill('not-the-password')
      await page.locator('[data-test="login-submit"]').click()
      const msg = await page.locator('[data-test="login-error"]').innerText({ timeout: 20_000 })
      assert.match(msg, /密码/)
      assert.equal(await page.locator('[data-test="user"]').count(), 0)
    } finally {
      await context.close()
    }
  })

  it('a technician cannot open settings, and the engine refuses admin operations with 403', async () => {
    const page = await loginPage(browser, station, users.technician)
    try {
      await page.goto(`${station.url}/#/settings`)
      await page.locator('[data-test="forbidden"]').waitFor({ timeout: 10_000 })
      assert.equal(await page.locator('[data-test="users"]').count(), 0, 'no user table shown')
    } finally {
      await page.context().close()
    }
    const token = await station.login(users.technician.username, users.technician.password)
    for (const op of ['users_list', 'user_create', 'audit_list']) {
      const { status, json } = await station.call(op, { username: 'x', password: 'yyyyyyyy', role: 'admin' }, token)
      assert.equal(status, 403, `${op} as technician`)
      assert.equal(json?.error?.code, 'forbidden', `${op} error code`)
    }
    const { status } = await station.call('users_list', {}, null)
    assert.equal(status, 401, 'no token at all is unauthenticated')
  })

  it('an admin creates a user on the settings page, who can then log in', async () => {
    const admin = await loginPage(browser, station, users.admin)
    try {
      await admin.locator('[data-nav="settings"]').click()
      await admin.getByRole('tab', { name: '用户' }).click()
      await admin.locator('[data-test="new-user"]').click()
      await admin.locator('input[name="new-username"]').fill('zhou')
      await admin.locator('input[name="new-display-name"]').fill('周技师')
      await admin.locator('input[name="new-password"]').fill('short')
      await admin.locator('[data-test="create-user"]').click()
      // Checked before anything is sent, in Chinese, next to the field.
      await admin.locator('.el-form-item__error', { hasText: '密码至少 8 位' }).waitFor({ timeout: 10_000 })
      await admin.locator('input[name="new-password"]').fill('zhou-password-1')
      await admin.locator('[data-test="create-user"]').click()
      await admin.locator('[data-test="users"]', { hasText: '周技师' }).waitFor({ timeout: 15_000 })
    } finally {
      await admin.context().close()
    }
    const zhou = await loginPage(browser, station, { username: 'zhou', password: 'zhou-password-1' })
    try {
      const nav = await zhou.locator('[data-nav]').evaluateAll((els) => els.map((e) => e.getAttribute('data-nav')))
      assert.deepEqual(nav, NAV.technician, 'a new user is a technician by default')
    } finally {
      await zhou.context().close()
    }
  })

  it('a session the engine ended sends the user back to the login page', async () => {
    const page = await loginPage(browser, station, users.manager)
    try {
      // The session is an HttpOnly, SameSite=Strict cookie: the page's scripts cannot read it.
      const cookie = (await page.context().cookies()).find((c) => c.name === 'station_session')
      assert.ok(cookie, 'the session cookie')
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.sameSite, 'Strict')
      assert.equal(await page.evaluate(() => document.cookie.includes('station_session')), false)
      assert.equal(await page.evaluate(() => sessionStorage.getItem('station.session')), null)
      const token = cookie.value
      const { status } = await station.call('logout', {}, token)
      assert.equal(status, 200)
      await page.locator('[data-nav="studies"]').click()
      await page.locator('[data-test="login-submit"]').waitFor({ timeout: 15_000 })
      assert.match(page.url(), /#\/login\?next=/)
    } finally {
      await page.context().close()
    }
  })

  it('a study sent by storescu appears in the open list by itself, and its state changes live', async () => {
    const page = await loginPage(browser, station, users.technician)
    try {
      await page.locator('[data-nav="studies"]').click()
      await page.locator('[data-test="studies-page"] .load-empty', { hasText: '还没有任何检查' }).waitFor({ timeout: 15_000 })
      // A marker that a page reload would wipe: the row must arrive without one.
      await page.evaluate(() => (window.__noReload = true))
      const day = station.demoDay()
      station.storescu([join(day, 'P20260001')])
      // The patient's DX study (the demo day gives each patient a DX, a US and an ECG study).
      const row = page.locator('.study-table tr', { hasText: '王小明' }).filter({ hasText: 'DR' })
      await row.waitFor({ timeout: 30_000 })
      assert.equal(await page.evaluate(() => window.__noReload), true, 'the list updated without a reload')
      assert.ok((await row.innerText()).includes('P20260001'))
      // The quiet period (2 s) completes it, the sync worker sends it, the hub confirms it: the
      // chip follows to 已送达 without a reload.
      await waitFor('the state chip to reach 已送达', 90_000, async () => (await row.locator('.state-chip').innerText()) === '已送达')
      assert.equal(await page.evaluate(() => window.__noReload), true)
      const token = await station.login(users.technician.username, users.technician.password)
      const { json } = await station.call('studies_list', { text: '王小明', modality: 'DX' }, token)
      assert.equal(json.items.length, 1)
      assert.ok((await hub.studyUids()).includes(json.items[0].study_uid), 'the hub holds the study shown as delivered')
    } finally {
      await page.context().close()
    }
  })

  it("a study for a hub that is down shows that hub's error, and the dashboard shows the link down", async () => {
    const page = await loginPage(browser, station, users.manager)
    try {
      await page.locator('[data-nav="studies"]').click()
      await page.locator('.study-table tr', { hasText: '王小明' }).filter({ hasText: '心电' }).click()
      const send = page.locator('[data-test="sends"] tr', { hasText: 'ecg-room' })
      await waitFor('the ECG room send row with an error', 60_000, async () => ((await send.count()) > 0 ? (await send.locator('.error-text').innerText()).trim() : ''))
      assert.ok((await send.locator('.error-text').innerText()).trim().length > 0, 'the error is shown')
      await page.locator('[data-nav="dashboard"]').click()
      const link = page.locator('.el-table tr', { hasText: 'ecg-room' })
      await waitFor('ecg-room shown offline', 30_000, async () => (await link.count()) > 0 && (await link.innerText()).includes('离线'))
      assert.ok((await page.locator('.el-table tr', { hasText: 'radiology' }).innerText()).includes('在线'))
    } finally {
      await page.context().close()
    }
  })

  it('a file a device exported that is not DICOM is shown on Today with the reason in Chinese, the raw detail a click away', async () => {
    const page = await loginPage(browser, station, users.technician)
    try {
      await page.locator('h2', { hasText: '今日检查' }).waitFor({ timeout: 10_000 })
      writeFileSync(join(station.exportDir, 'broken.dcm'), 'this is not a DICOM file\n'.repeat(20))
      const row = page.locator('[data-test="quarantine"] tr', { hasText: 'broken.dcm' })
      await row.waitFor({ timeout: 30_000 })
      assert.match(await row.locator('[data-test="problem-sentence"]').innerText(), /这不是DICOM影像文件/)
      const detail = row.locator('[data-test="problem-details"] code')
      assert.equal(await detail.isVisible(), false, 'the raw detail is folded away')
      await row.locator('[data-test="problem-details"] summary', { hasText: '详细信息' }).click()
      assert.match(await detail.innerText(), /no DICOM preamble/, 'the detail says what the engine found')
    } finally {
      await page.context().close()
    }
  })

  it('a technician holds and releases a study from its page; a doctor gets no such buttons', async () => {
    const open = async (page) => {
      await page.locator('[data-nav="studies"]').click()
      await page.locator('.study-table tr', { hasText: '王小明' }).filter({ hasText: '心电' }).click()
      await page.locator('[data-test="study-patient"]').waitFor({ timeout: 20_000 })
    }
    const tech = await loginPage(browser, station, users.technician)
    try {
      await open(tech)
      const chip = tech.locator('.head .state-chip')
      await tech.locator('[data-test="hold"]').click()
      await waitFor('the chip to show 已暂停', 20_000, async () => (await chip.innerText()) === '已暂停')
      await tech.locator('[data-test="release"]').click()
      await waitFor('the chip to leave 已暂停', 20_000, async () => (await chip.innerText()) !== '已暂停')
      const token = await station.login('admin', users.admin.password)
      const { json } = await station.call('audit_list', { actor: users.technician.username }, token)
      const actions = json.entries.map((e) => e.action)
      assert.ok(actions.some((a) => /hold/.test(a)) && actions.some((a) => /release/.test(a)), `audited: ${actions}`)
    } finally {
      await tech.context().close()
    }
    const doctor = await loginPage(browser, station, users.doctor)
    try {
      await open(doctor)
      // Marking urgent is every role's; sending controls are not the doctor's.
      await doctor.locator('[data-test="urgent"]').waitFor({ timeout: 10_000 })
      assert.equal(await doctor.locator('[data-test="hold"], [data-test="release"], [data-test="retry"]').count(), 0)
    } finally {
      await doctor.context().close()
    }
  })

  it('main screens render with data (screenshots for the README)', async () => {
    const day = station.demoDay()
    station.storescu([day])
    const login = await browser.newContext({ viewport: { width: 1366, height: 820 }, locale: 'zh-CN' })
    const lp = await login.newPage()
    await lp.goto(`${station.url}/`)
    await lp.locator('input[name="username"]').waitFor()
    await shot(lp, 'login')
    await login.close()

    const tech = await loginPage(browser, station, users.technician)
    await waitFor('five patients today', 30_000, async () => (await tech.locator('.study-table tbody tr').count()) >= 5)
    await shot(tech, 'today')
    await tech.context().close()

    const admin = await loginPage(browser, station, users.admin)
    try {
      await admin.locator('[data-nav="studies"]').click()
      await admin.locator('.study-table', { hasText: '王小明' }).waitFor({ timeout: 20_000 })
      await shot(admin, 'studies')
      // Searching by name narrows the list to that patient's three studies.
      await admin.locator('input[data-test="study-search"]').fill('刘洋')
      await admin.locator('input[data-test="study-search"]').press('Enter')
      await waitFor('only 刘洋 listed', 20_000, async () => {
        const names = await admin.locator('.study-table tbody [data-test="patient-name"]').allInnerTexts()
        return names.length === 3 && names.every((n) => n === '刘洋')
      })
      await admin.getByRole('button', { name: '重置' }).click()
      // The ECG study: its hub is down, so the page shows the send history with the hub's error.
      await admin.locator('.study-table tr', { hasText: '王小明' }).filter({ hasText: '心电' }).click()
      await admin.locator('[data-test="study-patient"]').waitFor({ timeout: 20_000 })
      assert.match(await admin.locator('[data-test="study-patient"]').innerText(), /王小明/)
      await admin.locator('[data-test="sends"] .error-text', { hasText: /\S/ }).first().waitFor({ timeout: 30_000 })
      await shot(admin, 'study')
      await admin.locator('[data-nav="dashboard"]').click()
      await admin.locator('.echart canvas').first().waitFor({ timeout: 20_000 })
      await shot(admin, 'dashboard')
      await admin.locator('[data-nav="settings"]').click()
      await admin.locator('[data-test="destinations"]').waitFor({ timeout: 20_000 })
      await shot(admin, 'settings')
      await admin.getByRole('tab', { name: '用户' }).click()
      await admin.locator('[data-test="users"]', { hasText: 'e2e-technician' }).waitFor({ timeout: 20_000 })
      await shot(admin, 'settings-users')
      // English is one switch away and sticks to the page.
      await admin.locator('[data-test="locale"]').click()
      await admin.getByRole('option', { name: 'English' }).click()
      await admin.locator('[data-nav="studies"]', { hasText: 'Studies' }).waitFor({ timeout: 10_000 })
      await admin.locator('[data-nav="dashboard"]').click()
      await admin.locator('.echart canvas').first().waitFor({ timeout: 20_000 })
      await shot(admin, 'dashboard-en')
    } finally {
      await admin.context().close()
    }
  })

  it('a user changes their own password from the header, and logs in again with it', async () => {
    const admin = await station.login('admin', ADMIN_PASSWORD)
    const sun = { username: 'sun', password: 'sun-password-1', display_name: '孙护士', role: 'technician' }
    assert.equal((await station.call('user_create', sun, admin)).status, 200)
    const page = await loginPage(browser, station, sun)
    try {
      await page.locator('[data-test="password-change"]').click()
      await page.locator('input[name="current-password"]').fill('not-my-password')
      await page.locator('input[name="new-password"]').fill('sun-password-2')
      await page.locator('input[name="new-password-again"]').fill('sun-password-2')
      await page.locator('[data-test="password-submit"]').click()
      assert.match(await page.locator('[data-test="password-problem"]').innerText(), /当前密码不正确/)
      await page.locator('input[name="current-password"]').fill(sun.password)
      await page.locator('[data-test="password-submit"]').click()
      await page.locator('[data-test="login-submit"]').waitFor({ timeout: 15_000 })
      assert.equal((await station.call('login', { username: 'sun', password: sun.password })).status, 401)
      await page.locator('input[name="username"]').fill('sun')
      await page.locator('input[name="password"]').fill('sun-password-2')
      await page.locator('[data-test="login-submit"]').click()
      await page.locator('[data-test="user"]', { hasText: '孙护士' }).waitFor({ timeout: 20_000 })
    } finally {
      await page.context().close()
    }
  })

  it('when the station stops, an open page says it is no longer live', async () => {
    const page = await loginPage(browser, station, users.technician)
    try {
      await page.locator('[data-test="link-status"]').waitFor({ timeout: 15_000 })
      // Last test: it stops the shared station.
      station.stop()
      const banner = page.locator('[data-test="disconnected"]')
      await banner.waitFor({ timeout: 30_000 })
      assert.match(await banner.innerText(), /连接已断开/)
    } finally {
      await page.context().close()
    }
  })

  it('no URL the browser opened carries the session token', () => {
    const { urls, tokens, bad } = urlsWithToken()
    assert.ok(tokens.length > 0, 'logins seen')
    for (const kind of [/\/api\/events/]) assert.ok(urls.some((u) => kind.test(u)), `a request for ${kind} was made`)
    assert.deepEqual(bad, [])
  })
})
