// HTTPS for the LAN UI with the station's own certificate: a browser logs in over https:// (its
// session cookie is Secure) and the Settings page shows, in full, the SHA-256 fingerprint of the
// very certificate the station serves, for a technician to compare with what the browser shows.
// The browser accepts the self-signed certificate as a person would after comparing
// (ignoreHTTPSErrors); the station's readiness is checked trusting only that certificate.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ADMIN_PASSWORD, Station } from './station.mjs'
import { launch } from './browser.mjs'

let station
let browser

before(async () => {
  station = await Station.start({ tls: true })
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await station?.stopAndClean()
})

describe('https', () => {
  for (const [locale, title] of [
    ['zh-CN', 'SHA-256 指纹'],
    ['en', 'SHA-256 fingerprint'],
  ]) {
    it(`the Settings page shows the served certificate's fingerprint (${locale})`, async () => {
      // What the browser's certificate viewer shows: uppercase hex pairs joined by colons.
      const fingerprint = new X509Certificate(readFileSync(station.certFile)).fingerprint256
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 820 } })
      try {
        const page = await context.newPage()
        await page.goto(`${station.url}/`)
        await page.locator('input[name="username"]').fill('admin')
        await page.locator('input[name="password"]').fill(ADMIN_PASSWORD)
        await page.locator('[data-test="login-submit"]').click()
        await page.locator('[data-test="user"]').waitFor({ timeout: 20_000 })
        if (locale === 'en') {
          await page.locator('[data-test="locale"]').click()
          await page.getByRole('option', { name: 'English' }).click()
        }
        const cookie = (await context.cookies()).find((c) => c.name === 'station_session')
        assert.ok(cookie?.secure && cookie.httpOnly, `session cookie: ${JSON.stringify(cookie)}`)

        await page.locator('[data-nav="settings"]').click()
        const shown = page.locator('[data-test="https-fingerprint"]')
        await shown.waitFor({ timeout: 20_000 })
        assert.equal((await shown.textContent()).trim(), fingerprint)
        assert.ok(await page.locator('[data-test="https"]').getByText(title).isVisible())
      } finally {
        await context.close()
      }
    })
  }
})
