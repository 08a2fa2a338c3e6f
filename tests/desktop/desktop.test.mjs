// The real desktop window under Xvfb: tauri-driver starts the built app (WebKitWebDriver
// underneath) with its own data directory and ports, sending to a real hub (Orthanc) for images
// and to an ECG room whose link is down; a device sends studies with DCMTK's storescu; a person
// logs in through the window (a wrong password first, then the right one) and sees the studies
// with their Chinese names, a new one arriving live without a reload. On the session bus (see
// bus.mjs): the tray icon's menu says the link and backlog state, a report from the hub raises
// an OS notification in Chinese, and closing the window leaves the app receiving. With a
// station service already running, the app attaches to it instead: attach.test.mjs.
// Run by scripts/test-desktop.sh, which builds the UI and the app and starts Xvfb and the bus.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { ADMIN_PASSWORD, STORESCU, Station, freePort, waitFor } from '../e2e/station.mjs'
import { restudy } from '../e2e/documents.mjs'
import { Session } from './webdriver.mjs'
import { appConfig, appPids } from './app.mjs'
import { elementOf, finish, prepare, printViewText, reportNotifies, startAgain, startDriver, trayMatches } from './window.mjs'

const ROOT = resolve(import.meta.dirname, '../..')
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target')
const APP = process.env.DESKTOP_BIN ?? join(TARGET, 'debug', 'station-desktop')
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? '', '.cargo', 'bin', 'tauri-driver')
const SCREENSHOT = process.env.DESKTOP_SCREENSHOT ?? join(ROOT, 'docs', 'screenshots', 'desktop.png')

/** Resolves once something accepts TCP connections on the loopback port. */
function listening(port) {
  return new Promise((ok) => {
    const c = createConnection({ host: '127.0.0.1', port })
    c.once('connect', () => {
      c.destroy()
      ok(true)
    })
    c.once('error', () => ok(false))
  })
}

