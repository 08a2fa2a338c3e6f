// The image viewer (issue 16 item 3) in a real Chromium against real DICOMweb: a station that
// received the study from a device (storescu), and an Orthanc holding the same files behind
// the station's login (frontdoor.mjs), standing in for the station's own /dicom-web. The
// images are written by imaging.mjs, so the test knows every value it checks: a MONOCHROME1 CR
// with two marks 100 mm apart, a 25 frames/s cine, an ECG recording eight leads.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Orthanc, Station, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'
import { frontDoor } from './frontdoor.mjs'
import { CINE, crImage, ecg, usCine, uid } from './imaging.mjs'

const patient = { name: '李^建国=李^建国', id: 'VIEW-P1' }
const studyUid = uid()
const priorUid = uid()

let dir
let hub
let station
let front
let browser
let users

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'station-e2e-viewer-'))
  const today = join(dir, 'today')
  const earlier = join(dir, 'earlier')
  mkdirSync(today)
  mkdirSync(earlier)
  const study = { studyUid, patient, studyDate: '20261201' }
  const files = [
    crImage(join(today, 'cr.dcm'), { ...study, seriesUid: uid(), seriesNumber: 1 }),
    usCine(join(today, 'us.dcm'), { ...study, seriesUid: uid(), seriesNumber: 2 }),
    ecg(join(today, 'ecg.dcm'), { ...study, seriesUid: uid(), seriesNumber: 3 }),
  ]
  const prior = crImage(join(earlier, 'cr.dcm'), { studyUid: priorUid, seriesUid: uid(), patient, studyDate: '20261001', description: '胸部 复查前' })
  hub = await Orthanc.start(join(dir, 'hub'))
  for (const f of [...files, prior]) await hub.store(f)
  station = await Station.start()
  users = await station.createRoleUsers()
  station.storescu([today])
  const admin = await station.login('admin', users.admin.password)
  await waitFor('the station to hold the study', 30_000, async () => (await station.call('study_get', { study_uid: studyUid }, admin)).status === 200)
  front = await frontDoor(station, hub)
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await front?.close()
  await station?.stopAndClean()
  hub?.stop()
  if (process.env.VIEWER_REQUESTS && front) console.log(JSON.stringify(front.requests, null, 1))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const MAIN = '[data-test="viewport-main"]'

/** Logs in through the front door and opens the study's viewer from the study page, as a person would. */
async function openViewer(role) {
  const page = await loginPage(browser, front, users[role])
  await page.goto(`${front.url}/#/studies/${studyUid}`)
  await page.locator('[data-test="open-viewer"]').click({ timeout: 20_000 })
  await waitRendered(page, MAIN)
  return page
}

function waitRendered(page, viewport) {
  return page.locator(`${viewport}[data-rendered^="wadors:"]`).waitFor({ timeout: 30_000 })
}

/** The canvas' pixels: a 16 × 16 grid of grey levels and the overall mean. */
function canvasPixels(page, viewport = MAIN) {
  return page.evaluate((sel) => {
    const c = document.querySelector(`${sel} canvas`)
    const { width, height } = c
    const d = c.getContext('2d').getImageData(0, 0, width, height).data
    const grid = []
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) grid.push(d[(Math.floor(((y + 0.5) * height) / 16) * width + Math.floor(((x + 0.5) * width) / 16)) * 4])
    let sum = 0
    for (let i = 0; i < d.length; i += 4) sum += d[i]
    return { grid, mean: sum / (d.length / 4) }
  }, viewport)
}

/**
 * Centres of the dark round marks on the image, in page coordinates, with the grey level around
 * them: a dark pixel counts when the pixels 12 px away on four sides are bright (so the black
 * margin around the image does not).
 */
function darkMarks(page) {
  return page.evaluate((sel) => {
    const c = document.querySelector(`${sel} canvas`)
    const { width, height } = c
    const d = c.getContext('2d').getImageData(0, 0, width, height).data
    const lum = (x, y) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : d[(y * width + x) * 4])
    const pts = []
    for (let y = 12; y < height - 12; y++)
      for (let x = 12; x < width - 12; x++)
        if (lum(x, y) < 60 && [lum(x - 12, y), lum(x + 12, y), lum(x, y - 12), lum(x, y + 12)].every((v) => v > 100)) pts.push([x, y])
    if (!pts.length) return []
    const xs = pts.map((p) => p[0])
    const mid = (Math.min(...xs) + Math.max(...xs)) / 2
    const rect = c.getBoundingClientRect()
    return [pts.filter((p) => p[0] < mid), pts.filter((p) => p[0] >= mid)]
      .filter((g) => g.length)
      .map((g) => {
        const cx = g.reduce((a, p) => a + p[0], 0) / g.length
        const cy = g.reduce((a, p) => a + p[1], 0) / g.length
        return {
          x: rect.left + ((cx + 0.5) * rect.width) / width,
          y: rect.top + ((cy + 0.5) * rect.height) / height,
          inside: lum(Math.round(cx), Math.round(cy)),
          around: lum(Math.round(cx), Math.round(cy) - 14),
        }
      })
  }, MAIN)
}

