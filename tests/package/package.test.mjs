// The Debian package as a clinic's IT person meets it, on this machine (as root; systemd is not
// PID 1 here, so the service's ExecStart is run the way systemd would: service.mjs).
//   - the .deb holds the programs, the unit, the conffile, the desktop entry; lintian finds no
//     errors; systemd-analyze verify accepts the installed unit;
//   - a fresh install: the service's user and private directories, the first admin password in
//     a file only root reads (and in the journal), a device's study stored; removing keeps the
//     data, purging deletes it;
//   - an upgrade from the previous release with data in place: the admin's edits to the
//     configuration (by hand and from the Settings page) kept, every image and queued send kept,
//     the database migrated once to the schema a fresh install has; a database newer than the
//     program is refused and left unchanged.
// Run by scripts/test.sh with STATION_DEB and STATION_PREVIOUS_DEB (scripts/package.sh).
// Leaves the machine as it found it: it refuses to start if the package or its directories are
// already there, and purges the package and deletes the user it created when it ends.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { STORESCU, freePort, waitFor } from '../e2e/station.mjs'
import { Service } from './service.mjs'

const DEB = process.env.STATION_DEB
const PREVIOUS_DEB = process.env.STATION_PREVIOUS_DEB
const PKG = 'clinic-station'
const USER = 'clinic-station'
const UNIT = '/usr/lib/systemd/system/clinic-station.service'
const CONF = '/etc/clinic-station/station.toml'
const DATA = '/var/lib/clinic-station'
const LOGS = '/var/log/clinic-station'
const DB = join(DATA, 'station.db')
const PASSWORD_FILE = join(DATA, 'admin-initial-password.txt')
const ECHOSCU = '/usr/bin/echoscu'
// What the package leaves on the system besides its own files: the unit's enablement.
const SYSTEMD_STATE = ['/etc/systemd/system/multi-user.target.wants/clinic-station.service', '/etc/systemd/system/clinic-station.service']

const work = mkdtempSync(join(tmpdir(), 'station-package-'))
let userExisted = false
let service = null
// Every service process this test started, so none outlives it (and the user can be deleted).
const services = []
let freshSchema = null

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts })
  if (r.error) throw r.error
  return r
}

