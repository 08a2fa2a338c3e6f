// Registration at the front desk with the hands on the keys, on a 1366×768 screen: an ID card
// reader types the card number and Enter into the page, the patient's birth date and sex fill
// themselves, Enter walks the fields, the exam item comes from the common list, and the save
// button is on screen without scrolling. Reading the same card again picks the patient.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Station } from './station.mjs'
import { launch, loginPage } from './browser.mjs'

// GB 11643: born 1949-12-31, a woman (17th digit even), check character X.
const CARD = '11010519491231002X'
let station, browser, users, page

before(async () => {
  station = await Station.start({})
  users = await station.createRoleUsers()
  browser = await launch()
  page = await loginPage(browser, station, users.technician, 'zh-CN', { width: 1366, height: 768 })
})

after(async () => {
  await page?.context().close()
  await browser?.close()
  await station?.stopAndClean()
})

/** The name attribute (or data-test) of the focused element. */
const focused = () => page.evaluate(() => document.activeElement?.getAttribute('name') ?? document.activeElement?.getAttribute('data-test') ?? document.activeElement?.tagName)

describe('registration with the keyboard and a card reader', () => {
  it('registers a new patient and an exam without the mouse, the save button on screen', async () => {
    await page.locator('[data-nav="register"]').click()
    await page.locator('input[data-test="patient-search"]').waitFor()
    assert.equal(await focused(), 'patient-search', 'the search box has the focus')
    // The reader types fast and ends with Enter.
    await page.keyboard.type(CARD, { delay: 5 })
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'patient-name', null, { timeout: 10_000 })
    assert.equal(await page.locator('input[name="id-card"]').inputValue(), CARD)
    assert.match(await page.locator('.el-date-editor input').inputValue(), /1949/)
    assert.equal(await page.locator('.el-radio-button.is-active', { hasText: '女' }).count(), 1, 'sex from the card')

    await page.keyboard.type('孙秀兰')
    for (const next of ['id-card']) {
      await page.keyboard.press('Enter')
      assert.equal(await focused(), next)
    }
    await page.keyboard.press('Enter') // to the birth date
    await page.keyboard.press('Enter') // to the phone
    assert.equal(await focused(), 'phone')
    await page.keyboard.type('13800138000')
    await page.keyboard.press('Enter')
    assert.equal(await focused(), 'procedure')
    // The common items of DR, narrowed by what is typed; arrow down and Enter picks one.
    await page.keyboard.type('胸部')
    await page.locator('.el-autocomplete-suggestion li', { hasText: '胸部正侧位' }).waitFor({ timeout: 10_000 })
    const offered = await page.locator('.el-autocomplete-suggestion li').allInnerTexts()
    assert.ok(offered.every((o) => o.includes('胸部')), offered.join(','))
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    assert.equal(await page.locator('input[name="procedure"]').inputValue(), '胸部正位')
    await page.keyboard.press('Enter')
    assert.equal(await focused(), 'body-part')
    await page.keyboard.press('Enter')
    assert.equal(await focused(), 'referring')
    await page.keyboard.type('王医生')
    await page.keyboard.press('Enter')
    assert.equal(await focused(), 'register-submit')
    const button = await page.locator('[data-test="register-submit"]').boundingBox()
    assert.ok(button && button.y + button.height <= 768, `the save button is on screen: ${JSON.stringify(button)}`)
    assert.equal(await page.evaluate(() => window.scrollY), 0, 'nothing scrolled')
    await page.keyboard.press('Enter')
    await page.locator('[data-test="register-done"]').waitFor({ timeout: 20_000 })

    const token = await station.login(users.technician.username, users.technician.password)
    const { json } = await station.call('patient_search', { query: CARD }, token)
    assert.equal(json.items.length, 1)
    assert.equal(json.items[0].name, '孙秀兰')
    assert.equal(json.items[0].birth_date, '19491231')
    const orders = (await station.call('orders_list', {}, token)).json.items
    assert.equal(orders.length, 1)
    assert.equal(orders[0].order.procedure, '胸部正位')
    assert.equal(orders[0].order.referring, '王医生')
  })

  it('reading the same card again picks the registered patient', async () => {
    const search = page.locator('input[data-test="patient-search"]')
    await search.fill('')
    await search.focus()
    await page.keyboard.type(CARD, { delay: 5 })
    await page.keyboard.press('Enter')
    await page.locator('[data-test="patient-chosen"]', { hasText: '孙秀兰' }).waitFor({ timeout: 10_000 })
    assert.equal(await page.locator('input[name="patient-name"]').count(), 0, 'no new-patient form')
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'procedure', null, { timeout: 10_000 })
  })
})
