import { describe, expect, it } from 'vitest'
import { ACCEPT_INSTANCE, ACCEPT_JSON, DicomWeb, DicomWebError, multipartParts, num, str, TAG } from './dicomweb'

interface Call {
  url: string
  headers: Record<string, string>
}

function server(answer: (url: string) => Response) {
  const calls: Call[] = []
  const fetchFn = async (url: string, init: { headers: Record<string, string> }) => {
    calls.push({ url, headers: init.headers })
    return answer(url)
  }
  return { calls, web: new DicomWeb({ root: 'http://st:8080/dicom-web', headers: { Authorization: 'Bearer T' } }, fetchFn) }
}

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/dicom+json' } })

describe('DICOMweb client', () => {
  it('asks QIDO-RS for a study series with the token, in series-number order', async () => {
    const { calls, web } = server(() =>
      json([
        { [TAG.SeriesNumber]: { vr: 'IS', Value: [2] }, [TAG.Modality]: { vr: 'CS', Value: ['US'] } },
        { [TAG.SeriesNumber]: { vr: 'IS', Value: [1] }, [TAG.Modality]: { vr: 'CS', Value: ['CR'] } },
      ]),
    )
    const series = await web.studySeries('1.2.3')
    expect(series.map((s) => str(s, TAG.Modality))).toEqual(['CR', 'US'])
    expect(calls[0].url).toBe('http://st:8080/dicom-web/studies/1.2.3/series?includefield=0008103E,00201209')
    expect(calls[0].headers).toEqual({ Authorization: 'Bearer T', Accept: ACCEPT_JSON })
  })

  it('finds a patient earlier studies newest first, and reads Chinese names', async () => {
    const { calls, web } = server(() =>
      json([
        { [TAG.StudyDate]: { vr: 'DA', Value: ['20250101'] } },
        { [TAG.StudyDate]: { vr: 'DA', Value: ['20261201'] }, [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: 'Wang^Xiaoming', Ideographic: '王^小明' }] } },
      ]),
    )
    const studies = await web.patientStudies('P 1')
    expect(calls[0].url).toContain('/studies?PatientID=P%201&includefield=')
    expect(studies.map((s) => str(s, TAG.StudyDate))).toEqual(['20261201', '20250101'])
    expect(str(studies[0], TAG.PatientName)).toBe('王 小明')
  })

  it('reads no content (204) as an empty list and an error status as an error', async () => {
    expect(await server(() => new Response(null, { status: 204 })).web.patientStudies('X')).toEqual([])
    await expect(server(() => new Response('no', { status: 401 })).web.seriesMetadata('1', '2')).rejects.toMatchObject({ status: 401 })
    const down = new DicomWeb({ root: '/dicom-web', headers: {} }, async () => {
      throw new TypeError('Failed to fetch')
    })
    await expect(down.study('1')).rejects.toBeInstanceOf(DicomWebError)
  })

  it('takes the first part of a WADO-RS instance answer', async () => {
    const body = '--b1\r\nContent-Type: application/dicom\r\n\r\nDICM-BYTES\r\n--b1--\r\n'
    const { calls, web } = server(() => new Response(body, { headers: { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b1' } }))
    const bytes = await web.instance('1', '2', '3')
    expect(new TextDecoder().decode(bytes)).toBe('DICM-BYTES')
    expect(calls[0].url).toBe('http://st:8080/dicom-web/studies/1/series/2/instances/3')
    expect(calls[0].headers.Accept).toBe(ACCEPT_INSTANCE)
  })

  it('names frames for Cornerstone wadors loader, 1-based', () => {
    const { web } = server(() => json([]))
    expect(web.frameImageId('1', '2', '3', 7)).toBe('wadors:http://st:8080/dicom-web/studies/1/series/2/instances/3/frames/7')
  })

  it('reads DS values given as strings', () => {
    expect(num({ '00280030': { vr: 'DS', Value: ['0.125', '0.125'] } }, TAG.PixelSpacing)).toBe(0.125)
  })
})

describe('multipart/related', () => {
  const enc = (s: string) => new TextEncoder().encode(s)
  it('splits parts, keeping binary bodies intact', () => {
    const body = new Uint8Array([...enc('--x\r\nA: 1\r\n\r\n'), 0, 13, 10, 45, 255, ...enc('\r\n--x\r\n\r\nsecond\r\n--x--')])
    const parts = multipartParts('multipart/related; boundary="x"', body)
    expect(parts.map((p) => Array.from(p))).toEqual([[0, 13, 10, 45, 255], Array.from(enc('second'))])
  })
  it('treats an answer without a boundary as one part', () => {
    expect(multipartParts('application/dicom', enc('abc'))).toHaveLength(1)
  })
})