function windowText(page, viewport = MAIN) {
  return page.locator(`${viewport} ~ .corner [data-test="voi"]`).innerText()
}

function windowValues(text) {
  const [width, center] = (text.match(/-?\d+/g) ?? []).map(Number)
  return { width, center }
}

async function drag(page, from, to, steps = 12) {
  await page.mouse.move(from.x, from.y)
  await page.mouse.down()
  await page.mouse.move(to.x, to.y, { steps })
  await page.mouse.up()
}

describe('image viewer', () => {
  it('every clinical role opens it, and it is not in the navigation bar', async () => {
    for (const role of ['technician', 'doctor', 'manager', 'admin']) {
      const page = await loginPage(browser, front, users[role])
      try {
        await page.goto(`${front.url}/#/viewer/${studyUid}`)
        await waitRendered(page, MAIN)
        assert.equal(await page.locator('[data-test="forbidden"]').count(), 0, role)
        assert.equal(await page.locator('[data-nav="viewer"]').count(), 0, `${role}: no viewer entry in the navigation`)
      } finally {
        await page.context().close()
      }
    }
  })

  it('shows MONOCHROME1 the right way round and measures 100 mm between marks 100 mm apart', async (t) => {
    const page = await openViewer('technician')
    try {
      assert.match(await page.locator(`${MAIN} ~ .corner [data-test="spacing"]`).innerText(), /像素间距 0\.125 × 0\.125 mm/)
      const marks = await darkMarks(page)
      assert.equal(marks.length, 2, `two dark marks found: ${JSON.stringify(marks)}`)
      // The marks hold the highest stored value: in MONOCHROME1 that is black on a light field.
      for (const m of marks) assert.ok(m.inside < 40 && m.around > 120, `mark dark on light: ${JSON.stringify(m)}`)

      await page.locator('[data-tool="length"]').click()
      await drag(page, marks[0], marks[1])
      const text = await page.locator('[data-test="measurement"]').first().innerText({ timeout: 10_000 })
      const mm = Number(/([\d.]+) mm/.exec(text)?.[1])
      assert.ok(Math.abs(mm - 100) <= 1, `measured ${text}`)
      t.diagnostic(`length: ${text}`)
      assert.match(text, /像素间距/, 'says the length comes from Pixel Spacing')

      // An angle drawn along a row (below the line just measured) and then straight up is a right angle.
      await page.locator('[data-tool="angle"]').click()
      const a = { x: marks[0].x, y: marks[0].y + 150 }
      const vertex = { x: marks[1].x, y: marks[1].y + 150 }
      await drag(page, a, vertex)
      await page.mouse.move(vertex.x, vertex.y - 120, { steps: 6 })
      await page.mouse.click(vertex.x, vertex.y - 120)
      const angle = page.locator('[data-test="measurement"]', { hasText: '°' })
      const degrees = Number(/([\d.]+)°/.exec(await angle.innerText({ timeout: 10_000 }))?.[1])
      assert.ok(Math.abs(degrees - 90) <= 1, `measured ${degrees}°`)
      t.diagnostic(`angle: ${degrees}°`)
    } finally {
      await page.context().close()
    }
  })

  it('window/level follows a drag and the presets, and the image changes with it', async () => {
    const page = await openViewer('doctor')
    try {
      const before = windowValues(await windowText(page))
      assert.deepEqual(before, { width: 4096, center: 2048 }, 'the file\'s own window first')
      const pixelsBefore = await canvasPixels(page)
      const box = await page.locator(`${MAIN} canvas`).boundingBox()
      const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 }
      await drag(page, centre, { x: centre.x - 150, y: centre.y + 80 })
      const after = windowValues(await windowText(page))
      assert.notDeepEqual(after, before, 'the shown W/L values changed')
      const pixelsAfter = await canvasPixels(page)
      const changed = pixelsAfter.grid.filter((v, i) => Math.abs(v - pixelsBefore.grid[i]) > 8).length
      assert.ok(changed > 40, `${changed} of 256 sampled pixels changed`)

      // MONOCHROME1 stores dense structures low: the bone window sits in the lower values, lung in the upper.
      await page.locator('[data-preset="bone"]').click()
      const bone = windowValues(await windowText(page))
      await page.locator('[data-preset="lung"]').click()
      const lung = windowValues(await windowText(page))
      assert.ok(bone.width < 1000 && lung.width < 1000, `narrow preset windows: ${JSON.stringify({ bone, lung })}`)
      assert.ok(bone.center < 1500 && lung.center > 1500, `bone low, lung high: ${JSON.stringify({ bone, lung })}`)
      await page.locator('[data-preset="default"]').click()
      assert.deepEqual(windowValues(await windowText(page)), { width: 4096, center: 2048 })
    } finally {
      await page.context().close()
    }
  })

  it('plays the cine at its recorded 25 frames a second', async (t) => {
    const page = await openViewer('doctor')
    try {
      await page.locator('[data-series="US"]').click()
      await page.locator(`${MAIN}[data-rendered*="/frames/1"]`).waitFor({ timeout: 30_000 })
      const rate = await page.locator('[data-test="rate"]').innerText()
      assert.match(rate, /25 帧\/秒/)
      assert.match(rate, /按帧时间/)
      const first = await canvasPixels(page)
      const frame = async () => Number(/第 (\d+) \//.exec(await page.locator('[data-test="frame"]').innerText())?.[1])
      assert.equal(await frame(), 1)
      await page.locator('[data-test="play"]').click()
      await waitFor('the cine to reach frame 10', 15_000, async () => (await frame()) >= 10)
      // Frames shown advance with the clock: count them over about a second.
      const t0 = Date.now()
      const f0 = await frame()
      await waitFor('frames to advance for 800 ms', 5_000, () => Date.now() - t0 >= 800)
      const f1 = await frame()
      const fps = (((f1 - f0 + CINE.frames) % CINE.frames) * 1000) / (Date.now() - t0)
      assert.ok(fps > 12 && fps < 38, `about 25 frames/s, saw ${fps.toFixed(1)}`)
      t.diagnostic(`cine: ${fps.toFixed(1)} frames/s shown`)
      const later = await canvasPixels(page)
      assert.notDeepEqual(later.grid, first.grid, 'the picture moves')
      await page.locator('[data-test="play"]').click()
      const stopped = await frame()
      const paused = Date.now()
      await waitFor('half a second of pause', 2_000, () => Date.now() - paused >= 500)
      assert.equal(await frame(), stopped, 'pause stops it')
    } finally {
      await page.context().close()
    }
  })

  it('draws the ECG as twelve labelled leads, the four derived ones marked, with calipers', async () => {
    const page = await openViewer('doctor')
    try {
      await page.locator('[data-series="ECG"]').click()
      const svg = page.locator('[data-test="viewer-ecg"] svg[data-test="ecg"]')
      await svg.waitFor({ timeout: 30_000 })
      const leads = await svg.locator('g[data-lead]').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-lead'), g.getAttribute('data-derived') === 'true', g.textContent.trim()]))
      assert.deepEqual([...new Set(leads.map((l) => l[0]))].sort(), ['I', 'II', 'III', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6', 'aVF', 'aVL', 'aVR'])
      assert.deepEqual(leads.filter((l) => l[1]).map((l) => l[0]).sort(), ['III', 'aVF', 'aVL', 'aVR'])
      assert.ok(leads.filter((l) => l[1]).every((l) => l[2].includes('推导')), 'derived leads say so')
      // The lead II rhythm strip (4th row, 25 mm high at 4 px/mm) runs from 0 s at 25 mm/s: R
      // peaks at 0.5 s and 1.5 s are 50 and 150 px from the paper's left edge.
      const box = await svg.boundingBox()
      const y = box.y + 3 * 100 + 50
      await page.mouse.click(box.x + 50, y)
      await page.mouse.click(box.x + 150, y)
      assert.equal(await page.locator('[data-test="ecg-caliper"]').innerText(), '1000 ms · 60 次/分')
    } finally {
      await page.context().close()
    }
  })

  it('shows the patient\'s earlier study side by side', async () => {
    const page = await openViewer('doctor')
    try {
      await page.locator('[data-test="compare"]').click()
      const prior = page.locator('[data-test="prior"]')
      await prior.first().waitFor({ timeout: 20_000 })
      assert.equal(await prior.count(), 1)
      assert.match(await prior.innerText(), /2026-10-01/)
      await waitRendered(page, '[data-test="viewport-compare"]')
      const pixels = await canvasPixels(page, '[data-test="viewport-compare"]')
      assert.ok(pixels.mean > 20, `the earlier image is drawn (mean grey ${pixels.mean.toFixed(0)})`)
    } finally {
      await page.context().close()
    }
  })
})
