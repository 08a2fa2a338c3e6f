// A minimal W3C WebDriver client (https://www.w3.org/TR/webdriver2/) over Node's fetch: the
// eight commands the desktop test uses. WebdriverIO would bring ~190 packages (browser driver
// downloaders included) for these; tauri-driver speaks plain W3C WebDriver.
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecc'

export class WebDriverError extends Error {}

export class Session {
  /** Starts a session on the driver at `url` with capabilities in `alwaysMatch` only. */
  static async create(url, capabilities, timeoutMs = 120_000) {
    const value = await send(url, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } }, timeoutMs)
    return new Session(url, value.sessionId)
  }

  constructor(url, id) {
    this.url = url
    this.id = id
  }

  cmd(method, path, body) {
    return send(this.url, method, `/session/${this.id}${path}`, body)
  }

  /** The elements matching a CSS selector now (possibly none). */
  async findAll(css) {
    const found = await this.cmd('POST', '/elements', { using: 'css selector', value: css })
    return found.map((e) => new Element(this, elementId(e)))
  }

  /** Runs a script in the page and returns its (JSON) result. */
  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args })
  }

  /** The handles of the session's windows (W3C "Get Window Handles"). */
  windows() {
    return this.cmd('GET', '/window/handles')
  }

  /** Makes `handle` the window later commands act on. */
  switchTo(handle) {
    return this.cmd('POST', '/window', { handle })
  }

  /** The window's content as PNG bytes. */
  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64')
  }

  delete() {
    return send(this.url, 'DELETE', `/session/${this.id}`)
  }
}

export class Element {
  constructor(session, id) {
    this.session = session
    this.id = id
  }

  cmd(method, path, body) {
    return this.session.cmd(method, `/element/${this.id}${path}`, body)
  }

  click() {
    return this.cmd('POST', '/click', {})
  }

  type(text) {
    return this.cmd('POST', '/value', { text })
  }

  text() {
    return this.cmd('GET', '/text')
  }
}

/** The id in an element reference: the W3C key, or the only key some drivers use. */
function elementId(ref) {
  const id = ref[ELEMENT] ?? Object.values(ref)[0]
  if (typeof id !== 'string') throw new WebDriverError(`not an element reference: ${JSON.stringify(ref)}`)
  return id
}

async function send(base, method, path, body, timeoutMs = 60_000) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const json = await res.json().catch(() => ({}))
  if (!res.ok || json?.value?.error) {
    const v = json?.value ?? {}
    throw new WebDriverError(`${method} ${path}: HTTP ${res.status} ${v.error ?? ''} ${v.message ?? ''}`.trim())
  }
  return json.value
}
