// Retention as clinic staff see it (issue 13): a study the center has verified loses its image
// files here after its days (`station purge --as-of`, the clock moved as a test hook), and is
// shown as 中心存档 with its preview; 从中心取回影像 brings the images back from a real Orthanc
// with progress; with Orthanc down the page says so in a plain sentence, the raw detail one
// click away. The dashboard's disk card shows what was freed.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Orthanc, Station, closeAll, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

let station, browser, users, hub, hubDir, page, studyUid, token

/** The local date `days` from now, as `station purge --as-of` takes it. */
function daysAhead(days) {
  const d = new Date(Date.now() + days * 86_400_000)
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

async function purgedCount() {
  const { json } = await station.call('study_get', { study_uid: studyUid }, token)
  return json.study.purged_instances
}

before(async () => {
  hubDir = mkdtempSync(join(tmpdir(), 'station-e2e-hub-'))
  hub = await Orthanc.start(hubDir)
  station = await Station.start({ destinations: [{ name: 'hub', url: hub.dicomweb, pollReports: false }] })
  users = await station.createRoleUsers()
  browser = await launch()
  const day = station.demoDay()
  station.storescu([join(day, 'P20260001')])
  token = await station.login(users.technician.username, users.technician.password)
  // The patient's DX study, delivered: every destination verified it.
  studyUid = await waitFor('the DX study delivered', 90_000, async () => {
    const { json } = await station.call('studies_list', { modality: 'DX' }, token)
    const s = (json.items ?? []).find((x) => x.state === 'delivered')
    return s?.study_uid ?? null
  })
  page = await loginPage(browser, station, users.technician)
})

after(() => closeAll({ page, browser, station, hub, hubDir }))

describe('a study kept at the center', () => {
  it('is shown as 中心存档 with its preview once its days are up', async () => {
    station.cli(['purge', '--as-of', daysAhead(31)])
    assert.ok((await purgedCount()) > 0, 'the purge took the delivered study')
    await page.goto(`${station.url}/#/studies/${studyUid}`)
    await page.locator('[data-test="archived"]').waitFor({ timeout: 20_000 })
    assert.match(await page.locator('[data-test="archived-panel"]').innerText(), /已送达中心并在本机删除/)
    const preview = page.locator('img.thumb').first()
    await waitFor('the kept preview painted', 20_000, () => preview.evaluate((img) => img.complete && img.naturalWidth > 0))
  })

  it('comes back from the center with 从中心取回影像', async () => {
    await page.locator('[data-test="fetch"]').click()
    await waitFor('the images back', 60_000, async () => (await purgedCount()) === 0)
    await page.locator('[data-test="archived"]').waitFor({ state: 'detached', timeout: 20_000 })
    assert.equal(await page.locator('[data-test="archived-panel"]').count(), 0)
  })

  it('says plainly when the center cannot be reached', async () => {
    station.cli(['purge', '--as-of', daysAhead(62)])
    hub.stop()
    await waitFor('the hub down', 20_000, () => hub.child.exitCode !== null || hub.child.signalCode !== null)
    await page.reload()
    await page.locator('[data-test="fetch"]').click()
    const failed = page.locator('[data-test="fetch-error"]')
    await failed.waitFor({ timeout: 60_000 })
    assert.match(await failed.locator('[data-test="problem-sentence"]').innerText(), /未能从中心取回影像.*连不上中心服务器/)
    await failed.locator('[data-test="problem-details"] summary').click()
    assert.match(await failed.locator('[data-test="problem-details"] code').innerText(), /cannot connect|hub unavailable/i)
    assert.ok((await purgedCount()) > 0, 'still kept at the center only')
  })

  it("shows the manager's dashboard what was freed and when the next clean-up is", async () => {
    const manager = await loginPage(browser, station, users.manager)
    await manager.goto(`${station.url}/#/dashboard`)
    const last = manager.locator('[data-test="last-purge"]')
    await last.waitFor({ timeout: 20_000 })
    assert.match(await last.innerText(), /上次清理：\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}：\d+ 个检查/)
    assert.match(await manager.locator('[data-test="disk-use"]').innerText(), /已清理（中心存档）/)
    await manager.context().close()
  })
})
