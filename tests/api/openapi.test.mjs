// The OpenAPI document says what the server does: Schemathesis, a property-based client, reads
// the document a real `station serve` hands out and sends it requests made from it (valid ones,
// and ones that break it on purpose), as the admin. It fails on a server error (5xx), an answer
// whose status or body the document does not describe, a request that fits the document
// refused as not fitting it (400), and one that does not fit it accepted. Bounded: a fixed
// number of examples per operation, and a deadline for the whole run.
//
// Schemathesis comes from PyPI into a virtual environment (scripts/test.sh installs it; its
// `st` is STATION_SCHEMATHESIS). Its settings: tests/api/schemathesis.toml.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { ADMIN_PASSWORD, Station } from '../e2e/station.mjs'

const ST = process.env.STATION_SCHEMATHESIS ?? join(homedir(), '.cache/station-schemathesis-venv/bin/st')
const CONFIG = join(import.meta.dirname, 'schemathesis.toml')
// Fixed, so a failure on CI is the same failure on a desk (STATION_SCHEMATHESIS_SEED varies it).
const SEED = process.env.STATION_SCHEMATHESIS_SEED ?? '18071'
const RUN_DEADLINE_MS = 150_000

/**
 * Operations left out of the whole run, each because calling it would end the run itself.
 */
const EXCLUDED = {
  logout: 'ends the session every request of the run carries',
  password_change: "changes the admin's own password, which ends every session of the admin",
  user_update: 'may disable, demote or re-password the admin, ending the run’s session',
}

/**
 * Operations sent only requests that break the document (which must be refused): one they
 * accept reaches the hosts a destination names, which a generated request makes up (a test's
 * network stays on 127.0.0.0/8).
 */
const REFUSALS_ONLY = {
  hub_test: "connects to the destination's URL",
  settings_update: 'saves destinations the station then sends to and polls',
}

/** Runs Schemathesis with `args`; its exit code and output. */
function schemathesis(args, cwd) {
  return new Promise((ok, fail) => {
    const child = spawn(ST, ['--config-file', CONFIG, '--no-color', 'run', ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`schemathesis ran past ${RUN_DEADLINE_MS} ms:\n${out.slice(-6000)}`))
    }, RUN_DEADLINE_MS)
    child.on('error', (e) => {
      clearTimeout(timer)
      fail(e)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      ok({ code, out })
    })
  })
}

test('a property-based client finds the API as its OpenAPI document describes it', { timeout: 2 * RUN_DEADLINE_MS + 60_000 }, async () => {
  assert.ok(existsSync(ST), `no schemathesis at ${ST}: scripts/test.sh installs it (or set STATION_SCHEMATHESIS)`)
  const station = await Station.start()
  // Schemathesis keeps nothing in the checkout: its example database is off, its cwd is here.
  const work = mkdtempSync(join(tmpdir(), 'station-openapi-'))
  try {
    const token = await station.login('admin', ADMIN_PASSWORD)
    const common = [
      `${station.url}/api/openapi.json`,
      '--header', `Authorization: Bearer ${token}`,
      '--checks', 'all',
      '--phases', 'examples,coverage,fuzzing',
      '--max-examples', '20',
      '--seed', SEED,
      '--workers', '2',
      '--request-timeout', '20',
      '--generation-database', 'none',
    ]
    const runs = [
      ['every operation', [...Object.keys(EXCLUDED), ...Object.keys(REFUSALS_ONLY)].flatMap((op) => ['--exclude-operation-id', op])],
      ['refusals only', ['--mode', 'negative', ...Object.keys(REFUSALS_ONLY).flatMap((op) => ['--include-operation-id', op])]],
    ]
    for (const [what, args] of runs) {
      const { code, out } = await schemathesis([...common, ...args], work)
      const summary = out.slice(out.lastIndexOf('SUMMARY'))
      assert.equal(code, 0, `schemathesis (${what}) found mismatches:\n${out.slice(-12000)}\n${station.logs()}`)
      assert.match(summary, /Tested: *\d+/, `schemathesis (${what}) tested nothing:\n${out.slice(-4000)}`)
    }
  } finally {
    await station.stopAndClean()
    rmSync(work, { recursive: true, force: true })
  }
})
