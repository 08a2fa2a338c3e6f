// The image viewer (issue 16 item 3) in a real Chromium against the station's own DICOMweb
// (issue 16 item 2): a station that received the study and an earlier one from a device
// (storescu) serves them at /dicom-web behind its login. The images are written by
// imaging.mjs, so the test knows every value it checks: a MONOCHROME1 CR
// with two marks 100 mm apart, a 25 frames/s cine, an ECG recording eight leads.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Station, waitFor } from './station.mjs'
import { launch, loginPage, urlsWithToken } from './browser.mjs'
import { CINE, crImage, ecg, usCine, uid } from './imaging.mjs'

const patient = { name: '李^建国=李^建国', id: 'VIEW-P1' }
const studyUid = uid()
const priorUid = uid()

let dir
let station
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
  assert.ok(files.length === 3 && prior)
  station = await Station.start()
  users = await station.createRoleUsers()
  station.storescu([today, earlier])
  const admin = await station.login('admin', users.admin.password)
  for (const uid of [studyUid, priorUid]) {
    await waitFor('the station to hold the studies', 30_000, async () => (await station.call('study_get', { study_uid: uid }, admin)).status === 200)
  }
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await station?.stopAndClean()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const MAIN = '[data-test="viewport-main"]'
const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')

/** Logs in and opens the study's viewer from the study page, as a person would. */
async function openViewer(role, viewport) {
  const page = await loginPage(browser, station, users[role], 'zh-CN', viewport)
  await page.goto(`${station.url}/#/studies/${studyUid}`)
  await page.locator('[data-test="open-viewer"]').click({ timeout: 20_000 })
  await waitRendered(page, MAIN)
  return page
}

/** Waits until the viewport has drawn an image and its canvas shows it (a resize clears a canvas until the next frame). */
async function waitRendered(page, viewport) {
  await page.locator(`${viewport}[data-rendered^="wadors:"]`).waitFor({ timeout: 30_000 })
  return waitFor(`${viewport} to show an image`, 10_000, async () => {
    const p = await canvasPixels(page, viewport)
    return p.mean > 10 && p
  })
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
 * Centres of the round marks on the image, in page coordinates, with the grey level in and
 * around them: a pixel counts when it is dark (or, `bright`, light) and the pixels 12 px away on
 * four sides are the opposite (so the black margin around the image does not).
 */
function findMarks(page, { bright = false } = {}) {
  return page.evaluate(
    ({ sel, bright }) => {
      const c = document.querySelector(`${sel} canvas`)
      const { width, height } = c
      const d = c.getContext('2d').getImageData(0, 0, width, height).data
      const lum = (x, y) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : d[(y * width + x) * 4])
      const mark = bright ? (v) => v > 200 : (v) => v < 60
      const field = bright ? (v) => v < 150 && v > 20 : (v) => v > 100
      const pts = []
      for (let y = 12; y < height - 12; y++)
        for (let x = 12; x < width - 12; x++)
          if (mark(lum(x, y)) && [lum(x - 12, y), lum(x + 12, y), lum(x, y - 12), lum(x, y + 12)].every(field)) pts.push([x, y])
      if (!pts.length) return []
      // Two marks: split along the axis they are spread over.
      const spread = (i) => Math.max(...pts.map((p) => p[i])) - Math.min(...pts.map((p) => p[i]))
      const axis = spread(0) >= spread(1) ? 0 : 1
      const mid = (Math.min(...pts.map((p) => p[axis])) + Math.max(...pts.map((p) => p[axis]))) / 2
      const rect = c.getBoundingClientRect()
      return [pts.filter((p) => p[axis] < mid), pts.filter((p) => p[axis] >= mid)]
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
    },
    { sel: MAIN, bright },
  )
}

