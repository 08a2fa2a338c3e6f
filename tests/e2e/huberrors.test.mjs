// What a hub's failure looks like to clinic staff: one study sent to a center that is down and
// to one that refuses the station's password. The study page says in a plain Chinese sentence
// what each means and what to do, the hub's own words one click away, and English with the
// switch. A real Orthanc (requiring a password) and a loopback port nobody listens on.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

let station, browser, users, hub, hubDir, page, studyUid

/** A loopback port that was free a moment ago and has nobody listening. */
async function closedPort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir, { users: { clinic: 'right-password' } })
  station = await Station.start({
    destinations: [
      { name: 'down', url: `http://127.0.0.1:${await closedPort()}/dicom-web` },
      { name: 'locked', url: hub.dicomweb, username: 'clinic', password: 'wrong-password' },
    ],
  })
  users = await station.createRoleUsers()
  browser = await launch()
  const day = station.demoDay()
  station.storescu([join(day, 'P20260001')])
  const token = await station.login(users.technician.username, users.technician.password)
  // Both sends have failed once: the study's page has something to say about each.
  studyUid = await waitFor('both destinations failed once', 90_000, async () => {
    const { json } = await station.call('studies_list', {}, token)
    for (const s of json.items ?? []) {
      const { json: d } = await station.call('study_get', { study_uid: s.study_uid }, token)
      if (d.sends?.length === 2 && d.sends.every((x) => x.last_error)) return s.study_uid
    }
    return null
  })
  page = await loginPage(browser, station, users.technician)
})

after(() => closeAll({ page, browser, station, hub, hubDir }))

describe("a hub's failure in words a technician understands", () => {
  it('says what each failure means in Chinese, the raw detail behind a click', async () => {
    await page.goto(`${station.url}/#/studies/${studyUid}`)
    const down = page.locator('[data-test="sends"] tr', { hasText: 'down' }).locator('[data-test="send-error"]')
    const locked = page.locator('[data-test="sends"] tr', { hasText: 'locked' }).locator('[data-test="send-error"]')
    await down.waitFor({ timeout: 20_000 })
    assert.match(await down.locator('[data-test="problem-sentence"]').innerText(), /连不上中心服务器/)
    assert.match(await locked.locator('[data-test="problem-sentence"]').innerText(), /中心拒绝登录.*用户名、密码/)
    // The raw words are folded away until asked for.
    const raw = locked.locator('[data-test="problem-details"] code')
    assert.equal(await raw.isVisible(), false)
    await locked.locator('[data-test="problem-details"] summary').click()
    assert.match(await raw.innerText(), /HTTP 401/)
    await down.locator('[data-test="problem-details"] summary').click()
    assert.match(await down.locator('[data-test="problem-details"] code').innerText(), /cannot connect/i)
  })

  it('says it in English with the switch', async () => {
    await page.locator('[data-test="locale"]').click()
    await page.getByRole('option', { name: 'English' }).click()
    const down = page.locator('[data-test="sends"] tr', { hasText: 'down' }).locator('[data-test="problem-sentence"]')
    await waitFor('the English sentence', 10_000, async () => /Cannot reach the center's server/.test(await down.innerText()))
    const locked = page.locator('[data-test="sends"] tr', { hasText: 'locked' }).locator('[data-test="problem-sentence"]')
    assert.match(await locked.innerText(), /refused the login/)
  })
})
