// Install benchmark (not a test; needs root): the package's size, how long `dpkg --install` of
// it takes on a machine without it, and how long the service's first start takes until it
// answers C-ECHO (the unit's ExecStart run the way systemd would: tests/package/service.mjs).
// Each round purges the package, so every install and first start is a fresh one (the user,
// the directories, the first-run admin, an empty database). Prints a markdown table of medians.
//
//   node bench/install.mjs target/packages/clinic-station_0.2.0-1_amd64.deb
//   BENCH_ROUNDS=3 node bench/install.mjs DEB
//
// Refuses to run where clinic-station is installed or its directories exist, and leaves the
// machine as it found it (the package purged, the user it created deleted).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../tests/e2e/station.mjs'
import { Service } from '../tests/package/service.mjs'

const deb = process.argv[2]
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const UNIT = '/usr/lib/systemd/system/clinic-station.service'
const CONF = '/etc/clinic-station/station.toml'
if (!deb || !existsSync(deb)) throw new Error('usage: node bench/install.mjs PATH.deb')
if (process.getuid() !== 0) throw new Error('installing a package needs root')
const status = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'clinic-station'], { encoding: 'utf8' })
if (status.status === 0 && !/not-installed/.test(status.stdout)) throw new Error('clinic-station is installed here: remove it first')
for (const p of ['/var/lib/clinic-station', '/etc/clinic-station']) if (existsSync(p)) throw new Error(`${p} exists`)
const userExisted = spawnSync('getent', ['passwd', 'clinic-station']).status === 0
const work = mkdtempSync(join(tmpdir(), 'bench-install-'))

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const dpkg = (...args) => execFileSync('dpkg', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })

const installs = []
const starts = []
try {
  for (let round = 0; round < rounds; round++) {
    let t = performance.now()
    dpkg('--install', deb)
    installs.push(performance.now() - t)
    const dicom = await freePort()
    const http = await freePort()
    writeFileSync(
      CONF,
      readFileSync(CONF, 'utf8')
        .replace(/^port = 11112$/m, `port = ${dicom}`)
        .replace(/^bind = "0.0.0.0"$/m, 'bind = "127.0.0.1"')
        .replace(/^port = 8080$/m, `port = ${http}`),
    )
    t = performance.now()
    const service = new Service(UNIT, join(work, `journal-${round}.log`))
    const end = t + 60_000
    while (spawnSync('/usr/bin/echoscu', ['-aec', 'STATION', '127.0.0.1', String(dicom)]).status !== 0) {
      if (!service.running || performance.now() > end) throw new Error(`no C-ECHO answer: ${readFileSync(join(work, `journal-${round}.log`), 'utf8')}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    starts.push(performance.now() - t)
    await service.stop()
    dpkg('--purge', 'clinic-station')
  }
} finally {
  spawnSync('dpkg', ['--purge', 'clinic-station'])
  if (!userExisted) spawnSync('userdel', ['clinic-station'])
  rmSync(work, { recursive: true, force: true })
}

const field = (f) => execFileSync('dpkg-deb', ['--field', deb, f], { encoding: 'utf8' }).trim()
console.log(`| ${field('Package')} ${field('Version')} | median | min | max |`)
console.log('|---|---|---|---|')
console.log(`| package size | ${(statSync(deb).size / 1e6).toFixed(1)} MB (installed ${(Number(field('Installed-Size')) / 1024).toFixed(1)} MB) | | |`)
for (const [what, xs] of [
  ['`dpkg --install` (new user, directories, enabled unit)', installs],
  ['first start to C-ECHO answered', starts],
]) {
  console.log(`| ${what} | ${median(xs).toFixed(0)} ms | ${Math.min(...xs).toFixed(0)} ms | ${Math.max(...xs).toFixed(0)} ms |`)
}
console.log(`${rounds} rounds, ${new Date().toISOString().slice(0, 10)}`)
