// The Settings page against a real station: an admin adds an allowed AE title and a turnaround
// target, saves, and both are still there after a reload (they were written to the config file
// and applied); a device refused the worklist is allowed in one click; the connection test names
// the failing step; the diagnostics bundle downloads; a bad hub address is refused with its field
// marked; an admin makes an API token for the center, shown once; the center's maintenance staff
// land on their own screen, which shows the links and the send queue but no patient; screenshots
// for the README.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { join, resolve } from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { ADMIN_PASSWORD, STORESCU, Station, freePort, waitFor } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

const FINDSCU = '/usr/bin/findscu'
const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')

let station
let browser
let users

before(async () => {
  const deadPort = await freePort()
  station = await Station.start({
    destinations: [{ name: 'radiology', url: `http://127.0.0.1:${deadPort}/dicom-web`, modalities: ['DX', 'US'] }],
  })
  users = { admin: { username: 'admin', password: ADMIN_PASSWORD } }
  browser = await launch()
  mkdirSync(SHOTS, { recursive: true })
})

after(async () => {
  await browser?.close()
  await station?.stopAndClean()
})

async function openSettings(page) {
  await page.locator('[data-nav="settings"]').click()
  await page.locator('[data-test="save-settings"]').waitFor({ timeout: 20_000 })
}

