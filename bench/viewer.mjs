#!/usr/bin/env node
// Time to first image in the viewer (issue 16, "Measure"): a 10 MB DX radiograph (2560 × 2048,
// 16 bits), from the click on "View images" on the study page to its pixels on the canvas, in
// Debian's Chromium. The station holds the study (sent by storescu); its DICOMweb is stood in
// for by an Orthanc behind the tests' front door (tests/e2e/frontdoor.mjs), as in the browser
// tests. Side by side in the same run:
//   - wado: the same frame fetched by the page with the viewer's request (network and server
//     only: the floor under the viewer's time),
//   - preview: the engine's 512-pixel PNG preview, all the study page showed before the viewer
//     (already rendered once by the study page's series card, so this is the cached answer).
// "cold" opens the viewer in a fresh browser context (its code not yet loaded); "warm" opens
// another 10 MB study in the same page afterwards (code loaded, image not).
// Usage: node bench/viewer.mjs [runs=5]   (needs `cargo build -p station`, ui/dist built,
// tests/e2e's npm packages, Orthanc with its DICOMweb plugin, /usr/bin/chromium)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Orthanc, Station, waitFor } from '../tests/e2e/station.mjs'
import { launch, loginPage } from '../tests/e2e/browser.mjs'
import { frontDoor } from '../tests/e2e/frontdoor.mjs'
import { largeDx, uid } from '../tests/e2e/imaging.mjs'

const runs = Number(process.argv[2] ?? 5)
const dir = mkdtempSync(join(tmpdir(), 'bench-viewer-'))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`

/** Installs, in the page, a clock from the next click on `clickCss` to non-black pixels in the main viewport. */
function armClock(page, clickCss) {
  return page.evaluate((css) => {
    window.__firstImage = new Promise((done) => {
      let clicked = 0
      document.addEventListener(
        'click',
        (e) => {
          if (e.target instanceof Element && e.target.closest(css)) clicked = performance.now()
        },
        { capture: true, once: false },
      )
      const look = () => {
        const c = document.querySelector('[data-test="viewport-main"] canvas')
        if (clicked && c && c.width > 0) {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
          for (let i = 0; i < d.length; i += 4 * 97) {
            if (d[i] > 16) {
              done(performance.now() - clicked)
              return
            }
          }
        }
        requestAnimationFrame(look)
      }
      requestAnimationFrame(look)
    })
  }, clickCss)
}

async function timeViewer(page, studyUid, front) {
  await page.goto(`${front.url}/#/studies/${studyUid}`)
  const button = page.locator('[data-test="open-viewer"]')
  await button.waitFor({ timeout: 30_000 })
  await armClock(page, '[data-test="open-viewer"]')
  await button.click()
  return page.evaluate(() => Promise.race([window.__firstImage, new Promise((_, no) => setTimeout(() => no(new Error('no image in 60 s')), 60_000))]))
}

/** The frame by WADO-RS as the viewer asks for it, timed in the page. */
function timeWado(page, study, series, sop) {
  return page.evaluate(async ({ study, series, sop }) => {
    const token = JSON.parse(sessionStorage.getItem('station.session')).token
    const t0 = performance.now()
    const r = await fetch(`/dicom-web/studies/${study}/series/${series}/instances/${sop}/frames/1`, {
      headers: { Accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*', Authorization: `Bearer ${token}` },
    })
    const n = (await r.arrayBuffer()).byteLength
    if (!r.ok || n < 10_000_000) throw new Error(`frame: HTTP ${r.status}, ${n} bytes`)
    return performance.now() - t0
  }, { study, series, sop })
}

/** The engine's PNG preview of the same instance, timed in the page until decoded. */
function timePreview(page, sop) {
  return page.evaluate(async (sop) => {
    const token = JSON.parse(sessionStorage.getItem('station.session')).token
    const img = new Image()
    const t0 = performance.now()
    img.src = `/api/preview/${encodeURIComponent(sop)}.png?token=${encodeURIComponent(token)}&t=${Math.random()}`
    await img.decode()
    return performance.now() - t0
  }, sop)
}

let hub, station, front, browser
try {
  hub = await Orthanc.start(join(dir, 'hub'))
  station = await Station.start()
  const users = await station.createRoleUsers()
  const admin = await station.login('admin', users.admin.password)
  // Two studies per run: one opened cold, one warm.
  const studies = []
  for (let i = 0; i < 2 * runs; i++) {
    const s = { studyUid: uid(), seriesUid: uid(), patient: { name: `王^测${i}`, id: `BENCH${i}` } }
    const sub = join(dir, `s${i}`)
    mkdirSync(sub)
    const file = largeDx(join(sub, 'dx.dcm'), s)
    await hub.store(file)
    station.storescu([sub])
    const sop = (await hub.instanceTags()).find((t) => t.StudyInstanceUID === s.studyUid)?.SOPInstanceUID
    studies.push({ ...s, sop })
  }
  await waitFor('the station to hold every study', 60_000, async () => {
    for (const s of studies) if ((await station.call('study_get', { study_uid: s.studyUid }, admin)).status !== 200) return false
    return true
  })
  front = await frontDoor(station, hub)
  browser = await launch()
  const cold = []
  const warm = []
  const wado = []
  const preview = []
  for (let r = 0; r < runs; r++) {
    const page = await loginPage(browser, front, users.doctor)
    const [a, b] = [studies[2 * r], studies[2 * r + 1]]
    cold.push(await timeViewer(page, a.studyUid, front))
    warm.push(await timeViewer(page, b.studyUid, front))
    wado.push(await timeWado(page, b.studyUid, b.seriesUid, b.sop))
    preview.push(await timePreview(page, b.sop))
    await page.context().close()
  }
  console.log(`viewer, click to pixels, 10 MB DX, cold (code not loaded): ${fmt(cold)}`)
  console.log(`viewer, click to pixels, 10 MB DX, warm (another study):  ${fmt(warm)}`)
  console.log(`WADO-RS frame fetch alone (10 MB):                        ${fmt(wado)}`)
  console.log(`engine PNG preview (512 px, cached by the study page):    ${fmt(preview)}`)
} finally {
  await browser?.close()
  await front?.close()
  await station?.stopAndClean()
  hub?.stop()
  rmSync(dir, { recursive: true, force: true })
}
