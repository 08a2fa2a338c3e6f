// The dashboard's backup and integrity card: after `station backup` and a `station verify` that
// finds a file missing, a manager sees when each ran, in the clinic's local time, and what came
// of it, in Chinese and in English.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, rmSync, statSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { Station, stationBin, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

const ZONE = 'Asia/Shanghai'
let station, browser, users

/** `station <args...> --config <the station's>`: exit status and output. */
function cli(...args) {
  const r = spawnSync(stationBin(), [...args, '--config', join(station.dir, 'station.toml')], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

/** The first file under `dir`, depth first. */
function firstFile(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      const found = firstFile(path)
      if (found) return found
    } else return path
  }
  return null
}

/** "YYYY-MM-DD HH:MM:SS" of `ms` in Shanghai, as the page must show it. */
function shanghaiTime(ms) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms))
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}

before(async () => {
  station = await Station.start({ env: { TZ: ZONE } })
  users = await station.createRoleUsers()
  browser = await launch()
  station.storescu([station.demoDay()])
  const admin = await station.login('admin', users.admin.password)
  await waitFor('the demo day stored', 30_000, async () => (await station.call('dashboard', {}, admin)).json?.counts.instances === 40)
})

after(async () => {
  await browser?.close()
  await station?.stopAndClean()
})

describe('the dashboard card of backup and integrity check', () => {
  it('shows the last backup and the problems the last check found, in local time', async () => {
    const backup = cli('backup', '--out', join(station.dir, 'backup'))
    assert.equal(backup.status, 0, backup.out)
    rmSync(firstFile(join(station.dir, 'data', 'instances')))
    const verify = cli('verify')
    assert.equal(verify.status, 1, verify.out)
    assert.match(verify.out, /missing/)
    const token = await station.login(users.manager.username, users.manager.password)
    const board = (await station.call('dashboard', {}, token)).json
    assert.equal(board.last_verify.problems, 1)

    for (const [locale, ok, problems] of [
      ['zh-CN', '正常', '发现 1 个问题'],
      ['en', 'OK', 'Problems found: 1'],
    ]) {
      const page = await loginPage(browser, station, users.manager, locale, undefined, { timezoneId: ZONE, at: new Date() })
      try {
        if (locale === 'en') {
          await page.locator('[data-test="locale"]').click()
          await page.getByRole('option', { name: 'English' }).click()
        }
        const backupRow = page.locator('[data-test="upkeep-backup"]')
        await backupRow.waitFor({ timeout: 20_000 })
        await waitFor('the backup row filled', 10_000, async () => (await backupRow.innerText()).includes(ok))
        assert.ok((await backupRow.innerText()).includes(shanghaiTime(board.last_backup.finished_at)), await backupRow.innerText())
        const verifyRow = page.locator('[data-test="upkeep-verify"]')
        assert.ok((await verifyRow.innerText()).includes(problems), await verifyRow.innerText())
        assert.ok((await verifyRow.innerText()).includes(shanghaiTime(board.last_verify.finished_at)), await verifyRow.innerText())
      } finally {
        await page.context().close()
      }
    }
  })
})