/** Mean grey of the top and bottom quarters of the canvas. */
function topAndBottom(page) {
  return page.evaluate((sel) => {
    const c = document.querySelector(`${sel} canvas`)
    const { width, height } = c
    const d = c.getContext('2d').getImageData(0, 0, width, height).data
    const mean = (y0, y1) => {
      let s = 0
      let n = 0
      for (let y = y0; y < y1; y++) for (let x = Math.floor(width / 4); x < (3 * width) / 4; x++, n++) s += d[(y * width + x) * 4]
      return s / n
    }
    return { top: mean(Math.floor(height / 8), Math.floor(height / 4)), bottom: mean(Math.floor((3 * height) / 4), Math.floor((7 * height) / 8)) }
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
      const page = await loginPage(browser, station, users[role])
      try {
        await page.goto(`${station.url}/#/viewer/${studyUid}`)
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
      const marks = await waitFor('two dark marks', 10_000, async () => {
        const m = await findMarks(page)
        return m.length === 2 && m
      })
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
      await page.screenshot({ path: join(SHOTS, 'viewer.png') })
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
      await waitFor('most of the picture to change', 10_000, async () => {
        const now = await canvasPixels(page)
        return now.grid.filter((v, i) => Math.abs(v - pixelsBefore.grid[i]) > 8).length > 40
      })

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

  it('rotates, flips, inverts, shows 1:1 and fits again', async () => {
    // Wide enough for the marks 800 image pixels apart to stay on the canvas at 1:1.
    const page = await openViewer('doctor', { width: 1700, height: 900 })
    const distance = (m) => Math.hypot(m[1].x - m[0].x, m[1].y - m[0].y)
    // Each button redraws on the next frame: wait for the picture it should give.
    const marksWhen = (what, ok, opts) => waitFor(what, 10_000, async () => {
      const m = await findMarks(page, opts)
      return m.length === 2 && ok(m) && m
    })
    const shadesWhen = (what, ok) => waitFor(what, 10_000, async () => {
      const s = await topAndBottom(page)
      return ok(s) && s
    })
    try {
      const fitted = await marksWhen('two marks', () => true)
      await page.locator('[data-test="one-to-one"]').click()
      await marksWhen('1:1: the 800-pixel gap as 800 screen pixels', (m) => Math.abs(distance(m) - 800) <= 2)
      await page.locator('[data-test="fit"]').click()
      await marksWhen('fit: the whole image again', (m) => Math.abs(distance(m) - distance(fitted)) <= 2)

      await page.locator('[data-test="rotate"]').click()
      await marksWhen('rotated 90°: one mark above the other', (m) => Math.abs(m[0].x - m[1].x) < 3 && Math.abs(m[0].y - m[1].y) > 100)
      for (let i = 0; i < 3; i++) await page.locator('[data-test="rotate"]').click()
      await marksWhen('four quarter turns: side by side again', (m) => Math.abs(m[0].y - m[1].y) < 3 && Math.abs(distance(m) - distance(fitted)) <= 2)

      // The background is stored lighter-in-value downwards, so MONOCHROME1 shows it light at the top.
      await shadesWhen('light at the top', (s) => s.top > s.bottom + 20)
      await page.locator('[data-test="flip-v"]').click()
      await shadesWhen('flipped vertically: light at the bottom', (s) => s.bottom > s.top + 20)

      await page.locator('[data-test="invert"]').click()
      await marksWhen('inverted: light marks on a darker field', () => true, { bright: true })
    } finally {
      await page.context().close()
    }
  })

  it('says so when the image service does not hold the study', async () => {
    const page = await loginPage(browser, station, users.doctor)
    try {
      await page.goto(`${station.url}/#/viewer/${uid()}`)
      const error = page.locator('[data-test="viewer-error"]')
      await error.waitFor({ timeout: 20_000 })
      assert.match(await error.innerText(), /影像服务中没有这个检查/)
    } finally {
      await page.context().close()
    }
  })

  it('plays the cine at its recorded 25 frames a second', async (t) => {
    const page = await openViewer('doctor')
    try {
      await page.locator('[data-series="US"]').click()
      await page.locator(`${MAIN}[data-rendered*="/frames/1"]`).waitFor({ timeout: 30_000 })
      await waitRendered(page, MAIN)
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
      await waitFor('the picture to move', 5_000, async () => JSON.stringify((await canvasPixels(page)).grid) !== JSON.stringify(first.grid))
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
      await page.screenshot({ path: join(SHOTS, 'viewer-ecg.png') })
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
      // Drawn: its canvas shows the earlier image, not an empty black box.
      await waitRendered(page, '[data-test="viewport-compare"]')
    } finally {
      await page.context().close()
    }
  })

  it('no URL the browser opened carries the session token', () => {
    const { urls, tokens, bad } = urlsWithToken()
    assert.ok(tokens.length > 0, 'logins seen')
    for (const kind of [/\/dicom-web\/studies\//]) assert.ok(urls.some((u) => kind.test(u)), `a request for ${kind} was made`)
    assert.deepEqual(bad, [])
  })
})