function ok(cmd, args, opts = {}) {
  const r = run(cmd, args, opts)
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** dpkg as an admin runs it unattended: keep changed conffiles, no questions. */
function dpkg(...args) {
  return ok('dpkg', ['--force-confdef', '--force-confold', ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

/** dpkg's state of the package: '' when dpkg has never heard of it or it is purged. */
function state() {
  const r = run('dpkg-query', ['-W', '-f=${Status}', PKG])
  return r.status === 0 ? r.stdout.split(' ').at(-1) : ''
}

function installed() {
  return state() === 'installed'
}

function known() {
  return !['', 'not-installed'].includes(state())
}

/** A command as the service's user, as an admin runs `sudo -u clinic-station station ...`. */
function asService(cmd, args) {
  return ok('runuser', ['-u', USER, '--', cmd, ...args], { cwd: '/' })
}

function sql(query) {
  return asService('sqlite3', ['-readonly', DB, query]).trim()
}

function mode(path) {
  return statSync(path).mode & 0o7777
}

function owner(path) {
  const s = statSync(path)
  const name = (db, id) => execFileSync('getent', [db, String(id)], { encoding: 'utf8' }).split(':')[0]
  return `${name('passwd', s.uid)}:${name('group', s.gid)}`
}

/** Every stored instance file with its SHA-256: what must survive an upgrade. */
function instanceFiles() {
  const out = execFileSync('find', [join(DATA, 'instances'), '-type', 'f', '-name', '*.dcm'], { encoding: 'utf8' })
  return out
    .split('\n')
    .filter(Boolean)
    .sort()
    .map((f) => `${f} ${createHash('sha256').update(readFileSync(f)).digest('hex')}`)
}

function status() {
  return JSON.parse(asService('/usr/bin/station', ['status', '--json', '--config', CONF]))
}

/** The admin's edit of the configuration: free loopback ports for this test. */
async function editPorts() {
  const ports = { dicom: await freePort(), http: await freePort() }
  const text = readFileSync(CONF, 'utf8')
  const edited = text
    .replace(/^port = 11112$/m, `port = ${ports.dicom}`)
    .replace(/^bind = "0.0.0.0"$/m, 'bind = "127.0.0.1"')
    .replace(/^port = 8080$/m, `port = ${ports.http}`)
  assert.notEqual(edited, text, 'the shipped configuration sets the DICOM and HTTP ports')
  writeFileSync(CONF, edited)
  return ports
}

async function echo(port) {
  return run(ECHOSCU, ['-aec', 'STATION', '127.0.0.1', String(port)]).status === 0
}

/**
 * Starts the unit's ExecStart and waits until it answers C-ECHO. Returns what it wrote to the
 * journal by then (read it again later with `journal()`) and how long the start took.
 */
let starts = 0
async function startService(ports) {
  const path = join(work, `journal-${++starts}.log`)
  const started = performance.now()
  if (service?.running) await service.stop()
  service = new Service(UNIT, path)
  services.push(service)
  await waitFor('the service to answer C-ECHO', 60_000, async () => {
    if (!service.running) throw new Error(`the service exited:\n${readFileSync(path, 'utf8')}`)
    return echo(ports.dicom)
  })
  return { ms: performance.now() - started, journal: () => readFileSync(path, 'utf8') }
}

async function stopService() {
  const s = service
  service = null
  const { code, signal } = await s.stop()
  assert.equal(code, 0, `the service ended with ${code ?? signal} on SIGTERM`)
}

function demo(seed) {
  const dir = join(work, `demo-${seed}`)
  ok('/usr/bin/station', ['demo', '--small', '--seed', String(seed), '--out', dir])
  const files = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean)
  return { dir, files }
}

function send(dir, port) {
  ok(STORESCU, ['-aec', 'STATION', '+sd', '+r', '127.0.0.1', String(port), dir])
}

async function login(httpPort, password) {
  const r = await fetch(`http://127.0.0.1:${httpPort}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  })
  const body = await r.text()
  assert.equal(r.status, 200, `login as admin: HTTP ${r.status} ${body}`)
  return JSON.parse(body).token
}

async function cleanUp() {
  for (const s of services.filter((s) => s.running)) {
    s.child.kill('SIGKILL')
    await s.exited
  }
  if (known()) run('dpkg', ['--purge', PKG])
  if (!userExisted && run('getent', ['passwd', USER]).status === 0) {
    run('userdel', [USER])
    if (run('getent', ['group', USER]).status === 0) run('groupdel', [USER])
  }
  rmSync(work, { recursive: true, force: true })
}

describe('Debian package', { concurrency: false }, () => {
  before(() => {
    assert.ok(DEB && existsSync(DEB), `STATION_DEB (${DEB}) names no package: build it with scripts/package.sh`)
    assert.ok(PREVIOUS_DEB && existsSync(PREVIOUS_DEB), `STATION_PREVIOUS_DEB (${PREVIOUS_DEB}) names no package: scripts/package.sh --previous`)
    assert.equal(process.getuid(), 0, 'installing a package needs root')
    // Never touch a clinic's real installation.
    assert.ok(!known(), `${PKG} is installed here: this test would replace it and delete its data; remove it first`)
    for (const p of [DATA, LOGS, '/etc/clinic-station']) assert.ok(!existsSync(p), `${p} exists: this test would delete it`)
    userExisted = run('getent', ['passwd', USER]).status === 0
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => cleanUp().finally(() => process.exit(1)))
  })
  after(cleanUp)

  it('holds both programs, the unit, the conffile, the desktop entry, icons and man pages; Chinese and English description', () => {
    const contents = ok('dpkg-deb', ['--contents', DEB])
    for (const path of [
      './usr/bin/station',
      './usr/bin/station-desktop',
      './usr/lib/systemd/system/clinic-station.service',
      './etc/clinic-station/station.toml',
      './usr/share/applications/clinic-station.desktop',
      './usr/share/icons/hicolor/128x128/apps/clinic-station.png',
      './usr/share/man/man1/station.1.gz',
      './usr/share/man/man1/station-desktop.1.gz',
      './usr/share/doc/clinic-station/copyright',
      './usr/share/doc/clinic-station/changelog.Debian.gz',
    ]) {
      assert.match(contents, new RegExp(` ${path.replaceAll('.', '\\.')}$`, 'm'), `${path} in the package`)
    }
    const conffiles = ok('dpkg-deb', ['--info', DEB, 'conffiles'])
    assert.match(conffiles, /^\/etc\/clinic-station\/station\.toml$/m, 'station.toml is a conffile')
    const field = (deb, f) => ok('dpkg-deb', ['--field', deb, f]).trim()
    const cargoVersion = readFileSync(join(import.meta.dirname, '../../Cargo.toml'), 'utf8').match(/^\[workspace\.package\][^[]*?^version = "([^"]+)"/ms)[1]
    assert.equal(field(DEB, 'Version'), `${cargoVersion}-1`, 'the version is the workspace version')
    assert.equal(run('dpkg', ['--compare-versions', field(DEB, 'Version'), 'gt', field(PREVIOUS_DEB, 'Version')]).status, 0, 'newer than the previous release')
    assert.match(field(DEB, 'Depends'), /libwebkit2gtk-4\.1-0/)
    assert.match(field(DEB, 'Depends'), /adduser/)
    assert.match(field(DEB, 'Maintainer'), /<[^@\s]+@[^@\s]+>/)
    const description = field(DEB, 'Description')
    assert.match(description, /diagnostic center/)
    assert.match(description, /基层影像采集站/)
  })

  it('lintian reports no errors', () => {
    const r = run('lintian', ['--no-cfg', '--display-info', '--fail-on', 'error', DEB])
    const report = `${r.stdout}${r.stderr}`
    // Warnings and notes stay visible in the log; each one left is explained in the README.
    console.log(`lintian ${DEB}:\n${report || '(nothing)'}`)
    assert.doesNotMatch(report, /^E: /m)
    assert.equal(r.status, 0, `lintian exit ${r.status}`)
  })

  describe('fresh install of this version', { concurrency: false }, () => {
    let ports

    it('creates the service user and private directories, and enables the unit', () => {
      dpkg('--install', DEB)
      assert.ok(installed())
      const [, , uid, , , home, shell] = execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).trim().split(':')
      assert.ok(Number(uid) < 1000, `a system user (uid ${uid})`)
      assert.equal(home, DATA)
      assert.equal(shell, '/usr/sbin/nologin')
      assert.equal(owner(DATA), `${USER}:${USER}`)
      assert.equal(mode(DATA), 0o700, 'data readable by the service only')
      assert.equal(owner(CONF), `root:${USER}`)
      assert.equal(mode(CONF), 0o640, 'the configuration (it may hold the hub password) not world-readable')
      assert.ok(existsSync(SYSTEMD_STATE[0]), 'enabled: started at boot')
    })

    it('systemd-analyze verify accepts the installed unit', () => {
      const r = run('systemd-analyze', ['verify', UNIT])
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`)
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /clinic-station/, 'no complaint about the unit')
    })

    it('the service answers C-ECHO; the first admin password is in a file only root reads, and in the journal', async () => {
      ports = await editPorts()
      const { ms, journal } = await startService(ports)
      console.log(`first start to C-ECHO answered: ${Math.round(ms)} ms`)
      assert.equal(mode(PASSWORD_FILE) & 0o077, 0, 'the password file is not readable by others')
      assert.equal(owner(PASSWORD_FILE), `${USER}:${USER}`)
      const password = readFileSync(PASSWORD_FILE, 'utf8').trim()
      assert.ok(password.length >= 12, 'a generated password')
      assert.ok(journal().includes(password), 'the journal has it')
      assert.doesNotMatch(journal(), /\x1b\[/, 'plain text in the journal, no colour codes')
      await login(ports.http, password)
    })

    it('stores a study a device sends', async () => {
      const { dir, files } = demo(1)
      send(dir, ports.dicom)
      await waitFor('every instance stored', 30_000, () => status().instances === files.length)
      assert.equal(instanceFiles().length, files.length)
      freshSchema = sql("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
      assert.match(freshSchema, /CREATE TABLE/)
      await stopService()
    })

    it('removing the package keeps the data; purging deletes it', () => {
      const before = instanceFiles()
      dpkg('--remove', PKG)
      assert.ok(!existsSync('/usr/bin/station'))
      assert.ok(existsSync(DB), 'the database kept')
      assert.deepEqual(instanceFiles(), before, 'every image kept')
      assert.ok(existsSync(CONF), 'the configuration kept')
      dpkg('--purge', PKG)
      for (const p of [DATA, LOGS, '/etc/clinic-station', ...SYSTEMD_STATE]) assert.ok(!existsSync(p), `${p} gone`)
    })
  })

  describe('upgrade from the previous release with data in place', { concurrency: false }, () => {
    let ports
    let password
    let before
    let kept
    // A hub that is down (nothing listens there): studies wait in the send queue.
    let hubPort

    it('the previous release receives a study and takes an admin setting from the Settings page', async () => {
      dpkg('--install', PREVIOUS_DEB)
      ports = await editPorts()
      await startService(ports)
      password = readFileSync(PASSWORD_FILE, 'utf8').trim()
      hubPort = await freePort()
      const token = await login(ports.http, password)
      const r = await fetch(`http://127.0.0.1:${ports.http}/api/settings_update`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({
          allowed_callers: [],
          quiet_period_secs: 2,
          hold_unmatched: false,
          send_while_receiving: true,
          watch: [],
          destinations: [{ name: 'hub', url: `http://127.0.0.1:${hubPort}/dicom-web`, username: 'clinic01', password: 'hub-密码-1' }],
          targets: [],
        }),
      })
      assert.equal(r.status, 200, `settings_update: ${await r.text()}`)
      const saved = readFileSync(CONF, 'utf8')
      assert.match(saved, /name = "hub"/, 'written back into /etc/clinic-station/station.toml')
      assert.equal(mode(CONF) & 0o007, 0, 'still not world-readable')
      const { dir, files } = demo(1)
      send(dir, ports.dicom)
      await waitFor('every instance stored and queued for the hub', 30_000, () => {
        const s = status()
        return s.instances === files.length && Object.values(s.send_queue_by_state).reduce((a, b) => a + b, 0) > 0
      })
      await stopService()
      before = {
        conf: readFileSync(CONF, 'utf8'),
        files: instanceFiles(),
        status: status(),
        schema: Number(sql('PRAGMA user_version')),
      }
    })

    it('upgrading keeps the configuration, every image and queued send; the database is migrated once', async () => {
      dpkg('--install', DEB)
      assert.equal(readFileSync(CONF, 'utf8'), before.conf, "the admin's configuration kept")
      assert.equal(mode(CONF), 0o640)
      const { journal } = await startService(ports)
      const schema = Number(sql('PRAGMA user_version'))
      console.log(`schema ${before.schema} → ${schema}: ${schema - before.schema} migration(s) applied at the first start`)
      assert.ok(schema >= before.schema)
      assert.ok(freshSchema, 'the fresh install recorded its schema')
      assert.equal(sql("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"), freshSchema, 'the schema a fresh install has')
      assert.deepEqual(instanceFiles(), before.files, 'every image kept, byte for byte')
      const now = status()
      assert.equal(now.instances, before.status.instances)
      // States move on (the quiet period ends, sends start): the studies themselves are the same.
      const studies = (st) => Object.values(st.studies_by_state).reduce((a, b) => a + b, 0)
      assert.equal(studies(now), studies(before.status))
      assert.equal(
        Object.values(now.send_queue_by_state).reduce((a, b) => a + b, 0),
        Object.values(before.status.send_queue_by_state).reduce((a, b) => a + b, 0),
        'the queued sends kept',
      )
      await login(ports.http, password)
      assert.doesNotMatch(journal(), /first run/, 'no second admin made')
      // The new program receives too.
      const { dir, files } = demo(2)
      send(dir, ports.dicom)
      await waitFor('the new study stored', 30_000, () => status().instances === before.status.instances + files.length)
      await stopService()
      kept = instanceFiles()
      // A second start applies nothing again.
      await startService(ports)
      assert.equal(Number(sql('PRAGMA user_version')), schema)
      await stopService()
    })

    it('a database written by a newer version is refused with a clear message and left unchanged', async () => {
      const schema = Number(sql('PRAGMA user_version'))
      asService('sqlite3', [DB, `PRAGMA user_version = ${schema + 1}`])
      // What the database holds, read as SQLite reads it (a WAL checkpoint may rewrite pages
      // without changing anything in them).
      const hash = () => createHash('sha256').update(asService('sqlite3', ['-readonly', DB, '.dump'])).update(sql('PRAGMA user_version')).digest('hex')
      const was = hash()
      const refused = join(work, 'journal-newer.log')
      if (service?.running) await service.stop()
      service = new Service(UNIT, refused)
      services.push(service)
      const { code } = await Promise.race([service.exited, new Promise((_, no) => setTimeout(() => no(new Error('still running after 30 s')), 30_000))])
      service = null
      const message = readFileSync(refused, 'utf8')
      assert.notEqual(code, 0, message)
      assert.match(message, new RegExp(`${DB.replaceAll('.', '\\.')} was written by a newer station \\(schema ${schema + 1}, this build knows ${schema}\\)`))
      assert.equal(hash(), was, 'the database left unchanged')
      asService('sqlite3', [DB, `PRAGMA user_version = ${schema}`])
    })

    it('removing keeps the data; purging deletes data, logs, configuration and the unit enablement', () => {
      dpkg('--remove', PKG)
      assert.ok(!existsSync('/usr/bin/station'))
      assert.ok(existsSync(DB))
      assert.deepEqual(instanceFiles(), kept, 'every image kept')
      assert.ok(existsSync(CONF), 'the configuration kept')
      dpkg('--purge', PKG)
      for (const p of [DATA, LOGS, '/etc/clinic-station', ...SYSTEMD_STATE]) assert.ok(!existsSync(p), `${p} gone`)
    })
  })
})
