// Debian's Chromium driven by playwright-core (npm's own browser downloads are not used).
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/**
 * A fresh page logged in through the login screen, as a person would. `clock`: the page's time
 * zone and a fixed moment its clock shows (`{ timezoneId, at }`), for a clinic PC at night.
 */
export async function loginPage(browser, station, user, locale = 'zh-CN', viewport = { width: 1366, height: 820 }, clock = null) {
  const context = await browser.newContext({ viewport, locale, ...(clock ? { timezoneId: clock.timezoneId } : {}) })
  const page = await context.newPage()
  if (clock) await page.clock.setFixedTime(clock.at)
  await page.goto(`${station.url}/`)
  await page.locator('input[name="username"]').fill(user.username)
  await page.locator('input[name="password"]').fill(user.password)
  await page.locator('[data-test="login-submit"]').click()
  await page.locator('[data-test="user"]').waitFor({ timeout: 20_000 })
  return page
}
