// Studies that arrived while no destination took them (issue 18 item 6): the studies list says
// 未发送（无目的地）, and once the admin adds a diagnostic center on the Settings page the page
// offers to send them; one click and a real Orthanc holds them.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

let station, browser, users, hub, hubDir, page, token, uids

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir)
  station = await Station.start({ destinations: [] })
  users = await station.createRoleUsers()
  browser = await launch()
  station.storescu([join(station.demoDay(), 'P20260001')])
  token = await station.login('admin', users.admin.password)
  // The patient's studies complete, and go nowhere.
  uids = await waitFor('the studies complete with no destination', 60_000, async () => {
    const { json } = await station.call('studies_list', {}, token)
    const items = json.items ?? []
    return items.length > 0 && items.every((s) => s.unrouted) ? items.map((s) => s.study_uid) : null
  })
  page = await loginPage(browser, station, users.admin)
})

after(() => closeAll({ page, browser, station, hub, hubDir }))

describe('studies no destination took', () => {
  it('are listed as 未发送（无目的地）', async () => {
    await page.goto(`${station.url}/#/studies`)
    const tags = page.locator('[data-test="row-unrouted"]')
    await tags.first().waitFor({ timeout: 20_000 })
    assert.equal(await tags.count(), uids.length)
    assert.equal(await tags.first().innerText(), '未发送（无目的地）')
  })

  it('are offered once a destination is added, and sent with one click', async () => {
    await page.goto(`${station.url}/#/settings`)
    await page.locator('[data-test="add-destination"]').click()
    const dialog = page.locator('[data-test="destination-dialog"]')
    await dialog.locator('input[name="dest-name"]').fill('hub')
    await dialog.locator('input[name="dest-url"]').fill(hub.dicomweb)
    await dialog.locator('[data-test="dest-ok"]').click()
    await page.locator('[data-test="destinations"]', { hasText: 'hub' }).waitFor({ timeout: 10_000 })
    await page.locator('[data-test="save-settings"]').click()
    const offer = page.locator('[data-test="unrouted-offer"]')
    await offer.waitFor({ timeout: 20_000 })
    assert.match(await offer.innerText(), new RegExp(`近 30 天有 ${uids.length} 个检查`))
    await offer.locator('[data-test="route-unrouted"]').click()
    await offer.waitFor({ state: 'detached', timeout: 20_000 })
    await waitFor('every study at the hub', 90_000, async () => (await hub.studyUids()).length === uids.length)
    const { json } = await station.call('studies_list', {}, token)
    assert.ok(json.items.every((s) => !s.unrouted), 'none left unsent')
  })
})
