// Starts a real `station serve` for the browser tests: free loopback ports, its own data
// directory, the first admin's password set through the environment, logs kept for failures.
import { spawn, execFileSync } from 'node:child_process'
import { get as httpsGet } from 'node:https'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
export const STORESCU = '/usr/bin/storescu'
export const ADMIN_PASSWORD = 'e2e-admin-密码-1'

export function stationBin() {
  if (process.env.STATION_BIN) return process.env.STATION_BIN
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target')
  return join(target, 'debug', 'station')
}

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => ok(port))
    })
  })
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(what, timeoutMs, check) {
  const end = Date.now() + timeoutMs
  let last
  while (Date.now() < end) {
    try {
      const v = await check()
      if (v) return v
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`)
}

/**
 * A real upstream hub: Debian's Orthanc with its DICOMweb plugin, on a free loopback port.
 * `overwrite`: an instance sent again replaces the one held (a hub taking corrections must).
 */
export class Orthanc {
  /** `users`: `{ name: password }` that the hub's HTTP API requires (none: open). */
  static async start(dir, { overwrite = false, users = null } = {}) {
    const plugin = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so'
    if (!existsSync(plugin)) throw new Error(`${plugin} missing (Debian package orthanc-dicomweb)`)
    mkdirSync(dir, { recursive: true })
    const httpPort = await freePort()
    const config = join(dir, 'orthanc.json')
    writeFileSync(
      config,
      JSON.stringify({
        Name: 'hub',
        StorageDirectory: join(dir, 'storage'),
        IndexDirectory: join(dir, 'index'),
        HttpPort: httpPort,
        DicomPort: await freePort(),
        DicomAet: 'HUB',
        RemoteAccessAllowed: false,
        AuthenticationEnabled: users !== null,
        RegisteredUsers: users ?? {},
        OverwriteInstances: overwrite,
        Plugins: [plugin],
        DicomWeb: { Enable: true, Root: '/dicom-web/' },
      }),
    )
    const out = openSync(join(dir, 'orthanc.log'), 'a')
    const child = spawn('/usr/sbin/Orthanc', [config], { stdio: ['ignore', out, out] })
    const hub = new Orthanc(child, httpPort)
    await waitFor('Orthanc to answer', 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`Orthanc exited ${child.exitCode}`)
      const [user, password] = Object.entries(users ?? {})[0] ?? []
      const headers = user ? { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {}
      return (await fetch(`${hub.url}/plugins`, { headers })).ok
    })
    return hub
  }

  constructor(child, httpPort) {
    this.child = child
    this.url = `http://127.0.0.1:${httpPort}`
    this.dicomweb = `${this.url}/dicom-web`
  }

  /** Study Instance UIDs the hub holds, by QIDO-RS. */
  async studyUids() {
    const r = await fetch(`${this.dicomweb}/studies`, { headers: { Accept: 'application/dicom+json' } })
    if (r.status === 204) return []
    const list = await r.json()
    return list.map((s) => s['0020000D']?.Value?.[0])
  }

  /** Simplified tags of every instance the hub holds (as stored, not the index's summary). */
  async instanceTags() {
    const ids = await (await fetch(`${this.url}/instances`)).json()
    return Promise.all(ids.map(async (id) => (await fetch(`${this.url}/instances/${id}/simplified-tags`)).json()))
  }

  /** Stores a DICOM file at the hub through its REST API, as the hub's own reporting would. */
  async store(path) {
    const r = await fetch(`${this.url}/instances`, { method: 'POST', body: readFileSync(path) })
    if (!r.ok) throw new Error(`Orthanc refused ${path}: HTTP ${r.status} ${await r.text()}`)
  }

  stop() {
    if (this.child.exitCode === null) this.child.kill('SIGTERM')
  }
}

export class Station {
  /**
   * `destinations`: [{name, url, modalities}] for the station's `[[destinations]]`. The station
   * also watches `station.exportDir`, as for a device that only exports files. `holdUnmatched`
   * keeps studies matching no order for a person; `holdOnMismatch` keeps those matched to an
   * order whose patient differs from the device's (off here, the station's default is on, so
   * that tests sending demo patients under an order's accession see them go); `extraToml` is
   * appended (e.g. `[reports]`).
   */
  /** `env`: more environment for the station's process (e.g. its time zone, `TZ`). */
  /** `highWater`: `[storage] high_water_percent` (100, early deletion off, unless a test of retention says). */
  /** `tls`: HTTPS with the station's own certificate (`[http] tls = "self-signed"`). */
  static async start({ destinations = [], holdUnmatched = false, holdOnMismatch = false, worklistCallers = [], extraToml = '', env = {}, highWater = 100, tls = false } = {}) {
    const bin = stationBin()
    if (!existsSync(bin)) throw new Error(`no station binary at ${bin}: run cargo build -p station first`)
    const dir = mkdtempSync(join(tmpdir(), 'station-e2e-'))
    const dicomPort = await freePort()
    // Two asks for a free port may get the same one (each is released before the next).
    let httpPort = await freePort()
    for (let i = 0; i < 100 && httpPort === dicomPort; i++) httpPort = await freePort()
    const config = join(dir, 'station.toml')
    const exportDir = join(dir, 'export')
    mkdirSync(exportDir)
    writeFileSync(
      config,
      [
        `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
        '[dicom]',
        'ae_title = "STATION"',
        `port = ${dicomPort}`,
        'bind = "127.0.0.1"',
        // Devices whose worklist queries are answered: none unless a test lists them.
        `worklist_callers = ${JSON.stringify(worklistCallers)}`,
        '[http]',
        `port = ${httpPort}`,
        'bind = "127.0.0.1"',
        ...(tls ? ['tls = "self-signed"'] : []),
        '[storage]',
        'min_free_mb = 1',
        // A build machine's disk may be 90% full with other things: retention would then
        // delete every delivered study at once. The retention test sets its own marks.
        `high_water_percent = ${highWater}`,
        `low_water_percent = ${highWater - 1}`,
        '[studies]',
        // Short, so a sent study moves on from "receiving" while the test watches.
        'quiet_period_secs = 2',
        `hold_unmatched = ${holdUnmatched}`,
        `hold_on_mismatch = ${holdOnMismatch}`,
        '[[watch]]',
        `path = ${JSON.stringify(exportDir)}`,
        'settle_ms = 300',
        'rescan_secs = 2',
        ...destinations.flatMap((d) => [
          '[[destinations]]',
          `name = ${JSON.stringify(d.name)}`,
          `url = ${JSON.stringify(d.url)}`,
          `modalities = ${JSON.stringify(d.modalities ?? [])}`,
          ...(d.pollReports === false ? ['poll_reports = false'] : []),
          ...(d.username ? [`username = ${JSON.stringify(d.username)}`, `password = ${JSON.stringify(d.password ?? '')}`] : []),
          'retry_max_secs = 5',
        ]),
        extraToml,
        '',
      ].join('\n'),
    )
    const log = join(dir, 'station.log')
    const out = openSync(log, 'a')
    const child = spawn(bin, ['serve', '--config', config], {
      env: { ...process.env, STATION_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env },
      stdio: ['ignore', out, out],
    })
    const st = new Station(dir, child, dicomPort, httpPort, log, tls)
    await waitFor('station HTTP to answer', 60_000, async () => {
      if (child.exitCode !== null) throw new Error(`station exited ${child.exitCode}:\n${st.logs()}`)
      return st.answers('/api/openapi.json')
    }).catch((e) => {
      st.stop()
      throw new Error(`${e.message}\n${st.logs()}`)
    })
    return st
  }

  constructor(dir, child, dicomPort, httpPort, log, tls = false) {
    Object.assign(this, { dir, child, dicomPort, httpPort, logFile: log })
    this.exportDir = join(dir, 'export')
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${httpPort}`
    /** With `tls`: the certificate the station made for itself (PEM). */
    this.certFile = tls ? join(dir, 'data', 'https-cert.pem') : null
  }

  /** Whether `path` answers 200; over HTTPS trusting only the station's own certificate. */
  async answers(path) {
    if (!this.certFile) return (await fetch(`${this.url}${path}`)).ok
    if (!existsSync(this.certFile)) return false
    const ca = readFileSync(this.certFile)
    return new Promise((ok) => {
      httpsGet(`${this.url}${path}`, { ca }, (r) => {
        r.resume()
        ok(r.statusCode === 200)
      }).on('error', () => ok(false))
    })
  }

  logs() {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-4000)
    } catch {
      return ''
    }
  }

  /** One API operation over HTTP, as any LAN client would call it. */
  async call(op, body = {}, token = null) {
    const headers = { 'Content-Type': 'application/json' }
    if (token) headers.Authorization = `Bearer ${token}`
    const r = await fetch(`${this.url}/api/${op}`, { method: 'POST', headers, body: JSON.stringify(body) })
    const json = await r.json().catch(() => null)
    return { status: r.status, json }
  }

  async login(username, password) {
    const { status, json } = await this.call('login', { username, password })
    if (status !== 200) throw new Error(`login ${username}: HTTP ${status} ${JSON.stringify(json)}`)
    return json.token
  }

  /** Creates a user of each role through the admin API; returns {role: {username, password}}. */
  async createRoleUsers() {
    const admin = await this.login('admin', ADMIN_PASSWORD)
    const users = { admin: { username: 'admin', password: ADMIN_PASSWORD } }
    const names = { technician: '李技师', doctor: '赵医生', manager: '钱主任' }
    for (const role of ['technician', 'doctor', 'manager']) {
      const u = { username: `e2e-${role}`, password: `pw-${role}-12345`, display_name: names[role], role }
      const { status, json } = await this.call('user_create', u, admin)
      if (status !== 200) throw new Error(`user_create ${role}: HTTP ${status} ${JSON.stringify(json)}`)
      users[role] = u
    }
    return users
  }

  /** Sends DICOM files or folders with DCMTK's storescu, as a device would. */
  storescu(paths) {
    return execFileSync(STORESCU, ['-aet', 'DR1', '-aec', 'STATION', '+sd', '+r', '127.0.0.1', String(this.dicomPort), ...paths], {
      encoding: 'utf8',
      timeout: 60_000,
    })
  }

  /** `station <args> --config <this station's>`: its output. */
  cli(args) {
    return execFileSync(stationBin(), [...args, '--config', join(this.dir, 'station.toml')], { encoding: 'utf8', timeout: 60_000 })
  }

  /** A synthetic clinic day (Chinese names, DX/US/ECG) from the station's own generator. */
  demoDay() {
    const out = join(this.dir, 'demo')
    execFileSync(stationBin(), ['demo', '--small', '--out', out], { timeout: 60_000 })
    return out
  }

  stop() {
    if (this.child.exitCode === null) this.child.kill('SIGTERM')
  }

  async stopAndClean() {
    this.stop()
    await waitFor('station to exit', 20_000, () => this.child.exitCode !== null || this.child.signalCode !== null).catch(() =>
      this.child.kill('SIGKILL'),
    )
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * The end of a test file with a hub: the page's browser context, the browser, the station (its
 * folder too), the hub and its folder; each only if it was made.
 */
export async function closeAll({ page = null, browser = null, station = null, hub = null, hubDir = null }) {
  await page?.context().close()
  await browser?.close()
  await station?.stopAndClean()
  hub?.stop()
  if (hubDir) rmSync(hubDir, { recursive: true, force: true })
}
