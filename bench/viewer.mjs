#!/usr/bin/env node
// Time to first image in the viewer (issue 16, "Measure"): a 10 MB DX radiograph (2560 × 2048,
// 16 bits), from the click on "View images" on the study page to its pixels on the canvas, in
// Debian's Chromium, reading the station's own DICOMweb. Side by side in the same run:
//   - wado: the same frame fetched by the page with the viewer's request (network and server
//     only: the floor under the viewer's time),
//   - rendered: the station's /rendered JPEG of the whole image (what a simple DICOMweb client
//     shows),
//   - preview: the engine's 512-pixel PNG preview, all the study page showed before the viewer
//     (already rendered once by the study page's series card, so this is the cached answer),
//   - orthanc: the anchor, Orthanc serving the same frame over its DICOMweb plugin (fetched
//     from Node, as is the station's frame for this line).
// "cold" opens the viewer in a fresh browser context (its code not yet loaded); "warm" opens
// another 10 MB study in the same page afterwards (code loaded, image not).
// Usage: node bench/viewer.mjs [runs=5]   (STATION_BIN=a release build with the UI embedded,
// tests/e2e's npm packages, Orthanc with its DICOMweb plugin, /usr/bin/chromium)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Orthanc, Station, waitFor } from '../tests/e2e/station.mjs'
import { launch, loginPage } from '../tests/e2e/browser.mjs'
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

async function timeViewer(page, studyUid, station) {
  await page.goto(`${station.url}/#/studies/${studyUid}`)
  const button = page.locator('[data-test="open-viewer"]')
  await button.waitFor({ timeout: 30_000 })
  await armClock(page, '[data-test="open-viewer"]')
  await button.click()
  return page.evaluate(() => Promise.race([window.__firstImage, new Promise((_, no) => setTimeout(() => no(new Error('no image in 60 s')), 60_000))]))
}

/** The frame by WADO-RS as the viewer asks for it, timed in the page (its session cookie). */
function timeWado(page, study, series, sop) {
  return page.evaluate(async ({ study, series, sop }) => {
    const t0 = performance.now()
    const r = await fetch(`/dicom-web/studies/${study}/series/${series}/instances/${sop}/frames/1`, {
      headers: { Accept: 'multipart/related; type=application/octet-stream; transfer-syntax=*' },
    })
    const n = (await r.arrayBuffer()).byteLength
    if (!r.ok || n < 10_000_000) throw new Error(`frame: HTTP ${r.status}, ${n} bytes`)
    return performance.now() - t0
  }, { study, series, sop })
}

/** An image URL of the station timed in the page until decoded. */
function timeImage(page, url) {
  return page.evaluate(async (url) => {
    const img = new Image()
    const t0 = performance.now()
    img.src = url
    await img.decode()
    return performance.now() - t0
  }, url)
}

/** A frame fetched from Node, timed (the Orthanc anchor and the station side by side). */
async function timeFetch(url, headers = {}) {
  const t0 = performance.now()
  const r = await fetch(url, { headers: { Accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*', ...headers } })
  const n = (await r.arrayBuffer()).byteLength
  if (!r.ok || n < 10_000_000) throw new Error(`${url}: HTTP ${r.status}, ${n} bytes`)
  return performance.now() - t0
}

let hub, station, browser
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
  browser = await launch()
  const cold = []
  const warm = []
  const wado = []
  const rendered = []
  const preview = []
  const fromNode = []
  const orthanc = []
  for (let r = 0; r < runs; r++) {
    const page = await loginPage(browser, station, users.doctor)
    const [a, b] = [studies[2 * r], studies[2 * r + 1]]
    cold.push(await timeViewer(page, a.studyUid, station))
    warm.push(await timeViewer(page, b.studyUid, station))
    wado.push(await timeWado(page, b.studyUid, b.seriesUid, b.sop))
    const at = `/dicom-web/studies/${b.studyUid}/series/${b.seriesUid}/instances/${b.sop}`
    rendered.push(await timeImage(page, `${at}/rendered?t=${Math.random()}`))
    preview.push(await timeImage(page, `/api/preview/${encodeURIComponent(b.sop)}.png?t=${Math.random()}`))
    fromNode.push(await timeFetch(`${station.url}${at}/frames/1`, { Authorization: `Bearer ${admin}` }))
    orthanc.push(await timeFetch(`${hub.url}${at}/frames/1`))
    await page.context().close()
  }
  console.log(`viewer, click to pixels, 10 MB DX, cold (code not loaded): ${fmt(cold)}`)
  console.log(`viewer, click to pixels, 10 MB DX, warm (another study):  ${fmt(warm)}`)
  console.log(`WADO-RS frame fetch in the page (10 MB):                  ${fmt(wado)}`)
  console.log(`station /rendered JPEG of the whole image, in the page:   ${fmt(rendered)}`)
  console.log(`engine PNG preview (512 px, cached by the study page):    ${fmt(preview)}`)
  console.log(`frame from Node, station (10 MB):                         ${fmt(fromNode)}`)
  console.log(`frame from Node, Orthanc (the anchor, same instance):     ${fmt(orthanc)}`)
} finally {
  await browser?.close()
  await station?.stopAndClean()
  hub?.stop()
  rmSync(dir, { recursive: true, force: true })
}
