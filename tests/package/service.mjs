// Runs an installed systemd unit's ExecStart the way systemd would, on a machine where systemd is
// not PID 1 (CI): as the unit's User/Group, with its Environment and WorkingDirectory, its
// StateDirectory/LogsDirectory created as systemd creates them, no capabilities and
// no_new_privs (CapabilityBoundingSet=, NoNewPrivileges=), and in a mount namespace of its own
// where every file system is read-only except the unit's writable paths (ProtectSystem=strict
// with ReadWritePaths=), /tmp and /var/tmp are private (PrivateTmp=) and homes are hidden
// (ProtectHome=). Stopped as systemd stops it: SIGTERM, then a wait.
// Not emulated: the system-call filter and the other kernel-level protections (systemd-analyze
// verify checks that the unit's lines are valid).
import { execFileSync, spawn } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'

/** A unit file's `[Service]` settings: key → list of values, in order. */
export function readUnit(path) {
  const service = new Map()
  let section = ''
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const header = line.match(/^\[(.+)\]$/)
    if (header) {
      section = header[1]
      continue
    }
    const eq = line.indexOf('=')
    if (section !== 'Service' || eq < 0) continue
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    service.set(key, [...(service.get(key) ?? []), value])
  }
  return service
}

function one(unit, key, fallback) {
  const values = unit.get(key)
  return values ? values[values.length - 1] : fallback
}

function words(unit, key) {
  return (unit.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean)
}

function shellQuote(s) {
  return `'${String(s).replaceAll("'", "'\\''")}'`
}

/** The account systemd would run the unit as: its passwd entry. */
function account(user) {
  const [name, , uid, gid, , home, shell] = execFileSync('getent', ['passwd', user], { encoding: 'utf8' })
    .trim()
    .split(':')
  return { name, uid: Number(uid), gid: Number(gid), home, shell }
}

/** The shell script that builds the unit's sandbox, then becomes its ExecStart. */
export function sandboxScript(unit) {
  const user = one(unit, 'User')
  const group = one(unit, 'Group', user)
  if (!user) throw new Error('the unit names no User=')
  const exec = one(unit, 'ExecStart')
  if (!exec || /["'%$\\]/.test(exec)) throw new Error(`ExecStart not a plain command line: ${exec}`)
  const who = account(user)
  const state = words(unit, 'StateDirectory').map((d) => `/var/lib/${d}`)
  const logs = words(unit, 'LogsDirectory').map((d) => `/var/log/${d}`)
  const writable = [...state, ...logs, ...words(unit, 'ReadWritePaths').map((p) => p.replace(/^[-+]/, ''))]
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: who.home,
    USER: who.name,
    LOGNAME: who.name,
    SHELL: who.shell,
  }
  if (state.length) env.STATE_DIRECTORY = state.join(':')
  if (logs.length) env.LOGS_DIRECTORY = logs.join(':')
  for (const assignment of words(unit, 'Environment')) {
    const eq = assignment.indexOf('=')
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1)
  }
  const lines = ['set -eu']
  // StateDirectory=/LogsDirectory=: created and owned by the unit's user at each start.
  for (const [dirs, mode] of [
    [state, one(unit, 'StateDirectoryMode', '0755')],
    [logs, one(unit, 'LogsDirectoryMode', '0755')],
  ]) {
    for (const d of dirs) lines.push(`install -d -o ${shellQuote(user)} -g ${shellQuote(group)} -m ${mode} ${d}`)
  }
  if (one(unit, 'ProtectSystem') === 'strict') {
    for (const p of writable) lines.push(`mount --bind ${p} ${p}`)
    // Every other mount read-only, but the kernel's API file systems (as systemd leaves them).
    lines.push(
      `awk '{ print $5 }' /proc/self/mountinfo | grep -Ev '^/(proc|sys|dev)(/|$)' | while read -r m; do`,
      `  case " ${writable.join(' ')} " in *" $m "*) continue ;; esac`,
      '  mount -o remount,bind,ro "$m" 2>/dev/null || true',
      'done',
    )
  }
  if (one(unit, 'PrivateTmp') === 'yes') lines.push('mount -t tmpfs -o mode=1777 tmpfs /tmp', 'mount -t tmpfs -o mode=1777 tmpfs /var/tmp')
  if (one(unit, 'ProtectHome') === 'yes') {
    lines.push('for h in /home /root /run/user; do [ -d "$h" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$h"; done; true')
  }
  const priv = [`--reuid=${who.uid}`, `--regid=${group === user ? who.gid : group}`, '--init-groups']
  if (one(unit, 'NoNewPrivileges') === 'yes') priv.push('--no-new-privs')
  if ((unit.get('CapabilityBoundingSet') ?? []).at(-1) === '') priv.push('--bounding-set=-all', '--inh-caps=-all')
  const cwd = one(unit, 'WorkingDirectory', '/')
  const umask = one(unit, 'UMask', '0022')
  const envArgs = Object.entries(env).map(([k, v]) => shellQuote(`${k}=${v}`))
  lines.push(
    `cd ${shellQuote(cwd)}`,
    `umask ${umask}`,
    `exec setpriv ${priv.join(' ')} env -i ${envArgs.join(' ')} ${exec}`,
  )
  return lines.join('\n')
}

/**
 * The unit's ExecStart running in its sandbox. Its stderr and stdout (what the journal would
 * get) are appended to `journal`.
 */
export class Service {
  constructor(unitPath, journal) {
    this.unit = readUnit(unitPath)
    const out = openSync(journal, 'a')
    this.child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', sandboxScript(this.unit)], {
      stdio: ['ignore', out, out],
    })
    this.exited = new Promise((ok) => this.child.once('exit', (code, signal) => ok({ code, signal })))
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** As `systemctl stop`: SIGTERM, then at most TimeoutStopSec for it to end. */
  async stop() {
    if (!this.running) return this.exited
    this.child.kill('SIGTERM')
    const limitMs = (parseInt(one(this.unit, 'TimeoutStopSec', '90'), 10) || 90) * 1000
    const timer = new Promise((ok) => setTimeout(() => ok(null), limitMs))
    const ended = await Promise.race([this.exited, timer])
    if (ended) return ended
    this.child.kill('SIGKILL')
    throw new Error(`the service did not stop within ${limitMs} ms of SIGTERM`)
  }
}