describe('desktop window', () => {
  let dir, driver, session, dicomPort, httpPort, day, bus, hub
  const logFile = () => join(dir, 'tauri-driver.log')
  const logs = () => (existsSync(logFile()) ? readFileSync(logFile(), 'utf8').slice(-6000) : '')

  const element = elementOf(() => session)

  function storescu(patient) {
    execFileSync(STORESCU, ['-aet', 'DR1', '-aec', 'STATION', '+sd', '+r', '127.0.0.1', String(dicomPort), join(day, patient)], {
      timeout: 60_000,
    })
  }

  before(async () => {
    ;({ dir, day, bus, hub } = await prepare('station-desktop-', { 'the desktop app': APP, 'tauri-driver': TAURI_DRIVER }))
    httpPort = await freePort()
    dicomPort = await freePort()
    const config = appConfig(dir, { hub: hub.dicomweb, deadPort: await freePort() })
    let url
    ;({ driver, url } = await startDriver(TAURI_DRIVER, logFile(), { STATION_ADMIN_PASSWORD: ADMIN_PASSWORD }))
    session = await Session.create(url, {
      'tauri:options': {
        application: APP,
        args: ['--config', config, '--data-dir', join(dir, 'data'), '--dicom-port', String(dicomPort), '--http-port', String(httpPort)],
      },
    }).catch((e) => {
      throw new Error(`${e.message}\n${logs()}`)
    })
    // The engine runs inside the app: its DICOM port opens with the window.
    await waitFor('the app to listen for DICOM', 60_000, () => listening(dicomPort))
    for (const patient of ['P20260002', 'P20260003', 'P20260004', 'P20260005']) storescu(patient)
  })

  after(() => finish({ session, driver, app: APP, marker: dir && join(dir, 'data'), others: [bus, hub], dir }))

  /** The mean red level of the main viewport's canvas: above 10 once a radiograph is drawn. */
  const meanGrey = () =>
    session.execute(`const c = document.querySelector('[data-test="viewport-main"] canvas')
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      let s = 0
      for (let i = 0; i < d.length; i += 4) s += d[i]
      return s / (d.length / 4)`)

  it('logs in through the window and shows the studies storescu sent, with Chinese names, live', async () => {
    try {
      const user = await element('the login form', 'input[name="username"]')
      const password = (await session.findAll('input[name="password"]'))[0]
      await user.type('admin')
      await password.type('not-the-password')
      await (await element('the login button', '[data-test="login-submit"]')).click()
      // The engine's refusal crosses the IPC bridge and is shown in Chinese.
      await element('the login error', '[data-test="login-error"]', (t) => t.includes('密码') || t.includes('用户'))

      // Backspaces, as a person would: WebDriver's clear() bypasses the input events Vue listens to.
      await password.type('\uE003'.repeat('not-the-password'.length))
      await password.type(ADMIN_PASSWORD)
      await (await element('the login button', '[data-test="login-submit"]')).click()
      await (await element('the studies navigation', '[data-nav="studies"]')).click()
      // 李秀英 was sent in GB18030, 张伟 in GBK: both shown as written.
      await element('李秀英 in the study list', '[data-test="patient-name"]', (t) => t.includes('李秀英'))
      await element('张伟 in the study list', '[data-test="patient-name"]', (t) => t.includes('张伟'))

      // A study arriving now appears by itself: engine event → `station-event` → the list.
      await session.execute('window.__noReload = true')
      storescu('P20260001')
      await element('王小明 arriving live', '[data-test="patient-name"]', (t) => t.includes('王小明'), 60_000)
      assert.equal(await session.execute('return window.__noReload === true'), true, 'the list updated without a reload')

      // Where previews and print views come from: the engine's own HTTP server.
      assert.equal(await session.execute('return window.__STATION_HTTP__'), `http://127.0.0.1:${httpPort}`)

      // Started from a launcher there is no console: the log is in the data directory.
      const logs = join(dir, 'data', 'logs')
      const logText = readdirSync(logs).filter((f) => /^desktop\..*log$/.test(f)).map((f) => readFileSync(join(logs, f), 'utf8')).join('')
      assert.match(logText, /desktop app started/)

      mkdirSync(dirname(SCREENSHOT), { recursive: true })
      writeFileSync(SCREENSHOT, await session.screenshot())
    } catch (e) {
      if (session) writeFileSync(join(tmpdir(), 'station-desktop-failure.png'), await session.screenshot().catch(() => Buffer.alloc(0)))
      throw new Error(`${e.message}\n--- app and driver log ---\n${logs()}`)
    }
  })

  it("opens a study's images in the viewer, read from the station's own DICOMweb across origins", async () => {
    try {
      // The window (tauri://localhost) reads http://127.0.0.1:PORT/dicom-web with its token:
      // WebKit asks the station's CORS preflight first.
      const { items } = await api('studies_list', { text: '李秀英' })
      const dx = items.find((s) => s.modalities.includes('DX'))
      assert.ok(dx, `a DX study of 李秀英: ${JSON.stringify(items)}`)
      await session.execute(`location.hash = '#/viewer/${dx.study_uid}'`)
      await element('the radiograph rendered from DICOMweb', '[data-test="viewport-main"][data-rendered^="wadors:"]', () => true, 60_000)
      let grey = 0
      await waitFor('the radiograph to be drawn', 20_000, async () => (grey = await meanGrey()) > 10)
      assert.ok(grey > 10, `the radiograph is drawn (mean grey ${grey})`)
      await session.execute("location.hash = '#/studies'")
    } catch (e) {
      if (session) writeFileSync(join(tmpdir(), 'station-desktop-viewer-failure.png'), await session.screenshot().catch(() => Buffer.alloc(0)))
      throw new Error(`${e.message}\n--- app and driver log ---\n${logs()}`)
    }
  })

  it('a second start on the same data directory shows the running window and exits', async () => {
    // Other ports, so only the data directory's lock can stop a second engine.
    const second = startAgain(APP, ['--data-dir', join(dir, 'data'), '--dicom-port', String(await freePort()), '--http-port', String(await freePort())])
    assert.equal(second.status, 0, `second start: exit ${second.status}, signal ${second.signal}\n${second.stderr}`)
    assert.match(second.stderr, /already running; its window is shown/)
    // The first app is still the one serving the window.
    await element('the study list after the second start', '[data-test="patient-name"]', (t) => t.includes('王小明'), 10_000)
  })

  /** The engine's own answer over its HTTP API, as a LAN browser would ask. */
  async function api(op, body = {}) {
    const station = new Station(dir, null, dicomPort, httpPort, null)
    const { status, json } = await station.call(op, body, await station.login('admin', ADMIN_PASSWORD))
    assert.equal(status, 200, `${op}: ${JSON.stringify(json)}`)
    return json
  }

  it("the tray icon's menu says the link and backlog state the engine reports", async () => {
    // The ECG room is down, so each patient's ECG study waits: the line must say how many.
    const labels = await trayMatches(bus, async () => (await api('links_list')).links)
    assert.ok(labels.includes('显示窗口') && labels.some((l) => l.startsWith('退出')), `the menu's actions: ${labels}`)
  })

  it('a report from the hub raises an OS notification in Chinese, naming the patient', async () => {
    await reportNotifies({ bus, hub, dir, day, dicomPort, accession: 'DESK-RPT-1' }).catch((e) => {
      throw new Error(`${e.message}\n${logs()}`)
    })
  })

  it("a report's print view opens in a window of its own, with the report in Chinese", async () => {
    const text = await printViewText(session, element)
    assert.ok(text.includes('李秀英') && text.includes('心肺未见异常。') && text.includes('正式报告'), text)
  })

  it("opens the viewer from the report: the report beside the images it talks about", async () => {
    try {
      // A click may land on something on its way out (WebDriver: "element click intercepted"),
      // so each is tried again, as a person would.
      const click = (what, css, match) =>
        waitFor(`${what} clicked`, 30_000, async () => {
          try {
            await (await element(what, css, match)).click()
            return true
          } catch (e) {
            if (/intercepted|stale/.test(e.message)) return false
            throw e
          }
        })
      // The print test leaves 李秀英's report open in its drawer; otherwise open it.
      if ((await session.findAll('[data-test="report-text"]')).length === 0) {
        await click('the reports navigation', '[data-nav="reports"]')
        await click('the report of 李秀英', '[data-test="report-patient"]', (t) => t.includes('李秀英'))
      }
      await element('the report text', '[data-test="report-text"]', (t) => t.includes('双肺纹理清晰'))
      await click('the view-images button', '[data-test="open-viewer"]')
      await element('the report beside the images', '[data-test="viewer-report"]', (t) => t.includes('双肺纹理清晰') && t.includes('心肺未见异常'), 30_000)
      await element('the report study rendered from DICOMweb', '[data-test="viewport-main"][data-rendered^="wadors:"]', () => true, 60_000)
      let grey = 0
      await waitFor('the radiograph to be drawn', 20_000, async () => (grey = await meanGrey()) > 10)
      assert.ok(grey > 10, `the radiograph is drawn (mean grey ${grey})`)
      await session.execute("location.hash = '#/studies'")
    } catch (e) {
      if (session) writeFileSync(join(tmpdir(), 'station-desktop-report-viewer-failure.png'), await session.screenshot().catch(() => Buffer.alloc(0)))
      throw new Error(`${e.message}\n--- app and driver log ---\n${logs()}`)
    }
  })

  it('closing the window leaves the app receiving: a study sent afterwards is in the engine', async () => {
    const before = appPids(APP, join(dir, 'data'))
    assert.equal(before.length, 1, `one app process: ${before}`)
    // Closed as the title bar's × does (WM_DELETE_WINDOW). WebDriver's Close Window cannot
    // stand in: WebKitWebDriver ends the session with the last window and kills the app.
    const closed = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'close_window.py'), String(before[0])], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(closed.status, 0, `close_window.py: ${closed.stdout}${closed.stderr}`)
    await waitFor('the "still receiving" notification', 30_000, () =>
      bus.notifyCalls().find((n) => n.body?.startsWith('窗口已关闭，仍在接收和发送影像')),
    )
    const sent = restudy([join(day, 'P20260004', 'DX_PA.dcm')], join(dir, 'after-close'), { accession: 'DESK-CLOSED-1' })
    execFileSync(STORESCU, ['-aet', 'DR1', '-aec', 'STATION', '127.0.0.1', String(dicomPort), ...sent.files], { timeout: 60_000 })
    const found = await waitFor('the study in the engine', 60_000, async () =>
      (await api('studies_list', { text: 'DESK-CLOSED-1' })).items.find((s) => s.study_uid === sent.studyUid),
    )
    assert.equal(found.accession, 'DESK-CLOSED-1')
    assert.deepEqual(appPids(APP, join(dir, 'data')), before, 'the same app process, still running')
  })
})
