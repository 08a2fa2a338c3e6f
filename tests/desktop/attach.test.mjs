// The real desktop window attached to a station service: a headless `station serve` already
// runs (as the packaged service would) and has studies; the desktop app, started with the same
// configuration, starts no engine of its own but opens the service's web UI in its window. A
// person logs in there as in a browser and sees the service's studies, one sent to the service
// now appears live; the tray line says the service's link and backlog state, and a report the
// hub sends back to the service raises an OS notification in Chinese, both fed by the page from
// the service's event stream; the report's print view opens in a window of its own. A second
// start shows the same window; a service speaking HTTPS is left to the browser. The in-process
// path is desktop.test.mjs.
// Run by scripts/test-desktop.sh, which builds the UI and the app and starts Xvfb and the bus.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ADMIN_PASSWORD, Station, freePort } from '../e2e/station.mjs'
import { Session } from './webdriver.mjs'
import { elementOf, finish, prepare, printViewText, reportNotifies, startAgain, startDriver, trayMatches } from './window.mjs'

const ROOT = resolve(import.meta.dirname, '../..')
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target')
const APP = process.env.DESKTOP_BIN ?? join(TARGET, 'debug', 'station-desktop')
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? '', '.cargo', 'bin', 'tauri-driver')

describe('desktop window attached to a running station serve', () => {
  let dir, day, bus, hub, service, driver, session
  const logFile = () => join(dir, 'tauri-driver.log')
  const logs = () => (existsSync(logFile()) ? readFileSync(logFile(), 'utf8').slice(-6000) : '')

  const element = elementOf(() => session)

  /** The service's own answer over its HTTP API, as a LAN browser would ask. */
  async function api(op, body = {}) {
    const { status, json } = await service.call(op, body, await service.login('admin', ADMIN_PASSWORD))
    assert.equal(status, 200, `${op}: ${JSON.stringify(json)}`)
    return json
  }

  function failed(e, name) {
    if (session) session.screenshot().then((png) => writeFileSync(join(tmpdir(), name), png), () => {})
    return new Error(`${e.message}\n--- app and driver log ---\n${logs()}\n--- service log ---\n${service?.logs() ?? ''}`)
  }

  before(async () => {
    ;({ dir, day, bus, hub } = await prepare('station-desktop-attach-', { 'the desktop app': APP, 'tauri-driver': TAURI_DRIVER }))
    // The service: images to the hub, ECGs to a room whose link is down (a backlog to show).
    service = await Station.start({
      destinations: [
        { name: 'radiology', url: hub.dicomweb, modalities: ['DX', 'US'] },
        { name: 'ecg-room', url: `http://127.0.0.1:${await freePort()}/dicom-web`, modalities: ['ECG'] },
      ],
      extraToml: ['[reports]', 'urgent_poll_secs = 1', 'recent_poll_secs = 1', 'idle_poll_secs = 1'].join('\n'),
    })
    service.storescu([join(day, 'P20260002'), join(day, 'P20260003')])

    let url
    ;({ driver, url } = await startDriver(TAURI_DRIVER, logFile(), {}))
    // The same configuration as the service, as on a clinic PC (/etc/clinic-station/station.toml).
    session = await Session.create(url, {
      'tauri:options': { application: APP, args: ['--config', join(service.dir, 'station.toml')] },
    }).catch((e) => {
      throw new Error(`${e.message}\n${logs()}`)
    })
  })

  after(() =>
    finish({ session, driver, app: APP, marker: service && join(service.dir, 'station.toml'), others: [service, bus, hub], dir }),
  )

  it("opens the service's own page, logs in as in a browser and shows its studies, live", async () => {
    try {
      const user = await element('the login form', 'input[name="username"]')
      // The window is on the service's web UI, not the app's built-in one.
      assert.equal(await session.execute('return location.origin'), service.url)
      assert.equal(await session.execute('return window.__STATION_ATTACHED__ === true'), true)
      // The service's page may call the shell's two feed commands and nothing else: not the
      // in-process engine's api_call.
      const tryCommand = (cmd, args) =>
        session.execute(`return window.__TAURI_INTERNALS__.invoke(${JSON.stringify(cmd)}, ${JSON.stringify(args)}).then(() => 'allowed', (e) => 'refused: ' + e)`)
      assert.match(await tryCommand('api_call', { op: 'me', body: {}, token: null }), /^refused: .*not allowed/i)
      assert.equal(await tryCommand('attached_links', { links: [] }), 'allowed')
      await user.type('admin')
      await (await session.findAll('input[name="password"]'))[0].type(ADMIN_PASSWORD)
      await (await element('the login button', '[data-test="login-submit"]')).click()
      await (await element('the studies navigation', '[data-nav="studies"]')).click()
      await element('李秀英 in the study list', '[data-test="patient-name"]', (t) => t.includes('李秀英'))
      await element('张伟 in the study list', '[data-test="patient-name"]', (t) => t.includes('张伟'))

      // A study the service receives now appears by itself (its event stream, over HTTP).
      await session.execute('window.__noReload = true')
      service.storescu([join(day, 'P20260001')])
      await element('王小明 arriving live', '[data-test="patient-name"]', (t) => t.includes('王小明'), 60_000)
      assert.equal(await session.execute('return window.__noReload === true'), true, 'the list updated without a reload')

      // No engine of its own: the app says it attached, and the service is the only station.
      const logsDir = join(service.dir, 'data', 'logs')
      const logText = readdirSync(logsDir)
        .filter((f) => /^desktop\..*log$/.test(f))
        .map((f) => readFileSync(join(logsDir, f), 'utf8'))
        .join('')
      assert.match(logText, /attached to a running station service/)
      assert.doesNotMatch(logText, /desktop app started/)
    } catch (e) {
      throw failed(e, 'station-desktop-attach-failure.png')
    }
  })

  it("the tray line says the service's link and backlog state", async () => {
    const labels = await trayMatches(bus, async () => (await api('links_list')).links).catch((e) => {
      throw failed(e, 'station-desktop-attach-tray.png')
    })
    // Quitting the window does not stop the service, and the menu says so.
    assert.ok(labels.includes('退出（后台服务继续接收）'), `the menu's actions: ${labels}`)
  })

  it('a report the hub sends back to the service raises an OS notification in Chinese', async () => {
    await reportNotifies({ bus, hub, dir, day, dicomPort: service.dicomPort, accession: 'ATTACH-RPT-1' }).catch((e) => {
      throw failed(e, 'station-desktop-attach-report.png')
    })
  })

  it('a second start with the same configuration shows the attached window and exits', async () => {
    const second = startAgain(APP, ['--config', join(service.dir, 'station.toml')])
    assert.equal(second.status, 0, `second start: exit ${second.status}, signal ${second.signal}\n${second.stderr}`)
    assert.match(second.stderr, /already running; its window is shown/)
    await element('the study list after the second start', '[data-test="patient-name"]', (t) => t.includes('王小明'), 10_000)
  })

  it("a report's print view opens in a window of its own, from the service, with the report in Chinese", async () => {
    try {
      const text = await printViewText(session, element)
      assert.ok(text.includes('李秀英') && text.includes('心肺未见异常。') && text.includes('正式报告'), text)
    } catch (e) {
      throw failed(e, 'station-desktop-attach-print.png')
    }
  })

  it('a service speaking HTTPS is not attached to: the app says to use a browser and starts no engine', async () => {
    const secure = await Station.start({ tls: true })
    try {
      const app = startAgain(APP, ['--config', join(secure.dir, 'station.toml')])
      assert.equal(app.status, 1, `exit ${app.status}, signal ${app.signal}\n${app.stderr}`)
      assert.match(app.stderr, /station serve/)
      assert.match(app.stderr, /在浏览器中打开/)
      // The service is untouched and still answers.
      assert.ok(await secure.answers('/api/openapi.json'))
    } finally {
      secure.stop()
    }
  })
})
