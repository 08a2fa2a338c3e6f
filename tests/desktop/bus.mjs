// The session bus as the desktop test sees it: a stand-in notification server and tray host
// (desktop_bus.py, started before the app so the app finds them), dbus-monitor recording every
// Notify call, and the tray icon's menu read back over the bus (gdbus, com.canonical.dbusmenu).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from '../e2e/station.mjs'

const HELPER = join(import.meta.dirname, 'desktop_bus.py')

export class Bus {
  /** Starts the stand-ins and the monitor in `dir`; resolves once they own their names. */
  static async start(dir) {
    if (!process.env.DBUS_SESSION_BUS_ADDRESS) throw new Error('no session bus: run under dbus-run-session (scripts/test-desktop.sh)')
    const bus = new Bus(dir)
    const out = openSync(join(dir, 'desktop-bus.log'), 'a')
    bus.helper = spawn('/usr/bin/python3', [HELPER, bus.notifyLog, bus.trayLog], { stdio: ['ignore', 'pipe', out] })
    let said = ''
    bus.helper.stdout.on('data', (d) => (said += d))
    await waitFor('the stand-in notification server and tray host', 30_000, () => {
      if (bus.helper.exitCode !== null) throw new Error(`desktop_bus.py exited ${bus.helper.exitCode}: ${bus.log()}`)
      return said.includes('ready')
    })
    bus.monitor = spawn('/usr/bin/dbus-monitor', ['--session', "interface='org.freedesktop.Notifications'"], {
      stdio: ['ignore', openSync(bus.monitorLog, 'a'), out],
    })
    // The monitor is listening once it has printed its own NameAcquired.
    await waitFor('dbus-monitor to listen', 30_000, () => existsSync(bus.monitorLog) && readFileSync(bus.monitorLog, 'utf8').length > 0)
    return bus
  }

  constructor(dir) {
    this.dir = dir
    this.notifyLog = join(dir, 'notifications.jsonl')
    this.trayLog = join(dir, 'tray.jsonl')
    this.monitorLog = join(dir, 'dbus-monitor.log')
  }

  log() {
    const f = join(this.dir, 'desktop-bus.log')
    return existsSync(f) ? readFileSync(f, 'utf8').slice(-3000) : ''
  }

  /** What dbus-monitor saw: each Notify method call as {summary, body}. */
  notifyCalls() {
    if (!existsSync(this.monitorLog)) return []
    return readFileSync(this.monitorLog, 'utf8')
      .split(/^(?=method call|signal|method return|error)/m)
      .filter((m) => m.startsWith('method call') && m.includes('member=Notify'))
      .map((m) => {
        // Notify(app_name, replaces_id, app_icon, summary, body, ...): the strings in order.
        const strings = [...m.matchAll(/^\s+string "((?:[^"\\]|\\.)*)"$/gm)].map((x) => x[1])
        return { app: strings[0], summary: strings[2], body: strings[3] }
      })
  }

  /** What the stand-in server received (the proof that the call was answered, not just sent). */
  received() {
    if (!existsSync(this.notifyLog)) return []
    return readFileSync(this.notifyLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  }

  /** The labels of the tray icon's menu, read from the app over the bus. */
  trayLabels() {
    if (!existsSync(this.trayLog)) return null
    const [item] = readFileSync(this.trayLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
    if (!item) return null
    // The item registers either its object path (on its own connection) or a bus name.
    const [dest, path] = item.service.startsWith('/') ? [item.sender, item.service] : [item.service, '/StatusNotifierItem']
    const gdbus = (...args) => execFileSync('/usr/bin/gdbus', ['call', '--session', '--dest', dest, ...args], { encoding: 'utf8', timeout: 20_000 })
    const menu = /objectpath '([^']+)'/.exec(gdbus('--object-path', path, '--method', 'org.freedesktop.DBus.Properties.Get', 'org.kde.StatusNotifierItem', 'Menu'))
    if (!menu) return null
    const layout = gdbus('--object-path', menu[1], '--method', 'com.canonical.dbusmenu.GetLayout', '--', '0', '-1', '[]')
    return [...layout.matchAll(/'label': <'([^']*)'>/g)].map((m) => m[1])
  }

  stop() {
    for (const p of [this.monitor, this.helper]) if (p && p.exitCode === null) p.kill('SIGTERM')
  }
}