describe('settings page', () => {
  it('an admin adds an allowed AE title and a turnaround target; both stay after a reload', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      // Checked before sending, in Chinese, next to the field.
      await page.locator('input[name="new-caller"]').fill('超声一号')
      await page.locator('[data-test="add-caller"]').click()
      await page.locator('.add-caller .error-text', { hasText: 'AE 名称' }).waitFor({ timeout: 10_000 })
      await page.locator('input[name="new-caller"]').fill('US2')
      await page.locator('[data-test="add-caller"]').click()
      await page.locator('[data-test="allowed-callers"]', { hasText: 'US2' }).waitFor({ timeout: 10_000 })

      await page.locator('[data-test="add-target"]').click()
      const row = page.locator('[data-test="targets"] .el-table__body tr').last()
      await row.locator('input[name="target-modality"]').fill('ECG')
      await row.locator('input[name="target-minutes"]').fill('15')
      await row.locator('input[name="target-minutes"]').blur()
      await page.locator('[data-test="unsaved"]').waitFor({ timeout: 10_000 })
      await page.locator('[data-test="save-settings"]').click()
      const applied = await page.locator('[data-test="applied"]').innerText({ timeout: 20_000 })
      assert.match(applied, /允许的设备 AE 名称/, applied)
      assert.match(applied, /报告时限/, applied)

      await page.reload()
      await page.locator('[data-test="save-settings"]').waitFor({ timeout: 20_000 })
      await page.locator('[data-test="allowed-callers"]', { hasText: 'US2' }).waitFor({ timeout: 10_000 })
      const modalities = await page
        .locator('[data-test="targets"] input[name="target-modality"]')
        .evaluateAll((els) => els.map((e) => e.value))
      const minutes = await page
        .locator('[data-test="targets"] input[name="target-minutes"]')
        .evaluateAll((els) => els.map((e) => e.value))
      assert.deepEqual(modalities.at(-1), 'ECG', `targets after reload: ${modalities}`)
      assert.deepEqual(minutes.at(-1), '15', `targets after reload: ${minutes}`)
      const file = readFileSync(join(station.dir, 'station.toml'), 'utf8')
      assert.match(file, /allowed_callers = \["US2"\]/, file)
      assert.match(file, /modality = "ECG"/, file)
      await page.locator('[data-test="destinations"]').scrollIntoViewIfNeeded()
      await page.screenshot({ path: join(SHOTS, 'settings-edit.png'), fullPage: true })
    } finally {
      await page.context().close()
    }
  })

  it('a device refused the worklist is listed on the Settings page and allowed there in one click', async () => {
    // US2 is an allowed caller since the test above; no device may read the worklist yet.
    const query = () =>
      spawnSync(FINDSCU, ['-v', '-W', '-aet', 'US2', '-aec', 'STATION', '-k', 'PatientName', '127.0.0.1', String(station.dicomPort)], {
        encoding: 'utf8',
        timeout: 60_000,
      })
    const refused = query()
    assert.match(refused.stderr + refused.stdout, /Final Find Response \(Unknown Status: 0x124\)/, refused.stderr)
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      const row = page.locator('[data-test="worklist-refused"] .el-table__body tr', { hasText: 'US2' })
      await row.waitFor({ timeout: 10_000 })
      await row.locator('[data-test="allow-worklist"]').click()
      await page.locator('[data-test="worklist-callers"]', { hasText: 'US2' }).waitFor({ timeout: 10_000 })
      await page.locator('[data-test="worklist-refused"]').waitFor({ state: 'detached', timeout: 10_000 })
    } finally {
      await page.context().close()
    }
    const allowed = query()
    assert.equal(allowed.status, 0, allowed.stderr)
    assert.match(allowed.stderr + allowed.stdout, /Final Find Response \(Success\)/, allowed.stderr)
    assert.match(readFileSync(join(station.dir, 'station.toml'), 'utf8'), /worklist_callers = \["US2"\]/)
  })

  it('a workstation refused Query/Retrieve is listed on the Settings page and allowed there in one click', async () => {
    // US2 may call and read the worklist since the tests above; no workstation may query yet.
    const query = () =>
      spawnSync(FINDSCU, ['-v', '-S', '-aet', 'US2', '-aec', 'STATION', '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID', '127.0.0.1', String(station.dicomPort)], {
        encoding: 'utf8',
        timeout: 60_000,
      })
    const refused = query()
    assert.match(refused.stderr + refused.stdout, /Final Find Response \(Unknown Status: 0x124\)/, refused.stderr)
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      const row = page.locator('[data-test="query-refused"] .el-table__body tr', { hasText: 'US2' })
      await row.waitFor({ timeout: 10_000 })
      assert.equal(await page.locator('[data-test="worklist-refused"]').count(), 0, 'a Q/R refusal is not a worklist one')
      await row.locator('[data-test="allow-query"]').click()
      await page.locator('[data-test="query-callers"]', { hasText: 'US2' }).waitFor({ timeout: 10_000 })
      await page.locator('[data-test="query-refused"]').waitFor({ state: 'detached', timeout: 10_000 })
    } finally {
      await page.context().close()
    }
    const allowed = query()
    assert.equal(allowed.status, 0, allowed.stderr)
    assert.match(allowed.stderr + allowed.stdout, /Final Find Response \(Success\)/, allowed.stderr)
    assert.match(readFileSync(join(station.dir, 'station.toml'), 'utf8'), /query_callers = \["US2"\]/)
  })

  it("an admin's common exam items are what the Register page offers", async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      const dx = page.locator('textarea[name="procedures-DX"]')
      assert.match(await dx.inputValue(), /^胸部正位\n/, 'the built-in list to start from')
      await dx.fill('胸部正位\n双膝负重正位')
      await page.locator('[data-test="save-settings"]').click()
      assert.match(await page.locator('[data-test="applied"]').innerText({ timeout: 20_000 }), /常用检查项目/)
    } finally {
      await page.context().close()
    }
    const desk = { username: 'desk', password: 'pw-desk-12345', display_name: '前台', role: 'technician' }
    assert.equal((await station.call('user_create', desk, await station.login('admin', ADMIN_PASSWORD))).status, 200)
    const tech = await loginPage(browser, station, desk)
    try {
      await tech.locator('[data-nav="register"]').click()
      await tech.locator('input[name="procedure"]').click()
      await tech.keyboard.type('双膝')
      await tech.locator('.el-autocomplete-suggestion li', { hasText: '双膝负重正位' }).waitFor({ timeout: 10_000 })
    } finally {
      await tech.context().close()
    }
  })

  it('测试连接 in the destination dialog shows which step fails, in Chinese', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      await page.locator('[data-test="edit-destination"]').first().click()
      const dialog = page.locator('[data-test="destination-dialog"]')
      await dialog.locator('[data-test="dest-test"]').click()
      const result = dialog.locator('[data-test="hub-test"]')
      await result.waitFor({ timeout: 30_000 })
      // Nothing listens on the radiology hub's port: the connection step fails, later ones wait.
      const text = await result.innerText()
      assert.match(text, /连接有问题/, text)
      assert.match(await result.locator('[data-step="dns"]').innerText(), /✓ 域名解析 \(DNS\) 通过/)
      const tcpStep = result.locator('[data-step="tcp"]')
      const tcp = await tcpStep.innerText()
      assert.match(tcp, /✗ 网络连接 \(TCP\) 失败/, tcp)
      assert.match(tcp, /连不上中心服务器/, `a plain sentence: ${tcp}`)
      // The system's own words, one click away.
      await tcpStep.locator('summary', { hasText: '原始信息' }).click()
      assert.match(await tcpStep.locator('details code').innerText(), /refused/i)
      assert.match(await result.locator('[data-step="qido"]').innerText(), /跳过.*前一步失败/)
      await dialog.locator('button', { hasText: '取消' }).click()
    } finally {
      await page.context().close()
    }
  })

  it('下载诊断包 gives the admin the bundle for the center', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      // Before any destination off loopback is added: the bundle tests each destination.
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 60_000 }),
        page.locator('[data-test="download-diagnostics"]').click(),
      ])
      assert.equal(download.suggestedFilename(), 'station-diagnostics.tar.gz')
      const bytes = readFileSync(await download.path())
      assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], 'a gzip file')
      const tar = gunzipSync(bytes).toString('latin1')
      assert.match(tar, /station-diagnostics\/station\.toml/)
      assert.match(tar, /station-diagnostics\/hub-test\.json/)
      assert.match(tar, /"step": "tcp",\s*"verdict": "failed"/, 'the radiology hub is down')
    } finally {
      await page.context().close()
    }
  })

  it('a bad hub address is refused, its field marked in the dialog, and nothing is saved', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      const before = readFileSync(join(station.dir, 'station.toml'), 'utf8')
      await page.locator('[data-test="edit-destination"]').first().click()
      const dialog = page.locator('[data-test="destination-dialog"]')
      await dialog.locator('input[name="dest-url"]').fill('hub.example/dicom-web')
      await dialog.locator('[data-test="dest-ok"]').click()
      // The page checks first: the dialog stays open with the reason under the address.
      await dialog.locator('.el-form-item__error', { hasText: 'http://' }).waitFor({ timeout: 10_000 })
      await dialog.locator('input[name="dest-url"]').fill('http://hub.example:8042/dicom-web')
      await dialog.locator('[data-test="dest-ok"]').click()
      await page.locator('[data-test="destinations"]', { hasText: 'hub.example:8042' }).waitFor({ timeout: 10_000 })
      await page.locator('[data-test="add-destination"]').click()
      await dialog.locator('input[name="dest-name"]').fill('ecg-room')
      // A password to a plain http:// hub elsewhere: the dialog warns and offers the leave.
      await dialog.locator('input[name="dest-url"]').fill('http://ecg.example/dicom-web')
      await dialog.locator('[data-test="dest-auth"]').click()
      await page.locator('.el-select-dropdown__item', { hasText: /Basic/i }).click()
      await dialog.locator('input[name="dest-username"]').fill('clinic01')
      await dialog.locator('input[name="dest-password"]').fill('hub-password-1')
      const warning = dialog.locator('[data-test="dest-insecure-warning"]')
      await warning.waitFor({ timeout: 10_000 })
      assert.match(await warning.innerText(), /http:\/\//)
      await dialog.locator('input[name="dest-url"]').fill('https://ecg.example/dicom-web')
      await warning.waitFor({ state: 'detached', timeout: 10_000 })
      // What the clinic calls it: shown on every screen in place of the name.
      await dialog.locator('input[name="dest-display-name"]').fill('心电室')
      // The dialog has finished fading in before the picture.
      await page.waitForFunction(() => !document.querySelector('[class*="dialog-fade-enter"]'), null, { timeout: 10_000 })
      await page.screenshot({ path: join(SHOTS, 'settings-destination.png') })
      await dialog.locator('[data-test="dest-ok"]').click()
      await page.locator('[data-test="destinations"]', { hasText: 'ecg-room' }).waitFor({ timeout: 10_000 })
      await page.locator('[data-test="save-settings"]').click()
      await page.locator('[data-test="applied"]', { hasText: '诊断中心' }).waitFor({ timeout: 20_000 })
      const after = readFileSync(join(station.dir, 'station.toml'), 'utf8')
      assert.notEqual(after, before)
      assert.match(after, /name = "ecg-room"/, after)
      assert.match(after, /display_name = "心电室"/, after)
      await page.locator('[data-test="destinations"] tr', { hasText: '心电室' }).waitFor({ timeout: 10_000 })
      const adminToken = await station.login('admin', users.admin.password)
      const links = (await station.call('links_list', {}, adminToken)).json.links
      assert.equal(links.find((l) => l.destination === 'ecg-room')?.label, '心电室', JSON.stringify(links))
      assert.equal(links.find((l) => l.destination === 'radiology')?.label, 'radiology')

      // The engine's own check, by field: two destinations with one name.
      /** Settings with only these destinations, as the Settings page would send them. */
      const withDestinations = (destinations) =>
        station.call(
          'settings_update',
          { allowed_callers: [], quiet_period_secs: 2, hold_unmatched: false, send_while_receiving: true, watch: [], destinations, targets: [] },
          adminToken,
        )
      const { status, json } = await withDestinations([
        { name: 'a', url: 'http://a/dicom-web' },
        { name: 'a', url: 'http://b/dicom-web' },
      ])
      assert.equal(status, 422)
      assert.equal(json.error.field, 'destinations[1].name')
      const long = await withDestinations([{ name: 'a', display_name: '中'.repeat(65), url: 'http://a/dicom-web' }])
      assert.equal(long.status, 422)
      assert.equal(long.json.error.field, 'destinations[0].display_name')
      assert.match(long.json.error.message, /显示名称/)
      assert.equal(readFileSync(join(station.dir, 'station.toml'), 'utf8'), after, 'a refused change writes nothing')
    } finally {
      await page.context().close()
    }
  })

  it('an admin makes a maintenance token in the API tokens tab; it is shown once and works as maintenance', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await openSettings(page)
      await page.locator('.el-tabs__item', { hasText: 'API 令牌' }).click()
      await page.locator('[data-test="new-token"]').click()
      await page.locator('input[name="token-name"]').fill('center-ops')
      // The role offered first is maintenance; admin is not offered at all.
      await page.locator('[data-test="token-role"]').click()
      await page.locator('.el-select-dropdown__item:visible', { hasText: '中心运维' }).waitFor({ timeout: 10_000 })
      const roles = await page.locator('.el-select-dropdown__item:visible').allInnerTexts()
      assert.ok(roles.includes('中心运维'), `roles offered: ${roles}`)
      assert.ok(!roles.includes('系统管理员'), `roles offered: ${roles}`)
      await page.locator('.el-select-dropdown__item:visible', { hasText: '中心运维' }).click()
      // Days typed as 2.5: the engine refuses it in a sentence naming the field as the form
      // does, its own words behind 详细信息.
      await page.locator('input[name="token-days"]').fill('2.5')
      await page.locator('[data-test="create-token"]').click()
      const refusal = page.locator('.el-message', { hasText: '有效天数' })
      await refusal.waitFor({ timeout: 10_000 })
      assert.equal((await refusal.locator('[data-test="problem-sentence"]').innerText()).trim(), '「有效天数」填写有误，请检查后重试。')
      assert.ok(!/invalid|expected/.test(await refusal.locator('[data-test="problem-sentence"]').innerText()), 'no engine English in the sentence')
      await refusal.locator('[data-test="problem-details"] summary').click()
      assert.match(await refusal.locator('[data-test="problem-details"] code').innerText(), /expires_days: invalid type/)
      await refusal.locator('.el-message__closeBtn').click()
      await page.locator('input[name="token-days"]').fill('')
      await page.locator('[data-test="create-token"]').click()
      const field = page.locator('input[data-test="made-token"]')
      await field.waitFor({ timeout: 10_000 })
      const token = await field.inputValue()
      assert.ok(token.length >= 20, `a token: ${token}`)
      await page.locator('.el-dialog', { hasText: '不会再显示' }).waitFor({ timeout: 10_000 })

      // The token is a maintenance caller: the queue yes, patients no.
      assert.equal((await station.call('queue_list', {}, token)).status, 200)
      assert.equal((await station.call('studies_list', {}, token)).status, 403)

      await page.locator('[data-test="close-token"]').click()
      const row = page.locator('[data-test="tokens"] tbody tr', { hasText: 'center-ops' })
      await row.waitFor({ timeout: 10_000 })
      const text = await row.innerText()
      assert.match(text, /中心运维/, text)
      assert.match(text, /直到吊销/, text)
      assert.match(text, /有效/, text)
      assert.ok(!(await page.content()).includes(token), 'the token is not shown again')
    } finally {
      await page.context().close()
    }
  })

  it('says a refused request in English with the switch, the detail still one click away', async () => {
    const page = await loginPage(browser, station, users.admin)
    try {
      await page.locator('[data-test="locale"]').click()
      await page.getByRole('option', { name: 'English' }).click()
      await openSettings(page)
      await page.locator('.el-tabs__item', { hasText: 'API tokens' }).click()
      await page.locator('[data-test="new-token"]').click()
      await page.locator('input[name="token-name"]').fill('english-check')
      await page.locator('input[name="token-days"]').fill('2.5')
      await page.locator('[data-test="create-token"]').click()
      const refusal = page.locator('.el-message', { hasText: 'valid for (days)' })
      await refusal.waitFor({ timeout: 10_000 })
      assert.equal((await refusal.locator('[data-test="problem-sentence"]').innerText()).trim(), '“valid for (days)” is not valid: please check it and try again.')
      await refusal.locator('[data-test="problem-details"] summary').click()
      assert.match(await refusal.locator('[data-test="problem-details"] code').innerText(), /expires_days: invalid type/)
      assert.equal((await station.call('tokens_list', {}, await station.login('admin', ADMIN_PASSWORD))).json.tokens.filter((t) => t.name === 'english-check').length, 0, 'nothing made')
    } finally {
      await page.context().close()
    }
  })

  it('a maintenance user lands on the maintenance screen: links and the send queue, no patient', async () => {
    const admin = await station.login('admin', ADMIN_PASSWORD)
    const ops = { username: 'center-ops', password: 'pw-maintenance-12345', display_name: '中心运维员', role: 'maintenance' }
    assert.equal((await station.call('user_create', ops, admin)).status, 200)
    // A patient's studies for the (unreachable) radiology hub: they wait in the queue. Sent as
    // US2, the one device the first test allowed.
    execFileSync(STORESCU, ['-aet', 'US2', '-aec', 'STATION', '+sd', '+r', '127.0.0.1', String(station.dicomPort), join(station.demoDay(), 'P20260001')], {
      timeout: 60_000,
    })
    let uids = []
    await waitFor('the DX study in the queue', 60_000, async () => {
      const { json } = await station.call('queue_list', {}, admin)
      uids = json.rows.map((r) => r.study_uid)
      return uids.length > 0
    })
    const { json: studies } = await station.call('studies_list', {}, admin)
    const names = studies.items.map((s) => s.patient_name).filter(Boolean)
    assert.ok(names.length > 0)

    const page = await loginPage(browser, station, ops)
    try {
      await waitFor('maintenance lands on upkeep', 10_000, () => page.url().endsWith('#/upkeep'))
      const nav = await page.locator('[data-nav]').evaluateAll((els) => els.map((e) => e.getAttribute('data-nav')))
      assert.deepEqual(nav, ['upkeep'])
      await page.locator('[data-test="links"] tbody tr', { hasText: 'radiology' }).waitFor({ timeout: 20_000 })
      // One row per destination of the study; a queued send may be held, then released.
      const row = page.locator('[data-test="queue"] tbody tr', { hasText: uids[0] }).first()
      await row.waitFor({ timeout: 20_000 })
      await row.locator('button[data-test="hold"]').click()
      await waitFor('the send held', 20_000, async () => (await row.locator('.state-chip').innerText()) === '已暂停')
      await row.locator('button[data-test="release"]').waitFor({ timeout: 10_000 })
      await page.locator('[data-test="system-events"] tbody tr').first().waitFor({ timeout: 20_000 })
      const shown = await page.locator('body').innerText()
      for (const name of names) {
        for (const part of name.split(/[\^=]/).filter((p) => p.length > 1)) assert.ok(!shown.includes(part), `patient name part ${part} shown`)
      }
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        page.locator('[data-test="download-log"]').click(),
      ])
      assert.equal(download.suggestedFilename(), 'station-log.txt')
      assert.ok(readFileSync(await download.path(), 'utf8').length > 0, 'the log has lines')
    } finally {
      await page.context().close()
    }
  })
})
