// The Settings page against a real station: an admin adds an allowed AE title and a turnaround
// target, saves, and both are still there after a reload (they were written to the config file
// and applied); the connection test names the failing step; the diagnostics bundle downloads;
// a bad hub address is refused with its field marked; screenshots for the README.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { join, resolve } from 'node:path'
import { ADMIN_PASSWORD, Station, freePort } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')

let station
let browser
let users

before(async () => {
  const deadPort = await freePort()
  station = await Station.start({
    destinations: [{ name: 'radiology', url: `http://127.0.0.1:${deadPort}/dicom-web`, modalities: ['DX', 'US'] }],
  })
  users = { admin: { username: 'admin', password: ADMIN_PASSWORD } }
  browser = await launch()
  mkdirSync(SHOTS, { recursive: true })
})

after(async () => {
  await browser?.close()
  await station?.stopAndClean()
})

async function openSettings(page) {
  await page.locator('[data-nav="settings"]').click()
  await page.locator('[data-test="save-settings"]').waitFor({ timeout: 20_000 })
}

describe('settings page', () => {
  it('an admin adds an allowed AE title and a turnaround target; both stay after a reload', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      // Checked before sending, in Chinese, next to the field.
      await page.locator('input[name="new-caller"]').fill('超声一号')
      await page.locator('[data-test="add-caller"]').click()
      await page.locator('.add-caller .error-text', { hasText: 'AE 名称' }).waitFor({ timeout: 10_000 })
      await page.locator('input[name="new-caller"]').fill('US2')
      await page.locator('[data-test="add-caller"]').click()
      await page.locator('[data-test="allowed-callers"]', { hasText: 'US2' }).waitFor({ timeout: 10_000 })

      await page.locator('[data-test="add-target"]').click()
      const row = page.locator('[data-test="targets"] .el-table__body tr').last()
      await row.locator('input[name="target-modality"]').fill('ECG')
      await row.locator('input[name="target-minutes"]').fill('15')
      await row.locator('input[name="target-minutes"]').blur()
      await page.locator('[data-test="unsaved"]').waitFor({ timeout: 10_000 })
      await page.locator('[data-test="save-settings"]').click()
      const applied = await page.locator('[data-test="applied"]').innerText({ timeout: 20_000 })
      assert.match(applied, /允许的设备 AE 名称/, applied)
      assert.match(applied, /报告时限/, applied)

      await page.reload()
      await page.locator('[data-test="save-settings"]').waitFor({ timeout: 20_000 })
      await page.locator('[data-test="allowed-callers"]', { hasText: 'US2' }).waitFor({ timeout: 10_000 })
      const modalities = await page
        .locator('[data-test="targets"] input[name="target-modality"]')
        .evaluateAll((els) => els.map((e) => e.value))
      const minutes = await page
        .locator('[data-test="targets"] input[name="target-minutes"]')
        .evaluateAll((els) => els.map((e) => e.value))
      assert.deepEqual(modalities.at(-1), 'ECG', `targets after reload: ${modalities}`)
      assert.deepEqual(minutes.at(-1), '15', `targets after reload: ${minutes}`)
      const file = readFileSync(join(station.dir, 'station.toml'), 'utf8')
      assert.match(file, /allowed_callers = \["US2"\]/, file)
      assert.match(file, /modality = "ECG"/, file)
      await page.locator('[data-test="destinations"]').scrollIntoViewIfNeeded()
      await page.screenshot({ path: join(SHOTS, 'settings-edit.png'), fullPage: true })
    } finally {
      await page.context().close()
    }
  })

  it('测试连接 in the destination dialog shows which step fails, in Chinese', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      await page.locator('[data-test="edit-destination"]').first().click()
      const dialog = page.locator('[data-test="destination-dialog"]')
      await dialog.locator('[data-test="dest-test"]').click()
      const result = dialog.locator('[data-test="hub-test"]')
      await result.waitFor({ timeout: 30_000 })
      // Nothing listens on the radiology hub's port: the connection step fails, later ones wait.
      const text = await result.innerText()
      assert.match(text, /连接有问题/, text)
      assert.match(await result.locator('[data-step="dns"]').innerText(), /✓ 域名解析 \(DNS\) 通过/)
      const tcpStep = result.locator('[data-step="tcp"]')
      const tcp = await tcpStep.innerText()
      assert.match(tcp, /✗ 网络连接 \(TCP\) 失败/, tcp)
      assert.match(tcp, /连不上中心服务器/, `a plain sentence: ${tcp}`)
      // The system's own words, one click away.
      await tcpStep.locator('summary', { hasText: '原始信息' }).click()
      assert.match(await tcpStep.locator('details code').innerText(), /refused/i)
      assert.match(await result.locator('[data-step="qido"]').innerText(), /跳过.*前一步失败/)
      await dialog.locator('button', { hasText: '取消' }).click()
    } finally {
      await page.context().close()
    }
  })

  it('下载诊断包 gives the admin the bundle for the center', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      // Before any destination off loopback is added: the bundle tests each destination.
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 60_000 }),
        page.locator('[data-test="download-diagnostics"]').click(),
      ])
      assert.equal(download.suggestedFilename(), 'station-diagnostics.tar.gz')
      const bytes = readFileSync(await download.path())
      assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], 'a gzip file')
      const tar = gunzipSync(bytes).toString('latin1')
      assert.match(tar, /station-diagnostics\/station\.toml/)
      assert.match(tar, /station-diagnostics\/hub-test\.json/)
      assert.match(tar, /"step": "tcp",\s*"verdict": "failed"/, 'the radiology hub is down')
    } finally {
      await page.context().close()
    }
  })

  it('a bad hub address is refused, its field marked in the dialog, and nothing is saved', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      const before = readFileSync(join(station.dir, 'station.toml'), 'utf8')
      await page.locator('[data-test="edit-destination"]').first().click()
      const dialog = page.locator('[data-test="destination-dialog"]')
      await dialog.locator('input[name="dest-url"]').fill('hub.example/dicom-web')
      await dialog.locator('[data-test="dest-ok"]').click()
      // The page checks first: the dialog stays open with the reason under the address.
      await dialog.locator('.el-form-item__error', { hasText: 'http://' }).waitFor({ timeout: 10_000 })
      await dialog.locator('input[name="dest-url"]').fill('http://hub.example:8042/dicom-web')
      await dialog.locator('[data-test="dest-ok"]').click()
      await page.locator('[data-test="destinations"]', { hasText: 'hub.example:8042' }).waitFor({ timeout: 10_000 })
      await page.locator('[data-test="add-destination"]').click()
      await dialog.locator('input[name="dest-name"]').fill('ecg-room')
      await dialog.locator('input[name="dest-url"]').fill('https://ecg.example/dicom-web')
      // The dialog has finished fading in before the picture.
      await page.waitForFunction(() => !document.querySelector('[class*="dialog-fade-enter"]'), null, { timeout: 10_000 })
      await page.screenshot({ path: join(SHOTS, 'settings-destination.png') })
      await dialog.locator('[data-test="dest-ok"]').click()
      await page.locator('[data-test="destinations"]', { hasText: 'ecg-room' }).waitFor({ timeout: 10_000 })
      await page.locator('[data-test="save-settings"]').click()
      await page.locator('[data-test="applied"]', { hasText: '诊断中心' }).waitFor({ timeout: 20_000 })
      const after = readFileSync(join(station.dir, 'station.toml'), 'utf8')
      assert.notEqual(after, before)
      assert.match(after, /name = "ecg-room"/, after)

      // The engine's own check, by field: two destinations with one name.
      const { status, json } = await station.call(
        'settings_update',
        {
          allowed_callers: [],
          quiet_period_secs: 2,
          hold_unmatched: false,
          send_while_receiving: true,
          watch: [],
          destinations: [
            { name: 'a', url: 'http://a/dicom-web' },
            { name: 'a', url: 'http://b/dicom-web' },
          ],
          targets: [],
        },
        await station.login('admin', users.admin.password),
      )
      assert.equal(status, 400)
      assert.equal(json.error.field, 'destinations[1].name')
      assert.equal(readFileSync(join(station.dir, 'station.toml'), 'utf8'), after, 'a refused change writes nothing')
    } finally {
      await page.context().close()
    }
  })
})
