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
 * Every URL the pages of `loginPage` contexts asked for (popups, frames, workers, event streams
 * included), and the session tokens their logins were given: a token must never be in a URL
 * (it would stay in a shared clinic PC's history).
 */
const recorded = { urls: [], tokens: [] }

function record(context) {
  context.on('request', (r) => recorded.urls.push(r.url()))
  context.on('response', async (r) => {
    if (new URL(r.url()).pathname !== '/api/login' || !r.ok()) return
    const token = await r.json().then((j) => j.token, () => null)
    if (token) recorded.tokens.push(token)
  })
}

/** The recorded URLs, and those that carry a session token or any `token=`. */
export function urlsWithToken() {
  const bad = recorded.urls.filter(
    (u) => /[?&]token=/i.test(u) || recorded.tokens.some((t) => u.includes(t) || u.includes(encodeURIComponent(t))),
  )
  return { urls: recorded.urls, tokens: recorded.tokens, bad }
}

/**
 * A fresh page logged in through the login screen, as a person would. `clock`: the page's time
 * zone and a fixed moment its clock shows (`{ timezoneId, at }`), for a clinic PC at night.
 */
export async function loginPage(browser, station, user, locale = 'zh-CN', viewport = { width: 1366, height: 820 }, clock = null) {
  const context = await browser.newContext({ viewport, locale, ...(clock ? { timezoneId: clock.timezoneId } : {}) })
  record(context)
  const page = await context.newPage()
  if (clock) await page.clock.setFixedTime(clock.at)
  await page.goto(`${station.url}/`)
  await page.locator('input[name="username"]').fill(user.username)
  await page.locator('input[name="password"]').fill(user.password)
  await page.locator('[data-test="login-submit"]').click()
  await page.locator('[data-test="user"]').waitFor({ timeout: 20_000 })
  return page
}
