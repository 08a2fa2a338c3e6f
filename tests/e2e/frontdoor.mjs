// The browser tests read the station's own /dicom-web now; the WebKitGTK viewer test
// (tests/desktop/viewer.test.mjs) still puts this in front of the station, to keep that test
// about WebKit and not the station's server: one loopback origin that passes everything to the real `station serve` except
// `/dicom-web/`, which goes to a real Orthanc holding the same images — but only with a bearer
// token the station accepts (checked with its `me` operation), as the station's own DICOMweb
// will require. The viewer cannot tell the difference: it asks `/dicom-web` on its own origin.
// Every DICOMweb request is recorded (path and Accept header) for the report.
import { createServer, request } from 'node:http'
import { freePort } from './station.mjs'

export async function frontDoor(station, hub) {
  const tokens = new Map()
  const requests = []
  async function accepted(auth) {
    const m = /^Bearer (.+)$/.exec(auth ?? '')
    if (!m) return false
    if (!tokens.has(m[1])) tokens.set(m[1], (await station.call('me', {}, m[1])).status === 200)
    return tokens.get(m[1])
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
      if (!(await accepted(req.headers.authorization))) {
        res.writeHead(401, { 'Content-Type': 'text/plain' })
        res.end('login required')
        return
      }
      delete headers.authorization
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
