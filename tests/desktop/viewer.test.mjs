// The image viewer in WebKitGTK, the engine of the desktop window (Tauri's webview on Linux):
// its decoder worker, Cornerstone's rendering (WebGL, or the CPU without it) and the cine loop
// must work there as in Chromium. WebKit's own MiniBrowser, driven by WebKitWebDriver under
// Xvfb, against a station serving its own DICOMweb, as the browser tests do (logged in by its
// session cookie). The window's tauri://localhost origin is desktop.test.mjs's part.
// Run by scripts/test-desktop.sh.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Station, freePort, waitFor } from '../e2e/station.mjs'
import { crImage, ecg, usCine, uid } from '../e2e/imaging.mjs'
import { Session } from './webdriver.mjs'

/** WebKitGTK's MiniBrowser (libwebkit2gtk-4.1-0), under the multiarch library folder. */
function miniBrowser() {
  for (const arch of readdirSync('/usr/lib')) {
    const path = join('/usr/lib', arch, 'webkit2gtk-4.1', 'MiniBrowser')
    if (existsSync(path)) return path
  }
  throw new Error('no WebKitGTK MiniBrowser under /usr/lib/*/webkit2gtk-4.1 (package libwebkit2gtk-4.1-0)')
}

describe('image viewer in WebKitGTK', () => {
  const studyUid = uid()
  let dir, station, driver, session, users

  const find = (css, timeoutMs = 30_000) => waitFor(css, timeoutMs, async () => (await session.findAll(css))[0])
  const meanGrey = () =>
    session.execute(`const c = document.querySelector('[data-test="viewport-main"] canvas')
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      let s = 0
      for (let i = 0; i < d.length; i += 4) s += d[i]
      return s / (d.length / 4)`)

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'station-webkit-viewer-'))
    const files = join(dir, 'study')
    mkdirSync(files)
    const study = { studyUid, patient: { name: '李^建国=李^建国', id: 'WEBKIT-P1' } }
    crImage(join(files, 'cr.dcm'), { ...study, seriesUid: uid(), seriesNumber: 1 })
    usCine(join(files, 'us.dcm'), { ...study, seriesUid: uid(), seriesNumber: 2 })
    ecg(join(files, 'ecg.dcm'), { ...study, seriesUid: uid(), seriesNumber: 3 })
    station = await Station.start()
    users = await station.createRoleUsers()
    station.storescu([files])
    const admin = await station.login('admin', users.admin.password)
    await waitFor('the station to hold the study', 30_000, async () => (await station.call('study_get', { study_uid: studyUid }, admin)).status === 200)
    const port = await freePort()
    const log = openSync(join(dir, 'webkitwebdriver.log'), 'a')
    driver = spawn('/usr/bin/WebKitWebDriver', [`--port=${port}`], { stdio: ['ignore', log, log] })
    const url = `http://127.0.0.1:${port}`
    await waitFor('WebKitWebDriver to answer', 20_000, async () => (await fetch(`${url}/status`)).ok)
    session = await Session.create(url, { 'webkitgtk:browserOptions': { binary: miniBrowser(), args: ['--automation'] } })
  })

  after(async () => {
    await session?.delete().catch(() => {})
    driver?.kill()
    await station?.stopAndClean()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('draws the radiograph, plays the cine and lays out the ECG', async () => {
    try {
      await session.cmd('POST', '/url', { url: `${station.url}/` })
      await (await find('input[name="username"]')).type(users.doctor.username)
      await (await find('input[name="password"]')).type(users.doctor.password)
      await (await find('[data-test="login-submit"]')).click()
      await find('[data-test="user"]')
      await session.cmd('POST', '/url', { url: `${station.url}/#/studies/${studyUid}` })
      await (await find('[data-test="open-viewer"]')).click()

      await find('[data-test="viewport-main"][data-rendered^="wadors:"]', 60_000)
      // A light MONOCHROME1 field (the CR's background), not a black or empty canvas. WebKitGTK
      // paints the WebGL canvas a moment after the viewport says it rendered: wait for it.
      let grey = 0
      await waitFor('the radiograph to be drawn (mean grey over 60)', 20_000, async () => (grey = await meanGrey()) > 60)
      assert.ok(grey > 60, `the radiograph is drawn (mean grey ${grey})`)
      assert.match(await (await find('[data-test="voi"]')).text(), /窗宽 4096 窗位 2048/)

      await (await find('[data-series="US"]')).click()
      await find('[data-test="viewport-main"][data-rendered*="/frames/1"]', 60_000)
      await (await find('[data-test="play"]')).click()
      const frame = async () => Number(/第 (\d+) \//.exec(await (await find('[data-test="frame"]')).text())?.[1])
      await waitFor('the cine to advance past frame 5', 20_000, async () => (await frame()) > 5)

      await (await find('[data-series="ECG"]')).click()
      await find('[data-test="viewer-ecg"] svg g[data-lead]', 30_000)
      const leads = await session.execute(
        `return [...document.querySelectorAll('[data-test="viewer-ecg"] g[data-lead]')].map((g) => g.getAttribute('data-lead') + (g.getAttribute('data-derived') ? '*' : ''))`,
      )
      assert.equal(new Set(leads).size, 12, `twelve leads: ${leads}`)
      assert.deepEqual(leads.filter((l) => l.endsWith('*')).sort(), ['III*', 'aVF*', 'aVL*', 'aVR*'])
    } catch (e) {
      const log = join(dir, 'webkitwebdriver.log')
      throw new Error(`${e.message}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : ''}`)
    }
  })
})
