// The desktop app under test: its configuration (a real hub for images, an ECG room whose link
// is down, reports looked for every second) and its processes, found by the data directory
// they were given, since a window closed to the tray outlives the WebDriver session.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Writes the app's station.toml in `dir` and returns its path. */
export function appConfig(dir, { hub, deadPort }) {
  const path = join(dir, 'station.toml')
  const destination = (name, url, modalities) => [
    '[[destinations]]',
    `name = ${JSON.stringify(name)}`,
    `url = ${JSON.stringify(url)}`,
    `modalities = ${JSON.stringify(modalities)}`,
    'retry_max_secs = 5',
  ]
  writeFileSync(
    path,
    [
      '[dicom]',
      'ae_title = "STATION"',
      'bind = "127.0.0.1"',
      '[http]',
      'bind = "127.0.0.1"',
      '[storage]',
      'min_free_mb = 1',
      // Retention off on a build machine's full disk (see tests/e2e/station.mjs).
      'high_water_percent = 100',
      'low_water_percent = 99',
      '[studies]',
      'quiet_period_secs = 2',
      ...destination('radiology', hub, ['DX', 'US']),
      ...destination('ecg-room', `http://127.0.0.1:${deadPort}/dicom-web`, ['ECG']),
      '[reports]',
      'urgent_poll_secs = 1',
      'recent_poll_secs = 1',
      'idle_poll_secs = 1',
      '',
    ].join('\n'),
  )
  return path
}

/** Process ids of `app` started on `dataDir` (from /proc, Linux). */
export function appPids(app, dataDir) {
  const pids = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (argv[0] === app && argv.includes(dataDir)) pids.push(Number(pid))
  }
  return pids
}
