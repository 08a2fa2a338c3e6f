// The tests read the station's own /dicom-web now; the viewer benchmark (bench/viewer.mjs)
// still puts this in front of the station, to time the viewer against Orthanc's DICOMweb: one
// loopback origin that passes everything to the real `station serve` except `/dicom-web/`,
// which goes to a real Orthanc holding the same images — but only for a caller the station
// accepts (its session cookie or a bearer token, checked with its `me` operation). The viewer cannot tell the difference: it asks `/dicom-web` on its own origin.
// Every DICOMweb request is recorded (path and Accept header) for the report.
import { createServer, request } from 'node:http'
import { freePort } from './station.mjs'

export async function frontDoor(station, hub) {
  const tokens = new Map()
  const requests = []
  async function accepted(req) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const cookie = /(?:^|;\s*)station_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
    const key = bearer ?? cookie
    if (!key) return false
    if (!tokens.has(key)) {
      const headers = { 'Content-Type': 'application/json' }
      if (bearer) headers.Authorization = `Bearer ${bearer}`
      else headers.Cookie = `station_session=${cookie}`
      const r = await fetch(`${station.url}/api/me`, { method: 'POST', headers, body: '{}' })
      tokens.set(key, r.status === 200)
    }
    return tokens.get(key)
  }
  const hubUrl = new URL(hub.dicomweb)
  const stationUrl = new URL(station.url)
  const server = createServer(async (req, res) => {
    const dicomweb = req.url === '/dicom-web' || req.url.startsWith('/dicom-web/') || req.url.startsWith('/dicom-web?')
    let target = stationUrl
    let path = req.url
    const headers = { ...req.headers }
    if (dicomweb) {
      requests.push({ method: req.method, path: req.url, accept: req.headers.accept ?? '' })
      if (!(await accepted(req))) {
        res.writeHead(401, { 'Content-Type': 'text/plain' })
        res.end('login required')
        return
      }
      delete headers.authorization
      delete headers.cookie
      target = hubUrl
      path = hubUrl.pathname.replace(/\/$/, '') + req.url.slice('/dicom-web'.length)
    }
    headers.host = target.host
    const upstream = request({ hostname: target.hostname, port: target.port, method: req.method, path, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end(String(e))
    })
    req.pipe(upstream)
  })
  const port = await freePort()
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok))
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections()
        server.close(ok)
      }),
  }
}
