import { describe, expect, it } from 'vitest'
import { stationSource } from './source'

describe('the station as image source', () => {
  it('reads the station DICOMweb on its own origin with the session token', () => {
    expect(stationSource('', 'tok')).toEqual({ root: '/dicom-web', headers: { Authorization: 'Bearer tok' } })
  })
  it('reaches the engine HTTP server from the desktop window, and sends no header without a login', () => {
    expect(stationSource('http://127.0.0.1:8080/', null)).toEqual({ root: 'http://127.0.0.1:8080/dicom-web', headers: {} })
  })
})
