// The real desktop window under Xvfb: tauri-driver starts the built app (WebKitWebDriver
// underneath) with its own data directory and ports; a device sends studies with DCMTK's
// storescu; a person logs in through the window (a wrong password first, then the right one)
// and sees the studies with their Chinese names, a new one arriving live without a reload.
// Run by scripts/test-desktop.sh, which builds the UI and the app and starts Xvfb.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { ADMIN_PASSWORD, STORESCU, Station, freePort, stationBin, waitFor } from '../e2e/station.mjs'
import { Session } from './webdriver.mjs'

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
  let dir, driver, session, dicomPort, httpPort, day
  const logFile = () => join(dir, 'tauri-driver.log')
  const logs = () => (existsSync(logFile()) ? readFileSync(logFile(), 'utf8').slice(-6000) : '')

  /** Waits for a CSS selector to match an element whose text passes `accept`. */
  async function element(what, css, accept = () => true, timeoutMs = 60_000) {
    return waitFor(what, timeoutMs, async () => {
      for (const el of await session.findAll(css)) {
        if (accept(await el.text())) return el
      }
      return null
    })
  }

  function storescu(patient) {
    execFileSync(STORESCU, ['-aet', 'DR1', '-aec', 'STATION', '+sd', '+r', '127.0.0.1', String(dicomPort), join(day, patient)], {
      timeout: 60_000,
    })
  }

  before(async () => {
    for (const [what, path] of [['the desktop app', APP], ['tauri-driver', TAURI_DRIVER], ['the station binary', stationBin()]]) {
      if (!existsSync(path)) throw new Error(`no ${what} at ${path}: run scripts/test-desktop.sh`)
    }
    dir = mkdtempSync(join(tmpdir(), 'station-desktop-'))
    day = join(dir, 'demo')
    execFileSync(stationBin(), ['demo', '--small', '--out', day], { timeout: 60_000 })
    const [driverPort, nativePort] = [await freePort(), await freePort()]
    httpPort = await freePort()
    dicomPort = await freePort()
    const out = openSync(logFile(), 'a')
    // The app inherits this environment through tauri-driver and WebKitWebDriver.
    driver = spawn(TAURI_DRIVER, ['--port', String(driverPort), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'], {
      env: { ...process.env, STATION_ADMIN_PASSWORD: ADMIN_PASSWORD, LANG: 'C.UTF-8', RUST_LOG: process.env.RUST_LOG ?? 'warn,station_desktop=info', NO_COLOR: '1' },
      stdio: ['ignore', out, out],
    })
    const url = `http://127.0.0.1:${driverPort}`
    await waitFor('tauri-driver to answer', 30_000, async () => {
      if (driver.exitCode !== null) throw new Error(`tauri-driver exited ${driver.exitCode}:\n${logs()}`)
      return (await fetch(`${url}/status`)).ok
    })
    session = await Session.create(url, {
      'tauri:options': {
        application: APP,
        args: ['--data-dir', join(dir, 'data'), '--dicom-port', String(dicomPort), '--http-port', String(httpPort)],
      },
    }).catch((e) => {
      throw new Error(`${e.message}\n${logs()}`)
    })
    // The engine runs inside the app: its DICOM port opens with the window.
    await waitFor('the app to listen for DICOM', 60_000, () => listening(dicomPort))
    for (const patient of ['P20260002', 'P20260003', 'P20260004', 'P20260005']) storescu(patient)
  })

  after(async () => {
    if (session) await session.delete().catch(() => {})
    if (driver && driver.exitCode === null) driver.kill('SIGTERM')
    if (dir && !process.env.KEEP_DESKTOP_TEST_DIR) rmSync(dir, { recursive: true, force: true })
  })

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

  it('a second start on the same data directory shows the running window and exits', async () => {
    // Other ports, so only the data directory's lock can stop a second engine.
    const second = spawnSync(APP, ['--data-dir', join(dir, 'data'), '--dicom-port', String(await freePort()), '--http-port', String(await freePort())], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LANG: 'C.UTF-8', NO_COLOR: '1' },
    })
    assert.equal(second.status, 0, `second start: exit ${second.status}, signal ${second.signal}\n${second.stderr}`)
    assert.match(second.stderr, /already running; its window is shown/)
    // The first app is still the one serving the window.
    await element('the study list after the second start', '[data-test="patient-name"]', (t) => t.includes('王小明'), 10_000)
  })

  it('started on the data directory of a headless station serve, it says so and starts no engine', async () => {
    const headless = await Station.start()
    try {
      const app = spawnSync(APP, ['--data-dir', join(headless.dir, 'data'), '--dicom-port', String(await freePort()), '--http-port', String(await freePort())], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, LANG: 'C.UTF-8', NO_COLOR: '1' },
      })
      assert.equal(app.status, 1, `exit ${app.status}, signal ${app.signal}\n${app.stderr}`)
      assert.match(app.stderr, /station serve/)
      // The headless station is untouched and still answers.
      assert.equal((await fetch(`${headless.url}/api/openapi.json`)).status, 200)
    } finally {
      headless.stop()
    }
  })
})
