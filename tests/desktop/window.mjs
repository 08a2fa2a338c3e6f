// What both desktop window tests (the app with its own engine, desktop.test.mjs, and the app
// attached to a running service, attach.test.mjs) do the same way: start tauri-driver, wait for
// an element, compare the tray line with a station's links, and have the hub return a report
// that must raise the Chinese notification.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Orthanc, STORESCU, freePort, stationBin, waitFor } from '../e2e/station.mjs'
import { finalSr, restudy } from '../e2e/documents.mjs'
import { Bus } from './bus.mjs'
import { appPids } from './app.mjs'

/**
 * Checks that `programs` ({what: path}) are built, makes the test's folder (`prefix`) with the
 * demo studies, and starts the desktop's notification server and tray host (there before the
 * app starts) and the hub (its ports bound before the app's are picked, so no two pick the same).
 */
export async function prepare(prefix, programs) {
  for (const [what, path] of Object.entries({ ...programs, 'the station binary': stationBin() })) {
    if (!existsSync(path)) throw new Error(`no ${what} at ${path}: run scripts/test-desktop.sh`)
  }
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const day = join(dir, 'demo')
  execFileSync(stationBin(), ['demo', '--small', '--out', day], { timeout: 60_000 })
  const bus = await Bus.start(dir)
  const hub = await Orthanc.start(join(dir, 'hub'))
  return { dir, day, bus, hub }
}

/** Starts tauri-driver logging to `logFile`, with `env` for the app; resolves once it answers. */
export async function startDriver(tauriDriver, logFile, env) {
  const [driverPort, nativePort] = [await freePort(), await freePort()]
  const out = openSync(logFile, 'a')
  // The app inherits this environment through tauri-driver and WebKitWebDriver.
  const driver = spawn(tauriDriver, ['--port', String(driverPort), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'], {
    env: { ...process.env, LANG: 'C.UTF-8', RUST_LOG: process.env.RUST_LOG ?? 'warn,station_desktop=info', NO_COLOR: '1', ...env },
    stdio: ['ignore', out, out],
  })
  const url = `http://127.0.0.1:${driverPort}`
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-6000) : '')
  await waitFor('tauri-driver to answer', 30_000, async () => {
    if (driver.exitCode !== null) throw new Error(`tauri-driver exited ${driver.exitCode}:\n${logs()}`)
    return (await fetch(`${url}/status`)).ok
  })
  return { driver, url }
}

/** Waits for a CSS selector to match an element whose text passes `accept`. */
export function elementOf(session) {
  return (what, css, accept = () => true, timeoutMs = 60_000) =>
    waitFor(what, timeoutMs, async () => {
      for (const el of await session().findAll(css)) {
        if (accept(await el.text())) return el
      }
      return null
    })
}

/**
 * Waits until the tray menu shows the line a station's `links_list` (from `links()`) implies,
 * with a backlog; returns the menu's labels.
 */
export async function trayMatches(bus, links) {
  let labels, expected
  await waitFor('the tray line to match the station', 90_000, async () => {
    const list = await links()
    const waiting = list.reduce((n, l) => n + l.backlog + l.failed + l.held, 0)
    const online = list.filter((l) => l.online).length
    const link = online === 2 ? '在线' : online === 0 ? '离线' : `部分在线 ${online}/2`
    expected = `${link} · 待发送 ${waiting}`
    labels = bus.trayLabels()
    return waiting > 0 && labels?.includes(expected)
  }).catch((e) => {
    throw new Error(`${e.message}\nexpected ${expected}, tray menu ${JSON.stringify(labels)}\n${bus.log()}`)
  })
  return labels
}

/**
 * Sends 李秀英's radiograph to the station at `dicomPort` under `accession`, has the hub store
 * its final report once it arrived there, and waits for the Chinese notification naming her.
 */
export async function reportNotifies({ bus, hub, dir, day, dicomPort, accession }) {
  // 李秀英's device writes GB18030; the notification names her as written.
  const sent = restudy([join(day, 'P20260002', 'DX_PA.dcm')], join(dir, 'report-study'), { accession })
  execFileSync(STORESCU, ['-aet', 'DR1', '-aec', 'STATION', '127.0.0.1', String(dicomPort), ...sent.files], { timeout: 60_000 })
  await waitFor('the study at the hub', 120_000, async () => (await hub.studyUids()).includes(sent.studyUid))
  await hub.store(
    finalSr(join(dir, 'report.dcm'), {
      studyUid: sent.studyUid,
      patientId: 'P20260002',
      patientName: '李^秀英',
      findings: '双肺纹理清晰。',
      conclusion: '心肺未见异常。',
      doctor: '孙^主任',
    }),
  )
  const expected = { summary: '报告已返回', body: '李秀英 的检查报告已到，请查看。' }
  await waitFor('a Notify call for the report', 90_000, () =>
    bus.notifyCalls().find((n) => n.summary === expected.summary && n.body === expected.body),
  ).catch((e) => {
    throw new Error(`${e.message}\nNotify calls: ${JSON.stringify(bus.notifyCalls())}\n${bus.log()}`)
  })
  // Answered by the notification server, not only sent.
  if (!bus.received().some((n) => n.summary === expected.summary && n.body === expected.body)) {
    throw new Error(`the notification server did not receive it: ${JSON.stringify(bus.received())}`)
  }
}

/**
 * Ends a test: its WebDriver session, tauri-driver, the app (a window closed to the tray
 * outlives its session: ended by its pid, found by `marker` among its arguments), then each of
 * `others` (anything with `stop()`), then the folder unless KEEP_DESKTOP_TEST_DIR is set.
 */
export async function finish({ session, driver, app, marker, others, dir }) {
  if (session) await session.delete().catch(() => {})
  if (driver && driver.exitCode === null) driver.kill('SIGTERM')
  if (marker) for (const pid of appPids(app, marker)) process.kill(pid, 'SIGTERM')
  for (const other of others) other?.stop()
  if (dir && !process.env.KEEP_DESKTOP_TEST_DIR) rmSync(dir, { recursive: true, force: true })
}

/** Starts `app` once more with `args`, outside WebDriver, as a person would; its exit and stderr. */
export function startAgain(app, args) {
  return spawnSync(app, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LANG: 'C.UTF-8', NO_COLOR: '1' } })
}

/**
 * Opens 李秀英's report on the reports page and its print view, which must come in a window of
 * its own; returns that window's text (the main window is current again afterwards).
 */
export async function printViewText(session, element) {
  await (await element('the reports navigation', '[data-nav="reports"]')).click()
  // Clicked once the list has settled (a live reload may still cover it for a moment).
  await waitFor('the report of 李秀英 clicked', 30_000, async () => {
    await (await element('the report of 李秀英', '[data-test="report-patient"]', (t) => t.includes('李秀英'))).click()
    return true
  })
  await element('the report text', '[data-test="report-text"]', (t) => t.includes('双肺纹理清晰'))
  const main = (await session.windows())[0]
  // A live reload can re-render the report pane under the click (seen once in CI: no window
  // after 30 s); a person clicks again, so the test does too, at most three times.
  let print
  for (let attempt = 1; attempt <= 3 && !print; attempt++) {
    await (await element('the print button', '[data-test="print"]')).click()
    print = await waitFor('a second window', 10_000, async () => (await session.windows()).find((h) => h !== main)).catch((e) => {
      if (attempt === 3) throw e
      return undefined
    })
  }
  await session.switchTo(print)
  try {
    return await (await element('the print view', 'body', (t) => t.includes('双肺纹理清晰'))).text()
  } finally {
    await session.switchTo(main)
  }
}
